"""Time the London and borough workbooks of the London 2019 fixture (a benchmark, not a test).

    PYTHONPATH=. .venv/bin/python benchmarks/workbooks.py [--repeats 15] [--borough E09000007]

The fixture is solved once as `commissioning solve` solves it (scorecard and marginal value
included, so the workbook has every sheet), written to a run directory and read back, as
`commissioning export` and the API do. Each workbook is written once to warm up, then
`--repeats` times; the table gives the median, lowest and highest wall-clock seconds
(time.perf_counter), and the median and mean CPU seconds of this process (time.process_time:
polars' threads count too; the mean also counts the garbage collector's rare long passes,
which a median leaves out), against the targets: the London workbook ≤ 0.25 s (issue 15), a borough
workbook < 0.2 s. The machine is shared: the load average is printed, and the lowest time is
the one least disturbed by others. polars runs on one thread, as the command runs it
(`commissioning` sets POLARS_MAX_THREADS=1 unless told otherwise, and so does this script).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Before polars is imported (by commissioning): it reads the setting once, when it starts.
os.environ.setdefault("POLARS_MAX_THREADS", "1")

from commissioning.excel import write_borough_workbook, write_london_workbook
from commissioning.results import RunResult
from commissioning.runs import solve_to_directory
from commissioning.scenario_io import load_scenario

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019" / "scenario.json"
TARGETS = {"London workbook": 0.25, "Borough workbook": 0.2}


def timed(write: Callable[[], object], repeats: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each of `repeats` calls, after one call to warm up."""
    write()
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        write()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--borough", default="E09000007", help="area code (default Camden)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        _, run_dir = solve_to_directory(load_scenario(FIXTURE), out / "run")
        run = RunResult.read(run_dir)
        writers: dict[str, Callable[[], object]] = {
            "London workbook": lambda: write_london_workbook(run, out / "london.xlsx"),
            "Borough workbook": lambda: write_borough_workbook(
                run, args.borough, out / "borough.xlsx"
            ),
        }
        found = {name: timed(write, args.repeats) for name, write in writers.items()}
        sizes = {"London workbook": out / "london.xlsx", "Borough workbook": out / "borough.xlsx"}
        size = {name: path.stat().st_size for name, path in sizes.items()}
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"London 2019 fixture, {args.repeats} repeats; load average {load}\n")
    print(
        "| workbook | wall median (s) | wall min | wall max | CPU median (s) | CPU mean | KB "
        "| target |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (wall, cpu) in found.items():
        print(
            f"| {name} | {statistics.median(wall):.3f} | {min(wall):.3f} | {max(wall):.3f} | "
            f"{statistics.median(cpu):.3f} | {statistics.mean(cpu):.3f} | "
            f"{size[name] / 1024:.0f} | ≤ {TARGETS[name]:.2f} |"
        )


if __name__ == "__main__":
    main()
