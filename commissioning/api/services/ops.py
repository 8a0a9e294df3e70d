"""Is this server ready to serve: does its store answer, and will its run queue take a run?

Liveness (`/health`) needs nothing from here: it answers from memory. Readiness asks the store
a trivial query (in a thread, with a time limit, so a stuck disk makes the answer "not ready"
rather than no answer) and reads the run queue's counters, which live in this process.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import anyio
import anyio.to_thread

from commissioning.api.run_queues import RunQueueLike
from commissioning.store import Store

STORE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class QueueState:
    open: bool
    workers_total: int
    workers_busy: int  # worker processes solving a run now
    queued_runs: int  # runs waiting for a worker
    capacity: int  # runs that may be solving or waiting at once
    in_flight: int  # runs holding a place (a finished run's exiting worker holds none)

    @property
    def accepting(self) -> bool:
        """Whether `RunQueueLike.start` would take a run now rather than answer 429."""
        return self.open and self.in_flight < self.capacity


@dataclass(frozen=True)
class Readiness:
    store_problem: str | None
    queue: QueueState

    @property
    def problems(self) -> dict[str, str]:
        """What is not ready, by part (store, queue), in plain words."""
        found: dict[str, str] = {}
        if self.store_problem is not None:
            found["store"] = self.store_problem
        if not self.queue.open:
            found["queue"] = "the run queue is closed (the server is starting or stopping)"
        elif not self.queue.accepting:
            found["queue"] = (
                f"the run queue is full: {self.queue.in_flight} runs solving or waiting (the "
                f"limit is {self.queue.capacity}); a new run would be refused with 429"
            )
        return found

    @property
    def ready(self) -> bool:
        return not self.problems


def queue_state(run_queue: RunQueueLike) -> QueueState:
    busy = run_queue.busy_workers
    return QueueState(
        open=run_queue.is_open,
        workers_total=run_queue.workers,
        workers_busy=busy,
        # Runs holding a slot without a worker process: waiting (or a moment from starting).
        queued_runs=max(0, run_queue.in_flight - busy),
        capacity=run_queue.capacity,
        in_flight=run_queue.in_flight,
    )


async def store_problem(store: Store, timeout: float = STORE_TIMEOUT_SECONDS) -> str | None:
    """None when the store answers a trivial query in time, else why not."""
    try:
        with anyio.fail_after(timeout):
            await anyio.to_thread.run_sync(store.ping, abandon_on_cancel=True)
    except TimeoutError:
        return f"the store did not answer within {timeout:g} s"
    except (OSError, sqlite3.Error) as exc:
        return f"the store cannot be read: {exc}"
    return None


async def readiness(store: Store, run_queue: RunQueueLike) -> Readiness:
    problem = await store_problem(store)
    if problem is None and run_queue.is_open:
        await run_queue.release_finished()  # reads the store, which has just answered
    return Readiness(problem, queue_state(run_queue))
