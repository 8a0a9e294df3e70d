"""Coverage of benchmark: the long table, and a borough-by-service grid with a bar chart."""

from __future__ import annotations

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.utils import quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.data_sheet import DataSheet, write_data_sheet
from commissioning.excel.layout import Column, SheetWriter, Value, highlight_below_benchmark, pounds
from commissioning.excel.names import benchmarked_services, service_names
from commissioning.excel.run_facts import financial_years
from commissioning.excel.tables import only_area
from commissioning.results import RunResult

COVERAGE_NOTE = (
    "Coverage = (existing + bid + funded units) ÷ benchmark target; bid units are those of "
    "selected co-commissioning bids. Red cells are below benchmark; "
    "the bars are full at 100%."
)


def _reason_codes(run: RunResult) -> dict[tuple[str, str, str], str]:
    """Each cell's reason code (explanations.csv); runs written before it have none."""
    table = run.tables.get("explanations")
    if table is None:
        return {}
    return {
        (r["year"], r["area_code"], r["service"]): r["reason_code"]
        for r in table.select("year", "area_code", "service", "reason_code").iter_rows(named=True)
    }


def write_coverage(ws: Worksheet, run: RunResult, area_code: str | None = None) -> DataSheet:
    services = service_names(run)
    frame = only_area(run.table("coverage"), area_code)
    codes = _reason_codes(run)
    rows: list[list[Value]] = [
        [
            r["year"],
            r["area_code"],
            r["area_name"],
            r["service"],
            services.get(r["service"], r["service"]),
            r["target_units"],
            r["existing_units"],
            r["bid_units"],
            r["funded_units"],
            r["total_units"],
            r["coverage_ratio"],
            r["shortfall_units"],
            pounds(r["funded_cost_pence"]),
            r["explanation"],
            codes.get((r["year"], r["area_code"], r["service"])),
        ]
        for r in frame.iter_rows(named=True)
    ]
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
        Column("Funded cost", styles.POUNDS),
        Column("Explanation", width=50, wrap=True),
        Column("Reason code", width=22),
    ]
    sheet = write_data_sheet(
        ws,
        "Coverage of benchmark",
        COVERAGE_NOTE,
        columns,
        rows,
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
    benchmarked = [
        s for s in benchmarked_services(run) if s in set(run.table("coverage")["service"])
    ]
    years = financial_years(run)
    ratio = {
        (r["year"], r["area_code"], r["service"]): r["coverage_ratio"]
        for r in run.table("coverage").iter_rows(named=True)
    }
    areas = sorted(run.scenario.areas, key=lambda a: a.name)

    writer = SheetWriter(ws)
    writer.title("Coverage of benchmark by borough", COVERAGE_NOTE)
    writer.skip()
    columns = [Column("Area code"), Column("Borough")] + [
        Column(f"{services.get(s, s)} {y}", styles.PERCENT) for y in years for s in benchmarked
    ]
    rows: list[list[Value]] = [
        [a.code, a.name, *[ratio.get((y, a.code, s)) for y in years for s in benchmarked]]
        for a in areas
    ]
    placement = writer.table(columns, rows, "tblCoverageByBorough")
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
