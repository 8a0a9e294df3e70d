"""Coverage of benchmark: the long table, one row per year × borough × service."""

from __future__ import annotations

import polars as pl
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.data_sheet import DataSheet, write_data_sheet
from commissioning.excel.layout import (
    Column,
    highlight_below_benchmark,
)
from commissioning.excel.names import service_names
from commissioning.excel.tables import named, only_area
from commissioning.results import RunResult

COVERAGE_NOTE = (
    "Coverage = (existing + bid + funded units) ÷ benchmark target; bid units are those of "
    "selected co-commissioning bids. Red cells are below benchmark; "
    "the bars are full at 100%."
)


def _with_reason_codes(run: RunResult, frame: pl.DataFrame) -> pl.DataFrame:
    """Each cell's reason code (explanations.csv) beside it; runs written before it have none."""
    table = run.tables.get("explanations")
    if table is None:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias("reason_code"))
    codes = table.select("year", "area_code", "service", "reason_code").unique(
        ["year", "area_code", "service"], keep="last", maintain_order=True
    )
    return frame.join(
        codes,
        on=["year", "area_code", "service"],
        how="left",
        maintain_order="left",
        nulls_equal=True,
    )


def write_coverage(ws: Worksheet, run: RunResult, area_code: str | None = None) -> DataSheet:
    frame = _with_reason_codes(run, only_area(run.table("coverage"), area_code)).select(
        "year",
        "area_code",
        "area_name",
        "service",
        named(pl.col("service"), service_names(run)).alias("service_name"),
        "target_units",
        "existing_units",
        "bid_units",
        "funded_units",
        "total_units",
        "coverage_ratio",
        "shortfall_units",
        "funded_cost_pence",
        "explanation",
        "reason_code",
    )
    columns = [
        Column("Year"),
        Column("Area code"),
        Column("Borough"),
        Column("Service"),
        Column("Service name"),
        Column("Target units", styles.UNITS),
        Column("Existing units", styles.UNITS),
        Column("Bid units", styles.UNITS),
        Column("Funded units", styles.UNITS),
        Column("Total units", styles.UNITS),
        Column("Coverage", styles.PERCENT),
        Column("Shortfall units", styles.UNITS),
        Column("Funded cost", styles.POUNDS, pence=True),
        Column("Explanation", width=50, wrap=True),
        Column("Reason code", width=22),
    ]
    sheet = write_data_sheet(
        ws,
        "Coverage of benchmark",
        COVERAGE_NOTE,
        columns,
        frame,
        "tblCoverage",
        # Units of different services and years do not add up to anything; money does.
        totals=["Funded cost"],
        total_label="Total funded cost, all rows",
        frozen_columns=3,
    )
    if sheet.placement.has_rows:
        highlight_below_benchmark(ws, sheet.placement.column_range("Coverage"))
    return sheet
