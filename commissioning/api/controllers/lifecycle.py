"""Runs and scenarios after creation: cancel, unpublish, delete (commissioners; audited)."""

from __future__ import annotations

import anyio.to_thread
from litestar import Controller, delete, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from commissioning.api.auth import roles
from commissioning.api.controllers.params import RunId, ScenarioId
from commissioning.api.openapi import error_responses, idempotent
from commissioning.api.openapi_bodies import body_operation
from commissioning.api.run_queues import RunQueueLike
from commissioning.api.schemas import RunOut
from commissioning.api.schemas_lifecycle import ReasonIn, UnpublishIn
from commissioning.api.services import lifecycle
from commissioning.api.services.access import Principal
from commissioning.store import Store

ReasonOperation = body_operation(ReasonIn, required=False)
UnpublishOperation = body_operation(UnpublishIn, required=True)


def _reason(data: ReasonIn | None) -> str | None:
    return data.reason if data is not None else None


class RunLifecycleController(Controller):
    path = "/runs"
    tags = ("runs",)

    @post(
        "/{run_id:str}/cancel",
        summary="Cancel a queued or running run",
        operation_class=idempotent(ReasonOperation),
        status_code=200,
        opt=roles("commissioner"),
        responses=error_responses(400, 404, 409, 415, 422),
    )
    async def cancel_run(
        self,
        run_id: RunId,
        store: NamedDependency[Store],
        run_queue: NamedDependency[RunQueueLike],
        principal: NamedDependency[Principal],
        data: JSONBody[ReasonIn | None] = None,
    ) -> RunOut:
        """Stop a run: a queued run leaves the queue, a running run's worker process is ended.
        Its status becomes `cancelled`. A finished run: 409. Optional body `{"reason": ...}`,
        kept in the audit log. Roles: commissioner.
        """
        run = await anyio.to_thread.run_sync(
            lifecycle.cancel, store, principal, run_id, _reason(data)
        )
        run_queue.cancel(run_id)
        return RunOut.of(run)

    @post(
        "/{run_id:str}/unpublish",
        summary="Unpublish a run",
        operation_class=idempotent(UnpublishOperation),
        status_code=200,
        sync_to_thread=True,
        opt=roles("commissioner"),
        responses=error_responses(400, 404, 409, 415, 422),
    )
    def unpublish_run(
        self,
        run_id: RunId,
        data: JSONBody[UnpublishIn],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> RunOut:
        """Withdraw a published run from finance and borough leads (it is a draft again).
        Body `{"reason": ...}` (required), kept in the audit log. Not published: 409.
        Roles: commissioner.
        """
        return RunOut.of(lifecycle.unpublish(store, principal, run_id, data.reason))

    @delete(
        "/{run_id:str}",
        summary="Delete a draft run",
        operation_class=ReasonOperation,
        status_code=HTTP_204_NO_CONTENT,
        sync_to_thread=True,
        opt=roles("commissioner"),
        responses=error_responses(400, 404, 409, 415),
    )
    def delete_run(
        self,
        run_id: RunId,
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
        data: JSONBody[ReasonIn | None] = None,
    ) -> None:
        """Delete a finished, unpublished run and its files. Published: 409 (unpublish it
        first); queued or running: 409 (cancel it first). Optional body `{"reason": ...}`.
        Roles: commissioner.
        """
        lifecycle.delete_run(store, principal, run_id, _reason(data))


class ScenarioLifecycleController(Controller):
    path = "/scenarios"
    tags = ("scenarios",)

    @delete(
        "/{scenario_id:str}",
        summary="Delete a scenario and its draft runs",
        operation_class=ReasonOperation,
        status_code=HTTP_204_NO_CONTENT,
        sync_to_thread=True,
        opt=roles("commissioner"),
        responses=error_responses(400, 404, 409, 415),
    )
    def delete_scenario(
        self,
        scenario_id: ScenarioId,
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
        data: JSONBody[ReasonIn | None] = None,
    ) -> None:
        """Delete a stored scenario with its finished draft runs (and their files). A published,
        queued or running run of it: 409. Optional body `{"reason": ...}`. Roles: commissioner.
        """
        lifecycle.delete_scenario(store, principal, scenario_id, _reason(data))
