"""Runs: start (202, solved in a worker process), poll, results, compare, publish."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from commissioning.api.controllers.table_params import (
    TABLE_QUERY,
    next_link,
    next_offset_link,
    page_headers,
)
from commissioning.api.http_cache import IMMUTABLE
from commissioning.api.openapi import (
    CSV,
    ApiOperation,
    JsonOrCsvOperation,
    error_responses,
    idempotent,
)
from commissioning.api.openapi_bodies import body_operation
from commissioning.api.run_queues import RunQueueLike
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
from commissioning.api.schemas_lifecycle import ReasonIn
from commissioning.api.services import lifecycle, runs, tables
from commissioning.api.services.access import Principal
from commissioning.api.services.tables import TableQuery
from commissioning.api.table_cache import TableCache, table_key
from commissioning.api.table_rows import ResultTable, ResultTableOperation
from commissioning.outputs import csv_text
from commissioning.results import TABLE_SCHEMAS
from commissioning.store import RunRecord, Store

ReasonOperation = body_operation(ReasonIn, required=False)  # publish's optional reason


def _wants_csv(request: Request[Any, Any, Any], format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    return request.accept.best_match(["application/json", CSV], default="application/json") == CSV


def _csv(
    frame: pl.DataFrame, filename: str, headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        csv_text(frame),
        media_type="text/csv",  # Litestar appends "; charset=utf-8" to text/* types
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})},
    )


def table_response(
    request: Request[Any, Any, Any],
    format: str | None,
    run: RunRecord,
    table: str,
    principal: Principal,
    frame: pl.DataFrame,
    query: TableQuery,
    columns_by_table: Mapping[str, Sequence[str]],
) -> Response[Any]:
    """A page of one table (filters, limit, cursor: commissioning.api.services.tables) as JSON
    (TableOut, with total and next), or CSV when asked (`?format=csv` or `Accept: text/csv`)
    with X-Total-Count and a Link rel="next" header."""
    found = tables.page(principal, run.id, table, frame, query, columns_by_table)
    link = next_link(request, found.next_cursor)
    if _wants_csv(request, format):
        kind = "run" if run.kind == "solve" else run.kind  # solve runs keep their file names
        filename = f"{kind}-{run.id[:8]}-{table}.csv"
        return _csv(found.rows, filename, page_headers(found.total, link))
    return Response(
        TableOut(
            run_id=run.id,
            table=table,
            area_code=principal.borough,
            columns=found.rows.columns,
            rows=found.rows.to_dicts(),
            total=found.total,
            next=link,
        )
    )


RESULT_COLUMNS = {name: schema.names() for name, schema in TABLE_SCHEMAS.items()}


def _show_summary(principal: Principal) -> bool:
    return principal.borough is None


class RunController(Controller):
    path = "/runs"
    tags = ("runs",)

    @post(
        "/",
        summary="Start a run",
        operation_class=idempotent(ApiOperation),
        status_code=HTTP_202_ACCEPTED,
        opt=roles("commissioner"),
        responses=error_responses(400, 404, 409, 413, 415, 422, 429),
    )
    async def start_run(
        self,
        data: JSONBody[StartRun],
        run_queue: NamedDependency[RunQueueLike],
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
        request: Request[Any, Any, Any],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
        scenario_id: ScenarioFilter = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> RunList:
        """Runs, newest first: all for commissioners, published ones for others. Roles: all.

        `total` counts the runs matching the filters; `next` links to the next page (the same
        filters, `offset` moved on by `limit`), null on the last page.
        """
        found = runs.list_runs(store, principal, scenario_id, limit, offset)
        total = runs.count_runs(store, principal, scenario_id)
        link = next_offset_link(request, offset, limit, total)
        return RunList(
            runs=[RunOut.of(r, _show_summary(principal)) for r in found], total=total, next=link
        )

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

        `progress` says how far it has got: the stage (queued, starting, funding rounds,
        fairness, cost, explaining, marginal value, writing files, finished) and stages done of
        all, recorded by the worker process as the solve goes.

        Roles: all; drafts (unpublished runs) are commissioners' only.
        """
        return RunOut.of(runs.get_run(store, principal, run_id), _show_summary(principal))

    @get(
        "/{run_id:str}/results",
        summary="Get a run's results",
        cache_control=IMMUTABLE,
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
        summary="Get one result table (JSON or CSV), filtered and paged",
        cache_control=IMMUTABLE,
        opt=roles(),
        operation_class=ResultTableOperation,
        dependencies=TABLE_QUERY,
        responses={
            200: ResponseSpec(
                ResultTable,
                description="The table (or a page of it) with typed rows, by `table`; or CSV "
                "with X-Total-Count and Link rel=next headers.",
                generate_examples=False,
            ),
            **error_responses(400, 404, 409),
        },
    )
    async def get_table(
        self,
        request: Request[Any, Any, Any],
        run_id: RunId,
        table: TableName,
        table_query: NamedDependency[TableQuery],
        format: Format = None,
    ) -> Response[Any]:
        """One result table as JSON, or CSV with `?format=csv` or `Accept: text/csv`.

        Filters `area_code`, `service`, `year`, `pot` (repeat one for several values; a filter
        on a column the table lacks is a 400 naming the tables that have it); `limit` rows a
        page (default: every row) and `cursor` from the previous page's `next`. Rows come in
        the table's key order (the CSV files' order); money columns are integer pence. JSON
        carries `total` and `next`; CSV carries X-Total-Count and Link rel="next".

        Roles: all; drafts are commissioners' only; a borough lead gets its own rows and may
        not read London-wide tables (pots, bids: 403), nor filter on another borough (403).
        """
        # The integrations' hot path: store and caller come from the app and the key guard
        # rather than as injected dependencies (Litestar resolves several in a task group, a
        # large share of a cached answer's cost), and a cached answer needs no thread.
        store: Store = request.app.state.store
        principal: Principal = request.state.principal
        cache: TableCache = request.app.state.table_cache
        # Who may see the run is checked on every request; only the body is cached (a
        # succeeded run's tables never change), keyed by every query parameter and the scope.
        # The check is one indexed row on this thread's kept connection (tens of µs; WAL
        # readers wait for no writer), cheaper than handing it to a worker thread and back.
        run = runs.get_run(store, principal, run_id)
        key = None
        if run.status == "succeeded":
            representation = "csv" if _wants_csv(request, format) else "json"
            key = table_key(request, run.id, table, principal.borough, representation)
            if (cached := cache.get(key)) is not None:
                return cached.response()

        def build() -> Response[Any]:
            found, frame = runs.result_table(store, principal, run_id, table)
            return table_response(
                request, format, found, table, principal, frame, table_query, RESULT_COLUMNS
            )

        return await anyio.to_thread.run_sync(cache.respond, request, key, build)

    @get(
        "/{run_id:str}/scorecard",
        summary="Get a run's scorecard",
        cache_control=IMMUTABLE,
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
        cache_control=IMMUTABLE,
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
        cache_control=IMMUTABLE,
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
        operation_class=idempotent(ReasonOperation),
        status_code=200,
        sync_to_thread=True,
        opt=roles("commissioner"),
        responses=error_responses(400, 404, 409, 415, 422),
    )
    def publish(
        self,
        run_id: RunId,
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
        data: JSONBody[ReasonIn | None] = None,
    ) -> RunOut:
        """Publish a succeeded run to finance and borough leads. Optional body
        `{"reason": ...}`, kept in the audit log. Roles: commissioner."""
        reason = data.reason if data is not None else None
        return RunOut.of(lifecycle.publish(store, principal, run_id, reason))
