"""Compare two solved runs: what changed, where, and where the money went.

Every difference is `other − base` and exact: money in whole pence (int), units and coverage
as Decimals read at the precision the run's CSV files hold (6 decimal places), so a column of
differences adds up to the difference of the totals to the penny and never shows float noise
such as -0.07899999999999996.

A borough lead's comparison (`area_code=`) holds only that borough's rows: the scorecards, pots
and bids are London-wide and are left out, as the API withholds them from borough leads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from commissioning.analysis.scorecard import Scorecard, scorecard
from commissioning.results import RunResult

DECIMALS = 6  # the precision of unit and ratio columns in a run's CSV files
ZERO = Decimal(0)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


def exact(value: float | None) -> Decimal | None:
    """A unit or ratio column's value exactly as the run's CSV holds it, without trailing
    zeros ('3.5', not '3.500000' or 3.4999999999)."""
    if value is None:
        return None
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return Decimal("0" if text in ("", "-0") else text)


def _diff(base: Decimal | None, other: Decimal | None) -> Decimal:
    return _trim((other or ZERO) - (base or ZERO))


def _trim(value: Decimal) -> Decimal:
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal("0" if text in ("", "-0") else text)


class CellChange(_Model):
    """One year × area × service: units, coverage and money in each run, and the change."""

    year: str
    area_code: str
    area_name: str | None
    service: str
    base_target_units: Decimal | None
    other_target_units: Decimal | None
    base_total_units: Decimal | None = Field(description="Existing + bids + funded units.")
    other_total_units: Decimal | None
    diff_total_units: Decimal
    base_funded_units: Decimal | None
    other_funded_units: Decimal | None
    diff_funded_units: Decimal
    base_funded_cost_pence: int | None
    other_funded_cost_pence: int | None
    diff_funded_cost_pence: int
    base_coverage_ratio: Decimal | None = Field(description="Total ÷ target, as coverage.csv.")
    other_coverage_ratio: Decimal | None
    diff_coverage_ratio: Decimal | None = Field(description="None when either run lacks it.")
    base_below_benchmark: bool | None
    other_below_benchmark: bool | None


class BenchmarkCrossing(_Model):
    """A borough that is below benchmark in one run and at benchmark in the other, in a year
    (below = some benchmarked service short of its target, as in the scorecard)."""

    year: str
    area_code: str
    area_name: str
    direction: Literal["fell_below", "reached"]
    services: list[str] = Field(description="Services whose cell crossed in that direction.")


class PotChange(_Model):
    """One pot in one year: budget, committed, allocated and unspent in each run."""

    year: str
    pot: str
    pot_name: str
    base_budget_pence: int
    other_budget_pence: int
    diff_budget_pence: int
    base_committed_pence: int
    other_committed_pence: int
    diff_committed_pence: int
    base_allocated_pence: int
    other_allocated_pence: int
    diff_allocated_pence: int
    base_unspent_pence: int
    other_unspent_pence: int
    diff_unspent_pence: int


class GrantChange(_Model):
    """One formula grant to one area in one year: its target and what it was paid."""

    year: str
    pot: str
    area_code: str
    area_name: str
    base_target_pence: int
    other_target_pence: int
    diff_target_pence: int
    base_allocated_pence: int
    other_allocated_pence: int
    diff_allocated_pence: int


class BidChange(_Model):
    """A co-commissioning bid selected in one run and not in the other."""

    bid: str
    provider: str
    selected_in: Literal["base", "other"]
    years: list[str] = Field(description="Years in which it was selected in that run.")
    cost_pence: int = Field(description="Its cost over those years.")


class ScorecardLine(_Model):
    """One scorecard measure in both runs. Money in pence, coverage as a ratio."""

    measure: str
    kind: Literal["pence", "count", "ratio", "number"]
    base: Decimal | None
    other: Decimal | None
    change: Decimal | None


class Totals(_Model):
    """Sums over the rows shown; each `diff_` equals the sum of the rows' differences."""

    base_funded_cost_pence: int
    other_funded_cost_pence: int
    diff_funded_cost_pence: int
    base_funded_units: Decimal
    other_funded_units: Decimal
    diff_funded_units: Decimal
    base_cells_below: int
    other_cells_below: int
    diff_cells_below: int
    base_budget_pence: int | None = Field(description="None for a borough lead (London-wide).")
    other_budget_pence: int | None
    diff_budget_pence: int | None
    base_allocated_pence: int | None
    other_allocated_pence: int | None
    diff_allocated_pence: int | None
    base_unspent_pence: int | None
    other_unspent_pence: int | None
    diff_unspent_pence: int | None
    base_grant_target_pence: int
    other_grant_target_pence: int
    diff_grant_target_pence: int
    base_grant_allocated_pence: int
    other_grant_allocated_pence: int
    diff_grant_allocated_pence: int


class RunComparison(_Model):
    """Everything that differs between two runs (other − base); see the module docstring."""

    area_code: str | None = Field(description="The borough the comparison is cut to, if any.")
    base_scenario: str
    other_scenario: str
    scorecard: list[ScorecardLine] | None = Field(
        description="The two scorecards side by side (None for a borough lead)."
    )
    base_scorecard: Scorecard | None
    other_scorecard: Scorecard | None
    rows: list[CellChange] = Field(description="One row per year × area × service.")
    crossings: list[BenchmarkCrossing]
    pots: list[PotChange] | None = Field(description="None for a borough lead (London-wide).")
    grants: list[GrantChange]
    bids: list[BidChange] | None = Field(description="None for a borough lead (London-wide).")
    totals: Totals

    def changed_rows(self) -> list[CellChange]:
        return [r for r in self.rows if r.diff_funded_units or r.diff_funded_cost_pence]


def compare_runs(base: RunResult, other: RunResult, area_code: str | None = None) -> RunComparison:
    """What changed from `base` to `other`; cut to one borough's rows with `area_code`."""
    london = area_code is None
    rows = _cell_changes(base, other, area_code)
    pots = _pot_changes(base, other) if london else None
    grants = _grant_changes(base, other, area_code)
    base_card = scorecard(base) if london else None
    other_card = scorecard(other) if london else None
    return RunComparison(
        area_code=area_code,
        base_scenario=base.scenario.name,
        other_scenario=other.scenario.name,
        scorecard=_scorecard_lines(base_card, other_card) if base_card and other_card else None,
        base_scorecard=base_card,
        other_scorecard=other_card,
        rows=rows,
        crossings=list(_crossings(rows)),
        pots=pots,
        grants=grants,
        bids=_bid_changes(base, other) if london else None,
        totals=_totals(rows, pots, grants),
    )


_UNITS = pl.Decimal(precision=38, scale=DECIMALS)
_ROW_COLUMNS: dict[str, pl.DataType] = {
    "year": pl.String(),
    "area_code": pl.String(),
    "area_name": pl.String(),
    "service": pl.String(),
    **{f"{side}_target_units": _UNITS for side in ("base", "other")},
    **{f"{side}_total_units": _UNITS for side in ("base", "other", "diff")},
    **{f"{side}_funded_units": _UNITS for side in ("base", "other", "diff")},
    **{f"{side}_funded_cost_pence": pl.Int64() for side in ("base", "other", "diff")},
    **{f"{side}_coverage_ratio": _UNITS for side in ("base", "other", "diff")},
    **{f"{side}_below_benchmark": pl.Boolean() for side in ("base", "other")},
}
ROWS_SCHEMA = pl.Schema(_ROW_COLUMNS)


def rows_frame(comparison: RunComparison) -> pl.DataFrame:
    """The comparison's rows as a table (exact decimals, for CSV), one column per field."""
    rows = [row.model_dump() for row in comparison.rows]
    return pl.DataFrame(rows, schema=ROWS_SCHEMA)


# -- cells ------------------------------------------------------------------------------------

_KEY = ("year", "area_code", "service")


def _rows_by_key(
    run: RunResult, table: str, key: Iterable[str], area_code: str | None
) -> dict[tuple[Any, ...], dict[str, Any]]:
    frame = run.tables.get(table)
    if frame is None:
        return {}
    names = list(key)
    return {
        tuple(r[k] for k in names): r
        for r in frame.iter_rows(named=True)
        if area_code is None or r.get("area_code") == area_code
    }


def _below(row: dict[str, Any] | None) -> bool | None:
    if row is None:
        return None
    target = exact(row["target_units"]) or ZERO
    return target > 0 and (exact(row["total_units"]) or ZERO) < target


def _cell_changes(base: RunResult, other: RunResult, area_code: str | None) -> list[CellChange]:
    a = _rows_by_key(base, "coverage", _KEY, area_code)
    b = _rows_by_key(other, "coverage", _KEY, area_code)
    changes = []
    for key in sorted(a.keys() | b.keys()):
        x, y = a.get(key), b.get(key)
        year, code, service = key
        values: dict[str, Any] = {}
        for column in ("target_units", "total_units", "funded_units", "coverage_ratio"):
            values[f"base_{column}"] = exact(x[column]) if x else None
            values[f"other_{column}"] = exact(y[column]) if y else None
        ratios = (values["base_coverage_ratio"], values["other_coverage_ratio"])
        base_cost = x["funded_cost_pence"] if x else None
        other_cost = y["funded_cost_pence"] if y else None
        changes.append(
            CellChange(
                year=year,
                area_code=code,
                area_name=(y or x or {}).get("area_name"),
                service=service,
                diff_total_units=_diff(values["base_total_units"], values["other_total_units"]),
                diff_funded_units=_diff(values["base_funded_units"], values["other_funded_units"]),
                base_funded_cost_pence=base_cost,
                other_funded_cost_pence=other_cost,
                diff_funded_cost_pence=(other_cost or 0) - (base_cost or 0),
                diff_coverage_ratio=(None if None in ratios else _trim(ratios[1] - ratios[0])),
                base_below_benchmark=_below(x),
                other_below_benchmark=_below(y),
                **values,
            )
        )
    return changes


def _crossings(rows: list[CellChange]) -> Iterator[BenchmarkCrossing]:
    by_borough: dict[tuple[str, str], list[CellChange]] = {}
    for r in rows:
        by_borough.setdefault((r.year, r.area_code), []).append(r)
    for (year, code), cells in sorted(by_borough.items()):
        base_below = any(c.base_below_benchmark for c in cells)
        other_below = any(c.other_below_benchmark for c in cells)
        if base_below == other_below:
            continue
        name = next((c.area_name for c in cells if c.area_name), code)
        if other_below:
            direction: Literal["fell_below", "reached"] = "fell_below"
            services = [c.service for c in cells if c.other_below_benchmark]
        else:
            direction = "reached"
            services = [c.service for c in cells if c.base_below_benchmark]
        yield BenchmarkCrossing(
            year=year, area_code=code, area_name=name, direction=direction, services=services
        )


# -- money ------------------------------------------------------------------------------------

_POT_MONEY = ("budget", "committed", "allocated", "unspent")


def _pot_changes(base: RunResult, other: RunResult) -> list[PotChange]:
    a = _rows_by_key(base, "pots", ("year", "pot"), None)
    b = _rows_by_key(other, "pots", ("year", "pot"), None)
    changes = []
    for key in sorted(a.keys() | b.keys()):
        x, y = a.get(key, {}), b.get(key, {})
        money: dict[str, int] = {}
        for m in _POT_MONEY:
            money[f"base_{m}_pence"] = x.get(f"{m}_pence") or 0
            money[f"other_{m}_pence"] = y.get(f"{m}_pence") or 0
            money[f"diff_{m}_pence"] = money[f"other_{m}_pence"] - money[f"base_{m}_pence"]
        name = y.get("pot_name") or x.get("pot_name") or key[1]
        changes.append(PotChange(year=key[0], pot=key[1], pot_name=name, **money))
    return changes


def _grant_changes(base: RunResult, other: RunResult, area_code: str | None) -> list[GrantChange]:
    key = ("year", "pot", "area_code")
    a = _rows_by_key(base, "grants", key, area_code)
    b = _rows_by_key(other, "grants", key, area_code)
    changes = []
    for k in sorted(a.keys() | b.keys()):
        x, y = a.get(k, {}), b.get(k, {})
        bt, ot = x.get("target_pence") or 0, y.get("target_pence") or 0
        ba, oa = x.get("allocated_pence") or 0, y.get("allocated_pence") or 0
        changes.append(
            GrantChange(
                year=k[0],
                pot=k[1],
                area_code=k[2],
                area_name=y.get("area_name") or x.get("area_name") or k[2],
                base_target_pence=bt,
                other_target_pence=ot,
                diff_target_pence=ot - bt,
                base_allocated_pence=ba,
                other_allocated_pence=oa,
                diff_allocated_pence=oa - ba,
            )
        )
    return changes


def _selected(run: RunResult) -> dict[str, tuple[str, list[str], int]]:
    frame = run.tables.get("bids")
    chosen: dict[str, tuple[str, list[str], int]] = {}
    if frame is None:
        return chosen
    for r in frame.iter_rows(named=True):
        if r["selected"]:
            provider, years, cost = chosen.get(r["bid"], (r["provider"], [], 0))
            chosen[r["bid"]] = (provider, [*years, r["year"]], cost + (r["cost_pence"] or 0))
    return chosen


def _bid_changes(base: RunResult, other: RunResult) -> list[BidChange]:
    a, b = _selected(base), _selected(other)
    changes = []
    for label, mine, theirs in (("base", a, b), ("other", b, a)):
        for bid in sorted(mine.keys() - theirs.keys()):
            provider, years, cost = mine[bid]
            changes.append(
                BidChange(
                    bid=bid,
                    provider=provider,
                    selected_in=label,
                    years=years,
                    cost_pence=cost,
                )
            )
    return changes


def _totals(
    rows: list[CellChange], pots: list[PotChange] | None, grants: list[GrantChange]
) -> Totals:
    def units(side: str) -> Decimal:
        return _trim(sum((getattr(r, f"{side}_funded_units") or ZERO for r in rows), ZERO))

    base_cost = sum(r.base_funded_cost_pence or 0 for r in rows)
    other_cost = sum(r.other_funded_cost_pence or 0 for r in rows)
    base_below = sum(bool(r.base_below_benchmark) for r in rows)
    other_below = sum(bool(r.other_below_benchmark) for r in rows)
    money: dict[str, int | None] = {}
    for m in ("budget", "allocated", "unspent"):
        base_sum = None if pots is None else sum(getattr(p, f"base_{m}_pence") for p in pots)
        other_sum = None if pots is None else sum(getattr(p, f"other_{m}_pence") for p in pots)
        money[f"base_{m}_pence"] = base_sum
        money[f"other_{m}_pence"] = other_sum
        money[f"diff_{m}_pence"] = (
            None if base_sum is None or other_sum is None else other_sum - base_sum
        )
    bt = sum(g.base_target_pence for g in grants)
    ot = sum(g.other_target_pence for g in grants)
    ba = sum(g.base_allocated_pence for g in grants)
    oa = sum(g.other_allocated_pence for g in grants)
    return Totals(
        base_funded_cost_pence=base_cost,
        other_funded_cost_pence=other_cost,
        diff_funded_cost_pence=other_cost - base_cost,
        base_funded_units=units("base"),
        other_funded_units=units("other"),
        diff_funded_units=_trim(units("other") - units("base")),
        base_cells_below=base_below,
        other_cells_below=other_below,
        diff_cells_below=other_below - base_below,
        base_grant_target_pence=bt,
        other_grant_target_pence=ot,
        diff_grant_target_pence=ot - bt,
        base_grant_allocated_pence=ba,
        other_grant_allocated_pence=oa,
        diff_grant_allocated_pence=oa - ba,
        **money,
    )


# -- scorecards -------------------------------------------------------------------------------


def _scorecard_lines(a: Scorecard, b: Scorecard) -> list[ScorecardLine]:
    def ratio(card: Scorecard, name: str) -> Decimal | None:
        value = getattr(card, name)
        return None if value is None else exact(value.ratio)

    def number(value: float | None) -> Decimal | None:
        return None if value is None else exact(value)

    measures: list[tuple[str, str, Decimal | None, Decimal | None]] = [
        ("lowest coverage", "ratio", ratio(a, "lowest_coverage"), ratio(b, "lowest_coverage")),
        (
            "lowest coverage of fundable cells",
            "ratio",
            ratio(a, "lowest_coverage_fundable"),
            ratio(b, "lowest_coverage_fundable"),
        ),
        ("cells below benchmark", "count", Decimal(a.cells_below), Decimal(b.cells_below)),
        (
            "boroughs below benchmark",
            "count",
            Decimal(a.boroughs_below_count),
            Decimal(b.boroughs_below_count),
        ),
        ("£ short of benchmark", "pence", Decimal(a.short_pence), Decimal(b.short_pence)),
        ("Gini coefficient of coverage", "number", number(a.gini), number(b.gini)),
        (
            "highest ÷ lowest coverage",
            "number",
            number(a.highest_over_lowest),
            number(b.highest_over_lowest),
        ),
        ("budget", "pence", Decimal(a.budget_pence), Decimal(b.budget_pence)),
        ("committed", "pence", Decimal(a.committed_pence), Decimal(b.committed_pence)),
        ("allocated", "pence", Decimal(a.allocated_pence), Decimal(b.allocated_pence)),
        ("unspent", "pence", Decimal(a.unspent_pence), Decimal(b.unspent_pence)),
        (
            "unspent a below-benchmark cell could have used",
            "pence",
            Decimal(a.affordability.unspent_usable_pence),
            Decimal(b.affordability.unspent_usable_pence),
        ),
    ]
    return [
        ScorecardLine(
            measure=measure,
            kind=kind,
            base=x,
            other=y,
            change=None if x is None or y is None else _trim(y - x),
        )
        for measure, kind, x, y in measures
    ]
