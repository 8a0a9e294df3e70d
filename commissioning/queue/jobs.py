"""The jobs of the distributed run queue (procrastinate on the PostgreSQL store's database).

Three tasks, each idempotent, so that a job retried after its worker died does no harm:

- `commissioning.run` (one per run): takes the run over under a new lease (`take_over_run`: a
  dead worker's lease can write nothing more), then solves a solve whole, or plans a sweep or
  uncertainty run and defers one `commissioning.step` job per step;
- `commissioning.step` (one per sweep step or uncertainty draw): skipped unless the run still
  holds the plan's lease; counts an attempt, solves, and keeps the result once (run_steps); the
  step that completes the set defers the finish;
- `commissioning.finish` (one per analysis): assembles the steps (a sweep's knees need a few
  more solves, done here), writes the run's files and marks it succeeded, under the lease.

A run's result is written once: its files go into the database in the transaction that marks it
succeeded, and only under the lease it was solved under.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued

from commissioning.queue import steps
from commissioning.queue.context import worker_name, worker_store

log = logging.getLogger(__name__)

QUEUE = "runs"
RUN_TASK = "commissioning.run"
STEP_TASK = "commissioning.step"
FINISH_TASK = "commissioning.finish"

# One app per process; its connector is set to the store's database by `connect`.
app = App(connector=PsycopgConnector())


def connect(url: str) -> App:
    """This process's queue app on the database at `url` (not yet opened)."""
    connector = PsycopgConnector(conninfo=url, min_size=1, max_size=4)
    app.connector = connector
    app.job_manager.connector = connector
    return app


def server_app(url: str) -> App:
    """An app of its own for one API server's queue, which only defers runs (by task name).

    Not `connect`'s process-wide app: repointing that one at each server's connector left an
    earlier server of the same process (two apps in one process, as in the tests) deferring
    through a connector it never opened (AppNotOpen), and closed the other's on shutdown.
    """
    return App(connector=PsycopgConnector(conninfo=url, min_size=1, max_size=4))


@app.task(name=RUN_TASK, queue=QUEUE, pass_context=True)
def run_job(context: JobContext, run_id: str) -> str:
    store = worker_store()
    outcome = steps.start_run(store, run_id, worker_name(context))
    if isinstance(outcome, steps.Planned):
        defer_steps(outcome)
        return f"planned {outcome.total} steps"
    return outcome


@app.task(name=STEP_TASK, queue=QUEUE, pass_context=True)
def step_job(context: JobContext, run_id: str, lease: str, step: int, total: int) -> str:
    store = worker_store()
    outcome = steps.solve_step(store, run_id, lease, step, total, worker_name(context))
    if outcome == steps.ALL_SOLVED:
        defer_finish(run_id, lease)
    return outcome


@app.task(name=FINISH_TASK, queue=QUEUE, pass_context=True)
def finish_job(context: JobContext, run_id: str, lease: str) -> str:
    return steps.finish_analysis(worker_store(), run_id, lease)


def defer_run(run_id: str) -> int:
    """Queue a run (synchronously: the janitor's re-queue of a run that lost its job)."""
    return int(run_job.configure(queueing_lock=f"run-{run_id}").defer(run_id=run_id))


async def defer_run_async(run_id: str, on: App | None = None) -> int:
    """Queue a run through `on` (a `server_app`), or this process's app (the janitor's)."""
    if on is None:
        deferrer = run_job.configure(queueing_lock=f"run-{run_id}")
    else:  # the same job `run_job.configure` makes, named rather than through the task
        deferrer = on.configure_task(RUN_TASK, queue=QUEUE, queueing_lock=f"run-{run_id}")
    return int(await deferrer.defer_async(run_id=run_id))


def defer_steps(plan: steps.Planned) -> None:
    arguments: list[dict[str, Any]] = [
        {"run_id": plan.run_id, "lease": plan.lease, "step": i, "total": plan.total}
        for i in range(plan.total)
    ]
    step_job.batch_defer(*arguments)


def defer_finish(run_id: str, lease: str) -> None:
    # The other step that completed the set at the same moment may have queued it already.
    with contextlib.suppress(AlreadyEnqueued):
        finish_job.configure(queueing_lock=f"finish-{run_id}").defer(run_id=run_id, lease=lease)
