"""Request and response bodies of the API (pydantic models, so the OpenAPI spec shows the rules)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from commissioning.analysis import Scorecard
from commissioning.store import RunRecord, StoredScenario
from commissioning.store.interface import RunStatus

HEX_ID = r"^[0-9a-f]{32}$"
AREA_CODE = r"^[EWSN][0-9]{8}$"  # ASCII digits only, as ONS codes are

Row = Annotated[
    dict[str, Any],
    Field(description="One table row: column name to a string, number, boolean or null."),
]


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class FieldError(Out):
    field: str = Field(description="Where the problem is: a dotted field path, or a parameter.")
    message: str


class ErrorBody(Out):
    """Every error the API returns has this shape."""

    status_code: int
    detail: str
    errors: list[FieldError] = Field(default_factory=list)


# -- reference data -------------------------------------------------------------------------


class AreaOut(Out):
    code: str
    name: str
    group: str | None
    indicators: dict[str, float]


class ServiceOut(Out):
    id: str
    name: str
    unit: str
    unit_cost_pence: int
    granularity: str = Field(description="Smallest purchasable amount, as a decimal string.")
    cost_source: str
    cost_is_assumption: bool


class BenchmarkOut(Out):
    service: str
    units: str = Field(description="Units of the service per `per` people (decimal string).")
    per: int
    basis: str
    source: str
    edition: str


class ReferenceAreas(Out):
    source: str = Field(description="Name of the reference scenario the data comes from.")
    areas: list[AreaOut]


class ReferenceServices(Out):
    source: str
    services: list[ServiceOut]


class ReferenceBenchmarks(Out):
    source: str
    benchmarks: list[BenchmarkOut]


# -- scenarios ------------------------------------------------------------------------------


class ScenarioOut(Out):
    id: str
    name: str
    content_hash: str
    created_at: str
    financial_years: list[str]
    areas: int
    services: int

    @classmethod
    def of(cls, stored: StoredScenario, body: dict[str, Any]) -> ScenarioOut:
        return cls(
            id=stored.id,
            name=stored.name,
            content_hash=stored.content_hash,
            created_at=stored.created_at,
            financial_years=list(body.get("financial_years", [])),
            areas=len(body.get("areas", [])),
            services=len(body.get("services", [])),
        )


class ScenarioCreated(ScenarioOut):
    warnings: list[str] = Field(
        default_factory=list,
        description="Allowed but probably mistakes, each naming its field (e.g. a benchmark "
        "per fewer than 1,000 people).",
    )


class ScenarioDetail(ScenarioOut):
    scenario: dict[str, Any] = Field(description="The scenario as stored (areas inline).")


class ScenarioList(Out):
    scenarios: list[ScenarioOut]


# -- runs -----------------------------------------------------------------------------------


class StartRun(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    scenario_id: Annotated[str, StringConstraints(pattern=HEX_ID, min_length=32, max_length=32)] = (
        Field(description="Id of a stored scenario (32 hex digits).")
    )


class RunOut(Out):
    id: str
    scenario_id: str
    scenario_name: str
    status: RunStatus
    reason: str | None = Field(description="Why a run failed or is infeasible, in plain words.")
    created_at: str
    started_at: str | None
    finished_at: str | None
    published: bool
    published_at: str | None
    summary: dict[str, Any] | None = Field(
        description="The run's summary; withheld from borough leads (it is London-wide)."
    )

    @classmethod
    def of(cls, run: RunRecord, show_summary: bool = True) -> RunOut:
        return cls(
            id=run.id,
            scenario_id=run.scenario_id,
            scenario_name=run.scenario_name,
            status=run.status,
            reason=run.reason,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            published=run.published,
            published_at=run.published_at,
            summary=run.summary if show_summary else None,
        )


class RunList(Out):
    runs: list[RunOut]


class RunResults(Out):
    run: RunOut
    area_code: str | None = Field(description="The borough the rows are limited to, if any.")
    tables: dict[str, list[Row]]
    hidden_tables: list[str] = Field(
        description="Tables withheld from this caller (London-wide tables for borough leads)."
    )


class TableOut(Out):
    run_id: str
    table: str
    area_code: str | None
    columns: list[str]
    rows: list[Row]


class RunScorecard(Out):
    """The run's scorecard: the same measures and definitions whatever the fairness rule."""

    run_id: str
    scorecard: Scorecard


class CellExplanationOut(Out):
    year: str
    service: str
    reason_code: str | None = Field(
        description="The reason's code (commissioning.optimise.reasons.ReasonCode); null for a "
        "run written before codes existed."
    )
    coverage_ratio: float | None
    shortfall_units: float
    shortfall_pence: int | None = Field(
        description="Granules short × granule cost: what reaching benchmark costs, in pence."
    )
    reason: str


class BoroughExplanationOut(Out):
    """One borough's paragraph per year, and the reason for each of its cells below benchmark."""

    run_id: str
    area_code: str
    area_name: str
    paragraphs: dict[str, str] = Field(description="Financial year to the borough's paragraph.")
    below_benchmark: list[CellExplanationOut]


class CompareRow(Out):
    year: str
    area_code: str
    area_name: str | None
    service: str
    base_funded_units: float | None
    other_funded_units: float | None
    diff_funded_units: float
    base_funded_cost_pence: int | None
    other_funded_cost_pence: int | None
    diff_funded_cost_pence: int
    base_coverage_ratio: float | None
    other_coverage_ratio: float | None
    diff_coverage_ratio: float | None


class CompareTotals(Out):
    base_funded_cost_pence: int
    other_funded_cost_pence: int
    diff_funded_cost_pence: int


class Comparison(Out):
    base_run_id: str
    other_run_id: str
    area_code: str | None
    rows: list[CompareRow] = Field(description="One row per year × area × service (other − base).")
    totals: CompareTotals


ResultFormat = Literal["json", "csv"]
