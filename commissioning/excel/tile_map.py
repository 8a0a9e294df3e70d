"""The London tile map: each borough a coloured square, placed as on the London Squared grid.

One map per benchmarked service, for the latest year, laid out from commissioning.london_tiles
(the same places as the web pages). Where things are, so a reader or a test can find them:

- row 1 the title, row 2 what the colours mean; maps start at row MAP_TOP_ROW (the service's
  name on the row above), MAPS_ACROSS to a band, each band BAND_ROWS rows below the last;
- map k's tiles start at column 1 + (k % MAPS_ACROSS) × (COLUMNS + 1);
- the tile of a borough at grid (row, column) is two cells: its abbreviation at
  (top + 2 × row, left + column) and its coverage just below, both in the tile's colour;
- all 33 squares are drawn: a borough the run leaves out (often the City) is grey;
- the key is below the last band.

Colours: red for below benchmark (darker under 90%), blues at or above it, darker the further
above. Below benchmark is total units < target units, as everywhere in the workbook.
"""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.layout import SheetWriter, set_style
from commissioning.excel.london_coverage import CellCoverage, benchmarked_in_run, latest_year
from commissioning.excel.names import service_names
from commissioning.london_tiles import COLUMNS, ROWS, TILES
from commissioning.results import RunResult

MAP_TOP_ROW = 5
MAPS_ACROSS = 2
BAND_ROWS = 2 * ROWS + 3  # the tiles, the service's name and a gap
TILE_WIDTH = 8.0  # characters
GAP_WIDTH = 3.0
NAME_ROW_POINTS, VALUE_ROW_POINTS = 20, 16
BELOW_SHOWN_MAX = 0.999  # a ratio just under 1 would show as 100.0%: below never does


@dataclass(frozen=True)
class Colour:
    label: str
    fill: str
    text: str  # font colour, readable on the fill


BELOW_90 = Colour("below benchmark, under 90%", "C00000", "FFFFFF")
BELOW = Colour("below benchmark, 90% to 99.9%", "F4B183", "7F0000")
AT_100 = Colour("at benchmark, 100% to 109.9%", "DEEBF7", "1F3864")
AT_110 = Colour("above, 110% to 124.9%", "9DC3E6", "1F3864")
AT_125 = Colour("above, 125% to 149.9%", "2E75B6", "FFFFFF")
AT_150 = Colour("above, 150% or more", "1F3864", "FFFFFF")
NO_TARGET = Colour("no benchmark target in this run", "F2F2F2", "595959")
NOT_IN_RUN = Colour("not in this run", "BFBFBF", "404040")
KEY = (BELOW_90, BELOW, AT_100, AT_110, AT_125, AT_150, NO_TARGET, NOT_IN_RUN)


def colour_for(ratio: float | None, below: bool | None) -> Colour:
    """The tile's colour for a borough's coverage ratio (None: no benchmarked cell)."""
    if ratio is None or below is None:
        return NO_TARGET
    if below:
        return BELOW_90 if ratio < 0.9 else BELOW
    if ratio < 1.1:
        return AT_100
    if ratio < 1.25:
        return AT_110
    return AT_125 if ratio < 1.5 else AT_150


def map_origin(k: int) -> tuple[int, int]:
    """(row, column) of the top-left tile cell of map k."""
    return MAP_TOP_ROW + (k // MAPS_ACROSS) * BAND_ROWS, 1 + (k % MAPS_ACROSS) * (COLUMNS + 1)


_EDGE = Side(style="medium", color="FFFFFF")
_TOP = Border(left=_EDGE, right=_EDGE, top=_EDGE)
_BOTTOM = Border(left=_EDGE, right=_EDGE, bottom=_EDGE)
_GREY = Side(style="thin", color="A6A6A6")
_SWATCH = Border(left=_GREY, right=_GREY, top=_GREY, bottom=_GREY)  # the palest shows too
_CENTRE = Alignment(horizontal="center", vertical="center")


class _Styles:
    """Fonts and fills made once per colour, so each is registered once with the workbook, and
    the tiles' white edges registered up front (openpyxl hashes a border on every assignment)."""

    def __init__(self, wb: Workbook) -> None:
        self.top = wb._borders.add(_TOP)
        self.bottom = wb._borders.add(_BOTTOM)
        self.swatch = wb._borders.add(_SWATCH)
        self.fills = {c: PatternFill("solid", fgColor=c.fill) for c in KEY}
        self.names = {c: Font(name=styles.FONT, bold=True, color=c.text) for c in KEY}
        self.values = {c: Font(name=styles.FONT, size=9, color=c.text) for c in KEY}


def write_tile_map(ws: Worksheet, run: RunResult, found: CellCoverage) -> None:
    """Write the maps (the run's areas must be London's: see london_tiles.london_tiles);
    `found`: london_coverage.by_cell of the run."""
    year = latest_year(run)
    writer = SheetWriter(ws)
    writer.title(
        f"London map: coverage of benchmark in {year}",
        "Each square is a borough, placed as on the London Squared map. Red: below benchmark; "
        "blue: at or above it, darker the further above. Figures on the Coverage by borough "
        "sheet.",
    )
    names = service_names(run)
    look = _Styles(ws.parent)
    services = benchmarked_in_run(run)
    in_run = {a.code for a in run.scenario.areas}
    for k, service in enumerate(services):
        top, left = map_origin(k)
        writer.cell(
            top - 1, left, names.get(service, service), font=styles.SUBTITLE_FONT, fit=False
        )
        for tile in TILES:
            ratio, below = found.get((service, year, tile.code), (None, None))
            colour = NOT_IN_RUN if tile.code not in in_run else colour_for(ratio, below)
            shown = None if ratio is None else min(ratio, BELOW_SHOWN_MAX) if below else ratio
            row, column = top + 2 * tile.row, left + tile.column
            for r, value, font, border in (
                (row, tile.abbreviation, look.names[colour], look.top),
                (row + 1, shown, look.values[colour], look.bottom),
            ):
                cell = writer.cell(r, column, value, styles.PERCENT, fit=False)
                set_style(cell, font=font, fill=look.fills[colour], alignment=_CENTRE)
                cell._style.borderId = border
    for k in range(len(services)):
        top, _ = map_origin(k)
        for r in range(ROWS):
            ws.row_dimensions[top + 2 * r].height = NAME_ROW_POINTS
            ws.row_dimensions[top + 2 * r + 1].height = VALUE_ROW_POINTS
    _key(writer, map_origin(len(services) - 1)[0] + 2 * ROWS + 1, look)
    for k in range(min(len(services), MAPS_ACROSS)):
        _, left = map_origin(k)
        for c in range(COLUMNS):
            writer.fixed_widths[left + c] = TILE_WIDTH
        writer.fixed_widths[left + COLUMNS] = GAP_WIDTH
    writer.finish(freeze="A3")
    ws.page_setup.fitToHeight = 1  # the maps and their key on one page


def _key(writer: SheetWriter, row: int, look: _Styles) -> None:
    writer.row = row
    writer.subtitle("Key")
    for colour in KEY:
        cell = writer.cell(writer.row, 1, None, fit=False)
        set_style(cell, fill=look.fills[colour])
        cell._style.borderId = look.swatch
        label = writer.cell(writer.row, 2, colour.label, fit=False)
        set_style(label, font=styles.NOTE_FONT)
        writer.row += 1
