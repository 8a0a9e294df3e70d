"""Scenario pages: the list, one scenario with its budgets and runs, making a variant (checked
as you type), starting a run and starting a sweep. Commissioners only: the services refuse
everyone else (403)."""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from commissioning.api.run_queues import RunQueueLike
from commissioning.api.services import runs, scenarios
from commissioning.api.services.access import Principal
from commissioning.api.services.analyses import BadSettings
from commissioning.store import Store, StoredScenario
from commissioning.web import variant_form
from commissioning.web.context import principal_or_fail, store_of
from commissioning.web.figures import money
from commissioning.web.render import page, see_other

SWEEP_DEFAULTS = {"pot": "", "from": "60", "to": "110", "steps": "6"}


def _form_values(form: Any) -> dict[str, str]:
    return {k: str(v) for k, v in form.items() if k != "_csrf"}


def _scenario_context(
    store: Store, principal: Principal, scenario_id: str
) -> tuple[StoredScenario, dict[str, Any]]:
    stored = scenarios.get_scenario(store, principal, scenario_id)
    data: dict[str, Any] = json.loads(stored.body)
    years = list(data["financial_years"])
    pots = [
        {
            "id": pot["id"],
            "name": pot["name"],
            "amounts": {a["year"]: money(a["amount_pence"]) for a in pot["amounts"]},
        }
        for pot in data.get("pots", [])
    ]
    context = {
        "scenario": stored,
        "data": data,
        "years": years,
        "pots": pots,
        "groups": variant_form.groups(data),
        "runs": runs.list_runs(store, principal, scenario_id=scenario_id, limit=20),
        "sweep": {**SWEEP_DEFAULTS, "pot": pots[0]["id"] if pots else ""},
        "checked": None,
        "sweep_error": None,
        "nav": "scenarios",
    }
    return stored, context


@get("/scenarios", sync_to_thread=True)
def scenario_list(request: Request[Any, Any, Any]) -> Template:
    principal = principal_or_fail(request)
    found = scenarios.list_scenarios(store_of(request), principal)
    return page(request, "scenarios.html", scenarios=found, nav="scenarios")


@get("/scenarios/{scenario_id:str}", sync_to_thread=True)
def scenario_page(request: Request[Any, Any, Any], scenario_id: FromPath[str]) -> Template:
    _, context = _scenario_context(store_of(request), principal_or_fail(request), scenario_id)
    return page(request, "scenario.html", **context)


@post("/scenarios/{scenario_id:str}/check", status_code=200)
async def check_variant(request: Request[Any, Any, Any], scenario_id: FromPath[str]) -> Template:
    """As-you-type check (htmx): the summary, and each field's message swapped in by id."""
    principal = principal_or_fail(request)
    form = _form_values(await request.form())
    store = store_of(request)
    stored = await anyio.to_thread.run_sync(scenarios.get_scenario, store, principal, scenario_id)
    base = json.loads(stored.body)
    checked = await anyio.to_thread.run_sync(variant_form.check, base, form)
    return page(request, "_variant_check.html", checked=checked, groups=variant_form.groups(base))


@post("/scenarios/{scenario_id:str}/variants")
async def save_variant(
    request: Request[Any, Any, Any], scenario_id: FromPath[str]
) -> Response[Any]:
    principal = principal_or_fail(request)
    form = _form_values(await request.form())
    store = store_of(request)
    _, context = await anyio.to_thread.run_sync(_scenario_context, store, principal, scenario_id)
    checked = await anyio.to_thread.run_sync(variant_form.check, context["data"], form)
    if not checked.ok or checked.data is None:
        return page(request, "scenario.html", status_code=400, **{**context, "checked": checked})
    stored, _, _ = await anyio.to_thread.run_sync(
        scenarios.store_scenario, store, principal, checked.data
    )
    return see_other(f"/scenarios/{stored.id}")


@post("/scenarios/{scenario_id:str}/runs")
async def start_run(request: Request[Any, Any, Any], scenario_id: FromPath[str]) -> Redirect:
    principal = principal_or_fail(request)
    queue: RunQueueLike = request.app.state.run_queue
    run = await queue.start(principal, scenario_id)
    return see_other(f"/runs/{run.id}")


def _percent_setting(text: str, name: str) -> str:
    cleaned = text.strip().removesuffix("%").strip()
    if not cleaned.replace(".", "", 1).isdigit():
        raise BadSettings(f"{text.strip()!r} is not a percentage like 80", field=name)
    return f"{cleaned}%"


@post("/scenarios/{scenario_id:str}/sweeps")
async def start_sweep(request: Request[Any, Any, Any], scenario_id: FromPath[str]) -> Response[Any]:
    """A sweep of one pot from a percentage of today's budget to another (the API's analysis
    settings; the engine checks them against the scenario before anything is queued)."""
    principal = principal_or_fail(request)
    form = _form_values(await request.form())
    store = store_of(request)
    queue: RunQueueLike = request.app.state.run_queue
    try:
        steps_text = form.get("steps", "").strip()
        if not steps_text.isdigit() or not 2 <= int(steps_text) <= 41:
            raise BadSettings("steps must be a whole number from 2 to 41", field="steps")
        axis = {
            "path": f"pots.{form.get('pot', '')}",
            "from": _percent_setting(form.get("from", ""), "from"),
            "to": _percent_setting(form.get("to", ""), "to"),
            "steps": int(steps_text),
        }
        run = await queue.start(
            principal, scenario_id, "sweep", {"axes": [axis], "knee": True, "jobs": 1}
        )
    except BadSettings as exc:
        _, context = await anyio.to_thread.run_sync(
            _scenario_context, store, principal, scenario_id
        )
        context["sweep"] = {**context["sweep"], **form}
        context["sweep_error"] = f"{exc.field}: {exc.message}" if exc.field else exc.message
        return page(request, "scenario.html", status_code=400, **context)
    return see_other(f"/sweeps/{run.id}")


HANDLERS = [scenario_list, scenario_page, check_variant, save_variant, start_run, start_sweep]
