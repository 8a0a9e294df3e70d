"""One worksheet's XML: openpyxl decides what goes in the frame of the sheet, the rows and the
frame's text are written here.

openpyxl builds an ElementTree element for every cell and serialises it through et_xmlfile,
about 40 µs a cell on this machine; the Summary and Methodology sheets alone have hundreds of
cells. Here a plain cell (text, number, formula, blank with a style) is one formatted string
with the bytes openpyxl's `etree_write_cell` writes for it; any other cell (a date, rich text,
an array formula, a hyperlink) is still built by openpyxl and serialised by ElementTree. A
sheet's long table (table_xml.TableRows) goes in among the rows where its row numbers put it.
The frame's elements (widths, views, merged cells, print set-up) are openpyxl's, written as
text by element_xml rather than through et_xmlfile.
tests/test_excel_table_xml.py compares whole files written this way and by openpyxl alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from io import BytesIO
from typing import Any
from xml.etree.ElementTree import Element, tostring

from openpyxl.cell._writer import etree_write_cell
from openpyxl.cell.cell import Cell
from openpyxl.comments.comment_sheet import CommentRecord
from openpyxl.compat.strings import safe_string
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.constants import SHEET_MAIN_NS

from commissioning.excel.cell_text import escape
from commissioning.excel.element_xml import element_xml, escape_attribute
from commissioning.excel.table_xml import TableRows

_PLAIN_VALUES = (str, int, float, Decimal)
_TYPE = {"s": ' t="inlineStr"', "f": "", "n": ' t="n"', "b": ' t="b"', "e": ' t="e"'}


class _Collect:
    """Stands in for et_xmlfile's writer to catch the element openpyxl makes for a cell."""

    element: Element

    def write(self, element: Element) -> None:
        self.element = element


def cell_xml(cell: Cell) -> str:
    """The cell as openpyxl writes it (`etree_write_cell`), e.g. <c r="B3" s="4" t="n">..."""
    value, data_type = cell._value, cell.data_type
    plain = value is None or isinstance(value, _PLAIN_VALUES)
    if cell.hyperlink or data_type not in _TYPE or not plain:
        caught = _Collect()
        etree_write_cell(caught, cell.parent, cell, cell.has_style)
        return tostring(caught.element, encoding="unicode")
    style = f' s="{cell.style_id}"' if cell.has_style else ""
    start = f'<c r="{cell.coordinate}"{style}{_TYPE[data_type]}'
    if value is None or value == "":
        return f"{start} />"
    if data_type == "f":
        return f"{start}><f>{escape(str(value)[1:])}</f><v /></c>"
    if data_type == "s":
        text = str(value)
        stripped = text.strip()
        space = ' xml:space="preserve"' if stripped and text != stripped else ""
        return f"{start}><is><t{space}>{escape(text)}</t></is></c>"
    number = safe_string(value)
    return f"{start}><v>{escape(number)}</v></c>" if number else f"{start}><v /></c>"


class SheetXmlWriter(WorksheetWriter):
    """openpyxl's sheet writer, in memory, with the rows made by `cell_xml` and `TableRows`."""

    def __init__(self, ws: Worksheet, table: TableRows | None):
        self.parts: list[bytes] = []  # the sheet's XML, piece by piece, in order
        super().__init__(ws, out=BytesIO())  # never written: see get_stream
        self.table = table

    def get_stream(self) -> Iterator[None]:
        # Takes the place of openpyxl's et_xmlfile writer: each element sent is kept as text.
        try:
            while True:
                element = yield
                if element is not None:
                    self.parts.append(element_xml(element))
        except GeneratorExit:
            pass

    def write_dimensions(self) -> None:
        if self.table is None:
            return super().write_dimensions()
        rows, columns = {r for r, _ in self.ws._cells}, {c for _, c in self.ws._cells}
        rows |= {self.table.first_row, self.table.last_row}
        columns |= {1, self.table.last_column}
        first, last = get_column_letter(min(columns)), get_column_letter(max(columns))
        self.xf.send(SheetDimension(f"{first}{min(rows)}:{last}{max(rows)}").to_tree())
        return None

    def write_merged_cells(self) -> None:
        # openpyxl makes a range object of each merged range again, to write its reference.
        refs = [str(merged) for merged in self.ws.merged_cells]
        if refs:
            cells = "".join(f'<mergeCell ref="{ref}" />' for ref in refs)
            self.parts.append(f'<mergeCells count="{len(refs)}">{cells}</mergeCells>'.encode())

    def rows(self) -> list[tuple[int, list[Any]]]:
        found = super().rows()
        if self.table is None:
            return found
        top, bottom = self.table.first_row, self.table.last_row
        for r, cells in found:
            # An empty cell openpyxl made in passing (a chart's anchor) writes nothing.
            if top <= r <= bottom and (
                r in self.ws.row_dimensions
                or any(c._value is not None or c.has_style or c._comment for c in cells)
            ):
                raise ValueError(f"{self.ws.title!r} row {r}: cells inside the table's rows")
        return [(r, cells) for r, cells in found if not top <= r <= bottom]

    def write_rows(self) -> None:
        # Styles are numbered in the order cells are written, so rows are made in sheet order.
        table = self.table
        self.parts.append(b"<sheetData>")
        for row_idx, cells in self.rows():
            if table is not None and row_idx > table.last_row:
                self.parts.append(table.xml(self.ws.parent))
                table = None
            self.parts.append(self._row(row_idx, cells).encode())
        if table is not None:
            self.parts.append(table.xml(self.ws.parent))
        self.parts.append(b"</sheetData>")

    def _row(self, row_idx: int, cells: list[Cell]) -> str:
        # A row's own attributes (a height) after its number, as openpyxl writes them.
        dimensions = "".join(
            f' {key}="{escape_attribute(value)}"'
            for key, value in self.ws.row_dimensions.get(row_idx, {})
        )
        parts = [f'<row r="{row_idx}"{dimensions}>']
        for cell in cells:
            if cell._comment is not None:
                self.ws._comments.append(CommentRecord.from_cell(cell))
            if cell._value is None and not cell.has_style and not cell._comment:
                continue
            parts.append(cell_xml(cell))
        parts.append("</row>")
        return "".join(parts)

    def sheet_xml(self) -> bytes:
        """The sheet's XML, as openpyxl's writer makes it."""
        self.close()
        return b"".join(
            [f'<worksheet xmlns="{SHEET_MAIN_NS}">'.encode(), *self.parts, b"</worksheet>"]
        )
