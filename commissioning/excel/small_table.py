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
from typing import TYPE_CHECKING, Any

import polars as pl

from commissioning.excel.cell_text import NO, NUMBER_END, NUMBER_START, YES, number_text

if TYPE_CHECKING:
    from commissioning.excel.table_xml import TableRows, _ColumnPlan

# Below this many cells a table is written here. At the London fixture's largest table (300
# rows x 14 columns) Python is several times faster than polars; at 320 areas the tables hold
# 100,000 cells and more, where polars is the faster.
SMALL_TABLE_CELLS = 20_000


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


def study(plans: list[_ColumnPlan], frame: pl.DataFrame) -> dict[str, Any]:
    """What table_xml._study's query finds, by the same names.

    One difference, which changes no byte and no width: every distinct text is "special", so
    table_xml._learn makes its XML with `_odd_text`. For text the polars query calls plain,
    `_odd_text` gives the same XML (safe_text leaves it as it is, it needs no xml:space) and
    the same width (one line: its length times 1.1).
    """
    facts: dict[str, Any] = {}
    for plan in plans:
        j, values = plan.name, frame.get_column(plan.name).to_list()
        blank = list(map(_is_blank(plan), values))
        filled = [not b for b in blank]
        facts[f"{j} has value"] = any(filled)
        facts[f"{j} first value"] = _first(filled)
        facts[f"{j} has blank"] = any(blank)
        facts[f"{j} first blank"] = _first(blank)
        facts[f"{j} has null"] = any(v is None for v in values)
        if plan.kind == "text":
            distinct = list(dict.fromkeys(v for v in values if v is not None))
            facts[f"{j} needs escape"] = any("&" in v or "<" in v or ">" in v for v in distinct)
            facts[f"{j} longest"] = None
            facts[f"{j} special"] = distinct
        elif plan.kind in ("number", "pence"):
            finite = [v for v, b in zip(values, blank, strict=True) if not b]
            facts[f"{j} highest"] = max(finite, default=None)
            facts[f"{j} lowest"] = min(finite, default=None)
            facts[f"{j} has nan"] = plan.floating and any(
                v is not None and b for v, b in zip(values, blank, strict=True)
            )
            if plan.kind == "pence":
                facts[f"{j} special"] = list(dict.fromkeys(v for v in values if v is not None))
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
            # -0.0 and 0.0 are one key of a dict, and openpyxl writes "-0" and "0".
            text = "-0" if math.copysign(1.0, v) < 0 else "0"
        else:
            text = known.get(v) or number_text(v, kind)
        return f"{NUMBER_START}{text}{NUMBER_END}"

    return number


def rows_xml(table: TableRows, style_ids: list[tuple[str, int | None]]) -> bytes:
    """The `<row>` elements TableRows.xml's polars query writes; `style_ids` gives each
    column's value style attribute and its blank cell's style id (None: a blank writes
    nothing), registered already in the order the query registers them."""
    plans = table.plans
    cells = []
    for plan, (style, blank_id) in zip(plans, style_ids, strict=True):
        blank = f'" s="{blank_id}" t="n" />' if blank_id is not None else None
        cells.append((f'<c r="{plan.letter}', f'"{style}', blank, _is_blank(plan), plan))
    writers = [_value_xml(plan) for plan in plans]
    columns = [table.frame.get_column(plan.name).to_list() for plan in plans]
    out = []
    for i, row_values in enumerate(zip(*columns, strict=True)):
        r = str(table.first_row + i)
        height = table.heights.get(table.first_row + i)
        sized = f' ht="{height:.16g}" customHeight="1"' if height is not None else ""
        out.append(f'<row r="{r}"{sized}>')
        for (start, style, blank, is_blank, plan), write, v in zip(
            cells, writers, row_values, strict=True
        ):
            if plan.has_blank and is_blank(v):
                if blank is not None:
                    out.append(f"{start}{r}{blank}")
            else:
                out.append(f"{start}{r}{style}{write(v)}")
        out.append("</row>")
    return "".join(out).encode()
