"""The long-table sheets: allocations, pots, commitments and need, for London or for one area."""

from __future__ import annotations

import polars as pl
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.data_sheet import DataSheet, write_data_sheet
from commissioning.excel.layout import Column
from commissioning.excel.names import PAN_LONDON, area_names, pot_names, service_names
from commissioning.results import RunResult

MONEY_COLUMNS = ("budget_pence", "committed_pence", "allocated_pence", "unspent_pence")


def only_area(frame: pl.DataFrame, area_code: str | None) -> pl.DataFrame:
    """The rows of one area (all rows when area_code is None)."""
    return frame if area_code is None else frame.filter(pl.col("area_code") == area_code)


def named(ids: pl.Expr, names: dict[str, str]) -> pl.Expr:
    """Each id's name, or the id itself when it has none (as `names.get(id, id)`)."""
    return ids.replace(names)


def write_allocations(ws: Worksheet, run: RunResult, area_code: str | None = None) -> DataSheet:
    frame = only_area(run.table("allocations"), area_code).select(
        "year",
        "area_code",
        "area_name",
        "service",
        named(pl.col("service"), service_names(run)).alias("service_name"),
        "pot",
        named(pl.col("pot"), pot_names(run)).alias("pot_name"),
        "units",
        "cost_pence",
    )
    columns = [
        Column("Year"),
        Column("Area code"),
        Column("Borough"),
        Column("Service"),
        Column("Service name"),
        Column("Pot"),
        Column("Pot name"),
        Column("Units funded", styles.UNITS),
        Column("Cost", styles.POUNDS, pence=True),
    ]
    where = "this borough" if area_code else "London"
    return write_data_sheet(
        ws,
        "Allocations" if area_code is None else "Funding by service, pot and year",
        f"Units of each service funded for {where}, one row per year × borough × service × pot. "
        "Use the filter arrows on the headings; row 4 totals only the rows shown.",
        columns,
        frame,
        "tblAllocations",
        totals=["Cost"],  # units of different services do not add up to anything
        frozen_columns=3,
        total_names={"Cost": "Allocations_Total" if area_code is None else "Borough_Funding_Total"},
    )


def write_pots(ws: Worksheet, run: RunResult) -> DataSheet:
    kinds = {p.id: p.kind.replace("_", " ") for p in run.scenario.pots}
    frame = run.table("pots").select(
        "year",
        "pot",
        "pot_name",
        pl.col("pot").replace_strict(kinds, default="", return_dtype=pl.String).alias("kind"),
        *MONEY_COLUMNS,
    )
    columns = [
        Column("Year"),
        Column("Pot"),
        Column("Pot name"),
        Column("Kind"),
        Column("Budget", styles.POUNDS, pence=True),
        Column("Committed", styles.POUNDS, pence=True),
        Column("Allocated", styles.POUNDS, pence=True),
        Column("Unspent", styles.POUNDS, pence=True),
    ]
    return write_data_sheet(
        ws,
        "Pots",
        "Each pot's budget per year: committed to fixed contracts first, then allocated by the "
        "optimiser; unspent is what is left.",
        columns,
        frame,
        "tblPots",
        totals=["Budget", "Committed", "Allocated", "Unspent"],
        frozen_columns=2,
    )


def write_commitments(ws: Worksheet, run: RunResult, area_code: str | None = None) -> DataSheet:
    frame = only_area(run.table("commitments"), area_code).select(
        "year",
        "commitment",
        "name",
        "pot",
        named(pl.col("pot"), pot_names(run)).alias("pot_name"),
        pl.when(pl.col("service").is_null() | (pl.col("service") == ""))
        .then(pl.lit(""))
        .otherwise(named(pl.col("service"), service_names(run)))
        .alias("service_name"),
        pl.when(pl.col("area_code").is_null() | (pl.col("area_code") == ""))
        .then(pl.lit(PAN_LONDON))
        .otherwise(named(pl.col("area_code"), area_names(run)))
        .alias("area"),
        "amount_pence",
    )
    columns = [
        Column("Year"),
        Column("Commitment"),
        Column("Name", width=45, wrap=True),  # a bid's commitment names its provider
        Column("Pot"),
        Column("Pot name"),
        Column("Service"),
        Column("Area"),
        Column("Amount", styles.POUNDS, pence=True),
    ]
    return write_data_sheet(
        ws,
        "Fixed commitments",
        "What each pot pays before the optimiser allocates: fixed contracts and, where the "
        "scenario has them, formula grants and selected bids.",
        columns,
        frame,
        "tblCommitments",
        totals=["Amount"],
        frozen_columns=2,
    )


def write_need(ws: Worksheet, run: RunResult) -> DataSheet:
    indicators = [w.indicator for w in run.scenario.policy.need_weights]
    scenario_areas = run.scenario.areas
    areas = pl.DataFrame(
        {
            "area_code": [a.code for a in scenario_areas],
            "group": [a.group or "" for a in scenario_areas],
            **{
                f"indicator {k}": [a.indicators.get(i) for a in scenario_areas]
                for k, i in enumerate(indicators)
            },
        },
        schema_overrides={f"indicator {k}": pl.Float64 for k in range(len(indicators))},
    ).unique("area_code", keep="last", maintain_order=True)
    frame = (
        run.table("need")
        .join(areas, on="area_code", how="left", maintain_order="left")
        .select(
            "area_code",
            "area_name",
            pl.col("group").fill_null(""),
            *[f"indicator {k}" for k in range(len(indicators))],
            "need_share",
            "need_index",
        )
    )
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
        frame,
        "tblNeed",
        frozen_columns=2,
    )
