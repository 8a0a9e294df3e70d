"""Speed of the exact fairness stage: London and a seeded 320-area England-scale scenario.

    .venv/bin/python benchmarks/fairness_speed.py [--repeats 5] [--areas 320]

Each figure is the median of `--repeats` in-process solves (`commissioning.optimise.solve`, all
stages, no files written) after one warm-up, with the leximin rounds and feasibility checks of
the last run. Prints a markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from commissioning.models import Scenario  # noqa: E402
from commissioning.optimise import solve  # noqa: E402
from commissioning.scenario_io import load_scenario  # noqa: E402
from commissioning.synthetic import synthetic_scenario  # noqa: E402


def measure(name: str, scenario: Scenario, repeats: int) -> str:
    solve(scenario)  # warm-up: imports and caches
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        run = solve(scenario)
        seconds.append(time.perf_counter() - started)
    timing = run.timing
    fairness = next(v for k, v in timing["stage_seconds"].items() if k.startswith("fairness"))
    return (
        f"| {name} | {statistics.median(seconds):.3f} | {min(seconds):.3f} | "
        f"{max(seconds):.3f} | {fairness:.3f} | {timing['fairness_rounds']} | "
        f"{timing['fairness_feasibility_checks']} | {timing['fairness_mip_solves']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--areas", type=int, default=320)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, repeats {args.repeats}")
    print()
    print("| scenario | median s | min s | max s | fairness s | rounds | checks | MIPs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    london = load_scenario(ROOT / "fixtures" / "london-2019" / "scenario.json")
    print(measure("London fixture (32 boroughs)", london, args.repeats), flush=True)
    big = synthetic_scenario(args.areas)
    print(
        measure(f"synthetic {args.areas} areas × 8 services × 5 pots × 3 years", big, args.repeats),
        flush=True,
    )


if __name__ == "__main__":
    main()
