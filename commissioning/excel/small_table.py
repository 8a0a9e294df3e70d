"""A small long table studied and made into row XML in plain Python instead of polars.

table_xml writes a long table with two polars queries, which pays at 320 areas and more (a
query costs little per cell) but not at London's 32 boroughs: there each query's own cost,
planning some hundred expressions for a frame of a few hundred rows, is most of the time.
Measured on this machine (2026-11-30), the London fixture's eleven tables (12,000 cells) took
about 0.1 s of polars a workbook; in Python they take a fraction of that. So a frame of up to
SMALL_TABLE_CELLS cells takes this path, a larger one polars'.

Both paths give the same bytes and register the same styles: each here returns what the polars
query returns (the study's facts) or writes (the rows), from the same column plans, and
tests/test_excel_table_xml.py compares either path's workbook with openpyxl's byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

import polars as pl

from commissioning.excel.cell_text import NO, NUMBER_END, NUMBER_START, YES, number_text

if TYPE_CHECKING:
    from commissioning.excel.table_xml import TableRows, _ColumnPlan

# Up to this many cells a table is written here. Measured (2026-11-30, study and rows): Python
# about 2 µs a cell, polars about 8 ms a table and 0.3 µs a cell: about even at 5,000 cells;
# the London fixture's largest table is 4,200 (Cost to benchmark: 8 ms here, 14 ms by polars).
SMALL_TABLE_CELLS = 6_000


def is_small(frame: pl.DataFrame) -> bool:
    """Whether a frame is written here: few cells, of the types Python reads back exactly."""
    return frame.height * frame.width <= SMALL_TABLE_CELLS and all(
        dtype in (pl.String, pl.Boolean, pl.Null) or dtype.is_integer() or dtype.is_float()
        for dtype in frame.dtypes
    )


def _first(flags: list[bool]) -> int | None:
    """polars' arg_max of a boolean column: the first True (0 when none, None when empty)."""
    for i, flag in enumerate(flags):
        if flag:
            return i
    return 0 if flags else None


def _is_blank(plan: _ColumnPlan) -> Callable[[Any], bool]:
    """`plan.blank()` for one value: null, or a float that is not finite."""
    if plan.floating:
        return lambda v: v is None or not math.isfinite(v)
    return lambda v: v is None


def _blanks(plan: _ColumnPlan, values: list[Any], nulls: int) -> list[bool] | None:
    """Each value's `plan.blank()`, or None where only nulls are blank and there are none."""
    if plan.floating:
        isfinite = math.isfinite
        return [v is None or not isfinite(v) for v in values]
    return [v is None for v in values] if nulls else None


def study(plans: list[_ColumnPlan], frame: pl.DataFrame) -> dict[str, Any]:
    """What table_xml._study's query finds, by the same names.

    One difference, which changes no byte and no width: every distinct text is "special", so
    table_xml._learn makes its XML with `_odd_text`. For text the polars query calls plain,
    `_odd_text` gives the same XML (safe_text leaves it as it is, it needs no xml:space) and
    the same width (one line: its length times 1.1).
    """
    facts: dict[str, Any] = {}
    for plan in plans:
        column = frame.get_column(plan.name)
        j, values, nulls = plan.name, column.to_list(), column.null_count()
        blank = _blanks(plan, values, nulls)
        if blank is None:  # no blank at all: every flag is known without a pass over the values
            facts[f"{j} has value"] = bool(values)
            facts[f"{j} first value"] = facts[f"{j} first blank"] = 0 if values else None
            facts[f"{j} has blank"] = False
        else:
            facts[f"{j} has value"] = not all(blank)
            facts[f"{j} first value"] = _first([not b for b in blank])
            facts[f"{j} has blank"] = any(blank)
            facts[f"{j} first blank"] = _first(blank)
        facts[f"{j} has null"] = nulls > 0
        if plan.kind == "text":
            distinct = dict.fromkeys(values)
            distinct.pop(None, None)
            facts[f"{j} needs escape"] = any("&" in v or "<" in v or ">" in v for v in distinct)
            facts[f"{j} longest"] = None
            facts[f"{j} special"] = list(distinct)
        elif plan.kind in ("number", "pence"):
            finite = (
                values
                if blank is None
                else [v for v, b in zip(values, blank, strict=True) if not b]
            )
            facts[f"{j} highest"] = max(finite, default=None)
            facts[f"{j} lowest"] = min(finite, default=None)
            facts[f"{j} has nan"] = plan.floating and len(finite) + nulls < len(values)
            if plan.kind == "pence":
                distinct = dict.fromkeys(values)
                distinct.pop(None, None)
                facts[f"{j} special"] = list(distinct)
            elif plan.floating:
                facts[f"{j} special"] = list(dict.fromkeys(v for v in finite if v != 0))
    return facts


def _value_xml(plan: _ColumnPlan) -> Callable[[Any], str]:
    """`plan.value()` for one value that is not blank: the cell's XML after its style."""
    if plan.kind == "yes_no":
        return lambda v: YES if v else NO
    known = dict(zip(plan.special, plan.special_xml, strict=True))
    if plan.kind == "text":
        return known.__getitem__  # every distinct text is special here (see `study`)
    kind = plan.kind

    def number(v: Any) -> str:
        if v == 0 and plan.floating:
            text = "-0" if math.copysign(1.0, v) < 0 else "0"  # as openpyxl writes them
        else:
            text = known.get(v) or number_text(v, kind)
        return f"{NUMBER_START}{text}{NUMBER_END}"

    return number


def _column_cells(
    plan: _ColumnPlan, values: list[Any], numbers: list[str], style: str, blank_id: int | None
) -> list[str]:
    """One column's cells, row by row ("" where a blank cell writes nothing); each distinct
    value's XML is made once (a long table repeats its names, years and amounts)."""
    start = f'<c r="{plan.letter}'
    blank = f'" s="{blank_id}" t="n" />' if blank_id is not None else ""
    is_blank, write = _is_blank(plan), _value_xml(plan)
    tails: dict[Any, str] = {}  # the cell's XML after its row number, by value
    cells = []
    for number, v in zip(numbers, values, strict=True):
        # -0.0 and 0.0 are one key of a dict, and openpyxl writes "-0" and "0".
        key = (v, math.copysign(1.0, v)) if type(v) is float and v == 0 else v
        tail = tails.get(key)
        if tail is None:
            tail = blank if plan.has_blank and is_blank(v) else f'"{style}{write(v)}'
            tails[key] = tail
        cells.append(f"{start}{number}{tail}" if tail else "")
    return cells


def rows_xml(table: TableRows, style_ids: list[tuple[str, int | None]]) -> bytes:
    """The `<row>` elements TableRows.xml's polars query writes; `style_ids` gives each
    column's value style attribute and its blank cell's style id (None: a blank writes
    nothing), registered already in the order the query registers them."""
    rows = range(table.first_row, table.last_row + 1)
    numbers = [str(r) for r in rows]
    # As openpyxl writes a row given a height: ht, then customHeight.
    heights = table.heights
    starts = [
        f'<row r="{r}" ht="{heights[r]:.16g}" customHeight="1">'
        if r in heights
        else f'<row r="{r}">'
        for r in rows
    ]
    columns = [
        _column_cells(plan, table.frame.get_column(plan.name).to_list(), numbers, *ids)
        for plan, ids in zip(table.plans, style_ids, strict=True)
    ]
    # Row by row: its start, its cells, its end, joined once.
    pieces = chain.from_iterable(zip(starts, *columns, repeat("</row>")))
    return "".join(pieces).encode()
