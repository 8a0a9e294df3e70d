"""Sheets for the optional tables: formula grants to areas, and co-commissioning bids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.data_sheet import DataSheet, write_data_sheet
from commissioning.excel.layout import Column, Value, pounds
from commissioning.excel.names import area_names, partner_codes, pot_names
from commissioning.excel.tables import only_area
from commissioning.results import RunResult


def write_grants(ws: Worksheet, run: RunResult, area_code: str | None = None) -> DataSheet:
    pots = pot_names(run)
    frame = only_area(run.table("grants"), area_code)
    rows: list[list[Value]] = [
        [
            r["year"],
            r["pot"],
            pots.get(r["pot"], r["pot"]),
            r["area_code"],
            r["area_name"],
            r["target_share"],
            pounds(r["target_pence"]),
            pounds(r["allocated_pence"]),
            pounds(r["distance_pence"]),
            pounds(r["previous_pence"]),
            pounds(r["change_pence"]),
            r["change_pct"],
        ]
        for r in frame.iter_rows(named=True)
    ]
    columns = [
        Column("Year"),
        Column("Pot"),
        Column("Pot name", width=30),
        Column("Area code"),
        Column("Borough"),
        Column("Target share", styles.SHARE),
        Column("Formula target", styles.POUNDS),
        Column("Grant allocated", styles.POUNDS),
        Column("Distance from target", styles.POUNDS),
        Column("Previous grant", styles.POUNDS),
        Column("Change", styles.POUNDS),
        Column("Change %", styles.PERCENT_POINTS),
    ]
    return write_data_sheet(
        ws,
        "Formula grants",
        "Grant per borough: the need-formula target, then the grant after the transition rules "
        "(floors, limits on change). Distance = grant − target.",
        columns,
        rows,
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


def bids_for_area(run: RunResult, area_code: str | None) -> list[dict[str, Any]]:
    rows = list(run.table("bids").iter_rows(named=True))
    if area_code is None:
        return rows
    return [r for r in rows if area_code in partner_codes(r["partner_areas"])]


def _money_left_note(run: RunResult) -> str:
    """The round money bids left and why it stayed unspent (London-wide, so London only)."""
    years = [y for r in run.summary.get("bids", {}).get("rounds", []) for y in r["years"]]
    return "".join(
        f" {y['reason']}. Then {y['unspent_reason']}." for y in years if y["left_pence"] > 0
    )


def write_bids(ws: Worksheet, run: RunResult, area_code: str | None = None) -> DataSheet:
    """All bids (London), or only those the area is a partner in, without naming the others."""
    areas = area_names(run)
    rows: list[list[Value]] = []
    for r in bids_for_area(run, area_code):
        codes = partner_codes(r["partner_areas"])
        partners: Value = (
            len(codes) if area_code else "; ".join(f"{areas.get(c, c)} ({c})" for c in codes)
        )
        rows.append(
            [
                r["bid"],
                r["provider"],
                bool(r["selected"]),
                r["score"],
                r["year"],
                pounds(r["cost_pence"]),
                partners,
                r["reason_code"],
                r["reason"],
            ]
        )
    columns = [
        Column("Bid"),
        Column("Provider", width=30),
        Column("Selected"),
        Column("Score", styles.SCORE),
        Column("Year"),
        Column("Cost", styles.POUNDS),
        Column("Partner boroughs", styles.WHOLE, width=14)
        if area_code
        else Column("Partner boroughs", width=60, wrap=True),
        Column("Reason code", width=24),
        Column("Reason", width=60, wrap=True),
    ]

    def selected(row: Sequence[Value]) -> bool:
        return row[2] is True

    return write_data_sheet(
        ws,
        "Co-commissioning bids",
        "Multi-borough bids considered in the round, one row per bid and year; cost is the whole "
        "bid's, shared by its partner boroughs. Reason: why the bid was selected or not."
        + ("" if area_code else _money_left_note(run)),
        columns,
        rows,
        "tblBids",
        totals=["Cost"],
        frozen_columns=2,
        total_label="Total, selected bids",
        counts_in_total=selected,
        total_names={
            "Cost": "Bids_Selected_Total" if area_code is None else "Borough_Bids_Selected_Total"
        },
    )
