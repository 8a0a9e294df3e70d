"""The borough workbook: one area's own figures, its worked targets, and London averages.

A borough lead must be able to check every number without asking anyone, and must not receive
any other borough's rows; London figures appear only as averages. The first sheet answers the
lead's questions (borough_front); the working sheets follow, and the solver's record of the
whole run comes last. Every sheet is then sized to its text (fit).
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.analysis.scorecard import RULE_OBJECTIVE_LABEL
from commissioning.excel import styles
from commissioning.excel.as_written import as_written
from commissioning.excel.borough_front import write_front
from commissioning.excel.coverage import COVERAGE_NOTE
from commissioning.excel.data_sheet import write_data_sheet
from commissioning.excel.files import (
    add_sheet,
    discard,
    new_workbook,
    no_garbage_collection,
    save_workbook,
)
from commissioning.excel.fit import fit_sheet
from commissioning.excel.grants_bids import bids_for_area, write_bids, write_grants
from commissioning.excel.layout import (
    Column,
    Formula,
    SheetWriter,
    Value,
    highlight_below_benchmark,
    set_style,
)
from commissioning.excel.methodology import write_methodology
from commissioning.excel.names import service_names
from commissioning.excel.run_facts import workbook_timestamp
from commissioning.excel.summary import run_details
from commissioning.excel.tables import named, only_area, write_allocations, write_commitments
from commissioning.models import Area
from commissioning.results import RunResult

RUN_DETAILS_WIDTH = 90
TOP = Alignment(vertical="top")


class UnknownAreaError(ValueError):
    """The area code asked for is not one of the run's areas."""

    def __init__(self, code: str, run: RunResult):
        self.code = code
        known = sorted(run.scenario.areas, key=lambda a: a.code)
        sample = ", ".join(f"{a.code} {a.name}" for a in known[:3])
        super().__init__(
            f"unknown area code {code!r}: it is not one of the {len(known)} areas in run "
            f"{run.scenario.name!r} (e.g. {sample})"
        )


def write_borough_workbook(run: RunResult, area_code: str, path: str | Path) -> Path:
    """Write one area's workbook to `path` atomically; UnknownAreaError if the run lacks it."""
    area = next((a for a in run.scenario.areas if a.code == area_code), None)
    if area is None:
        raise UnknownAreaError(area_code, run)
    with no_garbage_collection():
        run = as_written(run)
        stamp = workbook_timestamp(run)
        wb = new_workbook(
            f"{area.name}: {run.scenario.name}",
            f"VAWG commissioning allocation, {area.name}",
            stamp,
        )
        write_front(add_sheet(wb, "Summary"), run, area)
        write_allocations(add_sheet(wb, "Funding"), run, area.code)
        _write_targets(add_sheet(wb, "Targets"), run, area)
        _write_coverage(add_sheet(wb, "Coverage"), run, area)
        if "grants" in run.tables:
            write_grants(add_sheet(wb, "Grant"), run, area.code)
        if "bids" in run.tables and bids_for_area(run, area.code).height:
            write_bids(add_sheet(wb, "Bids"), run, area.code)
        if only_area(run.table("commitments"), area.code).height:
            write_commitments(add_sheet(wb, "Commitments"), run, area.code)
        write_methodology(add_sheet(wb, "Methodology"), run, area.code)
        _write_run_details(add_sheet(wb, "Run details"), run)
        for ws in wb.worksheets:
            fit_sheet(ws)
        try:
            return save_workbook(wb, path, stamp)
        finally:
            discard(wb)


def _write_run_details(ws: Worksheet, run: RunResult) -> None:
    """The solver's record of the run, for anyone checking how it was made."""
    writer = SheetWriter(ws)
    writer.title(
        "Run details",
        "How the allocation was solved, as the run recorded it: figures for the whole run, "
        "across all boroughs. Objectives are in each stage's own units (total cost in pence).",
    )
    writer.skip()
    # The rule's lowest level is London's minimum: on a borough's sheet it read as the
    # borough's own coverage, so it is left to the London workbook.
    where = writer.key_values(
        (label, value, number_format)
        for label, value, number_format in run_details(run)
        if not label.startswith(RULE_OBJECTIVE_LABEL)
    )
    for value_cell in where.values():
        # Beside a value that wraps, its label stays on the value's first line.
        set_style(ws[value_cell].offset(column=-1), alignment=TOP)
    writer.finish(freeze="A3")
    # Values wrap in column B (key_values): wider than the house maximum, so fewer of them do.
    ws.column_dimensions["B"].width = RUN_DETAILS_WIDTH


def _write_targets(ws: Worksheet, run: RunResult, area: Area) -> None:
    """Benchmark targets as live formulas from the borough's own population, next to the run's."""
    services = service_names(run)
    targets = run.table("targets")
    own = {
        r["service"]: r["target_units"] for r in only_area(targets, area.code).iter_rows(named=True)
    }
    london_mean = dict(london_means(targets, ["service"], "target_units").iter_rows())
    writer = SheetWriter(ws)
    writer.title(
        f"Benchmark targets for {area.name}, worked",
        "Target units = basis population ÷ per × benchmark units. Blue cells are inputs: change "
        "one and the target recalculates. 'Target in the run' is what the allocation used.",
    )
    writer.skip()
    columns = [
        Column("Service"),
        Column("Service name", width=30),
        Column("Basis population column"),
        Column("Basis population", styles.WHOLE),
        Column("Benchmark units", styles.UNITS),
        Column("Per", styles.WHOLE),
        Column("Target units (formula)", styles.UNITS),
        Column("Target in the run", styles.UNITS),
        Column("London average target per borough", styles.UNITS),
        Column("Source", width=45, wrap=True),
        Column("Edition", width=30, wrap=True),
    ]
    header_row = writer.row
    rows: list[list[Value]] = []
    for i, b in enumerate(run.scenario.benchmarks, start=1):
        r = header_row + i
        rows.append(
            [
                b.service,
                services.get(b.service, b.service),
                b.basis,
                area.indicators.get(b.basis),
                b.units,
                b.per,
                Formula(f"=D{r}/F{r}*E{r}"),
                own.get(b.service),
                london_mean.get(b.service),
                b.source,
                b.edition,
            ]
        )
    placement = writer.table(columns, rows, "tblTargets")
    for r in range(placement.first_row, placement.last_row + 1):
        for letter in "DEF":
            set_style(ws[f"{letter}{r}"], font=styles.INPUT_FONT)

    writer.skip()
    writer.subtitle(f"{area.name}'s indicators (from the scenario's area data)")
    means = {
        column: sum(a.indicators.get(column, 0.0) for a in run.scenario.areas)
        / len(run.scenario.areas)
        for column in area.indicators
    }
    writer.table(
        [
            Column("Indicator"),
            Column(area.name, styles.UNITS),
            Column("London average", styles.UNITS),
        ],
        [[column, value, means[column]] for column, value in sorted(area.indicators.items())],
    )
    writer.finish(freeze=f"C{placement.first_row}", title_rows=f"{header_row}:{header_row}")


def london_means(frame: pl.DataFrame, keys: list[str], column: str) -> pl.DataFrame:
    """The keys and the mean of `column` over all boroughs, summed exactly (math.fsum).

    A polars mean depends on how the table lies in memory (the chunks a CSV reader makes on
    as many threads as the machine has), in the sixteenth digit; this does not.
    """
    groups = frame.group_by(keys, maintain_order=True).agg(pl.col(column).drop_nulls())
    means = [math.fsum(v) / len(v) if v else None for v in groups[column].to_list()]
    return groups.select(keys).with_columns(pl.Series(column, means, dtype=pl.Float64))


def _write_coverage(ws: Worksheet, run: RunResult, area: Area) -> None:
    coverage = run.table("coverage")
    london = london_means(coverage, ["year", "service"], "coverage_ratio").rename(
        {"coverage_ratio": "london_average"}
    )
    ratio, average = pl.col("coverage_ratio"), pl.col("london_average")
    frame = (
        only_area(coverage, area.code)
        .join(london, on=["year", "service"], how="left", maintain_order="left", nulls_equal=True)
        .select(
            "year",
            "service",
            named(pl.col("service"), service_names(run)).alias("service_name"),
            "target_units",
            "existing_units",
            "bid_units",
            "funded_units",
            "total_units",
            ratio,
            average,
            (ratio - average).alias("difference"),
            "shortfall_units",
            "funded_cost_pence",
            "explanation",
        )
    )
    columns = [
        Column("Year"),
        Column("Service"),
        Column("Service name", width=30),
        Column("Target units", styles.UNITS),
        Column("Existing units", styles.UNITS),
        Column("Bid units", styles.UNITS),
        Column("Funded units", styles.UNITS),
        Column("Total units", styles.UNITS),
        Column("Coverage", styles.PERCENT),
        Column("London average coverage", styles.PERCENT),
        # Signed, not red: being below the London average is not being below benchmark.
        Column("Difference from London", "+0.0%;-0.0%;0.0%"),
        Column("Shortfall units", styles.UNITS),
        Column("Funded cost", styles.POUNDS, pence=True),
        Column("Explanation", width=50, wrap=True),
    ]
    sheet = write_data_sheet(
        ws,
        f"Coverage of benchmark, {area.name}",
        COVERAGE_NOTE + " London average = mean over all boroughs in the run.",
        columns,
        frame,
        "tblCoverage",
        totals=["Funded units", "Shortfall units", "Funded cost"],
        frozen_columns=2,
    )
    if sheet.placement.has_rows:
        highlight_below_benchmark(ws, sheet.placement.column_range("Coverage"))
