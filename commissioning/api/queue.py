"""The bounded run queue: each run is solved in a worker process of its own, never the event loop.

At most `workers` runs are solved at once and `queue_size` more may wait; beyond that a new run
is refused (`Busy`, which the API answers with 429 and Retry-After) instead of piling up.

A process per run (not a shared pool) is what keeps runs apart: a worker that runs out of its
memory limit, crashes or overruns its time limit is ended and fails only its own run, with a
plain reason, and the queued runs go on. Workers die with the server (see `worker.py`) and
write only under their run's lease, so a restart never meets a stale worker's late result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from commissioning.api.services import runs
from commissioning.api.services.access import Busy, Principal
from commissioning.api.web_workers import SharedRunGate
from commissioning.api.worker import EXIT_OUT_OF_MEMORY, worker_command
from commissioning.store import RunRecord, Store
from commissioning.store.interface import UNFINISHED, RunKind

log = logging.getLogger(__name__)

STDERR_TAIL_BYTES = 16 * 1024
STDERR_DRAIN_SECONDS = 2.0
# What a native library prints when an allocation fails under the cap before it aborts.
OUT_OF_MEMORY_MARKERS = (b"memory allocation of", b"std::bad_alloc", b"MemoryError")


def memory_limit_text(memory_mib: int) -> str:
    if memory_mib % 1024 == 0:
        return f"{memory_mib // 1024} GiB"
    return f"{memory_mib} MiB"


def out_of_memory_reason(memory_mib: int) -> str:
    return f"the solve ran out of its memory limit of {memory_limit_text(memory_mib)}"


def time_limit_reason(seconds: float) -> str:
    return (
        f"time_limit: the solve did not finish within the run time limit of {seconds:g} s, "
        "so it was stopped"
    )


@dataclass
class _Worker:
    process: asyncio.subprocess.Process
    stderr_tail: bytearray


class RunQueue:
    def __init__(
        self,
        store: Store,
        workers: int,
        queue_size: int,
        retry_after_seconds: int,
        memory_mib: int = 4096,
        run_time_limit_seconds: float = 600.0,
        shared: bool = False,
    ):
        self.store = store
        self.workers = workers
        self.capacity = workers + queue_size
        self.retry_after_seconds = retry_after_seconds
        self.memory_mib = memory_mib
        self.run_time_limit_seconds = run_time_limit_seconds
        self._open = False
        self._free_workers: asyncio.Semaphore | None = None
        self._slots = 0
        self._active: set[str] = set()
        self._released: set[str] = set()  # finished runs whose slot was given back early
        self._running: dict[str, _Worker] = {}
        self._waiting: dict[str, asyncio.Task[None]] = {}  # queued runs waiting for a worker
        self._cancelled: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # Several web processes on one store: limits and solver slots held across them.
        self._gate: SharedRunGate | None = None
        if shared:
            self._gate = SharedRunGate(store, workers, self.capacity, retry_after_seconds)

    def open(self) -> None:
        if not self._open:
            self._free_workers = asyncio.Semaphore(self.workers)  # FIFO: runs start in order
            self._open = True

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def in_flight(self) -> int:
        return self._slots

    @property
    def busy_workers(self) -> int:
        return len(self._running)

    async def open_async(self) -> None:
        self.open()

    @property
    def worker_pids(self) -> dict[str, int]:
        """Run id → pid of the process solving it, for the runs being solved now."""
        return {run_id: w.process.pid for run_id, w in self._running.items()}

    async def start(
        self,
        principal: Principal,
        scenario_id: str,
        kind: RunKind = "solve",
        settings: dict[str, Any] | None = None,
    ) -> RunRecord:
        """Queue a run of a stored scenario (a solve, sweep or uncertainty run: the same
        workers take them all), or raise Busy when the queue is full."""
        if not self._open:
            raise RuntimeError("the run queue is not open")
        if self._slots >= self.capacity:
            await self._release_finished()
        if self._slots >= self.capacity:
            raise Busy(
                f"{self._slots} runs are already queued or solving (the limit is "
                f"{self.capacity}); try again later",
                retry_after=self.retry_after_seconds,
            )
        self._slots += 1  # reserved before any await, so concurrent requests cannot overshoot
        try:

            def create() -> RunRecord:
                return runs.create_run(self.store, principal, scenario_id, kind, settings)

            gate = self._gate
            run = await anyio.to_thread.run_sync(gate.admit if gate else _call, create)
        except BaseException:
            self._slots -= 1
            raise
        self._active.add(run.id)
        task = asyncio.create_task(self._solve(run.id), name=f"run-{run.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    async def release_finished(self) -> None:
        """When full, give back the slots of finished runs whose workers are still exiting, as
        `start` would: a readiness check then reports the room a new run would find."""
        if self._slots >= self.capacity:
            await self._release_finished()

    async def _release_finished(self) -> None:
        """Give back the slots of runs already finished whose workers are still exiting.

        A worker records its outcome a moment before its process has ended; a client that
        polled the run as finished may start another at once and must not get 429.
        """
        waiting = sorted(self._active - self._released)
        records = await anyio.to_thread.run_sync(lambda: [self.store.get_run(i) for i in waiting])
        for record in records:
            if record is None or record.status in UNFINISHED:
                continue
            if record.id in self._active and record.id not in self._released:
                self._released.add(record.id)
                self._slots -= 1

    def cancel(self, run_id: str) -> None:
        """Stop a run the store has already marked cancelled: a queued run leaves the queue, a
        running one's worker process is killed (its lease is gone, so it could write nothing;
        the slot comes back when the process has ended)."""
        self._cancelled.add(run_id)
        waiting = self._waiting.get(run_id)
        if waiting is not None:
            waiting.cancel()
        worker = self._running.get(run_id)
        if worker is not None:
            _kill(worker.process)

    async def _solve(self, run_id: str) -> None:
        try:
            assert self._free_workers is not None
            task = asyncio.current_task()
            if task is not None:
                self._waiting[run_id] = task
            try:
                await self._free_workers.acquire()
            finally:
                self._waiting.pop(run_id, None)
            try:
                async with self._solver_slot():  # shared by every web process (web_workers.py)
                    if not self._open:
                        return  # closing: close() has marked the run failed already
                    lease = await anyio.to_thread.run_sync(runs.begin_run, self.store, run_id)
                    if lease is None:
                        return  # no longer queued
                    failure = await self._run_worker(run_id, lease)
                    if failure is not None and self._open and run_id not in self._cancelled:
                        log.error("run %s: %s", run_id, failure)
                        await anyio.to_thread.run_sync(
                            lambda: self.store.finish_run(run_id, "failed", failure, lease=lease)
                        )
            finally:
                self._free_workers.release()
        except asyncio.CancelledError:
            if run_id in self._cancelled:
                return  # cancelled while waiting for a worker: nothing ran, nothing to record
            raise
        except Exception as exc:
            log.exception("run %s could not be solved", run_id)
            await self._fail(run_id, f"{type(exc).__name__}: {exc}")
        finally:
            if run_id in self._released:
                self._released.discard(run_id)
            else:
                self._slots -= 1
            self._active.discard(run_id)
            self._cancelled.discard(run_id)

    @contextlib.asynccontextmanager
    async def _solver_slot(self) -> AsyncIterator[None]:
        """One of the solver slots every web process shares (nothing to take with one)."""
        if self._gate is None:
            yield
            return
        slot = await self._gate.solver_slot()
        try:
            yield
        finally:
            slot.close()

    async def _run_worker(self, run_id: str, lease: str) -> str | None:
        """Solve in a new worker process; the reason the run failed if the worker did not say."""
        # Started from the event loop's own thread, which lives as long as the server: the
        # kernel's parent-death signal fires when the *thread* that forked the worker ends.
        process = await asyncio.create_subprocess_exec(
            *worker_command(run_id, lease, self.memory_mib),
            stdin=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        worker = _Worker(process, bytearray())
        self._running[run_id] = worker
        if run_id in self._cancelled:
            _kill(process)  # cancelled between leaving the queue and this process starting
        relay = asyncio.create_task(self._relay_stderr(worker))
        try:
            assert process.stdin is not None
            try:
                process.stdin.write(pickle.dumps(self.store))
                await process.stdin.drain()
                process.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the worker ended at once; its exit status says why
            try:
                await asyncio.wait_for(process.wait(), timeout=self.run_time_limit_seconds)
            except TimeoutError:
                _kill(process)
                await process.wait()
                return time_limit_reason(self.run_time_limit_seconds)
        except BaseException:
            _kill(process)  # cancelled (the server is stopping) or failed: the worker goes too
            relay.cancel()
            raise
        finally:
            del self._running[run_id]
            # The worker has ended, so its stderr is at its end (unless something it started
            # still holds the pipe: do not wait for that).
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(relay, timeout=STDERR_DRAIN_SECONDS)
        return self._failure(worker)

    def _failure(self, worker: _Worker) -> str | None:
        code = worker.process.returncode
        if code == 0:
            return None  # the worker recorded the outcome itself
        if code == EXIT_OUT_OF_MEMORY or (
            code is not None
            and code < 0
            and any(marker in worker.stderr_tail for marker in OUT_OF_MEMORY_MARKERS)
        ):
            return out_of_memory_reason(self.memory_mib)
        if code is not None and code < 0:
            try:
                how = f"signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"signal {-code}"
        else:
            how = f"exit status {code}"
        return f"the worker process solving this run stopped unexpectedly ({how})"

    @staticmethod
    async def _relay_stderr(worker: _Worker) -> None:
        """Pass the worker's messages on to the server's stderr, keeping the tail to diagnose."""
        stream = worker.process.stderr
        assert stream is not None
        while chunk := await stream.read(4096):
            worker.stderr_tail += chunk
            del worker.stderr_tail[:-STDERR_TAIL_BYTES]
            sys.stderr.write(chunk.decode("utf-8", errors="replace"))

    async def _fail(self, run_id: str, reason: str) -> None:
        try:
            await anyio.to_thread.run_sync(self.store.fail_unfinished, reason, [run_id])
        except Exception:  # pragma: no cover - the store itself is failing; recover() will
            log.exception("could not mark run %s failed", run_id)

    async def close(self) -> None:
        """Stop: unfinished runs are marked failed and their worker processes ended."""
        self._open = False
        active = sorted(self._active)
        if active:
            await anyio.to_thread.run_sync(self.store.fail_unfinished, runs.INTERRUPTED, active)
        for worker in list(self._running.values()):
            _kill(worker.process)
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _call(create: Callable[[], RunRecord]) -> RunRecord:
    return create()


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):  # it ended between check and signal
            process.kill()
