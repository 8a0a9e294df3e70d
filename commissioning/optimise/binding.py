"""Which named rules bind the delivered allocation, per year, in the model's own words.

Every rule row of `model.AllocationModel` (pot budgets, ring-fences, area floors and caps, pace
of change, multi-year awards) is evaluated at the delivered allocation: units from the solution,
each pot's spending per class from the pence split (`split.split_by_pot`), so money rows are
exact in pence and no solver dual is needed. Per-cell caps and floors are bounds, not rows: they
are listed only where the cell sits on them.

`binding` is true when the row has no slack at all. `blocks_next_granule` is true when the slack
is smaller than one granule of the cheapest cell the row constrains, so the row stops the next
purchase even though a few pence are left (a pot with £7,166.67 left binds half-FTE IDVAs at
£20,000).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import cache

import numpy as np
import polars as pl
import pulp

from commissioning.explain_schemas import BINDING_SCHEMA
from commissioning.optimise.cell_arrays import Cell, CellArrays
from commissioning.optimise.data import AllocationData
from commissioning.optimise.model import RULES, AllocationModel, define_pot_eligibility
from commissioning.optimise.solver import Problem
from commissioning.optimise.split import Payment

# Rows that are bookkeeping, not rules a commissioner set.
_SKIPPED = ("paid_by_eligible_pots",)
_PULP_NAME = str.maketrans("-+[] ", "_____")


def binding_table(
    data: AllocationData, granules: dict[tuple[int, str], int], payments: list[Payment]
) -> pl.DataFrame:
    spent: dict[tuple[int, str, str], int] = defaultdict(int)
    class_of = {i: cls.index for cls in data.classes for i in cls.slots}
    for year, i, pot, pence in payments:
        spent[(class_of[i], pot, year)] += pence
    model = _Delivered(data, granules, spent)
    cheapest = cache(lambda pot: _cheapest_granule(data, pot))
    rows = [
        _rule_row(data, model, name, description, cheapest)
        for name, description in model.described.items()
        if not name.startswith(_SKIPPED)
    ]
    rows += _bound_rows(data, granules)
    return pl.DataFrame([r for r in rows if r is not None], schema=BINDING_SCHEMA)


class _Units(dict[Cell, pulp.LpVariable]):
    """A cell's units variable, made when a rule row first uses it, holding the delivered
    granules: most rows name only a few cells, and making a variable per cell was most of
    the cost of this table."""

    def __init__(self, problem: pulp.LpProblem, data: AllocationData, granules: dict[Cell, int]):
        super().__init__()
        self.problem = problem
        self.data = data
        self.granules = granules

    def __missing__(self, cell: Cell) -> pulp.LpVariable:
        slot = self.data.slots[cell[0]]
        var = self.problem.add_variable(f"units[{slot.area}][{slot.service}][{cell[1]}]")
        var.varValue = self.granules[cell]
        self[cell] = var
        return var


class _Delivered(AllocationModel):
    """The allocation model's rule rows (its own `define_*` functions, so the same rows and
    words) over variables that hold the delivered allocation. The bookkeeping rows that tie
    every cell's units to its class's spending are left out: the table skips them, and they
    would need a variable for every cell."""

    def __init__(
        self,
        data: AllocationData,
        granules: dict[Cell, int],
        spent: dict[tuple[int, str, str], int],
    ):
        self.delivered = granules
        self.spent = spent
        super().__init__(data)

    def _build(self) -> None:
        self.problem = Problem("binding", pulp.LpMinimize)
        self.units = _Units(self.problem, self.data, self.delivered)
        self.spend = {}
        for cls in self.data.classes:
            for pot in cls.pots:
                for year in self.data.years:
                    var = self.problem.add_variable(f"spend[{pot}][class{cls.index}][{year}]")
                    var.varValue = self.spent.get((cls.index, pot, year), 0)
                    self.spend[(cls.index, pot, year)] = var
        for rule in RULES:
            if rule is not define_pot_eligibility:
                rule(self)


def _rule_row(
    data: AllocationData,
    model: AllocationModel,
    name: str,
    description: str,
    cheapest_granule: Callable[[str], float | None],
) -> dict[str, object] | None:
    row = model.problem.get_constraint_by_name(name.translate(_PULP_NAME))
    if row is None or not len(row):
        return None  # e.g. the budget of a pot that funds no service: nothing to bind
    family, keys = _parts(name)
    year = keys[-1]
    lhs_minus_rhs = float(row.value() or 0.0)
    limit = -float(row.constant)
    value = limit + lhs_minus_rhs
    sense = "<=" if row.sense == pulp.LpConstraintLE else ">="
    slack = (-lhs_minus_rhs if sense == "<=" else lhs_minus_rhs) + 0.0  # no "-0.0" in CSVs
    money = family != "award_kept"
    costs = [
        abs(coef) for var, coef in row.items() if var.name.startswith("units") and abs(coef) > 0
    ]
    step = min(costs) if money and costs else 1.0
    if family == "pot_budget":
        cheapest = cheapest_granule(keys[0])
        step = cheapest if cheapest is not None else step
    exact = abs(slack) < (0.5 if money else 1e-9)
    return {
        "year": year,
        "family": family,
        "constraint": name,
        "description": description,
        "area_code": keys[0] if family in _AREA_FAMILIES else None,
        "pot": keys[0] if family == "pot_budget" else _fence_pot(data, family, keys),
        "sense": sense,
        "measure": "pence" if money else "granules",
        "limit": limit,
        "value": value,
        "slack": slack,
        "slack_pence": round(slack) if money else None,
        "binding": exact,
        "blocks_next_granule": exact or (sense == "<=" and slack < step - 0.5),
    }


_AREA_FAMILIES = ("area_cap", "area_floor", "pace_up", "pace_down", "award_kept")


def _parts(name: str) -> tuple[str, list[str]]:
    family, _, rest = name.partition("[")
    return family, rest.rstrip("]").split("][")


def _fence_pot(data: AllocationData, family: str, keys: list[str]) -> str | None:
    if family != "ring_fence":
        return None
    return next(f.pot for f in data.scenario.ring_fences if f.id == keys[0])


def _cheapest_granule(data: AllocationData, pot: str) -> float | None:
    costs = [s.granule_cost for s in data.slots if pot in s.pots]
    return float(min(costs)) if costs else None


def _bound_rows(
    data: AllocationData, granules: dict[tuple[int, str], int]
) -> list[dict[str, object] | None]:
    """Cells at their cap or floor (bounds on units, not rows), slot by slot, year by year."""
    cells = CellArrays(data, granules)
    n = cells.granules
    floor = np.fromiter((s.floor for s in data.slots), dtype=np.int64, count=len(data.slots))
    at_cap = cells.capped & (n >= cells.cap)
    at_floor = (floor[:, None] > 0) & (n <= floor[:, None])
    rows: list[dict[str, object] | None] = []
    for i, j in zip(*np.nonzero(at_cap | at_floor), strict=True):
        slot, year = data.slots[i], data.years[j]
        count = int(n[i, j])
        where = f"[{slot.area}][{slot.service}][{year}]"
        if at_cap[i, j]:
            cap = int(cells.cap[i, j])
            rows.append(
                _bound(
                    year,
                    "cell_cap",
                    f"cell_cap{where}",
                    f"{slot.area_name} {slot.service} {year}: at most "
                    f"{cap * slot.granule_units} units ({slot.cap_rule})",
                    slot.area,
                    "<=",
                    cap,
                    count,
                )
            )
        if at_floor[i, j]:
            rows.append(
                _bound(
                    year,
                    "cell_floor",
                    f"cell_floor{where}",
                    f"{slot.area_name} {slot.service} {year}: at least "
                    f"{slot.floor * slot.granule_units} units (area floor)",
                    slot.area,
                    ">=",
                    slot.floor,
                    count,
                )
            )
    return rows


def _bound(
    year: str,
    family: str,
    name: str,
    description: str,
    area: str,
    sense: str,
    limit: int,
    value: int,
) -> dict[str, object]:
    slack = limit - value if sense == "<=" else value - limit
    return {
        "year": year,
        "family": family,
        "constraint": name,
        "description": description,
        "area_code": area,
        "pot": None,
        "sense": sense,
        "measure": "granules",
        "limit": float(limit),
        "value": float(value),
        "slack": float(slack),
        "slack_pence": None,
        "binding": slack == 0,
        "blocks_next_granule": slack < 1,
    }
