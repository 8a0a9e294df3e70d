"""Query parameters of the table routes (filters, limit, cursor) and the JSON/CSV page answer.

The parameters are read by one dependency, `table_query`, that every table route declares, so
they are documented once and checked once (commissioning.api.services.tables).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request
from litestar.di import Provide
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import QueryParameter

from commissioning.api.services import tables
from commissioning.api.services.tables import MAX_LIMIT, TableQuery


def _values(pattern: str, example: str) -> dict[str, Any]:
    """The item rule of a repeatable filter, which Litestar would drop from the spec."""
    return {
        "one_of": [
            Schema(
                type=OpenAPIType.ARRAY,
                items=Schema(type=OpenAPIType.STRING, pattern=pattern, examples=[example]),
            ),
            Schema(type=OpenAPIType.NULL),
        ]
    }


_REPEAT = " Repeat the parameter for several values (rows matching any); filters combine."

AreaCodeFilter = Annotated[
    list[str] | None,
    QueryParameter(
        description="Only rows of these ONS area codes (e.g. E09000007)."
        + _REPEAT
        + " A borough lead may give only its own borough (another is 403).",
        schema_extra=_values(tables.PATTERNS["area_code"], "E09000007"),
    ),
]
ServiceFilter = Annotated[
    list[str] | None,
    QueryParameter(
        description="Only rows of these services (ids, e.g. idva)." + _REPEAT,
        schema_extra=_values(tables.PATTERNS["service"], "idva"),
    ),
]
YearFilter = Annotated[
    list[str] | None,
    QueryParameter(
        description="Only rows of these financial years (e.g. 2019/20)." + _REPEAT,
        schema_extra=_values(tables.PATTERNS["year"], "2019/20"),
    ),
]
PotFilter = Annotated[
    list[str] | None,
    QueryParameter(
        description="Only rows of these pots (ids, e.g. mopac_direct)." + _REPEAT,
        schema_extra=_values(tables.PATTERNS["pot"], "mopac_direct"),
    ),
]
TableLimit = Annotated[
    int | None,
    QueryParameter(
        ge=1,
        le=MAX_LIMIT,
        description=f"Rows a page, 1 to {MAX_LIMIT:,}; without it every matching row comes in "
        "one page.",
    ),
]
Cursor = Annotated[
    str | None,
    QueryParameter(
        max_length=200,
        description="Where the page starts: copy it from the previous page's `next` link "
        "(opaque; valid only with the same filters).",
    ),
]


def provide_table_query(
    area_code: AreaCodeFilter = None,
    service: ServiceFilter = None,
    year: YearFilter = None,
    pot: PotFilter = None,
    limit: TableLimit = None,
    cursor: Cursor = None,
) -> TableQuery:
    return tables.table_query(area_code, service, year, pot, limit, cursor)


TABLE_QUERY = {"table_query": Provide(provide_table_query, sync_to_thread=False)}


def link_with(request: Request[Any, Any, Any], name: str, value: str) -> str:
    """The same request (path and every other parameter) with `name` set to `value`."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != name]
    return f"{request.url.path}?{urlencode([*kept, (name, value)])}"


def next_offset_link(
    request: Request[Any, Any, Any], offset: int, limit: int, total: int
) -> str | None:
    """The same request with `offset` moved on by `limit`; None on the last page."""
    return link_with(request, "offset", str(offset + limit)) if offset + limit < total else None


def next_link(request: Request[Any, Any, Any], cursor: str | None) -> str | None:
    """The same request with the next page's cursor; None on the last page."""
    return None if cursor is None else link_with(request, "cursor", cursor)


def page_headers(total: int, link: str | None) -> dict[str, str]:
    """For CSV, where the body has no room for them: X-Total-Count and Link rel=next."""
    headers = {"X-Total-Count": str(total)}
    if link is not None:
        headers["Link"] = f'<{link}>; rel="next"'
    return headers
