"""Time the workbooks: London and one borough on the London 2019 fixture, and London on
synthetic scenarios (a benchmark, not a test).

    .venv/bin/python benchmarks/excel_speed.py [--repeats 5] [--borough E09000007]
        [--areas 320 1000]

The fixture is solved once, written to a run directory and read back, as the CLI and API do;
each synthetic scenario (commissioning.synthetic) is solved once and its scorecard added, as
`commissioning solve` does, and its London workbook written from the run in memory. Every
workbook is written once to warm up, then `--repeats` times; the table gives CPU seconds of
this process (time.process_time, so polars' threads count), medians against the targets:
London fixture < 1 s, one borough < 0.2 s, and a London workbook that fits the issue's
end-to-end budget (≈ 0.3 s at 320 areas, growing linearly).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from commissioning.excel import write_borough_workbook, write_london_workbook
from commissioning.optimise import solve
from commissioning.results import RunResult
from commissioning.runs import with_scorecard
from commissioning.scenario_io import load_scenario
from commissioning.synthetic import synthetic_scenario

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019" / "scenario.json"
SECONDS_PER_AREA = 0.3 / 320  # the London workbook's share of the end-to-end budget


def cpu_seconds(write: Callable[[], object], repeats: int) -> list[float]:
    write()  # the first call pays for imports and caches; people feel the steady state
    seconds = []
    for _ in range(repeats):
        started = time.process_time()
        write()
        seconds.append(time.process_time() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--borough", default="E09000007", help="area code (default Camden)")
    parser.add_argument("--areas", type=int, nargs="*", default=[320, 1000])
    args = parser.parse_args()

    rows: list[tuple[str, list[float], int, float]] = []

    def timed(name: str, target: float, path: Path, write: Callable[[Path], object]) -> None:
        seconds = cpu_seconds(lambda: write(path), args.repeats)
        rows.append((name, seconds, path.stat().st_size, target))

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        run = RunResult.read(solve(load_scenario(FIXTURE)).write(out / "run"))
        timed(
            "London workbook, fixture",
            1.0,
            out / "london.xlsx",
            partial(write_london_workbook, run),
        )
        timed(
            "Borough workbook, fixture",
            0.2,
            out / "borough.xlsx",
            partial(write_borough_workbook, run, args.borough),
        )
        for areas in args.areas:
            synthetic = with_scorecard(solve(synthetic_scenario(areas)))
            timed(
                f"London workbook, {areas} areas",
                areas * SECONDS_PER_AREA,
                out / f"london-{areas}.xlsx",
                partial(write_london_workbook, synthetic),
            )

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{args.repeats} repeats, CPU seconds; load average {load}\n")
    print("| workbook | min | median | max | size (KB) | target | within |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, seconds, size, target in rows:
        median = statistics.median(seconds)
        print(
            f"| {name} | {min(seconds):.3f} | {median:.3f} | {max(seconds):.3f} | "
            f"{size / 1024:.0f} | {target:.2f} | {'yes' if median < target else 'NO'} |"
        )


if __name__ == "__main__":
    main()
