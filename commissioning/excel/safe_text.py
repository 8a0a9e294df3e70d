"""Text from scenarios and bids made safe for spreadsheet cells, sheet tabs and workbook names.

Scenario, pot, provider and bid names are typed by people outside MOPAC. A cell whose text starts
with `=`, `+`, `-` or `@` can become a live formula the moment a borough lead edits it or saves
the sheet as CSV and opens it again (CSV/formula injection), so such text is prefixed with an
apostrophe, the OWASP-recommended neutraliser that survives CSV round trips. The rule is shared
with the CSV files (commissioning.formula_text).
"""

from __future__ import annotations

import re

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from commissioning.formula_text import NEUTRALISER, starts_like_formula

# Excel refuses longer text in a cell.
MAX_CELL_TEXT = 32767

SHEET_TITLE_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_NAME_INVALID = re.compile(r"[^A-Za-z0-9_.]")
# A workbook name that looks like a cell (A1, XFD1048576) or R1C1 reference is refused by Excel.
_LOOKS_LIKE_CELL = re.compile(r"^([A-Za-z]{1,3}\d+|[Rr]\d*[Cc]?\d*|[Cc]\d*)$")


def safe_text(value: object) -> str:
    """Text that a spreadsheet will always show as text, never run as a formula."""
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if starts_like_formula(text):
        text = NEUTRALISER + text
    if len(text) > MAX_CELL_TEXT:
        text = text[: MAX_CELL_TEXT - 1] + "…"
    return text


def sheet_title(text: str) -> str:
    """A valid sheet tab name: at most 31 characters, none of []:*?/\\, not blank."""
    title = _SHEET_FORBIDDEN.sub("-", ILLEGAL_CHARACTERS_RE.sub("", text)).strip()
    # Excel strips apostrophes at either end of a tab name, which would break references to it.
    title = title.strip("'").strip()[:SHEET_TITLE_MAX].rstrip()
    if not title or title.lower() == "history":  # 'History' is reserved by Excel
        title = f"Sheet {title}".strip()[:SHEET_TITLE_MAX]
    return title


def workbook_name(text: str) -> str:
    """A valid defined name for a cell or range, e.g. 'Total 2019/20' -> 'Total_2019_20'."""
    name = _NAME_INVALID.sub("_", text.strip()) or "_"
    if not (name[0].isalpha() or name[0] == "_") or _LOOKS_LIKE_CELL.match(name):
        name = "_" + name
    return name[:255]
