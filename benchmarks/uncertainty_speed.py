"""How long a 500-draw London uncertainty run takes (target: under 60 s on 2 cores).

    .venv/bin/python benchmarks/uncertainty_speed.py [--draws 500] [--jobs 2] [--budget-pot ID]

Varies every unit cost by ±10 % and every borough's women aged 16+ by ±3 %, as the README's
example does, and prints the wall time with the load average before and after (other work on
the machine slows the run; report the figures together).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from commissioning.analysis.uncertainty import Settings, parse_range, run_uncertainty
from commissioning.scenario_io import load_scenario

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019" / "scenario.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--budget-pot")
    args = parser.parse_args()
    scenario = load_scenario(FIXTURE)
    settings = Settings(
        draws=args.draws,
        seed=1,
        ranges=(
            parse_range("services.*.unit_cost=±10%"),
            parse_range("areas.*.female_16_plus=±3%"),
        ),
        budget_pot=args.budget_pot,
    )
    load_before = os.getloadavg()
    started = time.perf_counter()
    result = run_uncertainty(scenario, settings, jobs=args.jobs)
    solved = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        result.write(Path(folder) / "out")
    total = time.perf_counter() - started
    load_after = os.getloadavg()
    print(
        f"{args.draws} draws, {args.jobs} jobs, budget pot {args.budget_pot or '-'}: "
        f"{solved:.1f} s solving, {total:.1f} s with the files "
        f"({total / args.draws * 1000:.0f} ms per draw); cores {os.cpu_count()}, "
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}"
    )
    budget = result.budget()
    if budget is not None:
        print(f"budget at the 95th percentile: {budget['amount']}")


if __name__ == "__main__":
    main()
