"""`/health` (liveness) and `/ready` (readiness) for probes and load balancers: no API key.

They sit at the root, outside /api/v1, where probes conventionally look, and outside its
guards. Solves run in worker processes, so the event loop stays free to answer both while
they run: /health answers from memory (no store, no queue, no thread), /ready asks the store
one trivial query in a thread and reads the run queue's counters.
"""

from __future__ import annotations

from typing import Literal, cast

from litestar import MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from pydantic import Field

from commissioning import __version__
from commissioning.api.schemas import FieldError, Out
from commissioning.api.services.ops import QueueState, Readiness, readiness

PROBLEM_JSON = "application/problem+json"


class HealthOut(Out):
    status: Literal["ok"] = "ok"
    version: str = Field(description="The commissioning package's version.")


class QueueOut(Out):
    open: bool = Field(description="Whether the run queue takes runs (false while stopping).")
    accepting: bool = Field(description="Whether a new run would be queued now (not 429).")
    workers_total: int = Field(description="Worker processes that may solve at once.")
    workers_busy: int = Field(description="Worker processes solving a run now.")
    queued_runs: int = Field(description="Runs waiting for a worker.")
    capacity: int = Field(description="Runs that may be solving or waiting at once.")

    @classmethod
    def of(cls, state: QueueState) -> QueueOut:
        return cls(
            open=state.open,
            accepting=state.accepting,
            workers_total=state.workers_total,
            workers_busy=state.workers_busy,
            queued_runs=state.queued_runs,
            capacity=state.capacity,
        )


class StoreOut(Out):
    ok: bool = Field(description="Whether the store answered a trivial query in time.")
    problem: str | None = Field(description="Why not, in plain words.")


class ReadyOut(Out):
    status: Literal["ready"] = "ready"
    version: str
    store: StoreOut
    queue: QueueOut


class NotReadyOut(Out):
    """RFC 9457 problem details, with the state of each part."""

    type: str = "about:blank"
    title: str = "Service Unavailable"
    status: int = 503
    detail: str
    instance: str
    errors: list[FieldError] = Field(description="Each part not ready (store, queue) and why.")
    store: StoreOut
    queue: QueueOut


HEALTH = HealthOut(version=__version__)  # built once: answering allocates nothing new


@get(
    "/health",
    summary="Liveness: the server answers",
    tags=["operations"],
    sync_to_thread=False,
    security=[],
)
def health() -> HealthOut:
    """200 with the version whenever the server's event loop answers. Touches neither the
    store nor the run queue, so it stays fast while solves run. No API key needed."""
    return HEALTH


@get(
    "/ready",
    summary="Readiness: the store answers and the run queue takes runs",
    tags=["operations"],
    security=[],
    responses={
        503: ResponseSpec(
            NotReadyOut,
            description="Not ready: `errors` names each part (store, queue) and why.",
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
    },
)
async def ready(request: Request, state: State) -> Response[ReadyOut]:
    """200 when the store answers a trivial query and the run queue is open with room for a
    run; 503 (problem details) naming what is not. Reports workers busy of all and runs
    waiting either way. No API key needed."""
    found: Readiness = await readiness(state["store"], state["run_queue"])
    store = StoreOut(ok=found.store_problem is None, problem=found.store_problem)
    queue = QueueOut.of(found.queue)
    if found.ready:
        return Response(
            ReadyOut(version=__version__, store=store, queue=queue), media_type=MediaType.JSON
        )
    problems = found.problems
    body = NotReadyOut(
        detail="not ready: " + "; ".join(f"{part}: {why}" for part, why in problems.items()),
        instance=request.url.path,
        errors=[FieldError(field=part, message=why) for part, why in problems.items()],
        store=store,
        queue=queue,
    )
    # Documented as the 503 response above; the 200 body is the handler's declared type.
    return cast("Response[ReadyOut]", Response(body, status_code=503, media_type=PROBLEM_JSON))
