"""Run pages: the list, one run (progress, scorecard, map, bars, cost to benchmark, downloads),
a borough's drill-down, publishing and the downloads themselves. Every figure comes through the
API's services with the signed-in principal, so a borough lead gets only its own rows."""

from __future__ import annotations

import re
from typing import Any

import anyio.to_thread
import polars as pl
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Response, Template

from commissioning.api.services import explanations, exports, lifecycle, runs
from commissioning.api.services.access import NotFound, Principal
from commissioning.api.services.progress import run_progress
from commissioning.outputs import csv_text
from commissioning.results import TABLE_SCHEMAS
from commissioning.store import Store
from commissioning.web.context import principal_or_fail, store_of
from commissioning.web.figures import money, number, percent
from commissioning.web.names import ScenarioNames
from commissioning.web.render import page, see_other
from commissioning.web.run_view import comparable_runs, run_page
from commissioning.web.svg import BANDS, coverage_bars, tile_map

AREA_CODE = re.compile(r"^[EWSN][0-9]{8}$")
HELPERS: dict[str, Any] = {"money": money, "percent": percent, "number": number, "bands": BANDS}


@get("/", sync_to_thread=False)
def home(request: Request[Any, Any, Any]) -> Redirect:
    principal = principal_or_fail(request)
    return Redirect("/scenarios" if principal.is_commissioner else "/runs")


@get("/runs", sync_to_thread=True)
def run_list(request: Request[Any, Any, Any]) -> Template:
    found = runs.list_runs(store_of(request), principal_or_fail(request), limit=100)
    return page(request, "runs.html", found=found, nav="runs")


def _run_context(
    store: Store, principal: Principal, run_id: FromPath[str], service: str | None, year: str | None
) -> dict[str, Any]:
    p = run_page(store, principal, run_id, service, year)
    context: dict[str, Any] = {"p": p, "nav": "runs", **HELPERS}
    if p.run.status == "succeeded":
        name = dict(p.services).get(p.service, p.service)
        title = f"Coverage of benchmark by borough: {name}, {p.year}"
        context["service_name"] = name
        context["tile_map"] = tile_map(p.figures, title)
        context["bars"] = coverage_bars(p.figures, title)
        context["others"] = comparable_runs(p.run, store, principal)
    return context


@get("/runs/{run_id:str}", sync_to_thread=True)
def run_detail(
    request: Request[Any, Any, Any],
    run_id: FromPath[str],
    service: FromQuery[str | None] = None,
    year: FromQuery[str | None] = None,
) -> Response[Any]:
    store, principal = store_of(request), principal_or_fail(request)
    run = runs.get_run(store, principal, run_id)
    if run.kind != "solve":
        return Redirect(f"/sweeps/{run.id}")
    return page(request, "run.html", **_run_context(store, principal, run_id, service, year))


@get("/runs/{run_id:str}/progress", sync_to_thread=True)
def run_progress_fragment(request: Request[Any, Any, Any], run_id: FromPath[str]) -> Response[Any]:
    """Polled by the run page every second; once the run has finished the page reloads."""
    run = runs.get_run(store_of(request), principal_or_fail(request), run_id)
    finished = run.status not in ("queued", "running")
    return page(
        request,
        "_progress.html",
        headers={"HX-Refresh": "true"} if finished else None,
        run=run,
        progress=run_progress(run),
        finished=finished,
    )


@get("/runs/{run_id:str}/boroughs/{area_code:str}", sync_to_thread=True)
def borough_detail(
    request: Request[Any, Any, Any], run_id: FromPath[str], area_code: FromPath[str]
) -> Template:
    store, principal = store_of(request), principal_or_fail(request)
    run, explanation = explanations.borough_explanation(store, principal, run_id, area_code)
    _, coverage = runs.result_table(store, principal, run_id, "coverage")
    rows = coverage.filter(pl.col("area_code") == area_code).to_dicts()
    names = ScenarioNames.of(runs.load_result(store, run).scenario)
    return page(
        request,
        "borough.html",
        run=run,
        e=explanation,
        rows=rows,
        names=names,
        nav="runs",
        **HELPERS,
    )


@post("/runs/{run_id:str}/publish")
async def publish(request: Request[Any, Any, Any], run_id: FromPath[str]) -> Redirect:
    store, principal = store_of(request), principal_or_fail(request)
    await anyio.to_thread.run_sync(
        lifecycle.publish, store, principal, run_id, "published from the web workspace"
    )
    return see_other(f"/runs/{run_id}")


def _file(workbook: exports.Workbook) -> File:
    return File(workbook.path, filename=workbook.filename, media_type=workbook.media_type)


@get("/runs/{run_id:str}/workbooks/{name:str}", sync_to_thread=True)
def workbook(request: Request[Any, Any, Any], run_id: FromPath[str], name: FromPath[str]) -> File:
    """london.xlsx, or a borough's (E09000007.xlsx); the services check the caller's scope."""
    store, principal = store_of(request), principal_or_fail(request)
    stem = name.removesuffix(".xlsx")
    if stem == name:
        raise NotFound(f"no workbook {name!r}: ask for london.xlsx or CODE.xlsx", field="name")
    if stem == "london":
        return _file(exports.london_workbook(store, principal, run_id))
    if not AREA_CODE.match(stem):
        raise NotFound(f"{stem!r} is not an ONS area code like E09000007", field="area_code")
    return _file(exports.borough_workbook(store, principal, run_id, stem))


@get("/runs/{run_id:str}/workbook", sync_to_thread=True)
def choose_workbook(
    request: Request[Any, Any, Any], run_id: FromPath[str], area: FromQuery[str]
) -> Redirect:
    """The borough workbook form (a select of boroughs) lands here; the file's own address
    checks the caller's scope."""
    runs.get_run(store_of(request), principal_or_fail(request), run_id)
    if not AREA_CODE.match(area):
        raise NotFound(f"{area!r} is not an ONS area code like E09000007", field="area")
    return Redirect(f"/runs/{run_id}/workbooks/{area}.xlsx")


@get("/runs/{run_id:str}/tables/{name:str}", sync_to_thread=True)
def table_csv(
    request: Request[Any, Any, Any], run_id: FromPath[str], name: FromPath[str]
) -> Response[str]:
    table = name.removesuffix(".csv")
    if table not in TABLE_SCHEMAS or table == name:
        raise NotFound(f"no table {name!r}; tables are {', '.join(TABLE_SCHEMAS)} (.csv)", "table")
    run, frame = runs.result_table(store_of(request), principal_or_fail(request), run_id, table)
    return Response(
        csv_text(frame),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="run-{run.id[:8]}-{table}.csv"'},
    )


HANDLERS = [
    home,
    run_list,
    run_detail,
    run_progress_fragment,
    borough_detail,
    publish,
    workbook,
    choose_workbook,
    table_csv,
]
