"""The borough workbook: one area's own figures, its worked targets, and London averages.

A borough lead must be able to check every number without asking anyone, and must not receive
any other borough's rows; London figures appear only as averages.
"""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import polars as pl
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.analysis.borough_paragraph import borough_paragraph
from commissioning.excel import styles
from commissioning.excel.as_written import as_written
from commissioning.excel.coverage import COVERAGE_NOTE
from commissioning.excel.data_sheet import write_data_sheet
from commissioning.excel.files import (
    add_sheet,
    new_workbook,
    no_garbage_collection,
    save_workbook,
)
from commissioning.excel.grants_bids import bids_for_area, write_bids, write_grants
from commissioning.excel.layout import (
    Column,
    Formula,
    SheetWriter,
    Value,
    highlight_below_benchmark,
    name_range,
    pounds,
    set_style,
)
from commissioning.excel.methodology import write_methodology
from commissioning.excel.names import pot_names, service_names
from commissioning.excel.run_facts import financial_years, workbook_timestamp
from commissioning.excel.summary import run_details
from commissioning.excel.tables import named, only_area, write_allocations, write_commitments
from commissioning.models import Area
from commissioning.results import RunResult


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
        _write_summary(add_sheet(wb, "Summary"), run, area)
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
        return save_workbook(wb, path, stamp)


def _penny(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def _money_by(frame: pl.DataFrame, keys: list[str], money: str) -> dict[tuple[str, ...], int]:
    totals: dict[tuple[str, ...], int] = defaultdict(int)
    for row in frame.select([*keys, money]).iter_rows():
        totals[tuple(row[:-1])] += row[-1]
    return totals


def _money_streams(run: RunResult) -> list[tuple[pl.DataFrame, str]]:
    """Every table of money paid to an area, with its pence column, in the summary's order.

    Fixed commitments count only where they name an area; London-wide contracts are no
    borough's money (their area_code is empty, so filtering by area drops them).
    """
    streams = [(run.table("commitments"), "amount_pence"), (run.table("allocations"), "cost_pence")]
    if "grants" in run.tables:
        streams.append((run.table("grants"), "allocated_pence"))
    return streams


def _write_summary(ws: Worksheet, run: RunResult, area: Area) -> None:
    years = financial_years(run)
    n_areas = len(run.scenario.areas)
    streams = _money_streams(run)
    mine = [_money_by(only_area(frame, area.code), ["year"], money) for frame, money in streams]
    london = [
        _money_by(frame.filter(pl.col("area_code").is_not_null()), ["year"], money)
        for frame, money in streams
    ]

    writer = SheetWriter(ws)
    writer.title(
        f"{area.name}: VAWG commissioning allocation",
        f"Only {area.name}'s own figures, with London averages per borough for comparison. "
        "Money in £.",
    )
    writer.skip()
    writer.key_values(
        [
            ("Borough", area.name, None),
            ("ONS code", area.code, None),
            ("Command unit", area.group or "", None),
        ]
    )
    writer.skip()
    writer.subtitle(f"{area.name} in brief")
    writer.key_values(
        [(year, borough_paragraph(run, area.code, year), None) for year in financial_years(run)]
    )
    writer.skip()
    writer.key_values(run_details(run))

    writer.skip()
    writer.subtitle(f"What {area.name} gets, by year")
    amounts: list[list[Decimal]] = []
    for year in years:
        own = [pounds(m.get((year,), 0)) for m in mine]
        total = sum(own, Decimal(0))
        # Rounded to the penny per year, so the all-years row is the exact sum of the column.
        average = _penny(Decimal(sum(m.get((year,), 0) for m in london)) / n_areas / 100)
        amounts.append([*own, total, average, total - average])
    column_totals: list[Value] = [sum(column, Decimal(0)) for column in zip(*amounts, strict=True)]
    rows: list[list[Value]] = [[year, *row] for year, row in zip(years, amounts, strict=True)]
    money_columns = [
        Column("Fixed commitments", styles.POUNDS),
        Column("Services commissioned", styles.POUNDS),
    ]
    if "grants" in run.tables:
        money_columns.append(Column("Formula grant", styles.POUNDS))
    placement = writer.table(
        [
            Column("Year"),
            *money_columns,
            Column("Total", styles.POUNDS),
            Column("London average per borough", styles.POUNDS),
            Column("Difference from average", styles.POUNDS),
        ],
        rows,
        total_row=["All years", *column_totals],
    )
    if "bids" in run.tables and bids_for_area(run, area.code).height:
        writer.skip()
        writer.note(
            f"Co-commissioning bids with {area.name} as a partner are on the Bids sheet; their "
            "cost is shared by all the partners, so it is not in these totals."
        )
    total_row = placement.last_row + 1
    name_range(ws, "Borough_Total", f"{placement.letter('Total')}{total_row}")
    name_range(ws, "Borough_Services", f"{placement.letter('Services commissioned')}{total_row}")

    _matrix(writer, f"By service, {area.name}", years, _service_matrix(run, area.code), "Service")
    _matrix(writer, f"By pot, {area.name}", years, _pot_matrix(run, area.code), "Pot")
    writer.finish(freeze="A3")


def _service_matrix(run: RunResult, area_code: str) -> dict[str, dict[str, int]]:
    names = service_names(run)
    matrix: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (service, year), pence in _money_by(
        only_area(run.table("allocations"), area_code), ["service", "year"], "cost_pence"
    ).items():
        matrix[names.get(service, service)][year] += pence
    return matrix


def _pot_matrix(run: RunResult, area_code: str) -> dict[str, dict[str, int]]:
    names = pot_names(run)
    matrix: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    sources = [(run.table("allocations"), "cost_pence")]
    if "grants" in run.tables:
        sources.append((run.table("grants"), "allocated_pence"))
    for frame, money in sources:
        for (pot, year), pence in _money_by(
            only_area(frame, area_code), ["pot", "year"], money
        ).items():
            matrix[names.get(pot, pot)][year] += pence
    return matrix


def _matrix(
    writer: SheetWriter, title: str, years: list[str], matrix: dict[str, dict[str, int]], label: str
) -> None:
    writer.skip()
    writer.subtitle(title)
    rows: list[list[Value]] = [
        [name, *[pounds(by_year.get(y, 0)) for y in years], pounds(sum(by_year.values()))]
        for name, by_year in matrix.items()
    ]
    columns = [
        Column(label),
        *[Column(y, styles.POUNDS) for y in years],
        Column("All years", styles.POUNDS),
    ]
    if not rows:
        writer.note("Nothing allocated to this borough.")
        return
    totals = [sum(m.get(y, 0) for m in matrix.values()) for y in years]
    writer.table(
        columns, rows, total_row=["Total", *[pounds(t) for t in totals], pounds(sum(totals))]
    )


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
        Column("Difference from London", "+0.0%;[Red]-0.0%;0.0%"),
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
        highlight_below_benchmark(
            ws, sheet.placement.column_range("London average coverage"), False
        )
