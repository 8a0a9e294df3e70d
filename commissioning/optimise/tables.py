"""Turn a solution into the run's tables; every coverage row carries its cell's reason.

The long tables (a row per cell or per payment) are built a column at a time: building a
polars frame from a dict per row cost more than working out the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np
import polars as pl

from commissioning.optimise.cell_arrays import granule_matrix
from commissioning.optimise.data import AllocationData
from commissioning.optimise.reasons import CellKey, CellReason, CellReasons, ReasonCode
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
    paid = [p for p in payments if p[3] > 0]
    if not paid:
        return conform("allocations", pl.DataFrame(schema=ALLOCATIONS_SCHEMA))
    # (zip(*paid) would be slow: it steps through one iterator per payment)
    years = [p[0] for p in paid]
    pots = [p[2] for p in paid]
    where = np.fromiter((p[1] for p in paid), dtype=np.int64, count=len(paid))
    cost = np.fromiter((p[3] for p in paid), dtype=np.int64, count=len(paid))
    unit_cost = np.fromiter((s.unit_cost for s in data.slots), dtype=np.int64)
    frame = _slot_names(data)[where].with_columns(
        pl.Series("year", years, dtype=pl.String),
        pl.Series("pot", pots, dtype=pl.String),
        # pence ÷ unit cost: ints below 2^53 as floats, so the same quotient as int / int
        pl.Series("units", cost / unit_cost[where], dtype=pl.Float64),
        pl.Series("cost_pence", cost, dtype=pl.Int64),
    )
    return conform("allocations", frame)


def _slot_names(data: AllocationData) -> pl.DataFrame:
    """Area code, area name and service of every slot, a row per slot (rows are taken from
    it by slot number)."""
    return pl.DataFrame(
        {
            "area_code": [s.area for s in data.slots],
            "area_name": [s.area_name for s in data.slots],
            "service": [s.service for s in data.slots],
        },
        schema={"area_code": pl.String, "area_name": pl.String, "service": pl.String},
    )


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
    reasons: Mapping[CellKey, CellReason],
) -> pl.DataFrame:
    """One row per cell: existing provision, selected bids' units and funded units apart, and
    their sum in total_units (what coverage counts). The figures are the same float operations
    as a row at a time, on whole columns."""
    years = data.years
    n = granule_matrix(data, granules)
    # slots with a benchmark, or funded in some year (for a ring-fence or a floor)
    benchmarked = np.fromiter((s.benchmarked for s in data.slots), dtype=bool, count=len(n))
    shown = np.flatnonzero(benchmarked | (n != 0).any(axis=1))
    slots = [data.slots[i] for i in shown.tolist()]
    count = n[shown]
    target = np.array([s.target for s in slots], dtype=np.float64)[:, None]
    existing = np.array([s.existing for s in slots], dtype=np.float64)[:, None]
    bids = np.zeros(count.shape, dtype=np.float64)
    for k, s in enumerate(slots):
        if s.existing_by_year:
            by_year = dict(s.existing_by_year)
            bids[k] = [by_year.get(y, 0.0) for y in years]
    size = np.array([float(s.granule_units) for s in slots], dtype=np.float64)[:, None]
    cost = np.array([s.granule_cost for s in slots], dtype=np.int64)[:, None]
    funded = size * count
    total = existing + bids + funded
    wide = count.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = total / target
    gap = target - total
    has_target = np.broadcast_to(target > 0, wide).ravel()
    frame = _slot_names(data)[np.repeat(shown, len(years))].with_columns(
        pl.Series("year", list(years), dtype=pl.String).gather(
            np.tile(np.arange(len(years)), len(slots))
        ),
        pl.Series("target_units", np.broadcast_to(target, wide).ravel(), dtype=pl.Float64),
        pl.Series("existing_units", np.broadcast_to(existing, wide).ravel(), dtype=pl.Float64),
        pl.Series("bid_units", bids.ravel(), dtype=pl.Float64),
        pl.Series("funded_units", funded.ravel(), dtype=pl.Float64),
        pl.Series("total_units", total.ravel(), dtype=pl.Float64),
        pl.Series("coverage_ratio", ratio.ravel(), dtype=pl.Float64).scatter(
            np.flatnonzero(~has_target), None
        ),
        # max(0.0, gap): 0.0 unless the gap is positive (never -0.0)
        pl.Series("shortfall_units", np.where(gap > 0, gap, 0.0).ravel(), dtype=pl.Float64),
        pl.Series("funded_cost_pence", (count * cost).ravel(), dtype=pl.Int64),
    )
    names = {a.code: a.name for a in data.scenario.areas}
    rows = [
        _coverage_row(
            year, area, names[area], service, target_units, base, dict(extra).get(year, 0.0)
        )
        for area, service, target_units, base, extra in data.unfundable
        for year in years
    ]
    frame = pl.concat(
        [
            frame.select(c for c in COVERAGE_SCHEMA if c != "explanation"),
            pl.DataFrame(
                rows, schema={c: t for c, t in COVERAGE_SCHEMA.items() if c != "explanation"}
            ),
        ]
    )
    return conform("coverage", frame.with_columns(_sentences(frame, reasons)))


_KEYS = ["year", "area_code", "service"]


def _sentences(cells: pl.DataFrame, reasons: Mapping[CellKey, CellReason]) -> pl.Series:
    """Each cell's reason: the reasons' own column when they list the same cells in the same
    order (as explain_cells does), else looked up by key."""
    frame = _reasons_frame(reasons)
    if frame.height == cells.height and frame.select(_KEYS).equals(cells.select(_KEYS)):
        return frame["reason"].alias("explanation")
    found = cells.select(_KEYS).join(
        frame.select(*_KEYS, "reason"), on=_KEYS, how="left", maintain_order="left"
    )
    return found["reason"].alias("explanation")


def _coverage_row(
    year: str,
    area: str,
    area_name: str,
    service: str,
    target: float,
    existing: float,
    from_bids: float,
) -> dict[str, object]:
    """The coverage row of a cell no pot may fund."""
    total = existing + from_bids + 0.0
    return {
        "year": year,
        "area_code": area,
        "area_name": area_name,
        "service": service,
        "target_units": target,
        "existing_units": existing,
        "bid_units": from_bids,
        "funded_units": 0.0,
        "total_units": total,
        "coverage_ratio": total / target if target > 0 else None,
        "shortfall_units": max(0.0, target - total) if target > 0 else 0.0,
        "funded_cost_pence": 0,
    }


def explanations_table(reasons: Mapping[CellKey, CellReason]) -> pl.DataFrame:
    return conform("explanations", _reasons_frame(reasons))


def _reasons_frame(reasons: Mapping[CellKey, CellReason]) -> pl.DataFrame:
    """The reasons as a table, in their own order (made once for explain_cells' reasons: the
    coverage and explanations tables both read it)."""
    if isinstance(reasons, CellReasons):
        if reasons.frame is None:
            reasons.frame = _columns_frame(
                reasons.cell_keys,
                reasons.area_names,
                [_CODES[c] for c in reasons.codes],
                reasons.coverage,
                reasons.units,
                reasons.pence,
                reasons.sentences,
            )
        return reasons.frame
    rows = list(reasons.values())
    return _columns_frame(
        [r.key for r in rows],
        [r.area_name for r in rows],
        [_CODES[r.code] for r in rows],
        [r.coverage_ratio for r in rows],
        [r.shortfall_units for r in rows],
        [r.shortfall_pence for r in rows],
        [r.sentence for r in rows],
    )


def _columns_frame(
    keys: list[CellKey],
    area_names: list[str],
    codes: list[str],
    coverage: list[float | None],
    units: list[float],
    pence: list[int],
    sentences: list[str],
) -> pl.DataFrame:
    columns = {
        "year": [k[0] for k in keys],
        "area_code": [k[1] for k in keys],
        "area_name": area_names,
        "service": [k[2] for k in keys],
        "reason_code": codes,
        "coverage_ratio": coverage,
        "shortfall_units": units,
        "shortfall_pence": pence,
        "reason": sentences,
    }
    return pl.DataFrame(columns, schema=EXPLANATIONS_SCHEMA)


_CODES = {code: code.value for code in ReasonCode}
