"""Speed of the exact fairness stage: London and a seeded 320-area England-scale scenario.

    .venv/bin/python benchmarks/fairness_speed.py [--repeats 5] [--areas 320]

Each figure is the median of `--repeats` in-process solves (`commissioning.optimise.solve`, all
stages, no files written) after one warm-up, with the leximin rounds and feasibility checks of
the last run. "fairness s" is the whole fairness step of the last run (the threshold search
included); "HiGHS floor s" is the time that step spent inside HiGHS (timing.json
`solver_seconds_by_step`): the floor for any implementation asking the same questions, however
directly it talks to highspy. Prints a markdown table for BENCHMARKS.md.
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
    fairness = timing["step_seconds"]["fairness"]
    # The floor: the same questions' time inside HiGHS alone, what any implementation that asks
    # them (ours, or one written straight against highspy) must spend at least.
    floor = timing["solver_seconds_by_step"].get("fairness", 0.0)
    ratio = fairness / floor if floor else float("nan")
    return (
        f"| {name} | {statistics.median(seconds):.3f} | {min(seconds):.3f} | "
        f"{max(seconds):.3f} | {fairness:.3f} | {floor:.3f} | {ratio:.1f} | "
        f"{timing['fairness_rounds']} | "
        f"{timing['fairness_feasibility_checks']} | {timing['fairness_mip_solves']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--areas", type=int, default=320)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, repeats {args.repeats}")
    print()
    print(
        "| scenario | median s | min s | max s | fairness s | HiGHS floor s | fairness ÷ floor "
        "| rounds | checks | MIPs |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    london = load_scenario(ROOT / "fixtures" / "london-2019" / "scenario.json")
    print(measure("London fixture (32 boroughs)", london, args.repeats), flush=True)
    big = synthetic_scenario(args.areas)
    print(
        measure(f"synthetic {args.areas} areas × 8 services × 5 pots × 3 years", big, args.repeats),
        flush=True,
    )


if __name__ == "__main__":
    main()
