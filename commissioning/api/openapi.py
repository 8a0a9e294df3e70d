"""OpenAPI helpers: documented error responses, and 200 responses with more than one format."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType

from commissioning.api.schemas import ErrorBody

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid input: each entry of `errors` names the field (or parameter) and the reason.",
    401: "No API key, or an unknown or revoked one (header X-API-Key).",
    403: "The key's role or borough does not cover this (drafts are commissioners' only).",
    404: "No such scenario, run, table or area.",
    409: "The run is not in a state that allows this (still solving, failed or infeasible).",
    413: "The request body is larger than the server's limit.",
    415: "The body is not JSON (send Content-Type: application/json, UTF-8).",
    429: "The run queue is full; retry after the number of seconds in the Retry-After header.",
}


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """ResponseSpecs for the given error statuses; 401 and 403 apply to every endpoint."""
    return {
        code: ResponseSpec(
            data_container=ErrorBody, description=ERROR_DESCRIPTIONS[code], generate_examples=False
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
