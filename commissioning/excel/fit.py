"""Row heights and column widths worked out from a sheet's text, so wrapped text never runs
into the next row, headings are never cut off and text is never hidden by its neighbour.

Neither Excel nor LibreOffice grows a row to fit wrapped text when it opens a file, nor a
merged cell ever, so the heights are set here by estimating lines. Widths are in Excel's unit,
the width of a digit in the default font. Prose takes about one unit a character: measured
here (LibreOffice 7.4 to PDF, DejaVu Sans standing in for Calibri, which is wider), a column 50
wide wrapped prose at 53-57 characters a line, nine merged columns 165 wide at about 196.
Calibri is narrower still, so the estimate errs towards a row too tall, never too short. Bold
text takes about a tenth more. The estimate
wraps word by word, so a long word is not split where the reader would not expect it.
"""

from __future__ import annotations

import math

from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.files import TableSheet
from commissioning.excel.layout import set_style

CHARACTER = 0.95  # width units a character of prose takes (11 pt, regular)
BOLD = 1.1
DEFAULT_WIDTH = 8.43  # Excel's width of a column the file does not size
DEFAULT_POINTS = 15.0  # Excel's row height for 11 pt text
PADDING = 1.5  # width units a cell keeps clear at its edges
WIDEST = 60.0  # above this a column wraps its text instead of growing


def text_width(text: str, size: float = 11, bold: bool = False) -> float:
    """The width units one line of `text` takes."""
    return len(text) * (BOLD if bold else CHARACTER) * size / 11


def line_count(text: str, width: float, size: float = 11, bold: bool = False) -> int:
    """Lines `text` wraps to in a cell `width` units wide (line breaks in the text count)."""
    room = max(1.0, width - PADDING)
    per_character = text_width("x", size, bold)
    lines = 0
    for paragraph in str(text).split("\n"):
        lines += 1
        used = 0.0
        for word in paragraph.split(" "):
            need = len(word) * per_character
            if used and used + per_character + need <= room:
                used += per_character + need
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
    needed: dict[int, float] = {}
    for (row, column), cell in ws._cells.items():
        value = cell._value
        if not isinstance(value, str) or not value:
            continue
        size, bold = looks.font(cell)
        lines = 1
        if looks.wraps_text(cell):
            width = merged.get((row, column), column_width(ws, column))
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
    for j, name in enumerate(frame.columns, start=1):
        if frame.schema[name].to_python() is not str:
            continue
        values = frame.get_column(name).to_list()
        if j not in wrapped_columns:
            longest = max((len(v) for v in values if v), default=0)
            needed[j] = text_width("x" * longest) + PADDING
            continue
        width = column_width(ws, j)
        for i, value in enumerate(values):
            if value:
                points = line_count(value, width) * line_points()
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
