"""The first sheet of a borough's workbook: a borough lead's four questions on the first screen.

Are we at benchmark? What do we get? What changed on last year? What would reaching benchmark
cost? The headline and the borough paragraphs answer them in words; the service table and the
table of money by source answer them in figures; charts drawn from cells on this sheet show
them. Only the borough's own figures appear. The solver's details are on the Run details sheet.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from openpyxl.cell.cell import MergedCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.merge import MergedCellRange
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.analysis.borough_paragraph import borough_paragraph
from commissioning.excel import run_facts, styles
from commissioning.excel.borough_charts import ChartCells, add_charts, write_chart_figures
from commissioning.excel.borough_figures import FrontFigures, Source, front_figures
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
RUN_ID_KEYS = ("run_id", "id")
SERVICE_COLUMNS = 10  # the width of the service table, which the paragraphs span
# Column widths: figures and their headings (wrapped to two or three lines); column A fits
# its labels within these bounds.
FIGURE_WIDTH, STATUS_WIDTH, FIRST_COLUMN = 13.0, 22.0, (24.0, 50.0)
MARGIN_INCHES = 0.5
TOP = Alignment(vertical="top")
CENTRE = Alignment(horizontal="center")
RIGHT = Alignment(horizontal="right")


@dataclass(frozen=True)
class FrontSheet:
    """Where the first sheet put what the tests and charts look for."""

    services: TablePlacement | None
    sources: TablePlacement | None
    charts: ChartCells


def run_id(run: RunResult) -> str | None:
    for key in RUN_ID_KEYS:
        value = run.summary.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def write_front(ws: Worksheet, run: RunResult, area: Area) -> FrontSheet:
    years = run_facts.financial_years(run)
    figures = front_figures(run, area.code, years)
    last_column = max(SERVICE_COLUMNS, 2 + 2 * len(years))
    writer = SheetWriter(ws)
    writer.title(f"{area.name}: VAWG services, funding and benchmark coverage", _facts(run, years))
    writer.skip()
    _merged_text(writer, 1, last_column, _headline(area.name, figures), HEADLINE_FONT)
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
    _about(writer, run, area, years, last_column)
    writer.finish(freeze="A2")
    # Narrow top and bottom margins: the first printed page holds every table of the first
    # screen.
    ws.page_margins.top = ws.page_margins.bottom = MARGIN_INCHES
    ws.page_margins.header = ws.page_margins.footer = MARGIN_INCHES / 2
    _first_column_width(ws, [services, sources])
    fit_sheet(ws)  # before the charts, which are placed by the final column widths
    add_charts(ws, area.name, charts, last_column)
    return FrontSheet(services, sources, charts)


def _first_column_width(ws: Worksheet, tables: list[TablePlacement | None]) -> None:
    """Column A as wide as the tables' row labels, measured as fit measures text (SheetWriter
    allows a tenth more, which made the paragraphs beside it needlessly narrow)."""
    labels = [
        str(ws.cell(row=r, column=1).value or "")
        for t in tables
        if t is not None
        for r in range(t.first_row, t.last_row + 2)  # and the total row under a table
    ]
    width = max((text_width(label, bold=True) for label in labels), default=0) + PADDING
    ws.column_dimensions["A"].width = max(FIRST_COLUMN[0], min(FIRST_COLUMN[1], width))


def _facts(run: RunResult, years: list[str]) -> str:
    """What was run, stating only what the run recorded (its absence is in 'About')."""
    scenario = run_facts.text(run, "scenario", run.scenario.name)
    parts = [f"Scenario: {scenario}", f"years {years[0]} to {years[-1]}"]
    identifier = run_id(run)
    if identifier:
        parts.append(f"run {identifier}")
    stamp = run_facts.run_date(run)
    if stamp is not None:
        parts.append(f"solved {stamp:%d %B %Y}")
    return ". ".join([", ".join(parts), "Money in £ (the run's CSV files hold it in pence)."])


def _headline(name: str, figures: FrontFigures) -> str:
    if not figures.services:
        return f"No service {name} receives has a benchmark in this scenario."
    below = figures.below()
    if not below:
        return f"{name} is at or above benchmark in every benchmarked service, every year."
    years_by_service: dict[str, list[str]] = defaultdict(list)
    for cell in below:
        years_by_service[cell.name].append(cell.year)
    which = "; ".join(f"{s} ({', '.join(y)})" for s, y in years_by_service.items())
    text = f"{name} is below benchmark in {which}."
    costs: dict[str, int] = defaultdict(int)
    for cell in below:
        if cell.cost_pence is not None and not cell.held_by:
            costs[cell.year] += cell.cost_pence
    if costs:
        text += " Reaching it would cost " + _and(
            [f"{pounds_text(p)} in {y}" for y, p in costs.items()]
        )
        text += "."
    if any(cell.held_by for cell in below):
        text += " A rule holds some of it below benchmark (see the note under the table)."
    return text


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


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
    notes = [
        f"{s.name}, {s.year}: below benchmark and held there by a rule: {s.held_by}."
        for s in figures.services
        if s.held_by
    ]
    notes += figures.unbenchmarked
    for note in notes:
        _merged_text(writer, 1, SERVICE_COLUMNS, note, styles.NOTE_FONT)
    return placement


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


def _about(
    writer: SheetWriter, run: RunResult, area: Area, years: list[str], last_column: int
) -> None:
    writer.subtitle("About these figures")
    stamp = run_facts.run_date(run)
    pairs = [
        ("Borough", f"{area.name} (ONS code {area.code})"),
        ("Command unit", area.group or NOT_RECORDED),
        ("Scenario", run_facts.text(run, "scenario", run.scenario.name)),
        ("Run", run_id(run) or NOT_RECORDED),
        ("Run date", stamp.strftime("%d %B %Y %H:%M") if stamp else NOT_RECORDED),
        ("Financial years", ", ".join(years)),
        (
            "Coverage",
            "Benchmark target = basis population ÷ per × benchmark units (worked on the Targets "
            "sheet); coverage = (existing + bid-funded + funded units) ÷ target, rounded down "
            "to 0.1 % so a service short of benchmark never shows 100 %.",
        ),
        (
            "Solver and checks",
            "The solver's status, gap, stages and the scenario hash are on the Run details "
            "sheet; how the figures were made is on the Methodology sheet.",
        ),
    ]
    for label, value in pairs:
        set_style(writer.cell(writer.row, 1, label, font=styles.LABEL_FONT), alignment=TOP)
        _merged_text(writer, 2, last_column, value)
