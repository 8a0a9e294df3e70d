"""Shared building blocks for the domain models: immutability, identifiers, money, years."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

AreaCode = Annotated[
    str,
    StringConstraints(pattern=r"^[EWSN]\d{8}$"),
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
FinancialYear = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}/\d{2}$"),
    Field(description="Financial year April–March, written 2019/20."),
]
Units = Annotated[
    Decimal,
    Field(ge=0, le=100000, max_digits=12, decimal_places=4, description="Units of a service."),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Note = Annotated[str, StringConstraints(max_length=2000)]

_YEAR = re.compile(r"^(\d{4})/(\d{2})$")


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
