"""Areas (boroughs) and the indicator values that drive benchmarks and need."""

from __future__ import annotations

import math

from pydantic import Field, field_validator

from commissioning.models.base import AreaCode, Record, Text


class Area(Record):
    """One area that can receive services, e.g. a London borough, with its indicator values."""

    code: AreaCode
    name: Text
    group: Text | None = Field(
        default=None, description="Parent group such as a police command unit or sub-region."
    )
    indicators: dict[str, float] = Field(
        default_factory=dict,
        description="Indicator values by column name (population counts, deprivation, crime).",
    )

    @field_validator("indicators")
    @classmethod
    def _finite(cls, values: dict[str, float]) -> dict[str, float]:
        for column, value in values.items():
            if not math.isfinite(value):
                raise ValueError(f"indicator {column!r} must be a finite number, got {value}")
        return values
