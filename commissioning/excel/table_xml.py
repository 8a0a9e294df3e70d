"""The data rows of a long table, written as worksheet XML column by column from a polars frame.

Why not openpyxl cells: openpyxl makes a Python `Cell` per value, styles it, and serialises it
through ElementTree. Measured on this machine (2026-11-29) at 320 synthetic areas, 232,000
cells: about 50 µs a cell, 11.9 s CPU for the London workbook, nearly all of it in the long
tables. Here a table costs two polars queries (one to study its columns, one to write them)
and Python work only per distinct value: about 0.3 µs a cell to make the XML (and as much
again to deflate it). `sheet_xml` puts the rows into the sheet XML that openpyxl writes for
the rest of the sheet (title, totals, headings, widths, filters, conditional formatting).

The rows are the bytes openpyxl itself writes for the same values through
`layout.SheetWriter.table`: text made safe by `safe_text`, NaN and infinities blank, money as
exact pounds, number formats only on numbers, wrapped columns aligned, and every number format,
alignment and cell style registered with the workbook in the order openpyxl registers them, so
style ids and styles.xml are unchanged too (tests/test_excel_table_xml.py compares the two).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.numbers import BUILTIN_FORMATS_MAX_SIZE, BUILTIN_FORMATS_REVERSE
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import small_table, styles
from commissioning.excel.cell_text import (
    NO,
    NUMBER_END,
    NUMBER_START,
    TEXT_END,
    TEXT_START,
    YES,
    Kind,
    number_text,
    odd_text,
)
from commissioning.excel.safe_text import MAX_CELL_TEXT

if TYPE_CHECKING:
    from commissioning.excel.layout import Column

_EXACT_INTEGER = 2**53  # "%.16g" of an integer up to this is its digits (beyond, a float's)
# Widths layout._shown_width gives a blank, a yes/no, a percentage and a NaN.
_PERCENT_FORMATS = (styles.PERCENT, styles.SHARE, styles.PERCENT_POINTS)
_BLANK_WIDTH, _YES_NO_WIDTH, _PERCENT_WIDTH, _NAN_WIDTH = 10.0, 5.0, 9.0, 6.0

# Text that needs none of safe_text's changes, no xml:space, and is one line: the first and last
# characters are not white space, none is a control character or a line break, and the first
# starts no formula (nor an error code such as #N/A). Other text goes through safe_text.
_BREAK_OR_CONTROL = r"\x00-\x1f\x{85}\x{2028}\x{2029}"
_PLAIN_TEXT = (
    rf"^[^\s{_BREAK_OR_CONTROL}=+\-@＝＋－＠#](?:[^{_BREAK_OR_CONTROL}]*[^\s{_BREAK_OR_CONTROL}])?$"
)


def _kind(column: Column, dtype: pl.DataType) -> Kind:
    if column.pence:
        if not dtype.is_integer():
            raise TypeError(f"{column.header!r}: pence must be whole numbers, not {dtype}")
        return "pence"
    if dtype == pl.Boolean:
        return "yes_no"
    if dtype.is_numeric():
        return "number"
    if dtype == pl.String:
        return "text"
    if dtype == pl.Null:
        return "blank"
    raise TypeError(f"{column.header!r}: no cells for values of type {dtype}")


Piece = str | pl.Expr  # a piece of a row's XML: the same text on every row, or per row


@dataclass
class _ColumnPlan:
    """How one frame column becomes cells: its kind, the text of its values, its two styles."""

    name: str
    letter: str
    kind: Kind
    floating: bool
    has_blank: bool = True
    needs_escape: bool = True
    # Values whose text polars cannot make itself, and their cell XML after the style.
    special: list[Any] = field(default_factory=list)
    special_xml: list[str] = field(default_factory=list)
    value_style: StyleArray = field(default_factory=StyleArray)
    blank_style: StyleArray = field(default_factory=StyleArray)

    def blank(self) -> pl.Expr:
        values = pl.col(self.name)
        return (values.is_null() | ~values.is_finite()) if self.floating else values.is_null()

    def value(self) -> list[Piece]:
        """A cell's XML after its style attribute, where the cell is not blank."""
        values = pl.col(self.name)
        if self.kind == "blank":
            return []
        if self.kind == "yes_no":
            return [pl.when(values).then(pl.lit(YES)).otherwise(pl.lit(NO))]
        if self.kind == "text":
            escaped = values
            if self.needs_escape:
                escaped = (
                    values.str.replace_all("&", "&amp;", literal=True)
                    .str.replace_all("<", "&lt;", literal=True)
                    .str.replace_all(">", "&gt;", literal=True)
                )
            if not self.special:
                return [TEXT_START, escaped, TEXT_END]
            odd = values.replace_strict(self.special, self.special_xml, default=None)
            plain = _concat([TEXT_START, escaped, TEXT_END])
            return [pl.when(values.is_in(self.special)).then(odd).otherwise(plain)]
        if self.kind == "number" and not self.floating and not self.special:
            text = values.cast(pl.String)  # whole numbers up to 2**53: their digits
        else:
            text = values.replace_strict(
                self.special, self.special_xml, default=None, return_dtype=pl.String
            )
        if self.floating:
            # polars takes -0.0 and 0.0 for one value, and openpyxl writes "-0" and "0".
            zero = pl.when(1 / values < 0).then(pl.lit("-0")).otherwise(pl.lit("0"))
            text = pl.when(values == 0).then(zero).otherwise(text)
        return [NUMBER_START, text, NUMBER_END]


def _concat(pieces: list[Piece]) -> pl.Expr:
    """One string expression from pieces, with neighbouring fixed texts joined first."""
    merged: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in merged])


@dataclass(frozen=True)
class TableRows:
    """Rows first_row..last_row of a sheet, made into XML when the workbook is saved."""

    first_row: int
    frame: pl.DataFrame
    plans: list[_ColumnPlan]
    style_order: list[StyleArray]  # each style as the rows first use it, row by row
    # Row number -> height in points, for rows whose wrapped text needs more than one line
    # (commissioning.excel.fit); rows not listed keep the sheet's default height.
    heights: dict[int, float] = field(default_factory=dict)

    @property
    def last_row(self) -> int:
        return self.first_row + self.frame.height - 1

    @property
    def last_column(self) -> int:
        return len(self.plans)

    def xml(self, wb: Workbook) -> bytes:
        """The `<row>` elements. Registers the cell styles, so call it where openpyxl would
        write these rows: after the rows above them, before the rows below."""
        for style in self.style_order:
            wb._cell_styles.add(style)
        style_ids = [_style_ids(wb, plan) for plan in self.plans]
        if small_table.is_small(self.frame):
            return small_table.rows_xml(self, style_ids)
        row = pl.int_range(self.first_row, self.last_row + 1).cast(pl.String)
        pieces: list[Piece] = ['<row r="', row, '">']
        if self.heights:
            # As openpyxl writes a row given a height: ht, then customHeight.
            sized = [
                f' ht="{self.heights[r]:.16g}" customHeight="1"' if r in self.heights else ""
                for r in range(self.first_row, self.last_row + 1)
            ]
            pieces = ['<row r="', row, '"', pl.lit(pl.Series(sized, dtype=pl.String)), ">"]
        for plan, ids in zip(self.plans, style_ids, strict=True):
            pieces += _cell(plan, row, *ids)
        text = self.frame.select(_concat([*pieces, "</row>"]).str.join("").cast(pl.Binary)).item()
        return bytes(text)


def _style_ids(wb: Workbook, plan: _ColumnPlan) -> tuple[str, int | None]:
    """A column's value style attribute and its blank cells' style id (None: a blank cell
    writes nothing), registered column by column as openpyxl would."""
    style = ""
    if any(plan.value_style):
        style = f' s="{wb._cell_styles.add(plan.value_style)}"'
    blank_id = None
    if plan.has_blank and any(plan.blank_style):
        # A blank cell keeps its style (a wrapped column), as openpyxl writes it.
        blank_id = wb._cell_styles.add(plan.blank_style)
    return style, blank_id


def _cell(plan: _ColumnPlan, row: pl.Expr, style: str, blank_id: int | None) -> list[Piece]:
    cell: list[Piece] = [f'<c r="{plan.letter}', row, f'"{style}', *plan.value()]
    if not plan.has_blank:
        return cell
    if blank_id is not None:
        blank = _concat([f'<c r="{plan.letter}', row, f'" s="{blank_id}" t="n" />'])
    else:
        blank = pl.lit("")
    if plan.kind == "blank":
        return [blank]
    return [pl.when(plan.blank()).then(blank).otherwise(_concat(cell))]


def _study(plan: _ColumnPlan) -> list[pl.Expr]:
    """What table_rows needs to know of a column, as expressions over the frame."""
    j, values, blank = plan.name, pl.col(plan.name), plan.blank()
    found = [
        (~blank).any().alias(f"{j} has value"),
        (~blank).arg_max().alias(f"{j} first value"),
        blank.any().alias(f"{j} has blank"),
        blank.arg_max().alias(f"{j} first blank"),
        values.is_null().any().alias(f"{j} has null"),
    ]
    if plan.kind == "text":
        # Each distinct text once: a long table repeats its names, years and reasons.
        distinct = values.drop_nulls().unique(maintain_order=True)
        plain = distinct.str.contains(_PLAIN_TEXT) & (distinct.str.len_chars() <= MAX_CELL_TEXT)
        found += [
            distinct.str.contains("[&<>]").any().alias(f"{j} needs escape"),
            distinct.filter(plain).str.len_chars().max().alias(f"{j} longest"),
            distinct.filter(~plain).implode().alias(f"{j} special"),
        ]
    elif plan.kind in ("number", "pence"):
        finite = values.is_finite() if plan.floating else values.is_not_null()
        found += [
            # Not abs().max(): the absolute value of the lowest Int64 does not fit in one.
            values.filter(finite).max().alias(f"{j} highest"),
            values.filter(finite).min().alias(f"{j} lowest"),
            (values.is_not_null() & ~finite).any().alias(f"{j} has nan"),
        ]
        if plan.kind == "pence" or plan.floating:
            # Each distinct value is formatted once, in Python: most amounts repeat.
            distinct = values.filter(finite & (values != 0)) if plan.floating else values
            found.append(distinct.drop_nulls().unique().implode().alias(f"{j} special"))
    return found


def table_rows(
    ws: Worksheet, columns: list[Column], frame: pl.DataFrame, first_row: int
) -> tuple[TableRows, dict[int, float]]:
    """The rows of `frame` (one frame column per `columns` entry) from `first_row` down, and the
    width each fitted column needs. Registers number formats and alignments now, as openpyxl
    does when a cell is given them, in the order its cells would be."""
    if frame.width != len(columns):
        raise ValueError(f"{frame.width} frame columns for {len(columns)} sheet columns")
    # Renamed in place on a copy: `rename` is a query of its own (a tenth of a small table).
    frame = frame.clone()
    frame.columns = [str(j) for j in range(frame.width)]
    plans = [
        _ColumnPlan(str(j), get_column_letter(j + 1), _kind(column, dtype), dtype.is_float())
        for j, (column, dtype) in enumerate(zip(columns, frame.dtypes, strict=True))
    ]
    if small_table.is_small(frame):
        facts = small_table.study(plans, frame)
    else:
        facts = frame.select([e for plan in plans for e in _study(plan)]).row(0, named=True)
    widths: dict[int, float] = {}
    events: list[tuple[int, int, bool]] = []  # (first row using it, column, the blank style?)
    for j, (plan, column) in enumerate(zip(plans, columns, strict=True)):
        fitted = _learn(plan, column, facts, frame)
        if fitted is not None and not column.wrap:
            widths[j + 1] = fitted
        for is_blank, key in ((False, "value"), (True, "blank")):
            if facts[f"{plan.name} has {key}"]:
                events.append((facts[f"{plan.name} first {key}"], j, is_blank))
    wb = ws.parent
    style_order = []
    for _, j, is_blank in sorted(events):
        plan, column = plans[j], columns[j]
        style = plan.blank_style if is_blank else plan.value_style
        numeric = plan.kind in ("number", "pence")
        if not is_blank and numeric and column.number_format is not None:
            style.numFmtId = _number_format_id(wb, column.number_format)
        if column.wrap:
            style.alignmentId = wb._alignments.add(styles.WRAP)
        if any(style):
            style_order.append(style)
    return TableRows(first_row, frame, plans, style_order), widths


def _learn(
    plan: _ColumnPlan, column: Column, facts: dict[str, Any], frame: pl.DataFrame
) -> float | None:
    """Fill in the plan's special values from the facts; return the width the column needs."""
    j = plan.name
    plan.has_blank = facts[f"{j} has blank"]
    widths = [_BLANK_WIDTH] if facts[f"{j} has null"] else []
    if plan.kind == "text":
        plan.needs_escape = bool(facts[f"{j} needs escape"])
        plan.special = facts[f"{j} special"]
        found = [odd_text(value) for value in plan.special]
        plan.special_xml = [xml for xml, _ in found]
        widths += [width for _, width in found]
        if facts[f"{j} longest"] is not None:
            widths.append(facts[f"{j} longest"] * 1.1)
    elif plan.kind == "yes_no" and facts[f"{j} has value"]:
        widths.append(_YES_NO_WIDTH)
    elif plan.kind in ("number", "pence"):
        ends = [facts[f"{j} highest"], facts[f"{j} lowest"]]
        biggest = None if ends[0] is None else max(abs(end) for end in ends)
        if plan.kind == "pence" or plan.floating:
            plan.special = facts[f"{j} special"]
        elif biggest is not None and biggest > _EXACT_INTEGER:
            plan.special = frame.get_column(j).drop_nulls().unique().to_list()
        plan.special_xml = [number_text(v, plan.kind) for v in plan.special]
        if column.number_format in _PERCENT_FORMATS:
            if facts[f"{j} has value"] or facts[f"{j} has nan"]:
                widths.append(_PERCENT_WIDTH)
        else:
            if facts[f"{j} has nan"]:
                widths.append(_NAN_WIDTH)  # "nan" or "inf", as f"{x:,.2f}" prints them
            if biggest is not None:
                amount = int(biggest) / 100 if plan.kind == "pence" else float(biggest)
                widths.append(len(f"{amount:,.2f}") + 3)
    return max(widths, default=None)


def _number_format_id(wb: Workbook, number_format: str) -> int:
    """The id openpyxl gives a number format when a cell is given it (registering it if new)."""
    if number_format in BUILTIN_FORMATS_REVERSE:
        return int(BUILTIN_FORMATS_REVERSE[number_format])
    return int(wb._number_formats.add(number_format)) + BUILTIN_FORMATS_MAX_SIZE
