"""API throughput: a cached published table under load (a benchmark, not a test).

    .venv/bin/python benchmarks/api_throughput.py [--seconds 10] [--concurrency 16]
        [--web-workers 1,2] [--table allocations] [--format json] [--servers uvicorn,granian]
        [--client python|wrk]

For each number of web workers: starts the real server (`commissioning serve`, the same
register() the CLI uses) on a free loopback port with a fresh store, makes a finance key,
stores London, solves and publishes one run through the API, then GETs one published table
as fast as `--concurrency` keep-alive connections can for `--seconds` (after one second of
warm-up, so the first read of the run's files is not counted). Prints one markdown row per
server: requests per second, p50 / p99 / max latency, the CPU time the server's processes
spent per request (user + system, from /proc: unlike the wall-clock figures it hardly moves
when other work shares the machine), errors (any status but 200, or a body that differs from
the first answer's).

The load comes from a small asyncio HTTP/1.1 client in this process (raw sockets, no parsing
beyond the status line and Content-Length): a pooled httpx client spends more CPU per request
than the server does, and on a 2-core machine client and server share the cores, so a slow
client would measure itself. `--client wrk` puts the same load through wrk (C, one thread,
`apt-get install wrk`), which leaves more of the two cores to the server; its percentiles are
wrk's own. Every figure is wall-clock on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from live_server import free_port, repository_env, running, serve_command  # noqa: E402

from commissioning.scenario_io import load_scenario, scenario_json  # noqa: E402
from commissioning.store import open_store  # noqa: E402

FIXTURE = REPO / "fixtures" / "london-2019" / "scenario.json"


def granian_command(store_path: Path, port: int, web_workers: int) -> tuple[list[str], dict]:
    """The same app under granian (a Rust HTTP server), set up as `serve --web-workers` does."""

    from commissioning.api.settings import ApiSettings
    from commissioning.api.web_workers import (
        PARENT_ENV,
        SETTINGS_ENV,
        prepare_store,
        settings_to_env,
    )

    settings = ApiSettings(store_path=store_path, workers=1, shared_queue=web_workers > 1)
    prepare_store(settings)
    granian = Path(sys.executable).with_name("granian")
    command = (
        f"export {PARENT_ENV}=$$; exec {granian} --interface asgi --factory --host 127.0.0.1 "
        f"--port {port} --workers {web_workers} --log-level warning "
        "commissioning.api.web_workers:app_for_web_worker"
    )
    env = repository_env(**{SETTINGS_ENV: settings_to_env(settings)})
    return ["sh", "-c", command], env


@contextmanager
def server(folder: Path, web_workers: int, kind: str) -> Iterator[tuple[str, str, int]]:
    """A fresh store served on a free port: (base url, a commissioner key, process group)."""
    store_path = folder / f"bench-{kind}-{web_workers}.sqlite3"
    store = open_store(store_path)
    commissioner = store.create_key("commissioner")[1]
    port = free_port()
    env = None
    if kind == "granian":
        command, env = granian_command(store_path, port, web_workers)
    else:
        command = serve_command(
            *("--host", "127.0.0.1", "--port", str(port), "--store", str(store_path)),
            *("--workers", "1", "--log-level", "warning", "--web-workers", str(web_workers)),
        )
    url = f"http://127.0.0.1:{port}"
    log = folder / f"server-{kind}-{web_workers}.log"
    with running(command, log, f"{url}/health", env) as process:
        yield url, commissioner, process.pid


def published_run(url: str, commissioner: str) -> str:
    """Store London, solve it in the server's worker and publish the run: its id."""
    with httpx.Client(base_url=url, headers={"X-API-Key": commissioner}, timeout=30) as client:
        body = scenario_json(load_scenario(FIXTURE))
        created = client.post(
            "/api/v1/scenarios", content=body, headers={"Content-Type": "application/json"}
        )
        created.raise_for_status()
        started = client.post("/api/v1/runs", json={"scenario_id": created.json()["id"]})
        started.raise_for_status()
        run_id: str = started.json()["id"]
        deadline = time.monotonic() + 180
        while (status := client.get(f"/api/v1/runs/{run_id}").json()["status"]) in (
            "queued",
            "running",
        ):
            if time.monotonic() > deadline:
                raise SystemExit(f"run {run_id} did not finish")
            time.sleep(0.2)
        if status != "succeeded":
            raise SystemExit(f"run {run_id} {status}")
        client.post(f"/api/v1/runs/{run_id}/publish").raise_for_status()
    return run_id


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    body: bytes | None = None
    first_error: bytes = b""
    served: int = 0  # warm-up included


async def _one_connection(
    host: str, port: int, request: bytes, stop_at: float, record_from: float, load: Load
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (start := time.perf_counter()) < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            elapsed = time.perf_counter() - start
            load.served += 1
            if start < record_from:
                continue  # warm-up
            if not head.startswith(b"HTTP/1.1 200"):
                load.errors += 1
                load.first_error = load.first_error or head + body[:500]
            elif load.body is None:
                load.body = body
            elif body != load.body:
                load.errors += 1
            load.latencies.append(elapsed)
    finally:
        writer.close()


async def hammer(url: str, path: str, key: str, seconds: float, concurrency: int) -> Load:
    host, port = url.removeprefix("http://").split(":")
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nX-API-Key: {key}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()
    load = Load()
    record_from = time.perf_counter() + 1.0
    stop_at = record_from + seconds
    await asyncio.gather(
        *(
            _one_connection(host, int(port), request, stop_at, record_from, load)
            for _ in range(concurrency)
        )
    )
    return load


@dataclass
class WrkLoad:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    served: int


def _wrk_ms(text: str) -> float:
    """wrk prints latencies as e.g. 812.00us, 9.41ms or 1.02s."""
    for unit, scale in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if text.endswith(unit):
            return float(text.removesuffix(unit)) * scale
    raise ValueError(f"unexpected wrk latency {text!r}")


def wrk_hammer(url: str, path: str, key: str, seconds: float, concurrency: int) -> WrkLoad:
    """The same load from wrk (C, one thread): on two cores a lighter client leaves more of the
    machine to the server, as a separate load balancer or client machine would."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("--client wrk needs wrk (apt-get install -y wrk)")
    common = [
        "-t1",
        f"-c{concurrency}",
        "-H",
        f"X-API-Key: {key}",
        "-H",
        "Accept: application/json",
    ]
    subprocess.run([wrk, *common, "-d1s", url + path], check=True, capture_output=True)  # warm-up
    done = subprocess.run(
        [wrk, *common, f"-d{seconds:g}s", "--latency", url + path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = {
        "p50": re.search(r"^\s+50%\s+(\S+)", done, re.M),
        "p99": re.search(r"^\s+99%\s+(\S+)", done, re.M),
        "max": re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", done, re.M),
        "rate": re.search(r"^Requests/sec:\s+(\S+)", done, re.M),
        "served": re.search(r"^\s+(\d+) requests in", done, re.M),
    }
    missing = [name for name, match in found.items() if match is None]
    if missing:
        raise SystemExit(f"could not read {missing} from wrk's report:\n{done}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done)
    socket_errors = re.search(r"Socket errors: (.*)", done)
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return WrkLoad(
        requests_per_second=float(found["rate"].group(1)),  # type: ignore[union-attr]
        p50_ms=_wrk_ms(found["p50"].group(1)),  # type: ignore[union-attr]
        p99_ms=_wrk_ms(found["p99"].group(1)),  # type: ignore[union-attr]
        max_ms=_wrk_ms(found["max"].group(1)),  # type: ignore[union-attr]
        errors=errors,
        served=int(found["served"].group(1)),  # type: ignore[union-attr]
    )


def group_cpu_seconds(group: int) -> float:
    """User + system CPU seconds of the live processes in a process group (the server's)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[2]) == group:  # fields after the name: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--web-workers", default="1,2", help="comma-separated, e.g. 1,2")
    parser.add_argument("--table", default="allocations")
    parser.add_argument("--format", default="json", choices=("json", "csv"))
    parser.add_argument(
        "--servers",
        default="uvicorn",
        help="uvicorn (`commissioning serve`), granian (needs `pip install granian`), or both",
    )
    parser.add_argument(
        "--client",
        default="python",
        choices=("python", "wrk"),
        help="the load generator: a raw-socket asyncio client in this process, or wrk",
    )
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="api-throughput-") as tmp:
        for kind, web_workers in (
            (kind, int(n)) for kind in args.servers.split(",") for n in args.web_workers.split(",")
        ):
            with server(Path(tmp), web_workers, kind) as (url, commissioner, group):
                run_id = published_run(url, commissioner)
                store_path = Path(tmp) / f"bench-{kind}-{web_workers}.sqlite3"
                finance = open_store(store_path).create_key("finance")[1]
                path = f"/api/v1/runs/{run_id}/results/{args.table}?format={args.format}"
                cpu = group_cpu_seconds(group)
                if args.client == "wrk":
                    got = wrk_hammer(url, path, finance, args.seconds, args.concurrency)
                    cpu = group_cpu_seconds(group) - cpu
                    served = got.served + round(got.requests_per_second)  # + ~1 s warm-up
                    rows.append(
                        f"| {kind} (wrk) | {web_workers} | {args.concurrency} | "
                        f"{got.requests_per_second:,.0f} | {got.p50_ms:.1f} | {got.p99_ms:.1f} | "
                        f"{got.max_ms:.1f} | {cpu / served * 1e3:.2f} | {got.errors} | - |"
                    )
                    print(rows[-1], file=sys.stderr, flush=True)
                    continue
                load = asyncio.run(hammer(url, path, finance, args.seconds, args.concurrency))
                # Includes the one second of warm-up: CPU per request served in all.
                cpu = group_cpu_seconds(group) - cpu
            if load.first_error:
                print(load.first_error.decode(errors="replace"), file=sys.stderr)
            lat = sorted(load.latencies)
            if not lat:
                raise SystemExit("no request finished")
            rows.append(
                f"| {kind} | {web_workers} | {args.concurrency} | {len(lat) / args.seconds:,.0f} | "
                f"{statistics.median(lat) * 1e3:.1f} | {percentile(lat, 0.99) * 1e3:.1f} | "
                f"{lat[-1] * 1e3:.1f} | {cpu / load.served * 1e3:.2f} | {load.errors} | "
                f"{len(load.body or b''):,} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    print(
        f"\nGET /runs/{{id}}/results/{args.table}?format={args.format} (finance key), "
        f"{args.seconds:g} s per row, {os.cpu_count()} cores, loopback\n"
    )
    print(
        "| server | web workers | concurrency | req/s | p50 ms | p99 ms | max ms "
        "| server CPU ms/req | errors | bytes |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
