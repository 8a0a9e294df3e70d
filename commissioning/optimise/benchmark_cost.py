"""What it would cost to bring every cell to its benchmark, exactly, within every rule.

Starting from the delivered allocation, every cell below benchmark is *lifted* by the fewest
whole granules that reach it (a multi-year award then keeps each lifted unit to the award's
end, which can cost units in a later year). A cell is *unreachable*, reported with the rule
named and not costed, when no rule allows the lift:

- no pot may fund the service in that area;
- its own cap (benchmark cap or a per-service area limit) is below the benchmark;
- its area's total cap cannot hold the lifted cells of that area and year (all the area's
  below-benchmark cells in that year are then unreachable: they compete for the cap);
- the lifted totals would move the area by more than the pace of change allows.

A cell held by its own cap is lifted to that cap: with money enough for everyone, leximin
funds it to its cap before it tops anyone else up to benchmark, so that money is needed too.
Cells held by an area's total cap are raised within that cap the way leximin would (lowest
level first; exact when the area's cells cost the same per granule). Cells held by the pace of
change keep their delivered units: the figures then assume the area stays as delivered.

`cost_pence` is the price of the granules a lift buys (on an unreachable cell's row: to its
cap). `extra_money_pence` is what the pots must grow by: per year, the least total addition to
pot budgets for which the lifted allocation
can be paid within pot eligibility and ring-fences (money already unspent counts; a linear
programme over pots × spending classes, a transport problem whose integral data give an
integral answer; ties go to pots in the scenario's order). Adding the `pot` rows' amounts to
those pots makes the lifted allocation affordable, so a re-solve reaches
benchmark in every reachable cell (leximin takes any allocation with every cell at level 1
when one exists); one penny less in total and the lift cannot be paid.

One table, `cost_to_benchmark`, with a `level` column:

| level | one row per | keys set |
|---|---|---|
| `cell` | year × area × benchmarked service (`status`, see below) | area, service, pots |
| `borough` | year × area | area |
| `service` | year × service | service |
| `pots` | year × set of pots that may fund the cells (which pot(s) would have to grow) | pots |
| `pot` | year × pot whose budget must grow | pot |
| `london` | year | — |

A cell's `status` is `at benchmark`, `reachable` or `unreachable` (with `rule`). `cells` counts
cells short of benchmark (or lifted by an award). Aggregates sum only reachable cells'
`cost_pence`, `granules` and `units_to_buy`; they count `cells_unreachable` apart (their lift
to a cap is in `extra_money_pence`). `extra_money_pence` is set on `pot` and `london` rows.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pulp

from commissioning.errors import SolverFailed
from commissioning.optimise.benchmark_lift import (
    Cells,
    Lift,
    granules_to_benchmark,
    lift_cells,
    lift_to_benchmark,
)
from commissioning.optimise.benchmark_rows import CellRows, table_rows
from commissioning.optimise.data import AllocationData
from commissioning.optimise.solver import make_solver, run

__all__ = [
    "LEVELS",
    "Lift",
    "cost_to_benchmark_table",
    "extra_money",
    "granules_to_benchmark",
    "lift_to_benchmark",
]

LEVELS = ("cell", "borough", "service", "pots", "pot", "london")


def extra_money(
    data: AllocationData, lifted: dict[tuple[int, str], int], year: str
) -> dict[str, int]:
    """The least additions to pot budgets (pence) that pay for `lifted` in `year`, within pot
    eligibility and ring-fences; ties go to pots in the scenario's order."""
    totals = {
        cls.index: sum(lifted[(i, year)] * data.slots[i].granule_cost for i in cls.slots)
        for cls in data.classes
    }
    return _extra_money(data, totals, year)


def _class_totals(data: AllocationData, cost: np.ndarray, lifted: np.ndarray) -> dict[int, int]:
    """Pence per spending class of one year's lifted granules."""
    spent = (lifted * cost).tolist()
    return {cls.index: sum(spent[i] for i in cls.slots) for cls in data.classes}


def _extra_money(data: AllocationData, totals: dict[int, int], year: str) -> dict[str, int]:
    order = {p: i for i, p in enumerate(data.pot_ids)}
    problem = pulp.LpProblem(f"extra_money_{year}", pulp.LpMinimize)
    pays = {
        (cls.index, pot): problem.add_variable(f"pays[{pot}][class{cls.index}]", lowBound=0)
        for cls in data.classes
        if totals[cls.index] > 0
        for pot in cls.pots
    }
    if not pays:
        return {}
    grows = {
        pot: problem.add_variable(f"grows[{pot}]", lowBound=0)
        for pot in sorted({p for _, p in pays}, key=order.__getitem__)
    }
    for cls in data.classes:
        if totals[cls.index] > 0:
            problem.addConstraint(
                pulp.LpAffineExpression({pays[(cls.index, p)]: 1 for p in cls.pots})
                == totals[cls.index],
                name=f"class_paid[{cls.index}]",
            )
    for pot, grow in grows.items():
        terms = {v: 1 for (_, p), v in pays.items() if p == pot}
        terms[grow] = -1
        problem.addConstraint(
            pulp.LpAffineExpression(terms) <= data.free_budget[(pot, year)], name=f"budget[{pot}]"
        )
    for fence in data.scenario.ring_fences:
        need = data.ring_fence_need.get((fence.id, year), 0)
        terms = {
            v: 1
            for (k, p), v in pays.items()
            if p == fence.pot and fence.id in data.classes[k].ring_fences
        }
        if need > 0 and terms:
            problem.addConstraint(pulp.LpAffineExpression(terms) >= need, name=f"fence[{fence.id}]")
    options = data.scenario.policy.solver
    total = pulp.LpAffineExpression({g: 1 for g in grows.values()})
    least = _solve(problem, total, options, year)
    # Then, at that total, grow the pots the scenario lists first.
    problem.addConstraint(total <= least + 1e-6, name="least_total")
    _solve(problem, pulp.LpAffineExpression({g: order[p] for p, g in grows.items()}), options, year)
    # Integral data give an integral answer (a transport problem): a value within a hair of a
    # whole penny is that penny (the second solve may move up to 1e-6 between pots); anything
    # else is rounded up, never down.
    pence = {p: _whole_pence(g.varValue or 0.0) for p, g in grows.items()}
    return {p: v for p, v in pence.items() if v > 0}


def _whole_pence(value: float) -> int:
    nearest = round(value)
    return nearest if abs(value - nearest) <= 1e-4 else math.ceil(value)


def _solve(
    problem: pulp.LpProblem, objective: pulp.LpAffineExpression, options: object, year: str
) -> float:
    problem.setObjective(objective)
    report = run(problem, make_solver(options, mip=False))  # type: ignore[arg-type]
    if report.state != "optimal":
        raise SolverFailed(f"{year}: could not cost the lift to benchmark ({report.state})")
    return float(pulp.value(objective) or 0.0)


def cost_to_benchmark_table(
    data: AllocationData, granules: dict[tuple[int, str], int]
) -> pl.DataFrame:
    """The `cost_to_benchmark` table (see the module docstring for its levels)."""
    cells = Cells(data, granules)
    held, lifted = lift_cells(cells)
    rows = CellRows(data, cells, held, lifted)
    more: list[dict[str, object]] = []
    for level, keys in (
        ("borough", ("area_code", "area_name")),
        ("service", ("service",)),
        ("pots", ("pots",)),
    ):
        more += rows.aggregate(level, keys)
    bought = lifted > cells.granules
    for j, year in enumerate(data.years):
        grows: dict[str, int] | None = {}
        if bought[:, j].any():
            try:
                grows = _extra_money(data, _class_totals(data, cells.cost, lifted[:, j]), year)
            except SolverFailed:
                # A provisional run near its time limit: left blank, never guessed.
                grows = None
        more += [
            {"level": "pot", "year": year, "pot": pot, "extra_money_pence": pence}
            for pot, pence in (grows or {}).items()
        ]
        total = None if grows is None else sum(grows.values())
        more.append(
            {"level": "london", "year": year, "extra_money_pence": total, **rows.year_sums(j)}
        )
    return pl.concat([rows.frame(), table_rows(more)])
