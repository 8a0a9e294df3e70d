"""Sheets for the optional tables: formula grants to areas, and co-commissioning bids."""

from __future__ import annotations

import polars as pl
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.data_sheet import TOTALS_ROW, DataSheet, write_data_sheet
from commissioning.excel.layout import Column, name_range, pounds, put, set_style
from commissioning.excel.names import area_names, partner_codes, pot_names
from commissioning.excel.tables import named, only_area
from commissioning.results import RunResult

# The selected total sits in the wide Reason column: to the left, beside its label.
_LEFT = Alignment(horizontal="left")


def write_grants(ws: Worksheet, run: RunResult, area_code: str | None = None) -> DataSheet:
    frame = only_area(run.table("grants"), area_code).select(
        "year",
        "pot",
        named(pl.col("pot"), pot_names(run)).alias("pot_name"),
        "area_code",
        "area_name",
        "target_share",
        "target_pence",
        "allocated_pence",
        "distance_pence",
        "previous_pence",
        "change_pence",
        "change_pct",
    )
    columns = [
        Column("Year"),
        Column("Pot"),
        Column("Pot name"),
        Column("Area code"),
        Column("Borough"),
        Column("Target share", styles.SHARE),
        Column("Formula target", styles.POUNDS, pence=True),
        Column("Grant allocated", styles.POUNDS, pence=True),
        Column("Distance from target", styles.POUNDS, pence=True),
        Column("Previous grant", styles.POUNDS, pence=True),
        Column("Change", styles.POUNDS, pence=True),
        Column("Change %", styles.PERCENT_POINTS),
    ]
    return write_data_sheet(
        ws,
        "Formula grants",
        "Grant per borough: the need-formula target, then the grant after the transition rules "
        "(floors, limits on change). Distance = grant − target.",
        columns,
        frame,
        "tblGrants",
        totals=[
            "Formula target",
            "Grant allocated",
            "Distance from target",
            "Previous grant",
            "Change",
        ],
        frozen_columns=5,
        total_names={
            "Grant allocated": "Grants_Total" if area_code is None else "Borough_Grant_Total"
        },
    )


def bids_for_area(run: RunResult, area_code: str | None) -> pl.DataFrame:
    """All bids (area_code None), or those the area is a partner in."""
    bids = run.table("bids")
    if area_code is None:
        return bids
    return bids.filter(
        pl.Series([area_code in partner_codes(p) for p in bids["partner_areas"]], dtype=pl.Boolean)
    )


def _money_left_note(run: RunResult) -> str:
    """The round money bids left and why it stayed unspent (London-wide, so London only)."""
    years = [y for r in run.summary.get("bids", {}).get("rounds", []) for y in r["years"]]
    return "".join(
        f" {y['reason']}. Then {y['unspent_reason']}." for y in years if y["left_pence"] > 0
    )


def write_bids(ws: Worksheet, run: RunResult, area_code: str | None = None) -> DataSheet:
    """All bids (London), or only those the area is a partner in, without naming the others."""
    areas = area_names(run)
    bids = bids_for_area(run, area_code)
    codes = [partner_codes(p) for p in bids["partner_areas"]]
    partners = (
        pl.Series([len(c) for c in codes], dtype=pl.Int64)
        if area_code
        else pl.Series(["; ".join(f"{areas.get(c, c)} ({c})" for c in row) for row in codes])
    )
    frame = bids.select(
        "bid",
        "provider",
        pl.col("selected").fill_null(False),
        "score",
        "year",
        "cost_pence",
        pl.lit(partners).alias("partners"),
        "reason_code",
        "reason",
    )
    columns = [
        Column("Bid"),
        Column("Provider"),
        Column("Selected"),
        Column("Score", styles.SCORE),
        Column("Year"),
        Column("Cost", styles.POUNDS, pence=True),
        Column("Partner boroughs", styles.WHOLE, width=14)
        if area_code
        else Column("Partner boroughs", width=60, wrap=True),
        Column("Reason code", width=24),
        Column("Reason", width=60, wrap=True),
    ]

    sheet = write_data_sheet(
        ws,
        "Co-commissioning bids",
        "Multi-borough bids considered in the round, one row per bid and year; cost is the whole "
        "bid's, shared by its partner boroughs. Reason: why the bid was selected or not. Row 3 "
        "totals every bid and, on its right, the selected ones."
        + ("" if area_code else _money_left_note(run)),
        columns,
        frame,
        "tblBids",
        totals=["Cost"],
        frozen_columns=2,
        total_names={"Cost": "Bids_Total" if area_code is None else "Borough_Bids_Total"},
    )
    _selected_total(ws, sheet, frame, area_code)
    return sheet


def _selected_total(
    ws: Worksheet, sheet: DataSheet, frame: pl.DataFrame, area_code: str | None
) -> None:
    """The selected bids' cost beside the all-rows total (row 3 totals every row, as on every
    table sheet; what the round spends is the selected bids' total)."""
    label_column = sheet.placement.columns["Reason code"]
    cell = put(ws, TOTALS_ROW, label_column, "Total, selected bids")
    set_style(cell, font=styles.TOTAL_FONT, alignment=styles.TOTAL_LABEL_ALIGN)
    amount = put(
        ws,
        TOTALS_ROW,
        label_column + 1,
        pounds(int(frame.filter(pl.col("selected"))["cost_pence"].sum())),
        styles.POUNDS,
    )
    set_style(amount, font=styles.TOTAL_FONT, fill=styles.TOTAL_FILL, alignment=_LEFT)
    name = "Bids_Selected_Total" if area_code is None else "Borough_Bids_Selected_Total"
    name_range(ws, name, amount.coordinate)
