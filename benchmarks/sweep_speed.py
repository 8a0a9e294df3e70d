"""Time a 17-step London sweep of the MOPAC direct pot (a benchmark, not a test).

    .venv/bin/python benchmarks/sweep_speed.py [--repeats 3] [--jobs N]

Prints a markdown table of median (and min, max) wall seconds over `--repeats` runs of:

- **CLI, end to end**: `commissioning sweep fixtures/london-2019/scenario.json --vary
  pots.mopac_direct --from 50% --to 130% --steps 17` in a new process: start-up, worker pool,
  17 solves, the exact knee (its extra solves), sweep.csv, sweep.json and both charts;
- **sweep, cold pool**: `run_sweep` in this process with a new `Solver` (its workers spawned
  and importing inside the timing), the knee included, no files;
- **sweep, warm pool**: the same on a `Solver` already started (a server that keeps one);
- **17 solves, nothing reused**: `optimise.solve` of each step's scenario one after another in
  this process, the grant and bid rounds run every time (what the sweep avoids), no knee.

The machine is shared: the load average before and after is printed with the table, and
the CPU seconds of every process involved (which other work on the machine does not change;
the warm pool's workers are still running, so only this process's share is counted there).
Target (issue 12): the 17-step London sweep under 3 s wall on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "london-2019" / "scenario.json"
TARGET_SECONDS = 3.0
SWEEP_ARGS = ["--vary", "pots.mopac_direct", "--from", "50%", "--to", "130%", "--steps", "17"]


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the CLI, pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(action: Callable[[], object], repeats: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each run. CPU time does not depend on what else the machine
    runs: on an idle machine with 2 cores the wall time cannot be below CPU ÷ 2."""
    walls, cpus = [], []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), cpu_seconds()
        action()
        walls.append(time.perf_counter() - started)
        cpus.append(cpu_seconds() - cpu)
    return walls, cpus


def cli_sweep(jobs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "commissioning.cli", "sweep", str(FIXTURE)]
        command += [*SWEEP_ARGS, "--jobs", str(jobs), "--out", str(Path(folder) / "sweep")]
        subprocess.run(
            command,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    from fractions import Fraction

    from commissioning.analysis.overrides import scale_path
    from commissioning.analysis.sweep import Solver, parse_axis, run_sweep
    from commissioning.errors import InfeasibleScenario
    from commissioning.optimise import solve
    from commissioning.scenario_io import load_scenario

    load_before = os.getloadavg()
    scenario = load_scenario(FIXTURE)
    axis = parse_axis("pots.mopac_direct", "50%", "130%", 17)

    def cold() -> None:
        with Solver(args.jobs) as solver:
            run_sweep(scenario, [axis], solver=solver)

    def unreused() -> None:
        for point in axis.points():
            # The steps below the pot's fixed commitments are infeasible: they count as tried.
            with contextlib.suppress(InfeasibleScenario):
                solve(scale_path(scenario, axis.path, Fraction(point)))

    rows = [
        (
            "CLI, end to end (charts and files included)",
            timed(lambda: cli_sweep(args.jobs), args.repeats),
        )
    ]
    rows.append(("sweep + exact knee, cold pool", timed(cold, args.repeats)))
    with Solver(args.jobs) as warm:
        run_sweep(scenario, [axis], solver=warm)  # warm-up: workers started and imported
        rows.append(
            (
                "sweep + exact knee, warm pool",
                timed(lambda: run_sweep(scenario, [axis], solver=warm), args.repeats),
            )
        )
    unreused()
    rows.append(("17 solves one by one, nothing reused (no knee)", timed(unreused, args.repeats)))
    load_after = os.getloadavg()

    print(
        f"17-step London sweep of pots.mopac_direct, 50%–130%; --jobs {args.jobs}, "
        f"{os.cpu_count()} cores; median of {args.repeats} runs (target {TARGET_SECONDS:g} s)\n"
    )
    print("| what | median wall s | min | max | median CPU s (all processes) |")
    print("|---|---:|---:|---:|---:|")
    for name, (walls, cpus) in rows:
        print(
            f"| {name} | {statistics.median(walls):.2f} | {min(walls):.2f} | "
            f"{max(walls):.2f} | {statistics.median(cpus):.2f} |"
        )
    print(
        f"\nload average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; "
        f"after: {', '.join(f'{x:.2f}' for x in load_after)}"
    )


if __name__ == "__main__":
    main()
