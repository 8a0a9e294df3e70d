"""Coverage by borough: per benchmarked service, every borough ranked by its coverage in the
latest year (earlier years beside it), and a bar chart of the same rows in the same order.

One long table holds every service's ranking, one block of rows per service in the scenario's
order (a long table is written as XML in one query, which keeps the sheet quick at hundreds of
areas). Chart k stands to the right of block k, as tall as its rows (they are ROW_POINTS high,
so each bar has room for its label), and each block prints on a page of its own: a chart
across a page break was drawn in two pieces over the next page's rows. A run with more than
MAX_BARS areas charts each service's lowest MAX_BARS, so every bar keeps a legible label; the
table lists them all.
"""

from __future__ import annotations

import polars as pl
from openpyxl.formatting.rule import CellIsRule
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.coverage import COVERAGE_NOTE
from commissioning.excel.files import TableSheet
from commissioning.excel.layout import Column, SheetWriter
from commissioning.excel.london_charts import coverage_bar_chart
from commissioning.excel.london_coverage import CellCoverage, RankedArea, benchmarked_in_run, ranked
from commissioning.excel.names import service_names
from commissioning.excel.run_facts import financial_years
from commissioning.results import RunResult

HEADER_ROW = 4
FIRST_ROW = HEADER_ROW + 1
NAMES_COLUMN, LATEST_COLUMN = 3, 6  # what each chart reads: borough names, latest coverage
# A space after the rank keeps it apart from the borough name on its right.
RANK_FORMAT = '0" "'
MAX_BARS = 60
ROW_POINTS = 20
CM_PER_ROW = ROW_POINTS / 72 * 2.54
CHART_MARGIN_CM = 0.3


def write_coverage_by_borough(ws: Worksheet, run: RunResult, found: CellCoverage) -> None:
    """`found`: london_coverage.by_cell of the run."""
    names = service_names(run)
    years = financial_years(run)
    latest = years[-1]
    shown = [latest, *reversed(years[:-1])]
    writer = SheetWriter(ws)
    writer.title(
        f"Coverage of benchmark by borough, lowest first ({latest})",
        COVERAGE_NOTE.replace("the bars are full at 100%", "red bars are below benchmark")
        + " Each service's boroughs are ranked by coverage in the latest year; the charts on "
        "the right show the same rows in the same order.",
    )
    columns = [
        Column("Service"),
        Column("Rank", RANK_FORMAT),
        Column("Borough"),
        Column("Area code"),
        Column(f"Below benchmark in {latest}"),
        *[Column(f"Coverage {y}", styles.PERCENT) for y in shown],
    ]
    blocks = [(s, ranked(run, s, found)) for s in benchmarked_in_run(run)]
    writer.row = HEADER_ROW
    placement = writer.long_table(columns, _frame(blocks, names, shown))
    if isinstance(ws, TableSheet) and ws.table_rows is not None:
        rows = range(placement.first_row, placement.last_row + 1)
        ws.table_rows.heights.update(dict.fromkeys(rows, float(ROW_POINTS)))
    if placement.has_rows:
        last = get_column_letter(LATEST_COLUMN + len(shown) - 1)
        ws.conditional_formatting.add(
            f"{get_column_letter(LATEST_COLUMN)}{FIRST_ROW}:{last}{placement.last_row}",
            CellIsRule(
                operator="lessThan",
                formula=["1"],
                fill=styles.BELOW_BENCHMARK_FILL,
                font=styles.BELOW_BENCHMARK_FONT,
            ),
        )
    _charts(ws, blocks, names, latest, len(columns) + 2)
    writer.finish(freeze=f"A{FIRST_ROW}")


def _frame(
    blocks: list[tuple[str, list[RankedArea]]], names: dict[str, str], years: list[str]
) -> pl.DataFrame:
    rows = [
        (
            names.get(service, service),
            rank,
            a.area_name,
            a.area_code,
            a.below[years[0]],
            *[a.ratio[y] for y in years],
        )
        for service, areas in blocks
        for rank, a in enumerate(areas, start=1)
    ]
    schema = {
        "service": pl.String,
        "rank": pl.Int64,
        "area_name": pl.String,
        "area_code": pl.String,
        "below": pl.Boolean,
        **{f"coverage {k}": pl.Float64 for k in range(len(years))},
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def _charts(
    ws: Worksheet,
    blocks: list[tuple[str, list[RankedArea]]],
    names: dict[str, str],
    latest: str,
    column: int,
) -> None:
    """Chart k beside block k's rows, reading them; a page break before each block but the
    first."""
    first = FIRST_ROW
    for k, (service, areas) in enumerate(blocks):
        if k and areas:
            ws.row_breaks.append(Break(id=first - 1))
        bars = min(len(areas), MAX_BARS)
        if bars:
            name = names.get(service, service)
            title = f"{name}, {latest}"
            if bars < len(areas):
                title += f": lowest {bars} of {len(areas)}"
            chart = coverage_bar_chart(
                ws,
                title,
                NAMES_COLUMN,
                LATEST_COLUMN,
                HEADER_ROW,
                first,
                first + bars - 1,
                [a.below[latest] for a in areas[:bars]],
                # A little short of its rows, so no sliver crosses onto the next page.
                bars * CM_PER_ROW - CHART_MARGIN_CM,
            )
            ws.add_chart(chart, f"{get_column_letter(column)}{first}")
        first += len(areas)
