"""Keep people's text from turning into spreadsheet formulas when a CSV or workbook is opened.

Area, pot, provider and bid names are typed by people outside MOPAC. Text that starts with `=`,
`+`, `-` or `@` becomes a live formula when a spreadsheet opens the file (CSV/formula injection),
so it is written with an apostrophe in front, the OWASP-recommended neutraliser. The rule is
applied to text only: numbers stay numbers.

For files this project reads back (run directories), the prefix must come off again exactly, so
text that already starts with apostrophes before a formula starter gets one more: writing and
then reading any text gives the same text.
"""

from __future__ import annotations

import re

# Tab and carriage return are on the list because spreadsheet apps skip them before a formula;
# the full-width forms are read as formula starters by some East Asian locales of Excel.
FORMULA_STARTERS = "=+-@\t\r＝＋－＠"
NEUTRALISER = "'"

# One character class that both Python's and polars' regex engines read the same way ('-' last).
_STARTER_CLASS = "[" + FORMULA_STARTERS.replace("-", "") + "-]"
# Spreadsheets ignore leading spaces and newlines before a formula starter, so look past them.
STARTS_LIKE_FORMULA = "^[ \n]*" + _STARTER_CLASS
# The same, after any apostrophes already in front: exactly the texts `neutralise` prefixes.
NEEDS_NEUTRALISER = "^'*[ \n]*" + _STARTER_CLASS

_STARTS_LIKE_FORMULA = re.compile(STARTS_LIKE_FORMULA)
_NEEDS_NEUTRALISER = re.compile(NEEDS_NEUTRALISER)


def starts_like_formula(text: str) -> bool:
    """Would a spreadsheet read this text as a formula?"""
    return _STARTS_LIKE_FORMULA.match(text) is not None


def neutralise(text: str) -> str:
    """Text a spreadsheet shows as text; `restore` gives the original back."""
    return NEUTRALISER + text if _NEEDS_NEUTRALISER.match(text) else text


def restore(text: str) -> str:
    """The text `neutralise` was given."""
    if text.startswith(NEUTRALISER) and _NEEDS_NEUTRALISER.match(text):
        return text[1:]
    return text
