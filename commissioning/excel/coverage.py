"""Coverage of benchmark: the long table, and a borough-by-service grid with a bar chart."""

from __future__ import annotations

import polars as pl
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.utils import quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.data_sheet import DataSheet, write_data_sheet
from commissioning.excel.layout import Column, SheetWriter, highlight_below_benchmark
from commissioning.excel.names import benchmarked_services, service_names
from commissioning.excel.run_facts import financial_years
from commissioning.excel.tables import named, only_area
from commissioning.models import Area
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
        Column("Service name", width=30),
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
        totals=[
            "Target units",
            "Existing units",
            "Bid units",
            "Funded units",
            "Total units",
            "Shortfall units",
            "Funded cost",
        ],
        frozen_columns=3,
    )
    if sheet.placement.has_rows:
        highlight_below_benchmark(ws, sheet.placement.column_range("Coverage"))
    return sheet


def write_coverage_by_borough(ws: Worksheet, run: RunResult) -> None:
    """One row per borough, one column per benchmarked service and year, and a chart per year."""
    services = service_names(run)
    present = set(run.table("coverage")["service"].unique().to_list())
    benchmarked = [s for s in benchmarked_services(run) if s in present]
    years = financial_years(run)
    areas = sorted(run.scenario.areas, key=lambda a: a.name)
    writer = SheetWriter(ws)
    writer.title("Coverage of benchmark by borough", COVERAGE_NOTE)
    writer.skip()
    columns = [Column("Area code"), Column("Borough")] + [
        Column(f"{services.get(s, s)} {y}", styles.PERCENT) for y in years for s in benchmarked
    ]
    placement = writer.long_table(
        columns, _ratios_by_borough(run, areas, years, benchmarked), "tblCoverageByBorough"
    )
    if placement.has_rows and benchmarked:
        first, last = placement.columns[columns[2].header], len(columns)
        highlight_below_benchmark(
            ws,
            f"C{placement.first_row}:{placement.letter(columns[-1].header)}{placement.last_row}",
            False,
        )
        anchor_column = last + 2
        for k, year in enumerate(years):
            start = first + k * len(benchmarked)
            chart = _coverage_chart(
                ws,
                year,
                start,
                start + len(benchmarked) - 1,
                placement.header_row,
                placement.last_row,
            )
            chart.height = max(8.0, 0.45 * len(areas))
            # Default rows are about half a centimetre, so a chart spans twice its height in rows.
            row = placement.header_row + k * (int(chart.height * 2) + 2)
            ws.add_chart(chart, ws.cell(row=row, column=anchor_column).coordinate)
    writer.finish(
        freeze=f"C{placement.first_row}",
        title_rows=f"{placement.header_row}:{placement.header_row}",
    )


def _ratios_by_borough(
    run: RunResult, areas: list[Area], years: list[str], services: list[str]
) -> pl.DataFrame:
    """Area code, name, then one coverage ratio per year × service, in the order given."""
    names = {
        f"{year}\x00{service}": f"ratio {k}"
        for k, (year, service) in enumerate((y, s) for y in years for s in services)
    }
    ratios = (
        run.table("coverage")
        .filter(pl.col("year").is_in(years) & pl.col("service").is_in(services))
        .unique(["year", "area_code", "service"], keep="last", maintain_order=True)
        .select(
            "area_code",
            pl.concat_str("year", "service", separator="\x00").replace_strict(names).alias("key"),
            "coverage_ratio",
        )
        .pivot(on="key", index="area_code", values="coverage_ratio")
    )
    ratios = ratios.with_columns(
        pl.lit(None, dtype=pl.Float64).alias(name)
        for name in names.values()
        if name not in ratios.columns
    )
    grid = pl.DataFrame(
        {"area_code": [a.code for a in areas], "area_name": [a.name for a in areas]},
        schema={"area_code": pl.String, "area_name": pl.String},
    )
    return grid.join(
        ratios.select("area_code", *names.values()),
        on="area_code",
        how="left",
        maintain_order="left",
    )


def _coverage_chart(
    ws: Worksheet, year: str, min_col: int, max_col: int, header_row: int, last_row: int
) -> BarChart:
    chart = BarChart()
    chart.type = "bar"  # horizontal bars leave room for the borough names
    chart.style = 10
    chart.title = f"Coverage of benchmark by borough, {year}"
    chart.y_axis.title = "Coverage (100% = benchmark)"
    chart.y_axis.numFmt = "0%"
    chart.y_axis.axPos = "b"
    chart.x_axis.axPos = "l"
    # openpyxl 3.1 marks axes deleted unless told otherwise, and Excel then hides the labels.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend.position = "b"
    chart.width = 18.0
    data = Reference(ws, min_col=min_col, max_col=max_col, min_row=header_row, max_row=last_row)
    chart.add_data(data, titles_from_data=True)
    # Borough names are text, so the categories must be a string reference, not a number one.
    names = f"{quote_sheetname(ws.title)}!$B${header_row + 1}:$B${last_row}"
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=names))
    return chart
