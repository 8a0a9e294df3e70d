"""Scaling of the steps after the solve: reasons, tables, cost to benchmark, binding rules and
the split by pot (a benchmark, not a test).

    .venv/bin/python benchmarks/explain_scaling.py [--areas 320 1000 3000] [--repeats 5]

For each size, `commissioning.synthetic.synthetic_scenario(N)` (N areas × 8 services × 5 pots
× 3 years) is solved once (not counted); then each step runs `--repeats` times on that
allocation exactly as `optimise.solve` runs it, and the table gives the median CPU seconds
(`time.process_time`) per step. The last line is each total's growth exponent from the first
size to the last: log(t_last / t_first) / log(N_last / N_first).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import platform
import statistics
import time
from collections.abc import Iterator

from commissioning.optimise.benchmark_cost import cost_to_benchmark_table
from commissioning.optimise.binding import binding_table
from commissioning.optimise.data import build_data
from commissioning.optimise.funding_rounds import prepare
from commissioning.optimise.reasons import explain_cells
from commissioning.optimise.split import split_by_pot
from commissioning.optimise.stages import solve_stages
from commissioning.optimise.tables import (
    allocations_table,
    commitments_table,
    coverage_table,
    explanations_table,
    pots_table,
)
from commissioning.results import conform
from commissioning.synthetic import synthetic_scenario

STEPS = ("split by pot", "reasons", "tables", "cost to benchmark", "binding rules")


def measure(areas: int, repeats: int) -> dict[str, float]:
    """Median CPU seconds of each step on one solved allocation of `areas` areas."""
    prepared = prepare(synthetic_scenario(areas))
    data = build_data(prepared.scenario, prepared.bid_provision)
    solution = solve_stages(data)
    granules, cells = solution.granules, solution.cells
    seconds: dict[str, list[float]] = {name: [] for name in STEPS}

    @contextlib.contextmanager
    def clock(name: str) -> Iterator[None]:
        started = time.process_time()
        yield
        seconds[name][-1] += time.process_time() - started

    for _ in range(repeats):
        for name in STEPS:
            seconds[name].append(0.0)
        with clock("split by pot"):
            payments = split_by_pot(data, granules)
        with clock("tables"):
            pots = pots_table(data, payments)
        unspent = {(r["pot"], r["year"]): r["unspent_pence"] for r in pots.iter_rows(named=True)}
        with clock("reasons"):
            reasons = explain_cells(data, granules, payments, unspent, cells or None)
        with clock("tables"):
            allocations_table(data, payments)
            coverage_table(data, granules, reasons)
            commitments_table(data)
            explanations_table(reasons)
        with clock("cost to benchmark"):
            conform("cost_to_benchmark", cost_to_benchmark_table(data, granules))
        with clock("binding rules"):
            conform("binding", binding_table(data, granules, payments))
    return {name: statistics.median(values) for name, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, nargs="+", default=[320, 1000, 3000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = {n: measure(n, args.repeats) for n in args.areas}
    print(
        f"median CPU seconds of {args.repeats} runs; {platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    print()
    print("| step | " + " | ".join(f"{n:,} areas" for n in results) + " |")
    print("|---|" + "---:|" * len(results))
    for name in STEPS:
        print(f"| {name} | " + " | ".join(f"{r[name]:.3f}" for r in results.values()) + " |")
    totals = {n: sum(r.values()) for n, r in results.items()}
    print("| **total** | " + " | ".join(f"**{t:.3f}**" for t in totals.values()) + " |")
    if len(totals) > 1:
        sizes = list(totals)
        first, last = sizes[0], sizes[-1]
        t_first, t_last = totals[first], totals[last]
        growth = math.log(t_last / t_first) / math.log(last / first)
        print(f"\ngrowth of the total from {first:,} to {last:,} areas: N^{growth:.2f}")


if __name__ == "__main__":
    main()
