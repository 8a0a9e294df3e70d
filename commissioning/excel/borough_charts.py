"""The charts on the first sheet of a borough's workbook, each drawn from cells on that sheet so
a reader can see (and check) the numbers behind it.

- coverage against benchmark: a bar per service and year, with the benchmark (100 %) as a line;
- funding by source per year: stacked bars, from the table of money by source;
- each formula grant against its formula target and last year's grant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from openpyxl.chart import BarChart, LineChart, Reference, Series
from openpyxl.chart.axis import ChartLines
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.series import SeriesLabel
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.borough_figures import FrontFigures
from commissioning.excel.fit import column_width
from commissioning.excel.layout import Column, SheetWriter, TablePlacement, Value, pounds

ROWS = 18  # rows the charts take: about 9.5 cm of 15-point rows
GAP_EMU = 180000  # half a centimetre between charts
MONEY_AXIS = '"£"#,##0'
# Set colours, none of them red: on these sheets red means below benchmark and nothing else
# (left to itself, LibreOffice paints a chart's second series orange-red).
PALETTE = ("1F3864", "5B9BD5", "A5A5A5", "70AD47", "FFC000", "264478", "636363", "9DC3E6")
BENCHMARK_COLOUR = "000000"


@dataclass(frozen=True)
class Block:
    """A small table on the sheet: its heading row, data rows and value columns."""

    header_row: int
    first_row: int
    last_row: int
    first_column: int
    last_column: int


@dataclass
class ChartCells:
    """The row the charts start on, and the blocks of cells each chart is drawn from."""

    anchor_row: int = 0
    coverage: Block | None = None
    grants: list[tuple[str, Block]] = field(default_factory=list)
    sources: Block | None = None


def write_chart_figures(
    writer: SheetWriter, figures: FrontFigures, sources: TablePlacement | None
) -> ChartCells:
    """Keep rows for the charts, then write the small tables they are drawn from."""
    cells = ChartCells(anchor_row=writer.row)
    writer.skip(ROWS)
    writer.subtitle("Figures behind the charts")
    if sources is not None and sources.has_rows:
        years = figures.years
        first_year = sources.columns[years[0]]
        cells.sources = Block(
            sources.header_row,
            sources.first_row,
            sources.last_row,
            first_year,
            first_year + len(years) - 1,
        )
    if figures.services:
        cells.coverage = _coverage_block(writer, figures)
        writer.skip()
    by_pot: dict[str, list[list[Value]]] = {}
    for g in figures.grants:
        last: Value = None if g.previous_pence is None else pounds(g.previous_pence)
        row: list[Value] = [g.year, last, pounds(g.allocated_pence), pounds(g.target_pence)]
        by_pot.setdefault(g.pot_name, []).append(row)
    for pot_name, rows in by_pot.items():
        placement = writer.table(
            [
                Column(f"{pot_name} grant, year"),
                Column("Last year's grant", styles.POUNDS),
                Column("Grant", styles.POUNDS),
                Column("Formula target", styles.POUNDS),
            ],
            rows,
        )
        block = Block(placement.header_row, placement.first_row, placement.last_row, 2, 4)
        cells.grants.append((pot_name, block))
        writer.skip()
    return cells


def _coverage_block(writer: SheetWriter, figures: FrontFigures) -> Block:
    years = figures.years
    by_service: dict[str, dict[str, Decimal]] = {}
    for s in figures.services:
        by_service.setdefault(s.label, {})[s.year] = s.coverage
    placement = writer.table(
        [
            Column("Coverage of benchmark"),
            *[Column(y, styles.PERCENT) for y in years],
            Column("Benchmark", styles.PERCENT),
        ],
        [
            [label, *[shares.get(y) for y in years], Decimal(1)]
            for label, shares in by_service.items()
        ],
    )
    return Block(placement.header_row, placement.first_row, placement.last_row, 2, len(years) + 2)


def add_charts(ws: Worksheet, area_name: str, cells: ChartCells, last_column: int) -> None:
    """Draw the charts side by side across columns A to `last_column`, in the rows kept for
    them. Each is anchored to cells at both corners, so it keeps to its columns however wide
    the program reading the file draws them; call it once the column widths are final."""
    charts = []
    if cells.coverage is not None:
        charts.append(_coverage_chart(ws, cells.coverage))
    if cells.sources is not None:
        charts.append(_sources_chart(ws, area_name, cells.sources))
    for pot_name, block in cells.grants:
        charts.append(_grant_chart(ws, pot_name, block, _smallest(ws, block)))
    edges = _split(ws, last_column, len(charts))
    for k, chart in enumerate(charts):
        anchor = TwoCellAnchor()
        gap = GAP_EMU if k else 0
        anchor._from = AnchorMarker(col=edges[k], colOff=gap, row=cells.anchor_row - 1)
        anchor.to = AnchorMarker(col=edges[k + 1], row=cells.anchor_row - 1 + ROWS - 1)
        ws.add_chart(chart, anchor)


def _smallest(ws: Worksheet, block: Block) -> Decimal | None:
    """The smallest amount in a block of money cells (as written: Decimal pounds)."""
    amounts = [
        Decimal(str(value))
        for row in range(block.first_row, block.last_row + 1)
        for column in range(block.first_column, block.last_column + 1)
        if isinstance(value := ws.cell(row=row, column=column).value, int | float | Decimal)
    ]
    return min(amounts, default=None)


def _split(ws: Worksheet, last_column: int, parts: int) -> list[int]:
    """Column edges (0 = the left of A) cutting A..last_column into `parts` of near-equal
    width, each at least one column wide."""
    widths = [column_width(ws, c) for c in range(1, last_column + 1)]
    lefts = [sum(widths[:c]) for c in range(last_column + 1)]
    edges = [0]
    for k in range(1, parts):
        wanted = lefts[-1] * k / parts
        lowest, highest = edges[-1] + 1, last_column - (parts - k)
        edges.append(min(range(lowest, highest + 1), key=lambda e: abs(lefts[e] - wanted)))
    return [*edges, last_column]


def _ref(ws: Worksheet, column: int, first_row: int, last_column: int, last_row: int) -> str:
    first, last = get_column_letter(column), get_column_letter(last_column)
    return f"{quote_sheetname(ws.title)}!${first}${first_row}:${last}${last_row}"


def _series(
    ws: Worksheet, values: Reference, title_cell: str, categories: str, k: int = 0
) -> Series:
    """A series titled by a cell, over text categories, filled with the k-th colour."""
    series = Series(values)
    series.tx = SeriesLabel(strRef=StrRef(f"{quote_sheetname(ws.title)}!{title_cell}"))
    series.cat = AxDataSource(strRef=StrRef(categories))
    series.graphicalProperties.solidFill = PALETTE[k % len(PALETTE)]
    return series


def _axes(chart: BarChart | LineChart, y_title: str, number_format: str) -> None:
    # openpyxl 3.1 marks axes deleted unless told otherwise: Excel would draw none.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.title = y_title
    chart.y_axis.number_format = number_format
    chart.y_axis.majorGridlines = ChartLines()
    chart.y_axis.scaling.min = 0
    chart.legend.position = "b"


def _coverage_chart(ws: Worksheet, block: Block) -> BarChart:
    chart = BarChart()
    chart.type, chart.grouping = "col", "clustered"
    chart.title = "Coverage of benchmark"
    categories = _ref(ws, 1, block.first_row, 1, block.last_row)
    for k, column in enumerate(range(block.first_column, block.last_column)):
        values = Reference(ws, column, block.first_row, column, block.last_row)
        title = f"${get_column_letter(column)}${block.header_row}"
        chart.series.append(_series(ws, values, title, categories, k))
    # Only the value: unset flags are read as "show" by some spreadsheet programs.
    chart.dataLabels = DataLabelList(
        showVal=True,
        showCatName=False,
        showSerName=False,
        showLegendKey=False,
        showPercent=False,
        numFmt="0.0%",
    )
    line = LineChart()
    benchmark = block.last_column
    values = Reference(ws, benchmark, block.first_row, benchmark, block.last_row)
    title = f"${get_column_letter(benchmark)}${block.header_row}"
    benchmark_line = _series(ws, values, title, categories)
    # A drawn line, not the program's choice (LibreOffice drew none without one).
    benchmark_line.graphicalProperties.solidFill = None
    benchmark_line.graphicalProperties.line.solidFill = BENCHMARK_COLOUR
    benchmark_line.graphicalProperties.line.width = 28575  # 2.25 pt, in EMU
    benchmark_line.smooth = False
    line.series.append(benchmark_line)
    _axes(chart, "Coverage (100% = benchmark)", "0%")
    chart += line
    return chart


def _sources_chart(ws: Worksheet, area_name: str, block: Block) -> BarChart:
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = f"Money to {area_name}, by source"
    categories = _ref(ws, block.first_column, block.header_row, block.last_column, block.header_row)
    for k, row in enumerate(range(block.first_row, block.last_row + 1)):
        values = Reference(ws, block.first_column, row, block.last_column, row)
        chart.series.append(_series(ws, values, f"$A${row}", categories, k))
    _axes(chart, "£ a year", MONEY_AXIS)
    return chart


def _grant_chart(ws: Worksheet, pot_name: str, block: Block, smallest: Decimal | None) -> BarChart:
    chart = BarChart()
    chart.type, chart.grouping = "col", "clustered"
    chart.title = f"{pot_name} grant"
    categories = _ref(ws, 1, block.first_row, 1, block.last_row)
    # Last year grey, this grant navy, its target light blue.
    for k, column in zip((2, 0, 1), range(block.first_column, block.last_column + 1), strict=True):
        values = Reference(ws, column, block.first_row, column, block.last_row)
        title = f"${get_column_letter(column)}${block.header_row}"
        chart.series.append(_series(ws, values, title, categories, k))
    # Grants move by a few per cent a year: from zero the bars would all look alike, so the
    # axis starts below the smallest figure, and its title says where.
    start = _axis_start(smallest)
    _axes(chart, f"£ a year (axis starts at £{start:,})" if start else "£ a year", MONEY_AXIS)
    chart.y_axis.scaling.min = start
    return chart


def _axis_start(smallest: Decimal | None) -> int:
    """A round number of pounds at or below 80 % of the smallest figure: a whole number of
    steps of 1, 2 or 5 × 10^k, the largest step that still leaves five below the limit."""
    if smallest is None or smallest < 1:
        return 0
    limit = int(smallest * Decimal("0.8"))
    power = 10 ** (len(str(limit)) - 1)
    for step in (5 * power, 2 * power, power, power // 2, power // 5, power // 10):
        if step and limit // step >= 5:
            return (limit // step) * step
    return 0
