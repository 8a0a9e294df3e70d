"""Request bodies documented as the server reads them: closed (no unknown fields) and, where the
body may be left out, optional.

Litestar documents a pydantic body by reference to a component without
`additionalProperties: false`, and marks even an optional body required, so a client generated
from the spec (or schemathesis) would send fields the server refuses, or insist on a body the
server does not need. These operation classes put the model's own JSON Schema inline instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.spec import OpenAPIMediaType, RequestBody
from pydantic import BaseModel

from commissioning.api.openapi import ApiOperation


def _inline(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    assert "$defs" not in schema, f"{model.__name__} must be flat to be inlined"
    return schema


def body_operation(model: type[BaseModel], *, required: bool) -> type[ApiOperation]:
    """An operation class documenting `model` (extra="forbid") as the JSON body."""
    schema = _inline(model)
    if not required:  # left out, or JSON null: the server reads both as no body
        schema = {"anyOf": [schema, {"type": "null"}]}

    @dataclass
    class ClosedBodyOperation(ApiOperation):
        def __post_init__(self) -> None:
            super().__post_init__()
            self.request_body = RequestBody(
                content={"application/json": OpenAPIMediaType(schema=schema)},  # type: ignore[arg-type]
                required=required,
                description=None if required else "Optional: the body may be left out (or null).",
            )

    ClosedBodyOperation.__name__ = f"{model.__name__}Operation"
    return ClosedBodyOperation
