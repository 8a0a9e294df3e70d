"""OpenAPI helpers: documented error responses, and 200 responses with more than one format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.enums import ParamType
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Parameter,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType

from commissioning.api.idempotency import HEADER as IDEMPOTENCY_KEY
from commissioning.api.idempotency import MAX_LENGTH as IDEMPOTENCY_KEY_MAX_LENGTH
from commissioning.api.problems import PROBLEM_JSON, PROBLEM_TYPES, problem_type
from commissioning.api.schemas import ProblemDetails

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"


def _error_description(code: int) -> str:
    kinds = [kind for kind in PROBLEM_TYPES if kind.status == code] or [problem_type(code)]
    return " ".join(f"`{kind.uri}`: {kind.meaning or kind.title}" for kind in kinds)


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """ResponseSpecs for the given error statuses; 401 and 403 apply to every endpoint.

    Every error is RFC 9457 problem details (application/problem+json, the ProblemDetails schema).
    """
    return {
        code: ResponseSpec(
            data_container=ProblemDetails,
            description=_error_description(code),
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for code in sorted({401, 403, *codes})
    }


def xlsx_response(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=bytes, media_type=XLSX, description=description, generate_examples=False
    )


def _header(description: str, kind: OpenAPIType) -> OpenAPIHeader:
    return OpenAPIHeader(schema=Schema(type=kind), description=description, required=True)


@dataclass
class ApiOperation(Operation):
    """Documents the headers that go with some errors: WWW-Authenticate (401), Retry-After (429)."""

    def __post_init__(self) -> None:
        responses = self.responses or {}
        unauthorised = responses.get("401")
        if isinstance(unauthorised, OpenAPIResponse):
            unauthorised.headers = {
                "WWW-Authenticate": _header(
                    'How to authenticate: ApiKey header="X-API-Key".', OpenAPIType.STRING
                )
            }
        busy = responses.get("429")
        if isinstance(busy, OpenAPIResponse):
            busy.headers = {
                "Retry-After": _header("Seconds to wait before trying again.", OpenAPIType.INTEGER)
            }


@dataclass
class JsonOrCsvOperation(ApiOperation):
    """A 200 response documented as JSON and, with ?format=csv or Accept: text/csv, as CSV."""

    def __post_init__(self) -> None:
        super().__post_init__()
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = dict(ok.content or {})
            ok.content[CSV] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, description="CSV with a header row.")
            )


@dataclass
class XlsxOperation(ApiOperation):
    """A 200 response documented as an .xlsx file."""

    def __post_init__(self) -> None:
        super().__post_init__()
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {
                XLSX: OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                )
            }


def idempotent(operation: type[ApiOperation]) -> type[ApiOperation]:
    """`operation` with the optional Idempotency-Key header documented (every POST honours it:
    commissioning.api.idempotency). Its 409 and 422 must be among the route's responses."""

    @dataclass
    class IdempotentOperation(operation):  # type: ignore[valid-type,misc]
        def __post_init__(self) -> None:
            super().__post_init__()
            earlier: list[Any] = list(getattr(self, "parameters", None) or [])
            self.parameters = [
                *earlier,
                Parameter(
                    name=IDEMPOTENCY_KEY,
                    param_in=ParamType.HEADER,
                    required=False,
                    description=(
                        "A unique string (e.g. a UUID) to retry this POST safely: the same key "
                        "and request within 24 hours gets the first answer again, marked "
                        "`Idempotent-Replayed: true`, and changes nothing. The same key with "
                        "another request is 422; while the first is still being answered, 409."
                    ),
                    schema=Schema(
                        type=OpenAPIType.STRING,
                        min_length=1,
                        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
                    ),
                ),
            ]

    IdempotentOperation.__name__ = f"Idempotent{operation.__name__}"
    return IdempotentOperation
