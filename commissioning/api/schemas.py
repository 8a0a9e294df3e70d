"""Request and response bodies of the API (pydantic models, so the OpenAPI spec shows the rules)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from commissioning.analysis import Scorecard
from commissioning.analysis.compare import RunComparison
from commissioning.api.services.progress import run_progress
from commissioning.store import RunRecord, StoredScenario
from commissioning.store.interface import RunKind, RunStatus

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


class ProblemDetails(Out):
    """Every error the API returns: RFC 9457 problem details (application/problem+json)."""

    type: str = Field(
        description="The kind of problem: a stable relative URI such as /problems/invalid-input "
        "(the list is in the API's description), or about:blank."
    )
    title: str = Field(description="Short summary of the problem type; the same every time.")
    status: int = Field(ge=100, le=599, description="The HTTP status code of this response.")
    detail: str = Field(description="What went wrong this time, in plain words.")
    instance: str = Field(description="The path of the request that failed.")
    errors: list[FieldError] = Field(
        default_factory=list,
        description="One entry per field or parameter at fault; empty when none is.",
    )


ErrorBody = ProblemDetails  # the name before errors became problem details (older imports)


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
    total: int | None = Field(None, description="Stored scenarios over every page.")
    next: str | None = Field(
        None, description="Relative link to the next page (same filters); null on the last."
    )


# -- runs -----------------------------------------------------------------------------------


class StartRun(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    scenario_id: Annotated[str, StringConstraints(pattern=HEX_ID, min_length=32, max_length=32)] = (
        Field(description="Id of a stored scenario (32 hex digits).")
    )


class ProgressOut(Out):
    """How far a run has got. A solve's stages, in order: starting (its worker loads the
    solver), funding rounds, fairness, cost, explaining, marginal value, writing files; a
    sweep's or uncertainty run's: solving, writing files."""

    stage: str = Field(
        description="queued; the stage being worked on; finished (succeeded). A run that "
        "failed or was stopped shows the stage it stopped in."
    )
    steps_done: int = Field(ge=0, description="Stages completed (all of them once succeeded).")
    steps_total: int = Field(ge=1, description="Stages in all for this kind of run.")


class RunOut(Out):
    id: str
    kind: RunKind = Field(
        "solve", description="solve, or an analysis: sweep or uncertainty (/api/v1/analyses)."
    )
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
    progress: ProgressOut = Field(description="Stage reached, and stages done of stages in all.")

    @classmethod
    def of(cls, run: RunRecord, show_summary: bool = True) -> RunOut:
        return cls(
            id=run.id,
            kind=run.kind,
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
            progress=ProgressOut(**vars(run_progress(run))),
        )


class RunList(Out):
    runs: list[RunOut]
    total: int | None = Field(None, description="Runs matching the filters, over every page.")
    next: str | None = Field(
        None, description="Relative link to the next page (same filters); null on the last."
    )


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
    area_code: str | None = Field(description="The borough the rows are limited to, if any.")
    columns: list[str]
    rows: list[Row]
    total: int = Field(description="Rows matching the filters, over every page.")
    next: str | None = Field(
        description="Relative link to the next page (same filters, next cursor); null on the "
        "last page."
    )


class RunScorecard(Out):
    """The run's scorecard: the same measures and definitions whatever the fairness rule."""

    run_id: str
    scorecard: Scorecard


class RunTiming(Out):
    """Where the run's solve spent its time (wall-clock seconds; they differ run to run)."""

    run_id: str
    wall_time_seconds: float | None = Field(None, description="The whole solve.")
    step_seconds: dict[str, float] | None = Field(
        None,
        description="Every step of the solve in the order reached (funding rounds, allocation "
        "data, models and fairness cells, the check that some allocation exists, fairness, "
        "stability, cost, split by pot, reasons, tables, cost to benchmark, binding rules) and "
        "`other`; they add up to wall_time_seconds. Null for a run written before steps "
        "were timed.",
    )
    model_seconds: float | None = Field(
        None, description="Across the steps: building PuLP models and passing them to HiGHS."
    )
    solver_seconds: float | None = Field(None, description="Across the steps: inside HiGHS.")
    stage_seconds: dict[str, float] | None = Field(
        None, description="The optimisation stages alone (fairness, stability, cost)."
    )
    fairness_feasibility_checks: int | None = None
    fairness_mip_solves: int | None = None
    fairness_rounds: int | None = None


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


class Comparison(RunComparison):
    """Two runs compared (other − base): the same content `commissioning compare` prints and
    writes, from commissioning.analysis.compare; cut to the caller's borough for a borough
    lead, without the London-wide sections (scorecards, pots, bids: null)."""

    base_run_id: str
    other_run_id: str


ResultFormat = Literal["json", "csv"]


# -- analyses (sweeps and uncertainty runs) ---------------------------------------------------

HexId = Annotated[str, StringConstraints(pattern=HEX_ID, min_length=32, max_length=32)]


class SweepAxisIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    path: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="The figure to sweep, e.g. pots.mopac_direct or services.idva.unit_cost."
    )
    start: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(
        alias="from", description="First value: a percentage of the figure (50%) or a value."
    )
    stop: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(
        alias="to", description="Last value, in the same form as `from`."
    )
    steps: Annotated[int, Field(ge=1, le=1000)] = Field(description="Evenly spaced values.")


class SweepSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    axes: Annotated[list[SweepAxisIn], Field(min_length=1, max_length=2)] = Field(
        description="One axis (a curve) or two (a grid, the first outermost)."
    )
    knee: bool = Field(True, description="Find the knee points of one money axis exactly.")
    jobs: Annotated[int, Field(ge=1, le=64)] = Field(1, description="Worker processes.")


class UncertaintySettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    draws: Annotated[int, Field(ge=1, le=10_000)] = Field(500, description="Monte Carlo draws.")
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = Field(
        1, description="The same seed gives the same draws and the same files, byte for byte."
    )
    vary: Annotated[
        list[Annotated[str, StringConstraints(min_length=3, max_length=200)]],
        Field(min_length=1, max_length=20),
    ] = Field(description="Ranges as PATH=±N%, e.g. services.*.unit_cost=±10%.")
    budget_pot: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        None,
        description="A pot whose smallest budget keeping every borough at benchmark is found "
        "per draw (by bisection in pence; about 30 solves a draw).",
    )
    jobs: Annotated[int, Field(ge=1, le=64)] = Field(1, description="Worker processes.")


class StartAnalysis(BaseModel):
    """A sweep or an uncertainty run of a stored scenario, or of a scenario given inline."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["sweep", "uncertainty"]
    scenario_id: HexId | None = Field(None, description="Id of a stored scenario.")
    scenario: dict[str, Any] | None = Field(
        None, description="A scenario body (as POST /scenarios takes), stored first."
    )
    sweep: SweepSettingsIn | None = Field(None, description="For kind sweep.")
    uncertainty: UncertaintySettingsIn | None = Field(None, description="For kind uncertainty.")


class Progress(ProgressOut):
    done: int | None = Field(description="Solves done; null until begun.")
    total: int | None = Field(
        description="Solves in all (a sweep's knee search can add some); null until begun."
    )


class AnalysisOut(RunOut):
    settings: dict[str, Any] | None
    progress: Progress = Field(
        description="Stage reached and stages done of all, and solves done of the total."
    )
    tables: list[str] = Field(description="Tables of this kind of analysis (when succeeded).")
    files: list[str] = Field(description="Files to download (charts, CSV, JSON).")

    @classmethod
    def of_analysis(
        cls, run: RunRecord, tables: list[str], files: list[str], show_summary: bool = True
    ) -> AnalysisOut:
        base = RunOut.of(run, show_summary).model_dump()
        stages = base.pop("progress")
        progress = Progress(**stages, done=run.progress_done, total=run.progress_total)
        return cls(
            **base,
            settings=run.settings,
            progress=progress,
            tables=tables,
            files=files,
        )
