"""Time what explaining a London run adds to its solve (a benchmark, not a test).

    .venv/bin/python benchmarks/explain_speed.py [--repeats 5] [--cut 0.3]

For the shipped London fixture and the same with the MOPAC direct pot cut by `--cut` (the
issue's example, where 24 cells a year are below benchmark), prints a markdown table of median
seconds over `--repeats` runs, in this process, after one warm-up run:

- the solve (`optimise.solve`, which builds every table, the explanations included);
- each explanation step on its own, from the same prepared data and allocation: reasons
  (`reasons.explain_cells`), cost to benchmark, binding rules, and the marginal value of
  money (`runs.with_marginal_value`, which rebuilds the prepared data from the run and solves
  again only what its shortcuts cannot answer);
- their total, which is what explaining adds to the solve (target: under 1 s).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.optimise.benchmark_cost import cost_to_benchmark_table
from commissioning.optimise.binding import binding_table
from commissioning.optimise.data import build_data
from commissioning.optimise.funding_rounds import prepare
from commissioning.optimise.reasons import explain_cells
from commissioning.optimise.split import split_by_pot
from commissioning.optimise.stages import solve_stages
from commissioning.runs import with_marginal_value
from commissioning.scenario_io import load_scenario

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019" / "scenario.json"
TARGET_SECONDS = 1.0


def cut(scenario: Scenario, pot_id: str, share: float) -> Scenario:
    pots = [
        p.model_copy(
            update={
                "amounts": [
                    a.model_copy(
                        update={"amount_pence": a.amount_pence - math.floor(a.amount_pence * share)}
                    )
                    for a in p.amounts
                ]
            }
        )
        if p.id == pot_id
        else p
        for p in scenario.pots
    ]
    return scenario.model_copy(update={"pots": pots})


def median_seconds(step: Callable[[], object], repeats: int) -> float:
    step()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def measure(scenario: Scenario, repeats: int) -> dict[str, float]:
    prepared = prepare(scenario)
    data = build_data(prepared.scenario, prepared.bid_provision)
    granules = solve_stages(data).granules
    payments = split_by_pot(data, granules)
    unspent = {(p, y): data.free_budget[(p, y)] for p in data.pot_ids for y in data.years}
    for year, _, pot, pence in payments:
        unspent[(pot, year)] -= pence
    run = solve(scenario)
    steps: dict[str, Callable[[], object]] = {
        "solve (all tables)": lambda: solve(scenario),
        "reasons": lambda: explain_cells(data, granules, payments, unspent),
        "cost to benchmark": lambda: cost_to_benchmark_table(data, granules),
        "binding rules": lambda: binding_table(data, granules, payments),
        "marginal value": lambda: with_marginal_value(run),
    }
    return {name: median_seconds(step, repeats) for name, step in steps.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cut", type=float, default=0.3, help="share of mopac_direct to cut")
    args = parser.parse_args()
    shipped = load_scenario(FIXTURE)
    cases = {
        "London (shipped)": shipped,
        f"London, mopac_direct cut {args.cut:.0%}": cut(shipped, "mopac_direct", args.cut),
    }
    results = {label: measure(s, args.repeats) for label, s in cases.items()}
    names = list(next(iter(results.values())))
    print(f"median of {args.repeats} runs, seconds (target: explaining adds < {TARGET_SECONDS} s)")
    print()
    print("| step | " + " | ".join(results) + " |")
    print("|---|" + "---:|" * len(results))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{r[name]:.3f}" for r in results.values()) + " |")
    added = {
        label: sum(v for k, v in r.items() if k != "solve (all tables)")
        for label, r in results.items()
    }
    print("| **explaining adds** | " + " | ".join(f"**{v:.3f}**" for v in added.values()) + " |")


if __name__ == "__main__":
    main()
