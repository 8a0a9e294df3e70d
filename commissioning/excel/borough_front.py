"""The first sheet of a borough's workbook: a borough lead's four questions on the first screen.

Are we at benchmark? What do we get? What changed on last year? What would reaching benchmark
cost? The headline and the borough paragraphs answer them in words; the service table and the
table of money by source answer them in figures; charts drawn from cells on this sheet show
them. Only the borough's own figures appear. The solver's details are on the Run details sheet.
"""

from __future__ import annotations

from openpyxl.cell.cell import MergedCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.merge import MergedCellRange
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.analysis.borough_paragraph import borough_paragraph
from commissioning.excel import run_facts, styles
from commissioning.excel.borough_about import about, facts_line, headline
from commissioning.excel.borough_charts import add_charts, write_chart_figures
from commissioning.excel.borough_figures import FrontFigures, ServiceYear, Source, front_figures
from commissioning.excel.fit import PADDING, fit_sheet, text_width
from commissioning.excel.layout import (
    Column,
    SheetWriter,
    TablePlacement,
    Value,
    name_range,
    pounds,
    set_style,
)
from commissioning.models import Area
from commissioning.money import pounds as pounds_text
from commissioning.results import RunResult

AT_BENCHMARK = "At or above benchmark"
BELOW_BENCHMARK = "Below benchmark"
# Only a cell below benchmark is red; being at benchmark is shown in green, nothing else coloured.
AT_FILL = PatternFill("solid", fgColor="C6EFCE", bgColor="C6EFCE")
AT_FONT = Font(name=styles.FONT, color="006100")
HEADLINE_FONT = Font(name=styles.FONT, bold=True, size=12, color=styles.NAVY)
# A change carries its sign, not a colour: a smaller grant is not a fault of the borough's.
CHANGE = '+"£"#,##0.00;-"£"#,##0.00;"£"0.00'
NOT_RECORDED = run_facts.NOT_RECORDED
SERVICE_COLUMNS = 10  # the width of the service table, which the paragraphs span
# Column widths: figures and their headings (wrapped to two or three lines); column A fits
# its labels within these bounds.
FIGURE_WIDTH, STATUS_WIDTH, FIRST_COLUMN = 13.0, 22.0, (24.0, 50.0)
MARGIN_INCHES = 0.5
TOP = Alignment(vertical="top")
CENTRE = Alignment(horizontal="center")
RIGHT = Alignment(horizontal="right")


def write_front(ws: Worksheet, run: RunResult, area: Area) -> None:
    years = run_facts.financial_years(run)
    figures = front_figures(run, area.code, years)
    last_column = max(SERVICE_COLUMNS, 2 + 2 * len(years))
    writer = SheetWriter(ws)
    writer.title(
        f"{area.name}: VAWG services, funding and benchmark coverage", facts_line(run, years)
    )
    writer.skip()
    _merged_text(writer, 1, last_column, headline(area.name, figures), HEADLINE_FONT)
    writer.subtitle(f"{area.name} in brief")
    for year in years:
        label = writer.cell(writer.row, 1, year, font=styles.LABEL_FONT)
        set_style(label, alignment=TOP)
        _merged_text(writer, 2, last_column, borough_paragraph(run, area.code, year))
    writer.skip()
    services = _service_table(writer, figures)
    writer.skip()
    sources = _source_table(writer, area.name, figures)
    writer.skip()
    ws.row_breaks.append(Break(id=writer.row - 1))  # the charts start page 2 when printed
    writer.subtitle(f"{area.name} in charts")
    charts = write_chart_figures(writer, figures, sources)
    writer.subtitle("About these figures")
    for label, text in about(run, area, years):
        set_style(writer.cell(writer.row, 1, label, font=styles.LABEL_FONT), alignment=TOP)
        _merged_text(writer, 2, last_column, text)
    writer.finish(freeze="A2")
    # Narrow top and bottom margins: the first printed page holds every table of the first
    # screen.
    ws.page_margins.top = ws.page_margins.bottom = MARGIN_INCHES
    ws.page_margins.header = ws.page_margins.footer = MARGIN_INCHES / 2
    _first_column_width(ws, services, sources)
    fit_sheet(ws)  # before the charts, which are placed by the final column widths
    add_charts(ws, area.name, charts, last_column)


def _first_column_width(
    ws: Worksheet, services: TablePlacement | None, sources: TablePlacement | None
) -> None:
    """Column A as wide as the tables' row labels, measured as fit measures text (SheetWriter
    allows a tenth more, which made the paragraphs beside it needlessly narrow)."""
    rows = [] if services is None else list(range(services.first_row, services.last_row + 1))
    if sources is not None:
        rows += range(sources.first_row, sources.last_row + 2)  # and its total row
    labels = [str(ws.cell(row=r, column=1).value or "") for r in rows]
    width = max((text_width(label, bold=True) for label in labels), default=0) + PADDING
    ws.column_dimensions["A"].width = max(FIRST_COLUMN[0], min(FIRST_COLUMN[1], width))


def _merged_text(
    writer: SheetWriter, first: int, last: int, text: str, font: Font | None = None
) -> None:
    """Text across columns first..last of the current row, wrapped (fit.fit_rows sizes the row)."""
    ws, row = writer.ws, writer.row
    cell = writer.cell(row, first, text, font=font, fit=False)
    set_style(cell, alignment=styles.KEY_VALUE_ALIGN)
    if last > first:
        ws.merged_cells.add(
            MergedCellRange(ws, f"{get_column_letter(first)}{row}:{get_column_letter(last)}{row}")
        )
        for column in range(first + 1, last + 1):
            ws._cells[row, column] = MergedCell(ws, row=row, column=column)
    writer.row += 1


def _service_table(writer: SheetWriter, figures: FrontFigures) -> TablePlacement | None:
    writer.subtitle("Are we at benchmark, and what would reaching it cost?")
    if not figures.services:
        writer.note("No service in this scenario has a benchmark, so there is no coverage to show.")
        return None
    rows: list[list[Value]] = []
    for s in figures.services:
        cost: Value = pounds(s.cost_pence) if s.cost_pence is not None else NOT_RECORDED
        if s.held_by:
            cost = "held by a rule (see note)"
        status = BELOW_BENCHMARK if s.below else AT_BENCHMARK
        rows.append(
            [
                s.label,
                s.year,
                s.target_units,
                s.existing_units,
                s.bid_units,
                s.funded_units,
                s.total_units,
                s.coverage,
                status,
                cost,
            ]
        )
    placement = writer.table(
        [
            Column("Service"),
            Column("Year", width=FIGURE_WIDTH),
            Column("Benchmark target", styles.UNITS, width=FIGURE_WIDTH),
            Column("Existing units", styles.UNITS, width=FIGURE_WIDTH),
            Column("Bid-funded units", styles.UNITS, width=FIGURE_WIDTH),
            Column("Funded units", styles.UNITS, width=FIGURE_WIDTH),
            Column("Total units", styles.UNITS, width=FIGURE_WIDTH),
            Column("Coverage of benchmark", styles.PERCENT, width=FIGURE_WIDTH),
            Column("Status", width=STATUS_WIDTH),
            Column("Cost to reach benchmark", styles.POUNDS, width=FIGURE_WIDTH),
        ],
        rows,
    )
    status_column = placement.columns["Status"]
    written = range(placement.first_row, placement.last_row + 1)
    for r, s in zip(written, figures.services, strict=True):
        cell = writer.ws.cell(row=r, column=status_column)
        if s.below:
            font, fill = styles.BELOW_BENCHMARK_FONT, styles.BELOW_BENCHMARK_FILL
        else:
            font, fill = AT_FONT, AT_FILL
        set_style(cell, font=font, fill=fill, alignment=CENTRE)
    _words_right(placement, [placement.columns["Cost to reach benchmark"]])
    held: dict[tuple[str, str], list[ServiceYear]] = {}
    for s in figures.services:
        if s.held_by:
            held.setdefault((s.name, s.held_by), []).append(s)
    notes = [_held_note(name, rule, cells) for (name, rule), cells in held.items()]
    notes += figures.unbenchmarked
    for note in notes:
        _merged_text(writer, 1, SERVICE_COLUMNS, note, styles.NOTE_FONT)
    return placement


def _held_note(name: str, rule: str, cells: list[ServiceYear]) -> str:
    """Why a service has no cost to reach benchmark, and what the paragraph counts for it."""
    years = ", ".join(c.year for c in cells)
    text = f"{name}: below benchmark in {years}, held there by {rule}; no money lifts it while "
    text += "that rule stands"
    prices = {c.price_pence for c in cells}
    if len(prices) == 1 and (price := prices.pop()):
        text += f" (were it lifted, {pounds_text(price)} a year, the figure the paragraphs count)"
    return text + "."


def _source_table(writer: SheetWriter, name: str, figures: FrontFigures) -> TablePlacement | None:
    years, last = figures.years, figures.last_year
    writer.subtitle(f"What {name} receives, and the change on the year before")
    if not figures.sources:
        writer.note(f"No money is paid to {name} in this run.")
        _bid_notes(writer, figures)
        return None
    columns = [
        Column(f"Paid to {name} from"),
        Column(f"{last} (last year)", styles.POUNDS, width=FIGURE_WIDTH),
        *[Column(y, styles.POUNDS, width=FIGURE_WIDTH) for y in years],
        # Each on the year before it, the first on last year (the column beside the years).
        *[Column(f"Change in {y}", CHANGE, width=FIGURE_WIDTH) for y in years],
    ]
    placement = writer.table(
        columns,
        [_source_row(s, years) for s in figures.sources],
        total_row=_source_row(figures.total, years),
    )
    _words_right(placement, list(range(2, len(columns) + 1)), total_row=True)
    for year in years:
        # Named, so a finance sheet can refer to what the borough gets in a year by name.
        name_range(writer.ws, f"Borough_Total_{year}", f"{placement.letter(year)}{writer.row - 1}")
    _bid_notes(writer, figures)
    return placement


def _words_right(placement: TablePlacement, columns: list[int], total_row: bool = False) -> None:
    """Words in a column of figures ('not recorded') sit on the right, as the figures do, and
    small, so they neither run into the figure on their left nor pass for one."""
    last = placement.last_row + (1 if total_row else 0)
    for r in range(placement.first_row, last + 1):
        for column in columns:
            cell = placement.ws.cell(row=r, column=column)
            if isinstance(cell.value, str):
                set_style(cell, font=styles.NOTE_FONT, alignment=RIGHT)


def _source_row(source: Source, years: list[str]) -> list[Value]:
    last: Value = NOT_RECORDED if source.last_year_pence is None else pounds(source.last_year_pence)
    changes: list[Value] = [NOT_RECORDED if c is None else pounds(c) for c in source.changes(years)]
    return [source.label, last, *[pounds(source.pence.get(y, 0)) for y in years], *changes]


def _bid_notes(writer: SheetWriter, figures: FrontFigures) -> None:
    for sentence in figures.bids:
        _merged_text(writer, 1, SERVICE_COLUMNS, sentence, styles.NOTE_FONT)
