"""Turn a solution into the run's tables, with a reason for every cell left below benchmark."""

from __future__ import annotations

from collections import defaultdict

import polars as pl

from commissioning.money import pounds
from commissioning.optimise.affordability import holding_rule
from commissioning.optimise.data import AllocationData, Slot
from commissioning.optimise.split import Payment
from commissioning.results import (
    ALLOCATIONS_SCHEMA,
    COMMITMENTS_SCHEMA,
    COVERAGE_SCHEMA,
    POTS_SCHEMA,
    conform,
)

TOLERANCE = 1e-9


def allocations_table(data: AllocationData, payments: list[Payment]) -> pl.DataFrame:
    rows = [
        {
            "year": year,
            "area_code": data.slots[i].area,
            "area_name": data.slots[i].area_name,
            "service": data.slots[i].service,
            "pot": pot,
            "units": pence / data.slots[i].unit_cost,
            "cost_pence": pence,
        }
        for year, i, pot, pence in payments
        if pence > 0
    ]
    return conform("allocations", pl.DataFrame(rows, schema=ALLOCATIONS_SCHEMA))


def pots_table(data: AllocationData, payments: list[Payment]) -> pl.DataFrame:
    spent: dict[tuple[str, str], int] = defaultdict(int)
    for year, _, pot_id, pence in payments:
        spent[(pot_id, year)] += pence
    rows = []
    for pot in data.scenario.pots:
        for year in data.years:
            budget = pot.amount_in(year)
            committed = data.committed[(pot.id, year)]
            allocated = spent[(pot.id, year)]
            rows.append(
                {
                    "year": year,
                    "pot": pot.id,
                    "pot_name": pot.name,
                    "budget_pence": budget,
                    "committed_pence": committed,
                    "allocated_pence": allocated,
                    "unspent_pence": budget - committed - allocated,
                }
            )
    return conform("pots", pl.DataFrame(rows, schema=POTS_SCHEMA))


def commitments_table(data: AllocationData) -> pl.DataFrame:
    rows = [
        {
            "year": year,
            "commitment": c.id,
            "name": c.name,
            "pot": c.pot,
            "service": c.service,
            "area_code": c.area,
            "amount_pence": c.amount_pence,
        }
        for c in data.scenario.commitments
        for year in c.years or data.years
    ]
    return conform("commitments", pl.DataFrame(rows, schema=COMMITMENTS_SCHEMA))


def coverage_table(
    data: AllocationData, granules: dict[tuple[int, str], int], pots: pl.DataFrame
) -> pl.DataFrame:
    unspent = {(r["pot"], r["year"]): r["unspent_pence"] for r in pots.iter_rows(named=True)}
    area_totals: dict[tuple[str, str], int] = defaultdict(int)
    for (i, year), n in granules.items():
        area_totals[(data.slots[i].area, year)] += n * data.slots[i].granule_cost
    rows = []
    for slot in data.slots:
        if not slot.benchmarked and not any(granules[(slot.index, y)] for y in data.years):
            continue
        for year in data.years:
            n = granules[(slot.index, year)]
            funded = float(slot.granule_units) * n
            rows.append(
                _coverage_row(
                    year,
                    slot.area,
                    slot.area_name,
                    slot.service,
                    slot.target,
                    slot.existing_in(year),
                    funded,
                    n * slot.granule_cost,
                    _explain(data, slot, year, n, funded, unspent, area_totals),
                )
            )
    names = {a.code: a.name for a in data.scenario.areas}
    for area, service, target, base, extra in data.unfundable:
        for year in data.years:
            existing = base + dict(extra).get(year, 0.0)
            covered = existing >= target - TOLERANCE
            reason = (
                "at or above benchmark" if covered else f"no pot may fund {service} in this area"
            )
            rows.append(
                _coverage_row(year, area, names[area], service, target, existing, 0.0, 0, reason)
            )
    return conform("coverage", pl.DataFrame(rows, schema=COVERAGE_SCHEMA))


def _coverage_row(
    year: str,
    area: str,
    area_name: str,
    service: str,
    target: float,
    existing: float,
    funded: float,
    cost: int,
    explanation: str,
) -> dict[str, object]:
    total = existing + funded
    return {
        "year": year,
        "area_code": area,
        "area_name": area_name,
        "service": service,
        "target_units": target,
        "existing_units": existing,
        "funded_units": funded,
        "total_units": total,
        "coverage_ratio": total / target if target > 0 else None,
        "shortfall_units": max(0.0, target - total) if target > 0 else 0.0,
        "funded_cost_pence": cost,
        "explanation": explanation,
    }


def _explain(
    data: AllocationData,
    slot: Slot,
    year: str,
    n: int,
    funded: float,
    unspent: dict[tuple[str, str], int],
    area_totals: dict[tuple[str, str], int],
) -> str:
    """Why a cell sits where it does, in words: money, or the rule that holds it."""
    if not slot.benchmarked:
        return "not benchmarked; funded to meet a ring-fence or floor"
    if slot.existing_in(year) + funded >= slot.target - TOLERANCE:
        return "at or above benchmark"
    cap = slot.cap_in(year)
    if cap is not None and n >= cap:
        return f"held by the {slot.cap_rule}"
    left = sum(max(0, unspent[(p, year)]) for p in slot.pots)
    if left < slot.granule_cost:
        return (
            f"money: the pots that may fund it ({', '.join(slot.pots)}) have {pounds(left)} left "
            f"in {year}, less than one more {slot.granule_units} unit ({pounds(slot.granule_cost)})"
        )
    rule = holding_rule(data, slot, area_totals[(slot.area, year)])
    if rule is not None:
        return f"held by {rule}"
    # Leximin would have bought the unit; the run's affordability check stops it as a bug.
    return f"below benchmark although {pounds(left)} that may fund it is unspent"
