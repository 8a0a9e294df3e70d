"""Areas (boroughs) and the indicator values that drive benchmarks and need."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from commissioning.models.base import AreaCode, ColumnName, Record, Text

MAX_INDICATOR = 10**12
"""No count or score of one area comes near this; far larger values overflow need arithmetic."""

# Strict: a number given as a string ("79013") is refused, as money is, not quietly converted.
IndicatorValue = Annotated[
    float, Field(strict=True, allow_inf_nan=False, ge=-MAX_INDICATOR, le=MAX_INDICATOR)
]


class Area(Record):
    """One area that can receive services, e.g. a London borough, with its indicator values."""

    code: AreaCode
    name: Text
    group: Text | None = Field(
        default=None, description="Parent group such as a police command unit or sub-region."
    )
    indicators: dict[ColumnName, IndicatorValue] = Field(
        default_factory=dict,
        description="Indicator values by column name (population counts, deprivation, crime): "
        "finite numbers (not strings) of at most 10^12 in size.",
    )
