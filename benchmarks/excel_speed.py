"""Time the London and borough workbooks on the London 2019 fixture (a benchmark, not a test).

    .venv/bin/python benchmarks/excel_speed.py [--repeats 10] [--borough E09000007]

Solves the fixture once, writes the run directory, reads it back as the CLI and API do, then
writes each workbook `--repeats` times and prints a markdown table against the targets
(London < 1 s, one borough < 0.2 s).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from commissioning.excel import write_borough_workbook, write_london_workbook
from commissioning.optimise import solve
from commissioning.results import RunResult
from commissioning.scenario_io import load_scenario

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019" / "scenario.json"
TARGETS = {"London workbook": 1.0, "Borough workbook": 0.2}


def timings(write: Callable[[], object], repeats: int) -> list[float]:
    write()  # first call pays for imports and caches; people feel the steady state
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        write()
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--borough", default="E09000007", help="area code (default Camden)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        run = RunResult.read(solve(load_scenario(FIXTURE)).write(out / "run"))
        results = {
            "London workbook": timings(
                lambda: write_london_workbook(run, out / "london.xlsx"), args.repeats
            ),
            "Borough workbook": timings(
                lambda: write_borough_workbook(run, args.borough, out / "borough.xlsx"),
                args.repeats,
            ),
        }
        sizes = {
            "London workbook": (out / "london.xlsx").stat().st_size,
            "Borough workbook": (out / "borough.xlsx").stat().st_size,
        }

    print(
        f"{len(run.scenario.areas)} areas, {run.table('coverage').height} coverage rows, "
        f"{args.repeats} repeats\n"
    )
    print("| workbook | min (s) | median (s) | max (s) | size (KB) | target (s) | within |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, seconds in results.items():
        within = "yes" if statistics.median(seconds) < TARGETS[name] else "NO"
        print(
            f"| {name} | {min(seconds):.3f} | {statistics.median(seconds):.3f} | "
            f"{max(seconds):.3f} | {sizes[name] / 1024:.0f} | {TARGETS[name]} | {within} |"
        )


if __name__ == "__main__":
    main()
