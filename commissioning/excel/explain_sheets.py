"""The sheets that explain a run: cost to benchmark, marginal value of money, binding rules."""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.data_sheet import DataSheet, write_data_sheet
from commissioning.excel.layout import Column, Value, pounds
from commissioning.excel.names import pot_names, service_names
from commissioning.results import RunResult

LEVEL_WORDS = {
    "cell": "Borough × service",
    "borough": "Borough",
    "service": "Service",
    "pots": "Pots that may fund",
    "pot": "Pot to grow",
    "london": "London",
}


def write_cost_to_benchmark(ws: Worksheet, run: RunResult) -> DataSheet:
    services, pots = service_names(run), pot_names(run)
    rows: list[list[Value]] = []
    for r in run.table("cost_to_benchmark").iter_rows(named=True):
        rows.append(
            [
                r["year"],
                LEVEL_WORDS.get(r["level"], r["level"]),
                r["area_name"] or "",
                services.get(r["service"], r["service"]) if r["service"] else "",
                (r["pots"] or "").replace("+", ", "),
                pots.get(r["pot"], r["pot"]) if r["pot"] else "",
                r["status"] or "",
                r["rule"] or "",
                r["units_short"],
                r["units_to_buy"],
                pounds(r["cost_pence"]),
                pounds(r["extra_money_pence"]),
                r["cells"],
                r["cells_unreachable"],
            ]
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
        Column("Cost to benchmark", styles.POUNDS),
        Column("Extra money needed", styles.POUNDS),
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
        rows,
        "tblCostToBenchmark",
        frozen_columns=3,
    )


def write_marginal(ws: Worksheet, run: RunResult) -> DataSheet:
    services, pots = service_names(run), pot_names(run)
    rows: list[list[Value]] = []
    for r in run.table("marginal").iter_rows(named=True):
        rows.append(
            [
                r["year"],
                pots.get(r["pot"], r["pot"]),
                pounds(r["change_pence"]),
                "All services"
                if r["service"] == "all"
                else services.get(r["service"], r["service"]),
                r["units_change"],
                r["cells_changed"],
                r["cells_to_benchmark"],
                pounds(r["money_change_pence"]),
                r["lowest_coverage_before"],
                r["lowest_coverage_after"],
                r["status"],
                r["method"],
            ]
        )
    columns = [
        Column("Year"),
        Column("Pot", width=30),
        Column("Change", styles.POUNDS),
        Column("Service", width=30),
        Column("Units gained or lost", styles.UNITS),
        Column("Cells changed", styles.WHOLE),
        Column("Cells reaching or leaving benchmark", styles.WHOLE),
        Column("Money allocated changes by", styles.POUNDS),
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
        rows,
        "tblMarginal",
        frozen_columns=2,
    )


def write_binding(ws: Worksheet, run: RunResult) -> DataSheet:
    rows: list[list[Value]] = []
    for r in run.table("binding").iter_rows(named=True):
        money = r["measure"] == "pence"
        rows.append(
            [
                r["year"],
                r["family"].replace("_", " "),
                r["description"],
                r["sense"],
                pounds(round(r["limit"])) if money else None,
                pounds(round(r["value"])) if money else None,
                pounds(r["slack_pence"]) if money else None,
                None if money else r["slack"],
                "yes" if r["binding"] else "no",
                "yes" if r["blocks_next_granule"] else "no",
            ]
        )
    columns = [
        Column("Year"),
        Column("Rule"),
        Column("Description", width=60, wrap=True),
        Column("Sense"),
        Column("Limit", styles.POUNDS),
        Column("Value at the allocation", styles.POUNDS),
        Column("Slack", styles.POUNDS),
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
        rows,
        "tblBinding",
        frozen_columns=2,
    )
