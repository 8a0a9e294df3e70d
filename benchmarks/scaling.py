"""Scaling: solve, write and end to end from 32 to 3,000 areas (a benchmark, not a test).

    .venv/bin/python benchmarks/scaling.py [--areas 32 320 1000 3000] [--repeats 5]

Each size runs in fresh interpreters (one per repeat), so peak RSS is that size's own. The
scenario is `commissioning.synthetic.synthetic_scenario(N)`: N areas × 8 services × 5 pots × 3
years. Inside each child:

- solve: `commissioning.optimise.solve` in-process (every stage, the reasons, cost to
  benchmark, binding rules), plus the scorecard `commissioning solve` adds;
- write: every CSV, summary.json, timing.json and the London workbook (`runs.write_run`);
- end to end: solve + write, as the issue measured 0.1.0. Creating the synthetic scenario is
  not counted, nor are imports: each child first solves and writes an 8-area scenario (the
  cold start of `commissioning solve` is measured by benchmarks/startup.py);
- marginal value (with `--marginal`): the re-solves `commissioning solve` also runs to say what
  the next £10,000, £100,000 and £1m in each pot would buy. It is reported on its own: it is a
  fixed number of whole re-solves (pots × years × 6), bounded by the scenario's time limit.

Children run polars on one thread, as the `commissioning` command does (set
POLARS_MAX_THREADS to measure otherwise). Figures are CPU seconds of the process
(`time.process_time`, all threads), medians of the repeats, and peak RSS (`ru_maxrss`).
Build ÷ solve comes from the solve's own timing.json (`model_seconds` ÷ `solver_seconds`: time
spent building models and handing them to HiGHS against time spent inside HiGHS). The last
line is the growth exponent from 320 to the largest size: log(t_N / t_320) / log(N / 320).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(areas: int, with_marginal: bool) -> dict[str, float]:
    """One measured run in this process: prints its figures as JSON."""
    sys.path.insert(0, str(ROOT))
    from commissioning.optimise import solve
    from commissioning.runs import with_marginal_value, with_scorecard, write_run
    from commissioning.synthetic import synthetic_scenario

    scenario = synthetic_scenario(areas)
    # Warm-up: a small solve and write first, so the figures are the work, not the imports
    # (a cold start is benchmarks/startup.py's subject).
    with tempfile.TemporaryDirectory() as folder:
        write_run(with_scorecard(solve(synthetic_scenario(8))), Path(folder) / "run")
    cpu, wall = time.process_time(), time.perf_counter()
    run = with_scorecard(solve(scenario))
    solved_cpu = time.process_time()
    with tempfile.TemporaryDirectory() as folder:
        write_run(run, Path(folder) / "run")
    done_cpu, done_wall = time.process_time(), time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    marginal_started = time.process_time()
    if with_marginal:
        with_marginal_value(run)
    marginal = time.process_time() - marginal_started if with_marginal else float("nan")
    timing = run.timing
    return {
        "solve": solved_cpu - cpu,
        "write": done_cpu - solved_cpu,
        "end_to_end": done_cpu - cpu,
        "end_to_end_wall": done_wall - wall,
        "marginal": marginal,
        "peak_rss_mb": peak,
        "model_seconds": timing["model_seconds"],
        "solver_seconds": timing["solver_seconds"],
        "fairness_seconds": timing["step_seconds"]["fairness"],
        "status_optimal": float(run.summary["status"] == "optimal"),
        "gap": run.summary["gap"],
    }


def measure(areas: int, repeats: int, with_marginal: bool) -> dict[str, float]:
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(areas)]
            + (["--marginal"] if with_marginal else []),
            check=True,
            capture_output=True,
            text=True,
            # As `commissioning` runs (cli.one_polars_thread), unless the caller says otherwise.
            env={**os.environ, "POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS", "1")},
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    medians = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    medians["status_optimal"] = min(r["status_optimal"] for r in runs)
    medians["gap"] = max(r["gap"] for r in runs)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, nargs="+", default=[32, 320, 1000, 3000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--marginal",
        action="store_true",
        help="also time the marginal-value analysis `commissioning solve` adds (re-solves)",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.marginal)))
        return
    print(
        f"python {platform.python_version()}, {platform.machine()}, {args.repeats} repeats, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    print()
    print(
        "| areas | solve (CPU s) | write (CPU s) | end to end (CPU s) | end to end (wall s) "
        "| peak RSS (MB) | build ÷ solve | fairness (s) | marginal value (CPU s) | proven |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    results = {}
    for areas in args.areas:
        m = measure(areas, args.repeats, args.marginal)
        results[areas] = m
        ratio = m["model_seconds"] / m["solver_seconds"] if m["solver_seconds"] else math.nan
        proven = "optimal" if m["status_optimal"] else "NOT proven"
        print(
            f"| {areas:,} | {m['solve']:.2f} | {m['write']:.2f} | {m['end_to_end']:.2f} | "
            f"{m['end_to_end_wall']:.2f} | {m['peak_rss_mb']:.0f} | {ratio:.2f} | "
            f"{m['fairness_seconds']:.2f} | {m['marginal']:.2f} | "
            f"{proven} (gap ≤ {m['gap']:.4f}) |",
            flush=True,
        )
    base = results.get(320)
    largest = max(results)
    if base and largest > 320:
        exponent = math.log(results[largest]["end_to_end"] / base["end_to_end"]) / math.log(
            largest / 320
        )
        print(f"\ngrowth of end to end from 320 to {largest:,} areas: N^{exponent:.2f}")


if __name__ == "__main__":
    main()
