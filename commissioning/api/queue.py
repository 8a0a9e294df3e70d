"""The bounded run queue: solves go to a pool of worker processes, never the event loop.

At most `workers` runs are solved at once and `queue_size` more may wait; beyond that a new run
is refused (`Busy`, which the API answers with 429 and Retry-After) instead of piling up.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import anyio.to_thread

from commissioning.api.services import runs
from commissioning.api.services.access import Busy, Principal
from commissioning.store import RunRecord, Store

log = logging.getLogger(__name__)


class RunQueue:
    def __init__(self, store: Store, workers: int, queue_size: int, retry_after_seconds: int):
        self.store = store
        self.workers = workers
        self.capacity = workers + queue_size
        self.retry_after_seconds = retry_after_seconds
        self._pool: ProcessPoolExecutor | None = None
        self._slots = 0
        self._active: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: forking a process that runs an event loop and threads is unsafe.
        # Spawned workers import the parent's __main__ module, so a script that builds the app
        # must do so under `if __name__ == "__main__":` (the `commissioning` command does).
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
        )

    def open(self) -> None:
        if self._pool is None:
            self._pool = self._new_pool()

    @property
    def in_flight(self) -> int:
        return self._slots

    async def start(self, principal: Principal, scenario_id: str) -> RunRecord:
        """Queue a run of a stored scenario, or raise Busy when the queue is full."""
        if self._pool is None:
            raise RuntimeError("the run queue is not open")
        if self._slots >= self.capacity:
            raise Busy(
                f"{self._slots} runs are already queued or solving (the limit is "
                f"{self.capacity}); try again later",
                retry_after=self.retry_after_seconds,
            )
        self._slots += 1  # reserved before any await, so concurrent requests cannot overshoot
        try:
            run = await anyio.to_thread.run_sync(
                runs.create_run, self.store, principal, scenario_id
            )
        except BaseException:
            self._slots -= 1
            raise
        self._active.add(run.id)
        task = asyncio.create_task(self._solve(run.id), name=f"run-{run.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    async def _solve(self, run_id: str) -> None:
        pool = self._pool
        try:
            if pool is None:
                raise RuntimeError("the run queue was closed")
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(pool, runs.execute_run, self.store, run_id)
            log.info("run %s: %s", run_id, outcome.get("status"))
        except asyncio.CancelledError:
            raise
        except BrokenProcessPool:
            if self._pool is None:
                return  # closing: close() has marked the run failed already
            log.error("run %s: the worker process died", run_id)
            await self._fail(run_id, "the worker process solving this run stopped unexpectedly")
            if self._pool is pool and pool is not None:
                self._pool = self._new_pool()  # a broken pool accepts no more work
                pool.shutdown(wait=False)
        except Exception as exc:
            log.exception("run %s could not be solved", run_id)
            await self._fail(run_id, f"{type(exc).__name__}: {exc}")
        finally:
            self._slots -= 1
            self._active.discard(run_id)

    async def _fail(self, run_id: str, reason: str) -> None:
        try:
            await anyio.to_thread.run_sync(self.store.fail_unfinished, reason, [run_id])
        except Exception:  # pragma: no cover - the store itself is failing; recover() will
            log.exception("could not mark run %s failed", run_id)

    async def close(self) -> None:
        """Stop: unfinished runs are marked failed and their worker processes ended."""
        pool, self._pool = self._pool, None
        active = sorted(self._active)
        if active:
            await anyio.to_thread.run_sync(self.store.fail_unfinished, runs.INTERRUPTED, active)
        if pool is not None:
            # Ending the workers breaks the pool, which fails every pending future with
            # BrokenProcessPool; cancelling them here as well trips a CPython 3.11 race.
            for process in list((pool._processes or {}).values()):
                process.terminate()
            pool.shutdown(wait=False)
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
