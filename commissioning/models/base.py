"""Shared building blocks for the domain models: immutability, identifiers, money, years."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

# [0-9], not \d: \d also matches other scripts' digits, and ONS codes are ASCII ("E0900000７").
AreaCode = Annotated[
    str,
    StringConstraints(pattern=r"^[EWSN][0-9]{8}$"),
    Field(description="ONS geography code, e.g. E09000007 for Camden."),
]
Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$"),
    Field(description="Short machine name: lower case letters, digits and underscores."),
]
Pence = Annotated[
    int,
    Field(ge=0, le=10**13, strict=True, description="Money in whole pence (£1 = 100)."),
]
FINANCIAL_YEAR = r"^[0-9]{4}/[0-9]{2}$"
FinancialYear = Annotated[
    str,
    StringConstraints(pattern=FINANCIAL_YEAR),
    Field(description="Financial year April–March, written 2019/20."),
]
# The OpenAPI generator (Litestar) drops constraints inside list[...]; a list of years carries
# its item rule explicitly so the spec is as strict as the server.
YEAR_LIST_SCHEMA: dict[str, Any] = {
    "items": {
        "type": "string",
        "pattern": FINANCIAL_YEAR,
        "description": "Financial year April–March, written 2019/20.",
    }
}
Units = Annotated[
    Decimal,
    Field(ge=0, le=100000, max_digits=12, decimal_places=4, description="Units of a service."),
]
# Unicode's control characters (category Cc); tab and line breaks are allowed in notes only.
# Ward level across England is about 7,000 areas; the engine is measured to 10,000
# (benchmarks/scaling.py), and a list longer than that is refused before any work is done.
MAX_AREAS = 10_000

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _refuse(pattern: re.Pattern[str], text: str) -> str:
    """Refuse control characters: they corrupt CSV rows, workbook cells and terminal output."""
    found = pattern.search(text)
    if found is not None:
        raise ValueError(
            f"control character U+{ord(found.group()):04X} at position {found.start() + 1} "
            "is not allowed here"
        )
    return text


def _no_control_characters(text: str) -> str:
    return _refuse(_CONTROL, text)


def _layout_only(text: str) -> str:
    return _refuse(_CONTROL_BUT_LAYOUT, text)


Text = Annotated[
    str, StringConstraints(min_length=1, max_length=500), AfterValidator(_no_control_characters)
]
Note = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_layout_only)]
ColumnName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    AfterValidator(_no_control_characters),
    Field(description="Name of an area indicator column, e.g. female_16_plus."),
]

_YEAR = re.compile(r"^([0-9]{4})/([0-9]{2})$")


def year_start(year: str) -> int:
    """The calendar year a financial year starts in (2019/20 -> 2019)."""
    match = _YEAR.match(year)
    if match is None:
        raise ValueError(f"not a financial year: {year!r}")
    return int(match.group(1))


def is_well_formed_year(year: str) -> bool:
    """True when the two halves of '2019/20' are consecutive years."""
    match = _YEAR.match(year)
    return match is not None and (int(match.group(1)) + 1) % 100 == int(match.group(2))


class Record(BaseModel):
    """Immutable, strict-about-extra-fields base for every domain record."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
