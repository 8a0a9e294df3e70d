"""The long-table sheets: allocations, pots, commitments and need, for London or for one area."""

from __future__ import annotations

import polars as pl
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.data_sheet import DataSheet, write_data_sheet
from commissioning.excel.layout import Column, Value, pounds
from commissioning.excel.names import PAN_LONDON, area_names, pot_names, service_names
from commissioning.results import RunResult


def only_area(frame: pl.DataFrame, area_code: str | None) -> pl.DataFrame:
    """The rows of one area (all rows when area_code is None)."""
    return frame if area_code is None else frame.filter(pl.col("area_code") == area_code)


def write_allocations(ws: Worksheet, run: RunResult, area_code: str | None = None) -> DataSheet:
    services, pots = service_names(run), pot_names(run)
    frame = only_area(run.table("allocations"), area_code)
    rows: list[list[Value]] = [
        [
            r["year"],
            r["area_code"],
            r["area_name"],
            r["service"],
            services.get(r["service"], r["service"]),
            r["pot"],
            pots.get(r["pot"], r["pot"]),
            r["units"],
            pounds(r["cost_pence"]),
        ]
        for r in frame.iter_rows(named=True)
    ]
    columns = [
        Column("Year"),
        Column("Area code"),
        Column("Borough"),
        Column("Service"),
        Column("Service name", width=30),
        Column("Pot"),
        Column("Pot name", width=30),
        Column("Units funded", styles.UNITS),
        Column("Cost", styles.POUNDS),
    ]
    where = "this borough" if area_code else "London"
    return write_data_sheet(
        ws,
        "Allocations" if area_code is None else "Funding by service, pot and year",
        f"Units of each service funded for {where}, one row per year × borough × service × pot. "
        "Use the filter arrows on the headings; row 4 totals only the rows shown.",
        columns,
        rows,
        "tblAllocations",
        totals=["Units funded", "Cost"],
        frozen_columns=3,
        total_names={"Cost": "Allocations_Total" if area_code is None else "Borough_Funding_Total"},
    )


def write_pots(ws: Worksheet, run: RunResult) -> DataSheet:
    kinds = {p.id: p.kind.replace("_", " ") for p in run.scenario.pots}
    rows: list[list[Value]] = []
    for r in run.table("pots").iter_rows(named=True):
        rows.append(
            [
                r["year"],
                r["pot"],
                r["pot_name"],
                kinds.get(r["pot"], ""),
                pounds(r["budget_pence"]),
                pounds(r["committed_pence"]),
                pounds(r["allocated_pence"]),
                pounds(r["unspent_pence"]),
            ]
        )
    columns = [
        Column("Year"),
        Column("Pot"),
        Column("Pot name", width=40),
        Column("Kind"),
        Column("Budget", styles.POUNDS),
        Column("Committed", styles.POUNDS),
        Column("Allocated", styles.POUNDS),
        Column("Unspent", styles.POUNDS),
    ]
    return write_data_sheet(
        ws,
        "Pots",
        "Each pot's budget per year: committed to fixed contracts first, then allocated by the "
        "optimiser; unspent is what is left.",
        columns,
        rows,
        "tblPots",
        totals=["Budget", "Committed", "Allocated", "Unspent"],
        frozen_columns=2,
    )


def write_commitments(ws: Worksheet, run: RunResult, area_code: str | None = None) -> DataSheet:
    services, pots, areas = service_names(run), pot_names(run), area_names(run)
    frame = only_area(run.table("commitments"), area_code)
    rows: list[list[Value]] = [
        [
            r["year"],
            r["commitment"],
            r["name"],
            r["pot"],
            pots.get(r["pot"], r["pot"]),
            services.get(r["service"], r["service"]) if r["service"] else "",
            areas.get(r["area_code"], r["area_code"]) if r["area_code"] else PAN_LONDON,
            pounds(r["amount_pence"]),
        ]
        for r in frame.iter_rows(named=True)
    ]
    columns = [
        Column("Year"),
        Column("Commitment"),
        Column("Name", width=30),
        Column("Pot"),
        Column("Pot name", width=30),
        Column("Service", width=30),
        Column("Area"),
        Column("Amount", styles.POUNDS),
    ]
    return write_data_sheet(
        ws,
        "Fixed commitments",
        "What each pot pays before the optimiser allocates: fixed contracts and, where the "
        "scenario has them, formula grants and selected bids.",
        columns,
        rows,
        "tblCommitments",
        totals=["Amount"],
        frozen_columns=2,
    )


def write_need(ws: Worksheet, run: RunResult) -> DataSheet:
    indicators = [w.indicator for w in run.scenario.policy.need_weights]
    groups = {a.code: a.group or "" for a in run.scenario.areas}
    values = {a.code: a.indicators for a in run.scenario.areas}
    rows: list[list[Value]] = [
        [
            r["area_code"],
            r["area_name"],
            groups.get(r["area_code"], ""),
            *[values.get(r["area_code"], {}).get(i) for i in indicators],
            r["need_share"],
            r["need_index"],
        ]
        for r in run.table("need").iter_rows(named=True)
    ]
    columns = [
        Column("Area code"),
        Column("Borough"),
        Column("Group"),
        *[Column(i, styles.UNITS) for i in indicators],
        Column("Need share", styles.SHARE),
        Column("Need index", "0.000"),
    ]
    return write_data_sheet(
        ws,
        "Need",
        "Need index per borough from the weighted indicators (see Methodology); an index of 1 "
        "is the average borough.",
        columns,
        rows,
        "tblNeed",
        frozen_columns=2,
    )
