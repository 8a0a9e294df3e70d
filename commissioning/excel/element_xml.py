"""An ElementTree element as text, with the bytes openpyxl's writer (et_xmlfile) gives it.

openpyxl sends each part of a sheet's frame (properties, views, column widths, merged cells,
conditional formatting, print set-up) through et_xmlfile's incremental writer, which works
out namespace prefixes for every element and attribute as it goes: about a twentieth of the
London workbook's time, for a few dozen small elements a sheet. The frame's elements have no
namespaces but one attribute (a drawing's or table's `r:id`), so here an element without any
is written directly, and one with a namespace still goes through et_xmlfile on its own.
tests/test_excel_table_xml.py compares whole sheets written this way and by openpyxl alone.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any
from xml.etree.ElementTree import Element

from openpyxl.worksheet.table import Table
from openpyxl.xml.functions import xmlfile

from commissioning.excel.cell_text import escape

_ATTRIBUTE_ENTITIES = [
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ('"', "&quot;"),
    ("\r", "&#13;"),
    ("\n", "&#10;"),
    ("\t", "&#09;"),
]


def escape_attribute(text: str) -> str:
    """ElementTree's escaping of an attribute value (what openpyxl writes)."""
    for char, entity in _ATTRIBUTE_ENTITIES:
        if char in text:
            text = text.replace(char, entity)
    return text


def _has_namespace(element: Element) -> bool:
    return any("{" in e.tag or any("{" in key for key in e.attrib) for e in element.iter()) or any(
        not isinstance(e.tag, str) for e in element.iter()
    )


def _write(element: Element, parts: list[str]) -> None:
    attributes = "".join(
        f' {key}="{escape_attribute(str(value))}"' for key, value in element.attrib.items()
    )
    text = element.text
    if not text and not len(element):
        parts.append(f"<{element.tag}{attributes} />")
    else:
        parts.append(f"<{element.tag}{attributes}>")
        if text:
            parts.append(escape(text))
        for child in element:
            _write(child, parts)
        parts.append(f"</{element.tag}>")
    if element.tail:
        parts.append(escape(element.tail))


def element_xml(element: Element) -> bytes:
    """The element as et_xmlfile writes it inside a sheet (UTF-8)."""
    if _has_namespace(element):
        out = BytesIO()
        with xmlfile(out) as xf:
            xf.write(element)
        return out.getvalue()
    parts: list[str] = []
    _write(element, parts)
    return "".join(parts).encode()


class FastTable(Table):
    """An Excel table whose part is written by `element_xml`, not by ElementTree's `tostring`
    (the same bytes: it writes UTF-8 without a declaration)."""

    # openpyxl finds a class's attributes and child elements in its own body, not its base's.
    __attrs__ = Table.__attrs__
    __elements__ = Table.__elements__
    __nested__ = Table.__nested__

    def _write(self, archive: Any) -> None:
        archive.writestr(self.path[1:], element_xml(self.to_tree()))
