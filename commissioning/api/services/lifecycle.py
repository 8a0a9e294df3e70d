"""A run's and a scenario's life after creation: publish and unpublish, cancel, delete; each
step recorded in the audit log with the acting key and the reason given."""

from __future__ import annotations

from commissioning.api.services import audit
from commissioning.api.services.access import Conflict, NotFound, Principal, require, visible_run
from commissioning.api.services.runs import publish_run
from commissioning.store import RunRecord, Store
from commissioning.store.interface import UNFINISHED


def publish(store: Store, principal: Principal, run_id: str, reason: str | None) -> RunRecord:
    """Publish a succeeded run (audited the first time; publishing again changes nothing)."""
    before = visible_run(store, principal, run_id)
    published = publish_run(store, principal, run_id)
    if not before.published:
        audit.record(store, principal, "publish", "run", run_id, reason)
    return published


def unpublish(store: Store, principal: Principal, run_id: str, reason: str) -> RunRecord:
    """Withdraw a published run: it is a draft again, visible to commissioners only."""
    require(principal, "commissioner")
    run = visible_run(store, principal, run_id)
    if not run.published or not store.unpublish_run(run_id):
        raise Conflict(f"run {run_id} is not published", field="run_id")
    audit.record(store, principal, "unpublish", "run", run_id, reason)
    withdrawn = store.get_run(run_id)
    assert withdrawn is not None
    return withdrawn


def cancel(store: Store, principal: Principal, run_id: str, reason: str | None) -> RunRecord:
    """Mark a queued or running run cancelled (the caller then stops its worker)."""
    require(principal, "commissioner")
    run = visible_run(store, principal, run_id)
    if run.status not in UNFINISHED:
        raise Conflict(
            f"run {run_id} has already finished ({run.status}); only a queued or running run "
            "can be cancelled",
            field="run_id",
        )
    why = f"cancelled: {reason}" if reason else "cancelled by a commissioner"
    cancelled = store.cancel_run(run_id, why)
    if cancelled is None:
        raise Conflict(f"run {run_id} finished before it could be cancelled", field="run_id")
    audit.record(store, principal, "cancel", "run", run_id, reason)
    return cancelled


def delete_run(store: Store, principal: Principal, run_id: str, reason: str | None) -> None:
    """Delete a finished draft run and its files; a published or unfinished run is refused."""
    require(principal, "commissioner")
    run = visible_run(store, principal, run_id)
    if run.published:
        raise Conflict(f"run {run_id} is published; unpublish it first", field="run_id")
    if run.status in UNFINISHED:
        raise Conflict(f"run {run_id} is {run.status}; cancel it first", field="run_id")
    if not store.delete_run(run_id):
        raise Conflict(f"run {run_id} changed meanwhile; try again", field="run_id")
    audit.record(store, principal, "delete", "run", run_id, reason)


def delete_scenario(
    store: Store, principal: Principal, scenario_id: str, reason: str | None
) -> list[str]:
    """Delete a scenario with its finished draft runs (returning their ids); refused while a
    run of it is published, queued or running."""
    require(principal, "commissioner")
    if store.get_scenario(scenario_id) is None:
        raise NotFound(f"no scenario {scenario_id}", field="scenario_id")
    deleted = store.delete_scenario(scenario_id)
    if deleted is None:
        raise Conflict(
            f"scenario {scenario_id} has a published, queued or running run; unpublish or "
            "cancel it first",
            field="scenario_id",
        )
    audit.record(store, principal, "delete", "scenario", scenario_id, reason)
    for run_id in deleted:
        audit.record(store, principal, "delete", "run", run_id, f"with scenario {scenario_id}")
    return deleted
