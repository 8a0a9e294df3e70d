"""The Compare sheet: two runs side by side, and every change, from a RunComparison.

Money is written as exact pounds (Decimal), units and coverage as the exact Decimals the
comparison holds, so the sheet's columns add up to its totals to the penny.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from openpyxl.worksheet.worksheet import Worksheet

from commissioning.analysis.compare import RunComparison, ScorecardLine
from commissioning.excel import styles
from commissioning.excel.files import add_sheet, new_workbook, save_workbook
from commissioning.excel.layout import Column, SheetWriter, Value, pounds

SHEET = "Compare"
_KIND_FORMAT = {
    "pence": styles.POUNDS,
    "count": styles.WHOLE,
    "ratio": styles.PERCENT,
    "number": "0.000000",
}


def write_compare_workbook(comparison: RunComparison, path: str | Path, stamp: datetime) -> Path:
    """A workbook holding the Compare sheet alone, written atomically and reproducibly."""
    wb = new_workbook(
        f"{comparison.base_scenario} vs {comparison.other_scenario}",
        "VAWG commissioning: comparison of two runs",
        stamp,
    )
    write_compare_sheet(add_sheet(wb, SHEET), comparison)
    return save_workbook(wb, path, stamp)


def _scorecard_value(line: ScorecardLine, value: Decimal | None) -> Value:
    if value is None:
        return None
    return pounds(int(value)) if line.kind == "pence" else value


def write_compare_sheet(ws: Worksheet, c: RunComparison) -> None:
    """Every section of the comparison on one sheet, each an Excel Table with filters."""
    w = SheetWriter(ws)
    w.title(
        "Compare two runs",
        f"Base: {c.base_scenario}. Other: {c.other_scenario}. Every change is other − base."
        + (f" Cut to area {c.area_code}." if c.area_code else ""),
    )
    w.skip()
    if c.scorecard is not None:
        w.subtitle("Scorecards side by side")
        header = [Column("Measure", width=44), Column("Base"), Column("Other"), Column("Change")]
        w.header(header)
        for line in c.scorecard:
            w.row += 1
            number_format = _KIND_FORMAT[line.kind]
            w.cell(w.row, 1, line.measure, font=styles.LABEL_FONT)
            for j, value in enumerate((line.base, line.other, line.change), start=2):
                w.cell(w.row, j, _scorecard_value(line, value), number_format)
        w.skip(2)

    w.subtitle("Boroughs crossing the benchmark")
    if c.crossings:
        w.table(
            [
                Column("Year"),
                Column("Area code"),
                Column("Area", width=24),
                Column("Change"),
                Column("Services", width=40),
            ],
            [
                [
                    x.year,
                    x.area_code,
                    x.area_name,
                    "fell below" if x.direction == "fell_below" else "reached",
                    ", ".join(x.services),
                ]
                for x in c.crossings
            ],
            "tblCompareCrossings",
        )
    else:
        w.note("No borough crosses the benchmark either way.")
    w.skip()

    if c.pots is not None:
        w.subtitle("Money by pot")
        money = ("Budget", "Committed", "Allocated", "Unspent")
        columns = [Column("Year"), Column("Pot"), Column("Pot name", width=36)]
        columns += [
            Column(f"{m} {side}", styles.POUNDS)
            for m in money
            for side in ("base", "other", "change")
        ]
        rows: list[list[Value]] = []
        for p in c.pots:
            row: list[Value] = [p.year, p.pot, p.pot_name]
            for m in money:
                key = m.lower()
                row += [
                    pounds(getattr(p, f"base_{key}_pence")),
                    pounds(getattr(p, f"other_{key}_pence")),
                    pounds(getattr(p, f"diff_{key}_pence")),
                ]
            rows.append(row)
        totals: list[Value] = ["Total", "", ""]
        for m in money:
            key = m.lower()
            base = sum(getattr(p, f"base_{key}_pence") for p in c.pots)
            other = sum(getattr(p, f"other_{key}_pence") for p in c.pots)
            totals += [pounds(base), pounds(other), pounds(other - base)]
        w.table(columns, rows, "tblComparePots", total_row=totals)
        w.skip()

    if c.grants:
        w.subtitle("Formula grants")
        w.table(
            [
                Column("Year"),
                Column("Pot"),
                Column("Area code"),
                Column("Area", width=24),
                Column("Target base", styles.POUNDS),
                Column("Target other", styles.POUNDS),
                Column("Target change", styles.POUNDS),
                Column("Paid base", styles.POUNDS),
                Column("Paid other", styles.POUNDS),
                Column("Paid change", styles.POUNDS),
            ],
            [
                [
                    g.year,
                    g.pot,
                    g.area_code,
                    g.area_name,
                    pounds(g.base_target_pence),
                    pounds(g.other_target_pence),
                    pounds(g.diff_target_pence),
                    pounds(g.base_allocated_pence),
                    pounds(g.other_allocated_pence),
                    pounds(g.diff_allocated_pence),
                ]
                for g in c.grants
            ],
            "tblCompareGrants",
            total_row=[
                "Total",
                "",
                "",
                "",
                pounds(c.totals.base_grant_target_pence),
                pounds(c.totals.other_grant_target_pence),
                pounds(c.totals.diff_grant_target_pence),
                pounds(c.totals.base_grant_allocated_pence),
                pounds(c.totals.other_grant_allocated_pence),
                pounds(c.totals.diff_grant_allocated_pence),
            ],
        )
        w.skip()

    if c.bids is not None:
        w.subtitle("Bids selected in one run only")
        if c.bids:
            w.table(
                [
                    Column("Bid"),
                    Column("Provider", width=30),
                    Column("Selected in"),
                    Column("Years"),
                    Column("Cost", styles.POUNDS),
                ],
                [
                    [b.bid, b.provider, b.selected_in, ", ".join(b.years), pounds(b.cost_pence)]
                    for b in c.bids
                ],
                "tblCompareBids",
            )
        else:
            w.note("Both runs select the same bids.")
        w.skip()

    w.subtitle("Each year × area × service")
    cell_columns = [
        Column("Year"),
        Column("Area code"),
        Column("Area", width=24),
        Column("Service"),
        Column("Target base", styles.UNITS),
        Column("Target other", styles.UNITS),
        Column("Units base", styles.UNITS),
        Column("Units other", styles.UNITS),
        Column("Units change", styles.UNITS),
        Column("Funded base", styles.UNITS),
        Column("Funded other", styles.UNITS),
        Column("Funded change", styles.UNITS),
        Column("Coverage base", styles.PERCENT),
        Column("Coverage other", styles.PERCENT),
        Column("Coverage change", styles.PERCENT),
        Column("Cost base", styles.POUNDS),
        Column("Cost other", styles.POUNDS),
        Column("Cost change", styles.POUNDS),
        Column("Below base"),
        Column("Below other"),
    ]
    t = c.totals
    w.table(
        cell_columns,
        [
            [
                r.year,
                r.area_code,
                r.area_name,
                r.service,
                r.base_target_units,
                r.other_target_units,
                r.base_total_units,
                r.other_total_units,
                r.diff_total_units,
                r.base_funded_units,
                r.other_funded_units,
                r.diff_funded_units,
                r.base_coverage_ratio,
                r.other_coverage_ratio,
                r.diff_coverage_ratio,
                pounds(r.base_funded_cost_pence),
                pounds(r.other_funded_cost_pence),
                pounds(r.diff_funded_cost_pence),
                r.base_below_benchmark,
                r.other_below_benchmark,
            ]
            for r in c.rows
        ],
        "tblCompareCells",
        total_row=[
            "Total",
            "",
            "",
            "",
            None,
            None,
            None,
            None,
            None,
            t.base_funded_units,
            t.other_funded_units,
            t.diff_funded_units,
            None,
            None,
            None,
            pounds(t.base_funded_cost_pence),
            pounds(t.other_funded_cost_pence),
            pounds(t.diff_funded_cost_pence),
            t.base_cells_below,
            t.other_cells_below,
        ],
    )
    w.finish(freeze="A2")
