"""The sheets that explain a run: cost to benchmark, marginal value of money, binding rules."""

from __future__ import annotations

import polars as pl
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.data_sheet import DataSheet, write_data_sheet
from commissioning.excel.layout import Column
from commissioning.excel.names import pot_names, service_names
from commissioning.excel.tables import named
from commissioning.results import RunResult

LEVEL_WORDS = {
    "cell": "Borough × service",
    "borough": "Borough",
    "service": "Service",
    "pots": "Pots that may fund",
    "pot": "Pot to grow",
    "london": "London",
}


def _blank_or(value: pl.Expr, shown: pl.Expr) -> pl.Expr:
    """`shown` where `value` holds something, "" where it is empty or missing."""
    return pl.when(value.is_null() | (value == "")).then(pl.lit("")).otherwise(shown)


def write_cost_to_benchmark(ws: Worksheet, run: RunResult) -> DataSheet:
    service, pot = pl.col("service"), pl.col("pot")
    frame = run.table("cost_to_benchmark").select(
        "year",
        pl.col("level").replace(LEVEL_WORDS),
        pl.col("area_name").fill_null(""),
        _blank_or(service, named(service, service_names(run))).alias("service"),
        pl.col("pots").fill_null("").str.replace_all("+", ", ", literal=True),
        _blank_or(pot, named(pot, pot_names(run))).alias("pot"),
        pl.col("status").fill_null(""),
        pl.col("rule").fill_null(""),
        "units_short",
        "units_to_buy",
        "cost_pence",
        "extra_money_pence",
        "cells",
        "cells_unreachable",
    )
    columns = [
        Column("Year"),
        Column("Level"),
        Column("Borough"),
        Column("Service", width=30),
        Column("Pots that may fund", width=40),
        Column("Pot to grow", width=30),
        Column("Status"),
        Column("Held by", width=40, wrap=True),
        Column("Units short", styles.UNITS),
        Column("Units to buy", styles.UNITS),
        Column("Cost to benchmark", styles.POUNDS, pence=True),
        Column("Extra money needed", styles.POUNDS, pence=True),
        Column("Cells", styles.WHOLE),
        Column("Cells unreachable", styles.WHOLE),
    ]
    return write_data_sheet(
        ws,
        "Cost to benchmark",
        "What it costs to bring every cell to benchmark at each service's granularity, within "
        "every rule: per borough × service, borough, service, set of pots that may fund it, and "
        "London, per year. 'Extra money needed' (pot and London rows) is what the pots must grow "
        "by once their unspent money is used; cells a rule holds below benchmark are marked "
        "unreachable with the rule, not costed. Filter 'Level' before adding up a column.",
        columns,
        frame,
        "tblCostToBenchmark",
        frozen_columns=3,
    )


def write_marginal(ws: Worksheet, run: RunResult) -> DataSheet:
    service = pl.col("service")
    frame = run.table("marginal").select(
        "year",
        named(pl.col("pot"), pot_names(run)),
        "change_pence",
        pl.when(service == "all")
        .then(pl.lit("All services"))
        .otherwise(named(service, service_names(run)))
        .alias("service"),
        "units_change",
        "cells_changed",
        "cells_to_benchmark",
        "money_change_pence",
        "lowest_coverage_before",
        "lowest_coverage_after",
        "status",
        "method",
    )
    columns = [
        Column("Year"),
        Column("Pot", width=30),
        Column("Change", styles.POUNDS, pence=True),
        Column("Service", width=30),
        Column("Units gained or lost", styles.UNITS),
        Column("Cells changed", styles.WHOLE),
        Column("Cells reaching or leaving benchmark", styles.WHOLE),
        Column("Money allocated changes by", styles.POUNDS, pence=True),
        Column("Lowest coverage before", styles.PERCENT),
        Column("Lowest coverage after", styles.PERCENT),
        Column("Status", width=40, wrap=True),
        Column("How it was found", width=40, wrap=True),
    ]
    return write_data_sheet(
        ws,
        "Marginal value of money",
        "What £10,000, £100,000 or £1m more in a pot would buy in a year, and what a cut of the "
        "same size would remove, found by solving the allocation again with that money (not "
        "from shadow prices). 'All services' rows are the totals of each change.",
        columns,
        frame,
        "tblMarginal",
        frozen_columns=2,
    )


def _whole_pence(values: pl.Series) -> pl.Series:
    """Each amount rounded to a whole penny as Python rounds (half to even)."""
    return pl.Series([None if v is None else round(v) for v in values], dtype=pl.Int64)


def write_binding(ws: Worksheet, run: RunResult) -> DataSheet:
    table = run.table("binding")
    money = (pl.col("measure") == "pence").fill_null(False)
    yes_no = {True: "yes", False: "no"}
    frame = table.with_columns(
        _whole_pence(table["limit"]).alias("limit_pence"),
        _whole_pence(table["value"]).alias("value_pence"),
    ).select(
        "year",
        pl.col("family").str.replace_all("_", " ", literal=True),
        "description",
        "sense",
        pl.when(money).then(pl.col("limit_pence")),
        pl.when(money).then(pl.col("value_pence")),
        pl.when(money).then(pl.col("slack_pence")),
        pl.when(money).then(None).otherwise(pl.col("slack")).alias("slack"),
        pl.col("binding").fill_null(False).replace_strict(yes_no, return_dtype=pl.String),
        pl.col("blocks_next_granule")
        .fill_null(False)
        .replace_strict(yes_no, return_dtype=pl.String),
    )
    columns = [
        Column("Year"),
        Column("Rule"),
        Column("Description", width=60, wrap=True),
        Column("Sense"),
        Column("Limit", styles.POUNDS, pence=True),
        Column("Value at the allocation", styles.POUNDS, pence=True),
        Column("Slack", styles.POUNDS, pence=True),
        Column("Slack (granules)", styles.UNITS),
        Column("Binds"),
        Column("Stops the next unit"),
    ]
    return write_data_sheet(
        ws,
        "Binding rules",
        "Every named rule of the model evaluated at the delivered allocation, exact to the penny; "
        "caps and floors of single cells are listed where a cell sits on them. "
        "'Binds': no slack at all; 'Stops the next unit': less slack than one more unit costs.",
        columns,
        frame,
        "tblBinding",
        frozen_columns=2,
    )
