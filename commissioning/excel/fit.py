"""Row heights and column widths worked out from a sheet's text, so wrapped text never runs
into the next row, headings are never cut off and text is never hidden by its neighbour.

Neither Excel nor LibreOffice grows a row to fit wrapped text when it opens a file, nor a
merged cell ever, so the heights are set here by estimating lines. Widths are in Excel's unit,
the width of a digit in the workbook's font, Calibri; each character is measured by Calibri's
own advance widths (taken from Carlito, the font with Calibri's metrics that LibreOffice uses
in its place). Measured here, LibreOffice 7.4 wrapped the borough paragraphs in nine merged
columns 126 units wide at lines of 119-124 units by this measure. Without Carlito installed
LibreOffice draws Calibri in DejaVu Sans, about a tenth wider, and wrapped text may then need
a line more than its row holds: render with fonts-crosextra-carlito installed. The estimate
wraps word by word, as both programs do.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import polars as pl
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import small_table, styles
from commissioning.excel.files import TableSheet
from commissioning.excel.layout import merge_across, set_style

# Calibri's advance widths of the printable ASCII characters, space to tilde, in digit widths
# (the digits are 1). Other characters count as a digit.
_ASCII = (
    0.45,
    0.64,
    0.79,
    0.98,
    1.0,
    1.41,
    1.35,
    0.44,
    0.6,
    0.6,
    0.98,
    0.98,
    0.49,
    0.6,
    0.5,
    0.76,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    0.53,
    0.53,
    0.98,
    0.98,
    0.98,
    0.91,
    1.76,
    1.14,
    1.07,
    1.05,
    1.21,
    0.96,
    0.91,
    1.24,
    1.23,
    0.5,
    0.63,
    1.03,
    0.83,
    1.69,
    1.27,
    1.31,
    1.02,
    1.33,
    1.07,
    0.91,
    0.96,
    1.27,
    1.12,
    1.76,
    1.02,
    0.96,
    0.92,
    0.61,
    0.76,
    0.61,
    0.98,
    0.98,
    0.57,
    0.95,
    1.04,
    0.83,
    1.04,
    0.98,
    0.6,
    0.93,
    1.04,
    0.45,
    0.47,
    0.9,
    0.45,
    1.58,
    1.04,
    1.04,
    1.04,
    1.04,
    0.69,
    0.77,
    0.66,
    1.04,
    0.89,
    1.41,
    0.85,
    0.89,
    0.78,
    0.62,
    0.91,
    0.62,
    0.98,
)


class _Widths(dict[str, float]):
    """Advance widths by character; any other character counts as a digit."""

    def __missing__(self, char: str) -> float:
        return 1.0


_WIDTH = _Widths({chr(32 + i): w for i, w in enumerate(_ASCII)})
BOLD = 1.03  # Calibri Bold is about 3 % wider
DEFAULT_WIDTH = 8.43  # Excel's width of a column the file does not size
DEFAULT_POINTS = 15.0  # Excel's row height for 11 pt text
PADDING = 2.0  # width units a cell keeps clear at its edges, and a little to spare
WIDEST = 60.0  # above this a column wraps its text instead of growing


def text_width(text: str, size: float = 11, bold: bool = False) -> float:
    """The width units one line of `text` takes in Calibri."""
    # map over the dict's lookup, not a generator: fitting the London workbook measures tens
    # of thousands of characters, and this sums them in the same order, to the same total.
    width = sum(map(_WIDTH.__getitem__, text))
    return width * (BOLD if bold else 1.0) * size / 11


def line_count(text: str, width: float, size: float = 11, bold: bool = False) -> int:
    """Lines `text` wraps to in a cell `width` units wide (line breaks in the text count)."""
    room = max(1.0, width - PADDING)
    space = text_width(" ", size, bold)
    lines = 0
    for paragraph in str(text).split("\n"):
        lines += 1
        # Most cells hold less than a line: then no word wraps (with a margin for the order
        # the word loop adds in).
        if text_width(paragraph, size, bold) < room - 1e-9:
            continue
        used = 0.0
        for word in paragraph.split(" "):
            need = text_width(word, size, bold)
            if used and used + space + need <= room:
                used += space + need
                continue
            if used:
                lines += 1
            # A word wider than the cell breaks across lines.
            extra = max(0, math.ceil(need / room) - 1)
            lines += extra
            used = need - extra * room
    return lines


def line_points(size: float = 11) -> float:
    """The height of one line of text of `size` points, as Excel spaces it (15 for 11 pt)."""
    return size * DEFAULT_POINTS / 11


def column_width(ws: Worksheet, column: int) -> float:
    dimension = ws.column_dimensions.get(get_column_letter(column))
    if dimension is None or not dimension.customWidth or dimension.width is None:
        return DEFAULT_WIDTH
    return float(dimension.width)


def _merged_widths(ws: Worksheet) -> dict[tuple[int, int], float]:
    """The width of each merged range, by its top-left cell (row, column)."""
    found = {}
    for merged in ws.merged_cells.ranges:
        width = sum(column_width(ws, c) for c in range(merged.min_col, merged.max_col + 1))
        found[(merged.min_row, merged.min_col)] = width
    return found


class _Looks:
    """Each cell's font size, boldness and wrapping, read by style id once per workbook:
    openpyxl's `cell.font` and `cell.alignment` build a proxy each time, which was most of the
    time spent fitting."""

    def __init__(self, ws: Worksheet):
        self.wb = ws.parent
        self.fonts: dict[int, tuple[float, bool]] = {}
        self.wraps: dict[int, bool] = {}

    def font(self, cell: Cell) -> tuple[float, bool]:
        font_id = cell._style.fontId if cell._style else 0
        if font_id not in self.fonts:
            font = self.wb._fonts[font_id]
            self.fonts[font_id] = (float(font.sz or 11), bool(font.b))
        return self.fonts[font_id]

    def wraps_text(self, cell: Cell) -> bool:
        alignment_id = cell._style.alignmentId if cell._style else 0
        if alignment_id not in self.wraps:
            self.wraps[alignment_id] = bool(self.wb._alignments[alignment_id].wrap_text)
        return self.wraps[alignment_id]


def fit_rows(ws: Worksheet) -> None:
    """Raise each row to hold its tallest cell: wrapped text by its lines, large text by its
    size. Heights set before are kept when they are enough."""
    looks = _Looks(ws)
    merged = _merged_widths(ws)
    widths: dict[int, float] = {}
    needed: dict[int, float] = {}
    for (row, column), cell in ws._cells.items():
        value = cell._value
        if not isinstance(value, str) or not value:
            continue
        size, bold = looks.font(cell)
        lines = 1
        if looks.wraps_text(cell):
            width = merged.get((row, column)) or widths.get(column)
            if width is None:
                width = widths[column] = column_width(ws, column)
            lines = line_count(value, width, size, bold)
        # A little room under the last line, so descenders are not cut at the cell's edge.
        height = lines * line_points(size) + (2 if lines > 1 or size > 11 else 0)
        if height > needed.get(row, DEFAULT_POINTS):
            needed[row] = height
    for row, height in needed.items():
        current = ws.row_dimensions[row].height if row in ws.row_dimensions else None
        if current is None or current < height:
            ws.row_dimensions[row].height = math.ceil(height)


def widen_for_text(ws: Worksheet) -> None:
    """Widen a column whose unwrapped text would be hidden by a filled cell to its right.

    Text spills into empty cells, so only text with a neighbour (or in the last column, which
    printing cuts at the page edge) needs the room. Up to WIDEST: text wider than that is
    wrapped instead, and fit_rows then gives its row the lines it needs."""
    looks = _Looks(ws)
    last_column = ws.max_column
    merged_cells = {
        (r, c)
        for merged in ws.merged_cells.ranges
        for r in range(merged.min_row, merged.max_row + 1)
        for c in range(merged.min_col, merged.max_col + 1)
    }
    needed: dict[int, float] = {}
    for (row, column), cell in ws._cells.items():
        value = cell._value
        if not isinstance(value, str) or (row, column) in merged_cells or looks.wraps_text(cell):
            continue
        neighbour = ws._cells.get((row, column + 1))
        if column < last_column and (neighbour is None or neighbour._value in (None, "")):
            continue
        size, bold = looks.font(cell)
        width = text_width(value, size, bold) + PADDING
        if width > WIDEST:
            set_style(cell, alignment=styles.WRAP)
            width = WIDEST
        needed[column] = max(needed.get(column, 0.0), width)
    _widen(ws, needed)


def _widen(ws: Worksheet, needed: dict[int, float]) -> None:
    for column, width in needed.items():
        if column_width(ws, column) < width:
            ws.column_dimensions[get_column_letter(column)].width = min(WIDEST, math.ceil(width))


def fit_long_table(ws: Worksheet) -> None:
    """The same for a long table's rows (held as XML until saving, so not cells): widen its
    unwrapped text columns to their longest text, and give each row the height its wrapped
    columns need."""
    if not isinstance(ws, TableSheet) or ws.table_rows is None:
        return
    table = ws.table_rows
    frame = table.frame
    # The only alignment a long table's values carry is the wrapped one (table_xml).
    wrapped_columns = {
        j for j, plan in enumerate(table.plans, start=1) if plan.value_style.alignmentId
    }
    needed: dict[int, float] = {}
    heights: dict[int, float] = {}
    schema = frame.schema  # made afresh on every call
    texts = [
        (j, name)
        for j, name in enumerate(frame.columns, start=1)
        if schema[name].to_python() is str
    ]
    # Each distinct text of an unwrapped column measured once (a long table repeats its names
    # and years), all of them found in one query, or in Python for a small table (a polars
    # query costs more than the few hundred values it would find).
    unwrapped = [name for j, name in texts if j not in wrapped_columns]
    distinct: dict[str, Collection[str | None]] = {}
    if unwrapped and small_table.is_small(frame):
        distinct = {n: set(frame.get_column(n).to_list()) for n in unwrapped}
    elif unwrapped:
        distinct = frame.select(pl.col(n).unique().implode() for n in unwrapped).row(0, named=True)
    for j, name in texts:
        if j not in wrapped_columns:
            values = distinct[name]
            needed[j] = max((text_width(v) for v in values if v), default=0.0) + PADDING
            continue
        column = frame.get_column(name)
        width = column_width(ws, j)
        lines: dict[str, int] = {}
        for i, value in enumerate(column.to_list()):
            if value:
                if value not in lines:
                    lines[value] = line_count(value, width)
                points = lines[value] * line_points()
                row = table.first_row + i
                if points > heights.get(row, DEFAULT_POINTS):
                    heights[row] = points
    _widen(ws, needed)
    table.heights.update({row: math.ceil(h) for row, h in heights.items()})


def fit_sheet(ws: Worksheet) -> None:
    """Widths first (they decide where text wraps), then the heights the text needs."""
    widen_for_text(ws)
    fit_long_table(ws)
    fit_rows(ws)


def wrap_across(ws: Worksheet, row: int, first_column: int, last_column: int) -> None:
    """Wrap a cell's text across its row's columns first..last (merged), so fit_rows gives the
    row the lines the text needs at that width. A cell wrapped already keeps its alignment."""
    cell = ws.cell(row=row, column=first_column)
    if not _Looks(ws).wraps_text(cell):
        set_style(cell, alignment=styles.WRAP)
    if last_column > first_column:
        merge_across(ws, row, last_column, first_column)


TOP = Alignment(vertical="top")


def top_align_long_table(ws: Worksheet) -> None:
    """A long table whose rows fit_long_table made taller: every cell to the top of its row, so
    a row reads across from the top line of its wrapped text (call after fit_long_table, which
    tells wrapped columns by their alignment)."""
    if not isinstance(ws, TableSheet) or ws.table_rows is None or not ws.table_rows.heights:
        return
    top = ws.parent._alignments.add(TOP)
    for plan in ws.table_rows.plans:
        if not plan.value_style.alignmentId:
            plan.value_style.alignmentId = top
