"""Writing values into sheets: the only path by which anything reaches a cell.

Every string goes through `safe_text`, so the only formulas in a workbook are the ones this
package builds on purpose as `Formula` objects. Money arrives as integer pence and is written as
an exact Decimal number of pounds, never as a float computed on the way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import overload
from weakref import WeakKeyDictionary

import polars as pl
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.formatting.rule import CellIsRule, DataBarRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import absolute_coordinate, get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.merge import MergedCellRange
from openpyxl.worksheet.table import TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.element_xml import FastTable
from commissioning.excel.files import TableSheet
from commissioning.excel.safe_text import safe_text, workbook_name
from commissioning.excel.table_xml import table_rows


@dataclass(frozen=True)
class Formula:
    """A formula this package wrote deliberately (user text can never become one)."""

    text: str

    def __post_init__(self) -> None:
        if not self.text.startswith("="):
            raise ValueError(f"a formula starts with '=': {self.text!r}")


Value = str | int | float | Decimal | bool | Formula | None


@overload
def pounds(pence: int) -> Decimal: ...
@overload
def pounds(pence: None) -> None: ...
def pounds(pence: int | None) -> Decimal | None:
    """Integer pence as an exact number of pounds (12345 -> Decimal('123.45'))."""
    return None if pence is None else Decimal(int(pence)) / 100


@dataclass(frozen=True)
class Column:
    """How one column of a table looks: its heading, number format and width."""

    header: str
    number_format: str | None = None
    width: float | None = None  # None: fit to the widest value
    wrap: bool = False
    pence: bool = False  # a long table's frame holds whole pence, shown as exact pounds


def _shown_width(value: Value, number_format: str | None) -> float:
    if value is None or isinstance(value, Formula):
        return 10
    if isinstance(value, bool):
        return 5
    if isinstance(value, int | float | Decimal):
        if number_format in (styles.PERCENT, styles.SHARE, styles.PERCENT_POINTS):
            return 9
        # Digits, thousands separators, pence and the £ sign.
        return len(f"{abs(float(value)):,.2f}") + 3
    return max((len(line) for line in str(value).splitlines()), default=0) * 1.1


# Per workbook: each font, fill and alignment object given to a cell, by identity, with its index.
_KNOWN_STYLES: WeakKeyDictionary[Workbook, dict[int, tuple[object, int]]] = WeakKeyDictionary()


def _style_index(wb: Workbook, collection: str, style: object) -> int:
    known = _KNOWN_STYLES.setdefault(wb, {})
    found = known.get(id(style))
    if found is None:
        found = known[id(style)] = (style, getattr(wb, collection).add(style))
    return found[1]


def set_style(
    cell: Cell,
    *,
    font: Font | None = None,
    fill: PatternFill | None = None,
    alignment: Alignment | None = None,
) -> None:
    """`cell.font = font` and so on, registering each style object once per workbook.

    openpyxl hashes every attribute of a style each time a cell is given one, which was most
    of the time spent styling the Summary and Methodology sheets. The style objects here are
    the module constants of `styles`, which nothing changes.
    """
    if font is None and fill is None and alignment is None:
        return
    if not cell._style:
        cell._style = StyleArray()
    wb = cell.parent.parent
    if font is not None:
        cell._style.fontId = _style_index(wb, "_fonts", font)
    if fill is not None:
        cell._style.fillId = _style_index(wb, "_fills", fill)
    if alignment is not None:
        cell._style.alignmentId = _style_index(wb, "_alignments", alignment)


def put(
    ws: Worksheet, row: int, column: int, value: Value, number_format: str | None = None
) -> Cell:
    """Write one value: text neutralised, formulas only from `Formula`, NaN left blank."""
    if isinstance(value, Formula):
        stored: object = value.text
    elif isinstance(value, bool):
        stored = "Yes" if value else "No"
    elif isinstance(value, str):
        stored = safe_text(value)
    elif isinstance(value, float) and not math.isfinite(value):
        stored = None
    else:
        stored = value
    cell = ws.cell(row=row, column=column, value=stored)
    if number_format is not None and stored is not None and not isinstance(value, str | bool):
        cell.number_format = number_format
    return cell


@dataclass
class TablePlacement:
    """Where a table landed, so callers can name ranges and add formatting by heading."""

    ws: Worksheet
    header_row: int
    first_row: int
    last_row: int
    columns: dict[str, int]

    def letter(self, header: str) -> str:
        return get_column_letter(self.columns[header])

    def column_range(self, header: str) -> str:
        letter = self.letter(header)
        return f"{letter}{self.first_row}:{letter}{self.last_row}"

    @property
    def has_rows(self) -> bool:
        return self.last_row >= self.first_row


@dataclass
class SheetWriter:
    """Writes a sheet top to bottom and keeps track of how wide each column needs to be."""

    ws: Worksheet
    row: int = 1
    widths: dict[int, float] = field(default_factory=dict)
    fixed_widths: dict[int, float] = field(default_factory=dict)

    def _grow(self, column: int, width: float) -> None:
        if width > self.widths.get(column, 0):
            self.widths[column] = width

    def cell(
        self,
        row: int,
        column: int,
        value: Value,
        number_format: str | None = None,
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
        fit: bool = True,
    ) -> Cell:
        cell = put(self.ws, row, column, value, number_format)
        set_style(cell, font=font, fill=fill)
        if fit:
            self._grow(column, _shown_width(value, number_format))
        return cell

    def title(self, text: str, note: str | None = None) -> None:
        # Titles run across the sheet, so they must not widen the first column.
        self.cell(self.row, 1, text, font=styles.TITLE_FONT, fit=False)
        self.row += 1
        if note:
            self.note(note)

    def note(self, text: str) -> None:
        self.cell(self.row, 1, text, font=styles.NOTE_FONT, fit=False)
        self.row += 1

    def subtitle(self, text: str) -> None:
        self.cell(self.row, 1, text, font=styles.SUBTITLE_FONT, fit=False)
        self.row += 1

    def skip(self, rows: int = 1) -> None:
        self.row += rows

    def key_values(self, pairs: Iterable[tuple[str, Value, str | None]]) -> dict[str, str]:
        """Label in column A, value in column B; returns each label's value cell (e.g. 'B4')."""
        where = {}
        for label, value, number_format in pairs:
            self.cell(self.row, 1, label, font=styles.LABEL_FONT)
            cell = self.cell(self.row, 2, value, number_format, fit=False)
            set_style(cell, alignment=styles.KEY_VALUE_ALIGN)
            where[label] = cell.coordinate
            self.row += 1
        return where

    def header(
        self, columns: Sequence[Column], row: int | None = None, unique: bool = False
    ) -> int:
        """Write the headings; `unique` makes them distinct and non-blank, as Excel Tables need."""
        row = self.row if row is None else row
        seen: set[str] = set()
        for j, col in enumerate(columns, start=1):
            text = safe_text(col.header)
            if unique:
                # Excel repairs (and damages) a table whose headings repeat, ignoring case.
                base, n = text or f"Column {j}", 1
                text = base
                while text.lower() in seen:
                    n += 1
                    text = f"{base} ({n})"
                seen.add(text.lower())
            cell = self.cell(
                row, j, text, font=styles.HEADER_FONT, fill=styles.HEADER_FILL, fit=False
            )
            set_style(cell, alignment=styles.HEADER_ALIGN)
            longest_word = max((len(w) for w in col.header.split()), default=0)
            self._grow(j, max(longest_word + 2, min(len(col.header), 16) + 2))
            if col.width is not None:
                self.fixed_widths[j] = col.width
        return row

    def table(
        self,
        columns: Sequence[Column],
        rows: Iterable[Sequence[Value]],
        table_name: str | None = None,
        *,
        total_row: Sequence[Value] | None = None,
    ) -> TablePlacement:
        """A heading row, the data rows and, when named, an Excel Table with filter arrows.

        A table is only made when there is at least one data row: Excel treats a table with
        headings alone as a damaged file.
        """
        header_row = self.header(columns, unique=table_name is not None)
        r = header_row
        wraps = {j for j, col in enumerate(columns, start=1) if col.wrap}
        for values in rows:
            r += 1
            for j, (col, value) in enumerate(zip(columns, values, strict=True), start=1):
                cell = self.cell(r, j, value, col.number_format, fit=j not in wraps)
                if j in wraps:
                    set_style(cell, alignment=styles.WRAP)
        placement = TablePlacement(
            self.ws, header_row, header_row + 1, r, {c.header: j for j, c in enumerate(columns, 1)}
        )
        if table_name and placement.has_rows:
            self._add_table(table_name, header_row, len(columns), r)
        self.row = r + 1
        if total_row is not None:
            # Below the table, never inside it, so sorting and filtering leave it alone.
            for j, (col, value) in enumerate(zip(columns, total_row, strict=True), start=1):
                self.cell(
                    self.row,
                    j,
                    value,
                    col.number_format,
                    font=styles.TOTAL_FONT,
                    fill=styles.TOTAL_FILL,
                )
            self.row += 1
        return placement

    def long_table(
        self, columns: Sequence[Column], frame: pl.DataFrame, table_name: str | None = None
    ) -> TablePlacement:
        """`table` for many rows: one frame column per sheet column, written as XML.

        The cells are the ones `table` would write for the same values (table_xml), but the
        rows must be the last of the sheet's cells, and a sheet holds one such table.
        """
        if not isinstance(self.ws, TableSheet):
            raise TypeError("a long table needs a sheet made by files.add_sheet")
        if self.ws.table_rows is not None:
            raise ValueError(f"{self.ws.title!r} already has a long table")
        header_row = self.header(columns, unique=table_name is not None)
        last_row = header_row + frame.height
        if frame.height:
            rows, widths = table_rows(self.ws, list(columns), frame, header_row + 1)
            self.ws.table_rows = rows
            for j, width in widths.items():
                self._grow(j, width)
        placement = TablePlacement(
            self.ws,
            header_row,
            header_row + 1,
            last_row,
            {c.header: j for j, c in enumerate(columns, 1)},
        )
        if table_name and placement.has_rows:
            self._add_table(table_name, header_row, len(columns), last_row)
        self.row = last_row + 1
        return placement

    def _add_table(self, name: str, header_row: int, width: int, last_row: int) -> None:
        table = FastTable(
            displayName=name, ref=f"A{header_row}:{get_column_letter(width)}{last_row}"
        )
        table.tableStyleInfo = TableStyleInfo(name=styles.TABLE_STYLE, showRowStripes=True)
        # Named from the headings now: openpyxl would read the whole range back as cells.
        table._initialise_columns()
        for j, column in enumerate(table.tableColumns, start=1):
            column.name = str(self.ws.cell(row=header_row, column=j).value)
        self.ws.add_table(table)

    def finish(self, freeze: str | None = None, title_rows: str | None = None) -> None:
        if freeze:
            self.ws.freeze_panes = freeze
        widths = {**self.widths, **self.fixed_widths}
        styles.set_column_widths(self.ws, {get_column_letter(j): w for j, w in widths.items()})
        styles.print_setup(self.ws, title_rows)


def merge_across(ws: Worksheet, row: int, last_column: int, first_column: int = 1) -> None:
    """Merge a row's cells from `first_column` (A) to the last column: `ws.merge_cells` without
    its border and protection copying, which was most of the Methodology sheet's time and
    changes nothing here (the first cell has no border, and the default protection is what
    every cell has).

    A range inside one merged already is left out, as `ws.merged_cells.add` leaves it out, but
    found by comparing bounds: `add` makes a range object for every comparison, so a sheet's
    merges cost time in the square of their number (2,500 range comparisons a London workbook)."""
    first = get_column_letter(first_column)
    merged = MergedCellRange(ws, f"{first}{row}:{get_column_letter(last_column)}{row}")
    ranges = ws.merged_cells.ranges
    if not any(
        r.min_row <= row <= r.max_row and r.min_col <= first_column and last_column <= r.max_col
        for r in ranges
    ):
        ranges.add(merged)
    for column in range(first_column + 1, last_column + 1):
        ws._cells[row, column] = MergedCell(ws, row=row, column=column)


def name_range(ws: Worksheet, name: str, ref: str) -> str:
    """Give a cell or range a workbook-wide name (e.g. Total_Allocated) and return the name."""
    name = workbook_name(name)
    target = f"{quote_sheetname(ws.title)}!{absolute_coordinate(ref)}"
    ws.parent.defined_names[name] = DefinedName(name, attr_text=target)
    return name


def highlight_below_benchmark(ws: Worksheet, ref: str, data_bars: bool = True) -> None:
    """Coverage under 100% of benchmark in red, with bars that are full at the benchmark."""
    ws.conditional_formatting.add(
        ref,
        CellIsRule(
            operator="lessThan",
            formula=["1"],
            fill=styles.BELOW_BENCHMARK_FILL,
            font=styles.BELOW_BENCHMARK_FONT,
        ),
    )
    if data_bars:
        ws.conditional_formatting.add(
            ref,
            DataBarRule(
                start_type="num",
                start_value=0,
                end_type="num",
                end_value=1,
                color=styles.DATA_BAR_COLOUR,
            ),
        )
