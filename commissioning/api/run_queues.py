"""What the API asks of a run queue, whichever executes the runs.

With the SQLite store, `api.queue.RunQueue` solves runs in this server's own worker processes;
with PostgreSQL, `queue.enqueue.DistributedRunQueue` only queues them for `commissioning worker`
processes. Controllers and pages see this protocol, and `run_queue_for` picks the queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from commissioning.store import is_postgres

if TYPE_CHECKING:
    from commissioning.api.services.access import Principal
    from commissioning.api.settings import ApiSettings
    from commissioning.store import Store
    from commissioning.store.interface import RunKind, RunRecord


@runtime_checkable
class RunQueueLike(Protocol):
    capacity: int
    retry_after_seconds: int

    @property
    def is_open(self) -> bool: ...

    @property
    def in_flight(self) -> int: ...

    @property
    def workers(self) -> int: ...

    @property
    def busy_workers(self) -> int: ...

    async def start(
        self,
        principal: Principal,
        scenario_id: str,
        kind: RunKind = "solve",
        settings: dict[str, Any] | None = None,
    ) -> RunRecord: ...

    def cancel(self, run_id: str) -> None: ...

    async def release_finished(self) -> None: ...

    async def open_async(self) -> None: ...

    async def close(self) -> None: ...


def run_queue_for(settings: ApiSettings, store: Store) -> RunQueueLike:
    if is_postgres(settings.store):
        from commissioning.api.settings import _from_env
        from commissioning.queue.enqueue import DistributedRunQueue
        from commissioning.queue.worker import DEFAULT_STALLED_SECONDS, STALLED_ENV
        from commissioning.store.postgres import PostgresStore

        assert isinstance(store, PostgresStore)
        return DistributedRunQueue(
            store,
            queue_size=settings.workers + settings.queue_size,
            retry_after_seconds=settings.retry_after_seconds,
            stalled_seconds=_from_env(STALLED_ENV, float, DEFAULT_STALLED_SECONDS),
        )
    from commissioning.api.queue import RunQueue

    return RunQueue(
        store,
        workers=settings.workers,
        queue_size=settings.queue_size,
        retry_after_seconds=settings.retry_after_seconds,
        memory_mib=settings.worker_memory_mib,
        run_time_limit_seconds=settings.run_time_limit_seconds,
        shared=settings.shared_queue,
    )
