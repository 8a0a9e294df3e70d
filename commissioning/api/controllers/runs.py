"""Runs: start (202, solved in a worker process), poll, results, compare, publish."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import polars as pl
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from commissioning.api.auth import roles
from commissioning.api.controllers.params import (
    Format,
    Limit,
    Offset,
    OtherRunId,
    RunId,
    ScenarioFilter,
    TableName,
)
from commissioning.api.openapi import CSV, ApiOperation, JsonOrCsvOperation, error_responses
from commissioning.api.queue import RunQueue
from commissioning.api.schemas import (
    Comparison,
    RunList,
    RunOut,
    RunResults,
    RunScorecard,
    RunTiming,
    StartRun,
    TableOut,
)
from commissioning.api.services import runs
from commissioning.api.services.access import Principal
from commissioning.api.table_cache import TableCache, table_key
from commissioning.outputs import csv_text
from commissioning.store import RunRecord, Store


def _wants_csv(request: Request[Any, Any, Any], format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    return request.accept.best_match(["application/json", CSV], default="application/json") == CSV


def _csv(frame: pl.DataFrame, filename: str) -> Response[str]:
    return Response(
        csv_text(frame),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def table_response(
    request: Request[Any, Any, Any],
    format: str | None,
    run: RunRecord,
    table: str,
    principal: Principal,
    frame: pl.DataFrame,
) -> Response[Any]:
    """One table as JSON (TableOut), or CSV when asked (`?format=csv` or `Accept: text/csv`)."""
    if _wants_csv(request, format):
        kind = "run" if run.kind == "solve" else run.kind  # solve runs keep their file names
        return _csv(frame, f"{kind}-{run.id[:8]}-{table}.csv")
    return Response(
        TableOut(
            run_id=run.id,
            table=table,
            area_code=principal.borough,
            columns=frame.columns,
            rows=frame.to_dicts(),
        )
    )


def _show_summary(principal: Principal) -> bool:
    return principal.borough is None


class RunController(Controller):
    path = "/runs"
    tags = ("runs",)

    @post(
        "/",
        summary="Start a run",
        operation_class=ApiOperation,
        status_code=HTTP_202_ACCEPTED,
        opt=roles("commissioner"),
        responses=error_responses(400, 404, 413, 415, 429),
    )
    async def start_run(
        self,
        data: JSONBody[StartRun],
        run_queue: NamedDependency[RunQueue],
        principal: NamedDependency[Principal],
    ) -> Response[RunOut]:
        """Start solving a stored scenario. Roles: commissioner.

        Answers 202 at once with the queued run; poll `GET /api/v1/runs/{run_id}`. When every
        worker is busy and the queue is full, answers 429 with a Retry-After header.
        """
        run = await run_queue.start(principal, data.scenario_id)
        return Response(
            RunOut.of(run),
            status_code=HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/runs/{run.id}"},
        )

    @get(
        "/",
        summary="List runs",
        operation_class=ApiOperation,
        sync_to_thread=True,
        opt=roles(),
        responses=error_responses(400),
    )
    def list_runs(
        self,
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
        scenario_id: ScenarioFilter = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> RunList:
        """Runs, newest first: all for commissioners, published ones for others. Roles: all."""
        found = runs.list_runs(store, principal, scenario_id, limit, offset)
        return RunList(runs=[RunOut.of(r, _show_summary(principal)) for r in found])

    @get(
        "/{run_id:str}",
        summary="Get a run's status",
        operation_class=ApiOperation,
        sync_to_thread=True,
        opt=roles(),
        responses=error_responses(400, 404),
    )
    def get_run(
        self, run_id: RunId, store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> RunOut:
        """A run's status: queued, running, succeeded, failed or infeasible (with the reason).

        Roles: all; drafts (unpublished runs) are commissioners' only.
        """
        return RunOut.of(runs.get_run(store, principal, run_id), _show_summary(principal))

    @get(
        "/{run_id:str}/results",
        summary="Get a run's results",
        operation_class=ApiOperation,
        sync_to_thread=True,
        opt=roles(),
        responses=error_responses(400, 404, 409),
    )
    def get_results(
        self, run_id: RunId, store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> RunResults:
        """Every result table as JSON rows. Roles: all; drafts are commissioners' only.

        A borough lead gets only its own borough's rows, and no London-wide tables (pots, bids).
        """
        scoped = runs.results(store, principal, run_id)
        return RunResults(
            run=RunOut.of(scoped.run, _show_summary(principal)),
            area_code=scoped.area_code,
            tables={name: frame.to_dicts() for name, frame in scoped.tables.items()},
            hidden_tables=scoped.hidden,
        )

    @get(
        "/{run_id:str}/results/{table:str}",
        summary="Get one result table (JSON or CSV)",
        opt=roles(),
        operation_class=JsonOrCsvOperation,
        responses={
            200: ResponseSpec(
                TableOut, description="The table as JSON, or CSV.", generate_examples=False
            ),
            **error_responses(400, 404, 409),
        },
    )
    async def get_table(
        self,
        request: Request[Any, Any, Any],
        run_id: RunId,
        table: TableName,
        format: Format = None,
    ) -> Response[Any]:
        """One result table as JSON, or CSV with `?format=csv` or `Accept: text/csv`.

        Roles: all; drafts are commissioners' only; a borough lead gets its own rows and may
        not read London-wide tables (pots, bids: 403).
        """
        # The integrations' hot path, so store and principal are taken from the app and the
        # guard rather than injected (Litestar resolves two dependencies in a task group, a
        # large share of a cached answer's cost).
        store: Store = request.app.state.store
        principal: Principal = request.state.principal
        cache: TableCache = request.app.state.table_cache
        # Who may see the run is checked on every request; only the body is cached (a
        # succeeded run's tables never change).
        run = await anyio.to_thread.run_sync(runs.get_run, store, principal, run_id)
        key = None
        if run.status == "succeeded":
            representation = "csv" if _wants_csv(request, format) else "json"
            key = table_key(request, run.id, table, principal.borough, representation)
            if (cached := cache.get(key)) is not None:
                return cached.response()

        def build() -> Response[Any]:
            found, frame = runs.result_table(store, principal, run_id, table)
            return table_response(request, format, found, table, principal, frame)

        return await anyio.to_thread.run_sync(cache.respond, request, key, build)

    @get(
        "/{run_id:str}/scorecard",
        summary="Get a run's scorecard",
        operation_class=ApiOperation,
        sync_to_thread=True,
        opt=roles(),
        responses=error_responses(400, 404, 409),
    )
    def get_scorecard(
        self, run_id: RunId, store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> RunScorecard:
        """Lowest coverage, cells and boroughs below benchmark, £ short, spread, unspent money.

        The same definitions whatever the fairness rule (commissioning.analysis.scorecard).
        Roles: all; drafts are commissioners' only; London-wide, so borough leads get 403, as
        the summary is withheld from them.
        """
        run, card = runs.run_scorecard(store, principal, run_id)
        return RunScorecard(run_id=run.id, scorecard=card)

    @get(
        "/{run_id:str}/timing",
        summary="Get where a run's solve spent its time",
        operation_class=ApiOperation,
        sync_to_thread=True,
        opt=roles(),
        responses=error_responses(400, 404, 409),
    )
    def get_timing(
        self, run_id: RunId, store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> RunTiming:
        """Seconds per step of the solve (the fairness search included), time building models
        and time inside HiGHS: the run's timing.json. Roles: all; drafts are commissioners'
        only.
        """
        run, timing = runs.run_timing(store, principal, run_id)
        known = {name for name in RunTiming.model_fields if name != "run_id"}
        return RunTiming(run_id=run.id, **{k: v for k, v in timing.items() if k in known})

    @get(
        "/{run_id:str}/compare/{other_run_id:str}",
        summary="Compare two runs",
        sync_to_thread=True,
        opt=roles(),
        operation_class=JsonOrCsvOperation,
        responses={
            200: ResponseSpec(
                Comparison, description="The differences as JSON, or CSV.", generate_examples=False
            ),
            **error_responses(400, 404, 409),
        },
    )
    def compare(
        self,
        request: Request[Any, Any, Any],
        run_id: RunId,
        other_run_id: OtherRunId,
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
        format: Format = None,
    ) -> Response[Any]:
        """Everything that changed (other − base), exact to the penny: the two scorecards side by
        side; per year × area × service the change in units, coverage and money; boroughs that
        cross the benchmark either way; money by pot; formula grants; bids selected in one run
        only; totals. CSV: the year × area × service rows.

        Roles: all; both runs must be visible to the caller; a borough lead sees its own rows
        (and no London-wide section: scorecards, pots and bids are null).
        """
        result = runs.compare_runs(store, principal, run_id, other_run_id)
        if _wants_csv(request, format):
            return _csv(result.rows, f"compare-{run_id[:8]}-{other_run_id[:8]}.csv")
        return Response(
            Comparison(
                base_run_id=result.base.id,
                other_run_id=result.other.id,
                **dict(result.content),
            )
        )

    @post(
        "/{run_id:str}/publish",
        summary="Publish a run",
        operation_class=ApiOperation,
        status_code=200,
        sync_to_thread=True,
        opt=roles("commissioner"),
        responses=error_responses(400, 404, 409),
    )
    def publish(
        self, run_id: RunId, store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> RunOut:
        """Publish a succeeded run to finance and borough leads. Roles: commissioner."""
        return RunOut.of(runs.publish_run(store, principal, run_id))
