"""How fast the web workspace's pages answer for the London fixture (a benchmark, not a test).

    .venv/bin/python benchmarks/web_pages.py [--repeats 20]

Makes a fresh store with the London fixture solved (in this process, before the server starts:
the solve is not what is timed) and published, starts the real server (`commissioning serve`,
one web process) on loopback, signs in as a commissioner and as Camden's lead through the
sign-in form, and asks each page `--repeats` times one after another on a keep-alive
connection. The first answer of each page is shown apart (it reads the run's files and computes
the scorecard, comparison or explanation; later answers come from the run cache) and the median
and worst of the rest. Latency is the client's wall time. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from live_server import free_port, running, serve_command  # noqa: E402

from commissioning.api.services import lifecycle, runs, scenarios  # noqa: E402
from commissioning.api.services.access import Principal  # noqa: E402
from commissioning.scenario_io import load_scenario, scenario_json  # noqa: E402
from commissioning.store import open_store  # noqa: E402

LONDON = ROOT / "fixtures" / "london-2019" / "scenario.json"
CAMDEN = "E09000007"


@contextmanager
def server(store_path: Path) -> Iterator[str]:
    port = free_port()
    command = serve_command(
        *("--host", "127.0.0.1", "--port", str(port), "--store", str(store_path)),
        *("--workers", "1", "--web-workers", "1", "--log-level", "warning"),
    )
    url = f"http://127.0.0.1:{port}"
    with running(command, store_path.parent / "server.log", f"{url}/health"):
        yield url


def signed_in(url: str, key: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30, follow_redirects=True)
    form = client.get("/sign-in").text
    token = re.search(r'name="_csrf" value="([0-9a-f]+)"', form)
    assert token is not None
    answer = client.post("/sign-in", data={"api_key": key, "_csrf": token.group(1)})
    assert answer.status_code == 200 and "Sign out" in answer.text, answer.text[:300]
    return client


def timed(client: httpx.Client, path: str, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return times[0], times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="web-pages-") as folder:
        store_path = Path(folder) / "web.sqlite3"
        store = open_store(store_path)
        commissioner = store.create_key("commissioner")[1]
        camden = store.create_key("borough_lead", CAMDEN)[1]
        system = Principal.system()
        data = json.loads(scenario_json(load_scenario(LONDON)))  # areas inline, as stored
        london = scenarios.create_scenario(store, system, data)
        run = runs.run_now(store, system, london.id)
        other = runs.run_now(store, system, london.id)
        for solved in (run, other):
            lifecycle.publish(store, system, solved.id, "benchmark")
        store.close()
        pages = [
            ("commissioner", "/runs"),
            ("commissioner", "/scenarios"),
            ("commissioner", f"/scenarios/{london.id}"),
            ("commissioner", f"/runs/{run.id}"),
            ("commissioner", f"/runs/{run.id}?service=marac_coordinator&year=2021%2F22"),
            ("commissioner", f"/runs/{run.id}/boroughs/{CAMDEN}"),
            ("commissioner", f"/compare?base={run.id}&other={other.id}"),
            ("commissioner", f"/runs/{run.id}/progress"),
            ("borough lead", "/runs"),
            ("borough lead", f"/runs/{run.id}"),
            ("borough lead", f"/runs/{run.id}/boroughs/{CAMDEN}"),
        ]
        with server(store_path) as url:
            clients = {
                "commissioner": signed_in(url, commissioner),
                "borough lead": signed_in(url, camden),
            }
            print(
                f"Pages of the London fixture, {args.repeats} requests each after the first (ms)\n"
            )
            print("| who | page | first | median | worst |")
            print("|---|---|---:|---:|---:|")
            for who, path in pages:
                first, rest = timed(clients[who], path, args.repeats)
                shown = re.sub(r"[0-9a-f]{32}", "{id}", path)
                print(
                    f"| {who} | `{shown}` | {first:.1f} | {statistics.median(rest):.1f} | "
                    f"{max(rest):.1f} |"
                )


if __name__ == "__main__":
    main()
