"""/health and /ready latency while two London solves run (a benchmark, not a test).

    .venv/bin/python benchmarks/api_health.py [--requests 500] [--concurrency 16]

Starts the real server (`commissioning serve`: uvicorn, one web process, two solver worker
processes) on a fresh store on loopback, and measures each probe's latency first with nothing
running, then while two London solves run through the API: a background thread keeps two runs
solving the whole time (a run that finishes is replaced at once). Each probe is asked
`--requests` times one after another, then `--requests` times from `--concurrency` threads at
once (each thread with its own keep-alive connection). Latency is the client's wall time per
request, so it includes this script's own share of the machine (the client's threads, the GIL)
and is an upper bound on what the server takes; the last column is the web server process's
own CPU time per request (its worker processes' excluded: in the "solves running" rows it
includes serving the background thread's polls), which the machine's load does not inflate.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from live_server import free_port, running, serve_command  # noqa: E402

from commissioning.scenario_io import load_scenario, scenario_json  # noqa: E402
from commissioning.store import open_store  # noqa: E402

LONDON = ROOT / "fixtures" / "london-2019" / "scenario.json"
FINISHED = {"succeeded", "failed", "infeasible", "cancelled"}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process itself has used (Linux), not its children's."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    url: str
    pid: int


@contextmanager
def server(folder: Path, workers: int) -> Iterator[Server]:
    port = free_port()
    command = serve_command(
        *("--host", "127.0.0.1", "--port", str(port), "--store", str(folder / "api.sqlite3")),
        *("--workers", str(workers), "--log-level", "warning"),
        *("--web-workers", "1"),  # one web process: its own CPU is the last column
    )
    url = f"http://127.0.0.1:{port}"
    with running(command, folder / "server.log", f"{url}/health") as process:
        yield Server(url, process.pid)


@dataclass
class Solves:
    """Keeps `count` London solves running until stopped; counts what finished meanwhile."""

    url: str
    key: str
    scenario_id: str
    count: int = 2
    finished: list[dict[str, object]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def start_one(self, client: httpx.Client) -> str:
        response = client.post("/api/v1/runs", json={"scenario_id": self.scenario_id})
        response.raise_for_status()
        run_id: str = response.json()["id"]
        return run_id

    def keep_running(self) -> None:
        with httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=30) as c:
            running = [self.start_one(c) for _ in range(self.count)]
            while not self.stop.is_set():
                for i, run_id in enumerate(running):
                    run = c.get(f"/api/v1/runs/{run_id}").json()
                    if run["status"] in FINISHED:
                        self.finished.append(run)
                        running[i] = self.start_one(c)
                time.sleep(0.05)

    def wait_until_both_solve(self, client: httpx.Client) -> None:
        deadline = time.monotonic() + 60
        while client.get("/ready").json()["queue"]["workers_busy"] < self.count:
            if time.monotonic() > deadline:
                raise SystemExit("the solves did not start")
            time.sleep(0.05)


def sequential(url: str, path: str, requests: int) -> list[float]:
    seconds = []
    with httpx.Client(base_url=url) as client:
        client.get(path)  # the connection is open before the clock starts
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path)
            seconds.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.text}")
    return seconds


def concurrent(url: str, path: str, requests: int, threads: int) -> list[float]:
    seconds: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker(share: int) -> None:
        mine = []
        with httpx.Client(base_url=url) as client:
            client.get(path)
            barrier.wait()
            for _ in range(share):
                started = time.perf_counter()
                response = client.get(path)
                mine.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: {response.status_code}")
        with lock:
            seconds.extend(mine)

    shares = [requests // threads + (i < requests % threads) for i in range(threads)]
    pool = [threading.Thread(target=worker, args=(n,)) for n in shares]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return seconds


def quantile(seconds: list[float], q: float) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


@dataclass
class Row:
    when: str
    path: str
    how: str
    seconds: list[float]
    wall: float
    server_cpu: float  # the web server's CPU seconds over the whole measurement

    def line(self) -> str:
        s = self.seconds
        return (
            f"| {self.when} | `{self.path}` | {self.how} | {len(s)} | "
            f"{quantile(s, 0.5):.2f} | {quantile(s, 0.99):.2f} | {max(s) * 1000:.2f} | "
            f"{len(s) / self.wall:,.0f} | {self.server_cpu / len(s) * 1e6:,.0f} |"
        )


def measure(when: str, live: Server, path: str, requests: int, threads: int) -> Iterator[Row]:
    url = live.url
    runs: list[tuple[str, Callable[[], list[float]]]] = [
        ("sequential", lambda: sequential(url, path, requests)),
        (f"concurrency {threads}", lambda: concurrent(url, path, requests, threads)),
    ]
    for how, run in runs:
        cpu = cpu_seconds(live.pid)
        started = time.perf_counter()
        seconds = run()
        wall = time.perf_counter() - started
        yield Row(when, path, how, seconds, wall, cpu_seconds(live.pid) - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="solver worker processes")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = open_store(folder / "api.sqlite3")
        key = store.create_key("commissioner", label="benchmark")[1]
        body = json.loads(scenario_json(load_scenario(LONDON)))
        rows: list[Row] = []
        with server(folder, args.workers) as live:
            url = live.url
            for path in ("/health", "/ready"):
                rows += measure("idle", live, path, args.requests, args.concurrency)
            with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
                created = client.post("/api/v1/scenarios", json=body)
                created.raise_for_status()
                solves = Solves(url, key, created.json()["id"], count=args.workers)
                keeper = threading.Thread(target=solves.keep_running, daemon=True)
                keeper.start()
                solves.wait_until_both_solve(client)
                started = time.monotonic()
                busy = f"{args.workers} solves running"
                for path in ("/health", "/ready"):
                    rows += measure(busy, live, path, args.requests, args.concurrency)
                measuring = time.monotonic() - started
                solves.stop.set()
                keeper.join(timeout=60)
        succeeded = [r for r in solves.finished if r["status"] == "succeeded"]
        cores = os.cpu_count()
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"\n/health and /ready on loopback, {cores} cores, {args.workers} solver workers "
            f"(load average at the end: {load})\n"
        )
        print(
            "| while | probe | requests | n | p50 ms | p99 ms | max ms | req/s "
            "| server CPU µs/req |"
        )
        print("|---|---|---|---:|---:|---:|---:|---:|---:|")
        for row in rows:
            print(row.line())
        print(
            f"\nWhile measuring ({measuring:.1f} s under load) {len(solves.finished)} London "
            f"solves finished ({len(succeeded)} succeeded) and were replaced at once, so "
            f"{args.workers} were solving throughout."
        )
        if len(succeeded) != len(solves.finished):
            print("runs that did not succeed:", [r["reason"] for r in solves.finished])
        print(
            f"median solve: {statistics.median(_solve_seconds(succeeded)):.1f} s"
            if succeeded
            else ""
        )


def _solve_seconds(runs: list[dict[str, object]]) -> list[float]:
    from datetime import datetime

    def at(text: object) -> datetime:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))

    return [(at(r["finished_at"]) - at(r["started_at"])).total_seconds() for r in runs]


if __name__ == "__main__":
    main()
