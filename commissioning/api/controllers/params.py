"""Path and query parameters shared by the controllers, with their rules in the OpenAPI spec."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar.params import PathParameter, QueryParameter

from commissioning.api.schemas import AREA_CODE, HEX_ID

RunId = Annotated[
    str, PathParameter(pattern=HEX_ID, description="Run id (32 hex digits).", max_length=32)
]
OtherRunId = Annotated[
    str,
    PathParameter(
        pattern=HEX_ID, description="The run to compare against (32 hex digits).", max_length=32
    ),
]
ScenarioId = Annotated[
    str, PathParameter(pattern=HEX_ID, description="Scenario id (32 hex digits).", max_length=32)
]
AreaCode = Annotated[
    str,
    PathParameter(pattern=AREA_CODE, description="ONS area code, e.g. E09000007.", max_length=9),
]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size.")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Rows to skip.")]
ScenarioFilter = Annotated[
    str | None,
    QueryParameter(pattern=HEX_ID, description="Only runs of this scenario.", max_length=32),
]
Format = Annotated[
    Literal["json", "csv"] | None,
    QueryParameter(
        description="json or csv; without it the Accept header decides (JSON by default)."
    ),
]
TableName = Annotated[
    Literal[
        "targets",
        "need",
        "allocations",
        "coverage",
        "pots",
        "commitments",
        "grants",
        "bids",
        "explanations",
        "cost_to_benchmark",
        "marginal",
        "binding",
    ],
    PathParameter(description="Result table (the tables of commissioning.results)."),
]
