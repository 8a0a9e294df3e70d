"""Forms that change a run's or a scenario's life after it was made: unpublish (with a reason),
cancel a queued or running run, delete a draft run or a scenario. Commissioners only.

Each form calls the same service as the API's route (api/services/lifecycle.py), which checks
the role, records the step in the audit log with the signed-in key and the reason, and refuses
a step the run's state does not allow; the refusal is told here in people's words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from litestar import Request, post
from litestar.params import FromPath
from litestar.response import Redirect

from commissioning.api.run_queues import RunQueueLike
from commissioning.api.services import lifecycle, scenarios
from commissioning.api.services.access import Conflict, ServiceError, visible_run
from commissioning.web.context import principal_or_fail, store_of
from commissioning.web.render import see_other

REASON_FIELD = "reason"
MAX_REASON = 1000  # as the API's bodies allow (schemas_lifecycle.Reason)
T = TypeVar("T")


class BadReason(ServiceError):
    """A reason that is missing where one is needed, or too long (answered 400)."""


async def _reason(request: Request[Any, Any, Any], required: bool, why: str) -> str | None:
    form = await request.form()
    reason = str(form.get(REASON_FIELD, "")).strip()
    if not reason:
        if required:
            raise BadReason(f"give the reason {why}: it is kept in the audit log", REASON_FIELD)
        return None
    if len(reason) > MAX_REASON:
        raise BadReason(
            f"the reason is {len(reason):,} characters long; keep it to {MAX_REASON:,}",
            REASON_FIELD,
        )
    return reason


async def _in_words(call: Callable[[], T], refused: str) -> T:
    """Run a lifecycle service in a thread; a state that does not allow the step is told in
    people's words (the service's own message names the run by its id)."""
    try:
        return await anyio.to_thread.run_sync(call)
    except Conflict as exc:
        raise Conflict(refused, exc.field) from exc


@post("/runs/{run_id:str}/unpublish")
async def unpublish(request: Request[Any, Any, Any], run_id: FromPath[str]) -> Redirect:
    store, principal = store_of(request), principal_or_fail(request)
    reason = await _reason(request, True, "for withdrawing these figures")
    assert reason is not None
    await _in_words(
        lambda: lifecycle.unpublish(store, principal, run_id, reason),
        "this run is not published (it may have been withdrawn meanwhile)",
    )
    return see_other(f"/runs/{run_id}")


@post("/runs/{run_id:str}/cancel")
async def cancel(request: Request[Any, Any, Any], run_id: FromPath[str]) -> Redirect:
    """As the API does: the store marks the run cancelled, then this process's queue drops it
    or ends its worker."""
    store, principal = store_of(request), principal_or_fail(request)
    reason = await _reason(request, False, "")
    await _in_words(
        lambda: lifecycle.cancel(store, principal, run_id, reason),
        "this run has already finished, so there is nothing to cancel",
    )
    queue: RunQueueLike = request.app.state.run_queue
    queue.cancel(run_id)
    return see_other(f"/runs/{run_id}")


@post("/runs/{run_id:str}/delete")
async def delete_run(request: Request[Any, Any, Any], run_id: FromPath[str]) -> Redirect:
    store, principal = store_of(request), principal_or_fail(request)
    reason = await _reason(request, False, "")
    run = await anyio.to_thread.run_sync(visible_run, store, principal, run_id)
    await _in_words(
        lambda: lifecycle.delete_run(store, principal, run_id, reason),
        "only a finished draft run can be deleted: unpublish a published run, or cancel a "
        "queued or running one, first",
    )
    return see_other(f"/scenarios/{run.scenario_id}")


@post("/scenarios/{scenario_id:str}/delete")
async def delete_scenario(request: Request[Any, Any, Any], scenario_id: FromPath[str]) -> Redirect:
    store, principal = store_of(request), principal_or_fail(request)
    reason = await _reason(request, False, "")
    stored = await anyio.to_thread.run_sync(scenarios.get_scenario, store, principal, scenario_id)
    await _in_words(
        lambda: lifecycle.delete_scenario(store, principal, scenario_id, reason),
        f"“{stored.name}” has a run that is published, queued or running: unpublish or cancel "
        "it first, then delete the scenario",
    )
    return see_other("/scenarios")


HANDLERS = [unpublish, cancel, delete_run, delete_scenario]
