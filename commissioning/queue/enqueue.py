"""The API server's side of the distributed queue: store the run, queue its job, nothing more.

`DistributedRunQueue` answers to the API as the in-process `RunQueue` does (start, cancel,
readiness counters), but solves nothing: `commissioning worker` processes, on this machine or
others, take the jobs. The limit on waiting runs is the store's count of queued and running runs,
shared by every API server of the database; beyond it a new run is refused (429, Retry-After).

A cancelled run needs no message to a worker: the store has already taken its lease, so a job
in hand writes nothing and queued steps are skipped.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread

from commissioning.api.services import runs
from commissioning.api.services.access import Busy, Principal
from commissioning.store.interface import RunKind, RunRecord
from commissioning.store.postgres import PostgresStore

log = logging.getLogger(__name__)

NOT_QUEUED = "the run could not be queued: {error}; start it again"


class DistributedRunQueue:
    def __init__(
        self,
        store: PostgresStore,
        queue_size: int,
        retry_after_seconds: int,
        stalled_seconds: float,
    ):
        from commissioning.queue import jobs

        self.store = store
        self.capacity = queue_size
        self.retry_after_seconds = retry_after_seconds
        self.stalled_seconds = stalled_seconds
        self.app = jobs.server_app(store.url)
        self._open = False
        self._opened_app = False
        self._counts = {"unfinished": 0, "running": 0, "workers": 0}

    # -- the surface the API reads (as RunQueue's) ------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def in_flight(self) -> int:
        return self._counts["unfinished"]

    @property
    def workers(self) -> int:
        """Workers whose heartbeat is fresh, on any machine (as of the last readiness check)."""
        return self._counts["workers"]

    @property
    def busy_workers(self) -> int:
        return self._counts["running"]

    async def open_async(self) -> None:
        if not self._opened_app:
            await self.app.open_async()
            self._opened_app = True
        self._open = True
        await self.release_finished()

    async def start(
        self,
        principal: Principal,
        scenario_id: str,
        kind: RunKind = "solve",
        settings: dict[str, Any] | None = None,
    ) -> RunRecord:
        """Store a queued run and queue its job, or raise Busy when the queue is full."""
        from commissioning.queue.jobs import defer_run_async

        if not self._open:
            raise RuntimeError("the run queue is not open")
        unfinished = await anyio.to_thread.run_sync(self.store.count_unfinished)
        self._counts["unfinished"] = unfinished
        if unfinished >= self.capacity:
            raise Busy(
                f"{unfinished} runs are already queued or solving (the limit is "
                f"{self.capacity}); try again later",
                retry_after=self.retry_after_seconds,
            )
        run = await anyio.to_thread.run_sync(
            lambda: runs.create_run(self.store, principal, scenario_id, kind, settings)
        )
        try:
            await defer_run_async(run.id, on=self.app)
        except Exception as exc:
            log.exception("run %s could not be queued", run.id)
            reason = NOT_QUEUED.format(error=f"{type(exc).__name__}: {exc}")
            await anyio.to_thread.run_sync(self.store.fail_unfinished, reason, [run.id])
            raise
        self._counts["unfinished"] += 1
        return run

    def cancel(self, run_id: str) -> None:
        """Nothing to stop here: the store took the run's lease, so its worker writes nothing."""

    async def release_finished(self) -> None:
        """Refresh the counters readiness reports (the store's, shared by every server)."""
        self._counts = await anyio.to_thread.run_sync(self._read_counts)

    def _read_counts(self) -> dict[str, int]:
        with self.store._read() as conn:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE status IN ('queued', 'running')), "
                "count(*) FILTER (WHERE status = 'running'), "
                "(SELECT count(*) FROM procrastinate_workers "
                " WHERE last_heartbeat > now() - make_interval(secs => %s)) "
                "FROM runs WHERE status IN ('queued', 'running')",
                (self.stalled_seconds,),
            ).fetchone()
        return {"unfinished": row[0], "running": row[1], "workers": row[2]}

    async def close(self) -> None:
        """Stop taking runs. Queued and running runs go on: they belong to the workers."""
        self._open = False
        if self._opened_app:
            await self.app.close_async()
            self._opened_app = False
