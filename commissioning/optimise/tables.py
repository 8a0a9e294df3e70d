"""Turn a solution into the run's tables; every coverage row carries its cell's reason."""

from __future__ import annotations

from collections import defaultdict

import polars as pl

from commissioning.optimise.data import AllocationData
from commissioning.optimise.reasons import CellKey, CellReason
from commissioning.optimise.split import Payment
from commissioning.results import (
    ALLOCATIONS_SCHEMA,
    COMMITMENTS_SCHEMA,
    COVERAGE_SCHEMA,
    EXPLANATIONS_SCHEMA,
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
    data: AllocationData,
    granules: dict[tuple[int, str], int],
    reasons: dict[CellKey, CellReason],
) -> pl.DataFrame:
    rows = []
    for slot in data.slots:
        if not slot.benchmarked and not any(granules[(slot.index, y)] for y in data.years):
            continue
        bid_units = dict(slot.existing_by_year)
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
                    slot.existing,
                    bid_units.get(year, 0.0),
                    funded,
                    n * slot.granule_cost,
                    reasons[(year, slot.area, slot.service)].sentence,
                )
            )
    names = {a.code: a.name for a in data.scenario.areas}
    for area, service, target, base, extra in data.unfundable:
        for year in data.years:
            from_bids = dict(extra).get(year, 0.0)
            reason = reasons[(year, area, service)].sentence
            rows.append(
                _coverage_row(
                    year, area, names[area], service, target, base, from_bids, 0.0, 0, reason
                )
            )
    return conform("coverage", pl.DataFrame(rows, schema=COVERAGE_SCHEMA))


def _coverage_row(
    year: str,
    area: str,
    area_name: str,
    service: str,
    target: float,
    existing: float,
    from_bids: float,
    funded: float,
    cost: int,
    explanation: str,
) -> dict[str, object]:
    """One coverage row: existing provision, selected bids' units and funded units apart, and
    their sum in total_units (what coverage counts)."""
    total = existing + from_bids + funded
    return {
        "year": year,
        "area_code": area,
        "area_name": area_name,
        "service": service,
        "target_units": target,
        "existing_units": existing,
        "bid_units": from_bids,
        "funded_units": funded,
        "total_units": total,
        "coverage_ratio": total / target if target > 0 else None,
        "shortfall_units": max(0.0, target - total) if target > 0 else 0.0,
        "funded_cost_pence": cost,
        "explanation": explanation,
    }


def explanations_table(reasons: dict[CellKey, CellReason]) -> pl.DataFrame:
    rows = [
        {
            "year": r.year,
            "area_code": r.area_code,
            "area_name": r.area_name,
            "service": r.service,
            "reason_code": r.code.value,
            "coverage_ratio": r.coverage_ratio,
            "shortfall_units": r.shortfall_units,
            "shortfall_pence": r.shortfall_pence,
            "reason": r.sentence,
        }
        for r in reasons.values()
    ]
    return conform("explanations", pl.DataFrame(rows, schema=EXPLANATIONS_SCHEMA))
