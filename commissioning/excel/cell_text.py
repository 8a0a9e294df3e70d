"""A table cell's XML after its style attribute, as openpyxl writes it: the pieces both ways
of writing a long table share (table_xml with polars, small_table in Python)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from openpyxl.cell.cell import ERROR_CODES

from commissioning.excel.safe_text import safe_text

Kind = Literal["text", "yes_no", "number", "pence", "blank"]

AS_OPENPYXL = "%.16g"  # how openpyxl writes a number (openpyxl.compat.strings.safe_string)
TEXT_START, TEXT_END = ' t="inlineStr"><is><t>', "</t></is></c>"
NUMBER_START, NUMBER_END = ' t="n"><v>', "</v></c>"
YES, NO = (f"{TEXT_START}{word}{TEXT_END}" for word in ("Yes", "No"))


def escape(text: str) -> str:
    """ElementTree's escaping of element text (what openpyxl writes)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def odd_text(value: str) -> tuple[str, float]:
    """A cell's XML after its style, for any text, and the width it needs."""
    width = max((len(line) for line in value.splitlines()), default=0) * 1.1
    stored = safe_text(value)
    if stored == "":
        return ' t="inlineStr" />', width
    if stored in ERROR_CODES:
        return f' t="e"><v>{escape(stored)}</v></c>', width
    stripped = stored.strip()
    space = ' xml:space="preserve"' if stripped and stored != stripped else ""
    return f' t="inlineStr"><is><t{space}>{escape(stored)}</t></is></c>', width


def number_text(value: Any, kind: Kind) -> str:
    """A number's text in the cell, as openpyxl writes the value `layout.put` stores."""
    if kind == "pence":
        return AS_OPENPYXL % float(Decimal(value) / 100)  # as layout.pounds(pence)
    return AS_OPENPYXL % value
