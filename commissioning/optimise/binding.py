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

import polars as pl
import pulp

from commissioning.explain_schemas import BINDING_SCHEMA
from commissioning.optimise.data import AllocationData
from commissioning.optimise.model import AllocationModel
from commissioning.optimise.split import Payment

# Rows that are bookkeeping, not rules a commissioner set.
_SKIPPED = ("paid_by_eligible_pots",)
_PULP_NAME = str.maketrans("-+[] ", "_____")


def binding_table(
    data: AllocationData, granules: dict[tuple[int, str], int], payments: list[Payment]
) -> pl.DataFrame:
    model = AllocationModel(data)
    for cell, var in model.units.items():
        var.varValue = granules[cell]
    spent: dict[tuple[int, str, str], int] = defaultdict(int)
    class_of = {i: cls.index for cls in data.classes for i in cls.slots}
    for year, i, pot, pence in payments:
        spent[(class_of[i], pot, year)] += pence
    for key, var in model.spend.items():
        var.varValue = spent.get(key, 0)
    rows = [
        _rule_row(data, model, name, description)
        for name, description in model.described.items()
        if not name.startswith(_SKIPPED)
    ]
    rows += _bound_rows(data, granules)
    return pl.DataFrame([r for r in rows if r is not None], schema=BINDING_SCHEMA)


def _rule_row(
    data: AllocationData, model: AllocationModel, name: str, description: str
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
        cheapest = _cheapest_granule(data, keys[0])
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
    rows: list[dict[str, object] | None] = []
    for slot in data.slots:
        for year in data.years:
            n = granules[(slot.index, year)]
            cap = slot.cap_in(year)
            where = f"[{slot.area}][{slot.service}][{year}]"
            if cap is not None and n >= cap:
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
                        n,
                    )
                )
            if slot.floor > 0 and n <= slot.floor:
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
                        n,
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
