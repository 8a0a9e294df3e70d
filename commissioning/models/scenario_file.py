"""The scenario file: a scenario whose areas may come from CSV tables beside it."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from commissioning.models.area import Area
from commissioning.models.base import MAX_AREAS, AreaCode, Record
from commissioning.models.scenario import ScenarioCore

ColumnName = Annotated[str, Field(min_length=1, max_length=100)]


class AreaTable(Record):
    """A CSV of area data, one row per area, joined to the others on the area code."""

    path: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="CSV path, relative to the scenario file."
    )
    code_column: ColumnName = "ons_code"
    name_column: ColumnName | None = Field(
        default="name", description="Column with the area's name; omitted if the table has none."
    )


class AreaDataSource(Record):
    """Where the areas come from and which of them are in the scenario."""

    tables: list[AreaTable] = Field(min_length=1)
    include: list[AreaCode] | None = Field(
        default=None, description="Only these areas; omitted means every area in the tables."
    )
    exclude: list[AreaCode] = Field(default_factory=list, description="Areas left out.")
    group_column: ColumnName | None = Field(
        default=None, description="Column naming each area's parent group (command unit)."
    )


class ScenarioFile(ScenarioCore):
    """A scenario as written in a file: areas inline, or `area_data` pointing at CSV tables."""

    areas: list[Area] | None = Field(default=None, min_length=1, max_length=MAX_AREAS)
    area_data: AreaDataSource | None = None

    @model_validator(mode="after")
    def _one_area_source(self) -> ScenarioFile:
        if (self.areas is None) == (self.area_data is None):
            given = "both" if self.areas is not None else "neither"
            raise ValidationError.from_exception_data(
                "ScenarioFile",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "scenario_rule",
                            "give the areas either inline (areas) or as CSV tables (area_data); "
                            f"got {given}",
                        ),
                        loc=("area_data",),
                        input=given,
                    )
                ],
            )
        return self
