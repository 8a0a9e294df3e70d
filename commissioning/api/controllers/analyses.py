"""Analyses: start a sweep or uncertainty run (202, solved by the run workers), poll its
progress, read its tables (JSON or CSV) and download its files (charts, CSV, JSON)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody, PathParameter
from litestar.response import File
from litestar.status_codes import HTTP_202_ACCEPTED

from commissioning.api.auth import roles
from commissioning.api.controllers.params import Format, RunId
from commissioning.api.controllers.runs import _show_summary, table_response
from commissioning.api.controllers.table_params import TABLE_QUERY
from commissioning.api.http_cache import IMMUTABLE
from commissioning.api.openapi import ApiOperation, JsonOrCsvOperation, error_responses, idempotent
from commissioning.api.run_queues import RunQueueLike
from commissioning.api.schemas import AnalysisOut, StartAnalysis, TableOut
from commissioning.api.services import analyses, scenarios
from commissioning.api.services.access import Principal
from commissioning.api.services.analyses import BadSettings
from commissioning.api.services.tables import TableQuery
from commissioning.store import RunRecord, Store

AnalysisTable = Annotated[
    Literal["sweep", "uncertainty", "uncertainty_draws", "uncertainty_factors"],
    PathParameter(description="A table of the analysis (sweep: sweep; uncertainty: the rest)."),
]
AnalysisFile = Annotated[
    Literal[
        "sweep.csv",
        "sweep.json",
        "curve.svg",
        "curve.png",
        "uncertainty.csv",
        "uncertainty_draws.csv",
        "uncertainty_factors.csv",
        "uncertainty.json",
    ],
    PathParameter(description="A file the analysis wrote."),
]


def _table_columns(store: Store, run: RunRecord) -> dict[str, list[str]]:
    """The header of each table the analysis wrote (to say which tables a filter fits)."""
    found: dict[str, list[str]] = {}
    folder = store.finished_run_dir(run.id)
    for name, filename in analyses.TABLES.get(run.kind, {}).items():
        path = folder / filename
        if path.is_file():
            with path.open(encoding="utf-8") as text:
                found[name] = text.readline().strip().split(",")
    return found


def _out(run: RunRecord, principal: Principal) -> AnalysisOut:
    tables = list(analyses.TABLES.get(run.kind, {}))
    files = list(analyses.FILES.get(run.kind, {}))
    return AnalysisOut.of_analysis(run, tables, files, _show_summary(principal))


class AnalysisController(Controller):
    path = "/analyses"
    tags = ("analyses",)

    @post(
        "/",
        summary="Start a sweep or uncertainty run",
        operation_class=idempotent(ApiOperation),
        status_code=HTTP_202_ACCEPTED,
        opt=roles("commissioner"),
        responses=error_responses(400, 404, 409, 413, 415, 422, 429),
    )
    async def start_analysis(
        self,
        data: JSONBody[StartAnalysis],
        store: NamedDependency[Store],
        run_queue: NamedDependency[RunQueueLike],
        principal: NamedDependency[Principal],
    ) -> Response[AnalysisOut]:
        """Queue a sweep or an uncertainty run: a run like any other, solved by the run
        workers, published with `POST /api/v1/runs/{run_id}/publish`. Roles: commissioner.

        Give `scenario_id` (a stored scenario) or `scenario` (a body, stored first), and the
        settings of the kind (`sweep` or `uncertainty`). Settings are checked against the
        scenario before the run is queued: a path the scenario lacks is a 400 naming the
        setting. Answers 202; poll `GET /api/v1/analyses/{run_id}` for progress (solves done of
        the total). 429 with Retry-After when the queue is full.
        """
        settings_model = data.sweep if data.kind == "sweep" else data.uncertainty
        if settings_model is None:
            raise BadSettings(f"a {data.kind} run needs its settings", field=data.kind)
        other = data.uncertainty if data.kind == "sweep" else data.sweep
        if other is not None:
            wrong = "uncertainty" if data.kind == "sweep" else "sweep"
            raise BadSettings(f"a {data.kind} run takes no {wrong} settings", field=wrong)
        if (data.scenario_id is None) == (data.scenario is None):
            raise BadSettings("give scenario_id or scenario, not both", field="scenario_id")
        scenario_id = data.scenario_id
        if scenario_id is None:
            stored = await anyio.to_thread.run_sync(
                scenarios.create_scenario, store, principal, data.scenario
            )
            scenario_id = stored.id
        settings = settings_model.model_dump(by_alias=True, mode="json")
        run = await run_queue.start(principal, scenario_id, data.kind, settings)
        return Response(
            _out(run, principal),
            status_code=HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/analyses/{run.id}"},
        )

    @get(
        "/{run_id:str}",
        summary="Get an analysis's status and progress",
        operation_class=ApiOperation,
        sync_to_thread=True,
        opt=roles(),
        responses=error_responses(400, 404),
    )
    def get_analysis(
        self, run_id: RunId, store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> AnalysisOut:
        """Status (queued, running, succeeded, failed), progress as solves done of the total,
        settings, and the tables and files it has. Roles: all; drafts are commissioners' only.
        """
        return _out(analyses.visible_analysis(store, principal, run_id), principal)

    @get(
        "/{run_id:str}/tables/{table:str}",
        summary="Get an analysis table (JSON or CSV), filtered and paged",
        cache_control=IMMUTABLE,
        sync_to_thread=True,
        opt=roles(),
        operation_class=JsonOrCsvOperation,
        dependencies=TABLE_QUERY,
        responses={
            200: ResponseSpec(
                TableOut,
                description="The table (or a page of it) as JSON, or CSV with X-Total-Count and "
                "Link rel=next headers.",
                generate_examples=False,
            ),
            **error_responses(400, 404, 409),
        },
    )
    def get_table(
        self,
        request: Request[Any, Any, Any],
        run_id: RunId,
        table: AnalysisTable,
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
        table_query: NamedDependency[TableQuery],
        format: Format = None,
    ) -> Response[Any]:
        """sweep (a row per step), uncertainty (per year × borough × service), uncertainty_draws
        or uncertainty_factors, as JSON or CSV (`?format=csv` or `Accept: text/csv`). Values
        are the file's text, exactly as written.

        Filters `area_code`, `service`, `year`, `pot` where the table has the column (repeat
        one for several values), `limit` and `cursor` as for a run's result tables; rows in
        the file's order. Roles: all; drafts are commissioners' only; a borough lead gets its
        own rows of uncertainty and may not read the London-wide tables (403).
        """
        run, frame = analyses.analysis_table(store, principal, run_id, table)
        columns = _table_columns(store, run)
        return table_response(request, format, run, table, principal, frame, table_query, columns)

    @get(
        "/{run_id:str}/files/{name:str}",
        summary="Download a file of an analysis (chart, CSV or JSON)",
        cache_control=IMMUTABLE,
        sync_to_thread=True,
        opt=roles(),
        operation_class=ApiOperation,
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type="application/octet-stream",
                description="The file: SVG or PNG chart, CSV or JSON (its own media type).",
                generate_examples=False,
            ),
            **error_responses(400, 403, 404, 409),
        },
    )
    def get_file(
        self,
        run_id: RunId,
        name: AnalysisFile,
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> File:
        """A file exactly as the analysis wrote it (the same bytes as the CLI's `--out`).

        Roles: commissioners (drafts too) and finance (published); borough leads get 403 (the
        files are London-wide; their rows are in the tables).
        """
        run, path, media_type = analyses.analysis_file(store, principal, run_id, name)
        return File(
            path=path,
            filename=f"{run.kind}-{run.id[:8]}-{name}",
            media_type=media_type,
        )
