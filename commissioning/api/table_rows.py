"""Typed rows of every result table, generated from the schemas the CSV files are written with.

One pydantic model per table of commissioning.results.TABLE_SCHEMAS (AllocationsRow,
CoverageRow, …) and one response body per table (AllocationsTable, …, told apart by `table`),
so the OpenAPI spec gives a generated client the columns and their types. The models are built
from the same polars schemas `conform` casts to, so the spec cannot drift from the files.
Every column is present in every row; a value may be null where the table has none (e.g.
`pot` on a cost-to-benchmark row of level `cell`). Money columns (`*_pence`) are integers in
pence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

import polars as pl
from litestar.openapi.spec import Discriminator, OpenAPIResponse, Schema
from pydantic import BaseModel, ConfigDict, Field, create_model

from commissioning.api.openapi import JsonOrCsvOperation
from commissioning.api.schemas import TableOut
from commissioning.results import SORT_KEYS, TABLE_SCHEMAS

_TYPES: dict[type[pl.DataType], type] = {
    pl.String: str,
    pl.Int64: int,
    pl.Float64: float,
    pl.Boolean: bool,
}


class RowBase(BaseModel):
    model_config = ConfigDict(frozen=True)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _description(column: str, dtype: pl.DataType) -> str | None:
    if column.endswith("_pence"):
        return "Money in integer pence (£1 = 100)."
    if dtype == pl.Float64 and column.endswith("_units"):
        return "Units of a service (a decimal number)."
    return None


def _row_model(table: str, schema: pl.Schema) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for column, dtype in schema.items():
        python = _TYPES.get(type(dtype))
        if python is None:  # pragma: no cover - a new dtype in a table schema
            raise TypeError(f"table {table} column {column}: no JSON type for {dtype}")
        fields[column] = (python | None, Field(description=_description(column, dtype)))
    model = create_model(
        f"{_camel(table)}Row",
        __base__=RowBase,
        __doc__=f"One row of the {table} table (rows ordered by {', '.join(SORT_KEYS[table])}).",
        **fields,
    )
    return model


ROW_MODELS: dict[str, type[BaseModel]] = {
    name: _row_model(name, schema) for name, schema in TABLE_SCHEMAS.items()
}


def _table_model(table: str, row: type[BaseModel]) -> type[TableOut]:
    name: Any = Literal[table]  # a literal built at run time: one per table
    model = create_model(
        f"{_camel(table)}Table",
        __base__=TableOut,
        __doc__=f"The {table} table (or a page of it) with typed rows.",
        table=(name, Field(description="The table's name.")),
        rows=(list[row], Field(description=f"Rows of {table}, in its key order.")),  # type: ignore[valid-type]
    )
    return model


TABLE_MODELS: dict[str, type[TableOut]] = {
    name: _table_model(name, row) for name, row in ROW_MODELS.items()
}

# The response of GET /runs/{run_id}/results/{table}: one of the tables, by its `table`.
ResultTable: Any = Annotated[
    Union[tuple(TABLE_MODELS.values())],  # noqa: UP007
    Field(discriminator="table"),
]


@dataclass
class ResultTableOperation(JsonOrCsvOperation):
    """Names `table` as the discriminator of the oneOf, so a client picks the row type by it."""

    def __post_init__(self) -> None:
        super().__post_init__()
        ok = (self.responses or {}).get("200")
        content = ok.content if isinstance(ok, OpenAPIResponse) else None
        media = (content or {}).get("application/json")
        schema = media.schema if media is not None else None
        if isinstance(schema, Schema) and schema.one_of:
            schema.discriminator = Discriminator(
                property_name="table",
                mapping={
                    name: f"#/components/schemas/{model.__name__}"
                    for name, model in TABLE_MODELS.items()
                },
            )
