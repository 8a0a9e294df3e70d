"""London runs through the distributed queue: 1 worker against 2, and the queue's latency.

    .venv/bin/python benchmarks/queue_throughput.py [--runs 200] [--latency-runs 40]

Starts a throw-away PostgreSQL cluster (commissioning/store/pg_cluster.py; the server binaries
from scripts/ensure_postgres.sh) and, for 1 and then 2 workers, a fresh database with the London
fixture scenario stored and that many real `commissioning worker` processes. Each worker first
solves two runs untimed (imports, first solves), then:

- **throughput**: `--runs` London runs are queued at once (stored queued and their jobs
  deferred, as the API server does) and timed from the first being queued to the last one
  finishing; every run must succeed. Each run is a whole API run: the solve, its scorecard and
  marginal-value analysis, its CSVs and London workbook written and stored in the database.
- **latency** (2 workers, idle between runs): `--latency-runs` runs are queued one at a time,
  each once the one before has started and finished, and the time from a run being queued to a
  worker starting it (the run's created_at to started_at, both stamped on this machine) is the
  queue's own latency: the LISTEN/NOTIFY wake-up, taking the job and the run's lease.

Prints a markdown table, and the figures as JSON on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from live_server import repository_env  # noqa: E402

from commissioning.scenario_io import load_scenario, scenario_json  # noqa: E402
from commissioning.store.pg_cluster import throwaway_cluster  # noqa: E402
from commissioning.store.postgres import PostgresStore  # noqa: E402

LONDON = ROOT / "fixtures" / "london-2019" / "scenario.json"
WARM_UP_RUNS_PER_WORKER = 2


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    rank = max(1, round(percent / 100 * len(ordered)))  # nearest rank
    return ordered[rank - 1]


class Deployment:
    def __init__(self, url: str, folder: Path, workers: int):
        from commissioning.queue import jobs

        self.store = PostgresStore(url, folder / "reader")
        self.store.initialise()
        scenario = load_scenario(LONDON)
        self.scenario_id = self.store.add_scenario(
            scenario.name, scenario_json(scenario), scenario.content_hash(), None
        ).id
        self.app = jobs.connect(url)
        self.app.open()
        env = repository_env(COMMISSIONING_DATA_DIR=str(folder / "data"))
        self.workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "commissioning",
                    "worker",
                    "--store",
                    url,
                    "--name",
                    f"w{i}",
                ],
                env=env,
                cwd=ROOT,
                stderr=(folder / f"w{i}.log").open("wb"),
            )
            for i in range(workers)
        ]

    def queue(self) -> str:
        from commissioning.queue.jobs import defer_run

        run = self.store.add_run(self.scenario_id, None)
        defer_run(run.id)
        return run.id

    def wait(self, run_ids: list[str], timeout: float = 3600) -> float:
        """Wait until every run has finished; the wall time it was seen; raise if one failed."""
        deadline = time.monotonic() + timeout
        # One count a poll (every run in this database is the benchmark's): asking for each
        # run would load the database the workers are using.
        while self.store.count_unfinished() > 0:
            if time.monotonic() > deadline:
                raise SystemExit("runs did not finish in time")
            time.sleep(0.1)
        seen = time.time()
        records = [self.store.get_run(i) for i in run_ids]
        failed = [r for r in records if r is None or r.status != "succeeded"]
        if failed:
            reason = failed[0].reason if failed[0] else "deleted"
            raise SystemExit(f"{len(failed)} runs did not succeed: {reason}")
        return seen

    def close(self) -> None:
        for worker in self.workers:
            worker.send_signal(signal.SIGINT)
        for worker in self.workers:
            worker.wait(timeout=60)
        self.app.close()
        self.store.close()


def throughput(deployment: Deployment, runs: int) -> dict[str, float]:
    started = time.time()
    run_ids = [deployment.queue() for _ in range(runs)]
    queued = time.time()
    deployment.wait(run_ids)
    records = [deployment.store.get_run(i) for i in run_ids]
    last_finish = max(_parse_time(r.finished_at) for r in records if r and r.finished_at)
    seconds = last_finish - started
    return {
        "runs": runs,
        "seconds": round(seconds, 2),
        "runs_per_minute": round(runs / seconds * 60, 2),
        "queueing_seconds": round(queued - started, 2),
    }


def latency(deployment: Deployment, runs: int) -> dict[str, float]:
    waits = []
    for _ in range(runs):
        run_id = deployment.queue()
        deployment.wait([run_id])
        record = deployment.store.get_run(run_id)
        assert record is not None and record.started_at is not None
        waits.append((_parse_time(record.started_at) - _parse_time(record.created_at)) * 1000)
    return {
        "runs": runs,
        "p50_ms": round(statistics.median(waits), 1),
        "p99_ms": round(_percentile(waits, 99), 1),
        "max_ms": round(max(waits), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="London runs per worker count")
    parser.add_argument("--latency-runs", type=int, default=40, help="runs queued one at a time")
    args = parser.parse_args()
    results: dict[str, object] = {"load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster() as cluster:
        for workers in (1, 2):
            url = cluster.create_database(f"bench_{workers}_workers")
            deployment = Deployment(url, Path(tmp) / str(workers), workers)
            try:
                warm = [deployment.queue() for _ in range(WARM_UP_RUNS_PER_WORKER * workers)]
                deployment.wait(warm)
                results[f"throughput_{workers}"] = throughput(deployment, args.runs)
                print(f"{workers} worker(s): {results[f'throughput_{workers}']}", file=sys.stderr)
                if workers == 2:
                    results["latency"] = latency(deployment, args.latency_runs)
            finally:
                deployment.close()
    one, two = results["throughput_1"], results["throughput_2"]
    assert isinstance(one, dict) and isinstance(two, dict)
    results["ratio"] = round(two["runs_per_minute"] / one["runs_per_minute"], 2)
    results["cpus"] = os.cpu_count()
    lat = results["latency"]
    assert isinstance(lat, dict)
    print("| workers | London runs | seconds | runs a minute |")
    print("|---|---|---|---|")
    for workers, figures in ((1, one), (2, two)):
        row = (workers, figures["runs"], figures["seconds"], figures["runs_per_minute"])
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print(f"\n2 workers ÷ 1 worker: **{results['ratio']}×** (target ≥ 1.7×)")
    print(
        f"\nQueue latency (queued → started), {lat['runs']} runs one at a time, 2 idle workers: "
        f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
