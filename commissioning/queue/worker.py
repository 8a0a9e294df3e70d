"""`commissioning worker`: solve queued runs from the PostgreSQL store, one job at a time.

Run as many as there are cores to give, on as many machines as wanted: each takes the next
job from the queue (runs, sweep steps, uncertainty draws), so two workers on a 2-core machine
solve about twice as many runs an hour as one. A worker

- caps the memory it may allocate (as the API's own worker processes do), so a runaway solve
  fails its run rather than the machine;
- runs at a lower priority (nice 10), so an API server on the same machine answers at once;
- gives one job (a solve, a sweep step, an analysis's finish) at most the run time limit
  ($COMMISSIONING_RUN_TIME_LIMIT_SECONDS, 10 minutes by default): past it the run fails with the
  reason and the worker process ends, to be started again by its supervisor;
- sends a heartbeat every `heartbeat_seconds`; the others retry its job once if it goes
  quiet for `stalled_seconds` (commissioning.queue.janitor);
- writes a run's files in a scratch folder of its own, removed when it stops: the files that
  count are those stored in the database when the run succeeds.

SIGINT or SIGTERM stops it after the job in hand (a deploy loses no work).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from commissioning.store import StoreLocation, is_postgres

log = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_SECONDS = 5.0
DEFAULT_STALLED_SECONDS = 30.0
HEARTBEAT_ENV = "COMMISSIONING_WORKER_HEARTBEAT_SECONDS"
STALLED_ENV = "COMMISSIONING_WORKER_STALLED_SECONDS"


@dataclass(frozen=True)
class WorkerSettings:
    store: StoreLocation
    name: str
    memory_mib: int
    time_limit_seconds: float = 600.0
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    stalled_seconds: float = DEFAULT_STALLED_SECONDS

    def __post_init__(self) -> None:
        if not is_postgres(self.store):
            raise ValueError(
                "commissioning worker needs a PostgreSQL store (postgresql://...); with a SQLite "
                "store `commissioning serve` solves runs in its own worker processes"
            )
        if self.memory_mib < 256:
            raise ValueError("--memory-mib must be at least 256 (a London solve needs ~120 MiB)")
        if not 0 < self.heartbeat_seconds < self.stalled_seconds:
            raise ValueError(
                "the heartbeat must be positive and shorter than the time after which a worker "
                f"counts as stalled (heartbeat {self.heartbeat_seconds:g} s, stalled after "
                f"{self.stalled_seconds:g} s)"
            )


def run_worker(settings: WorkerSettings) -> int:
    from commissioning.api.worker import _cap_memory, _yield_to_the_server
    from commissioning.queue import jobs, steps
    from commissioning.queue.context import set_worker_store
    from commissioning.store.postgres import PostgresStore, redacted

    _cap_memory(settings.memory_mib)
    _yield_to_the_server()
    scratch = Path(tempfile.mkdtemp(prefix="commissioning-worker-"))
    url = str(settings.store)
    try:
        store = PostgresStore(url, scratch)
        store.initialise()  # migrations: a worker may be the first to meet a new database
        set_worker_store(store)
        steps.MEMORY_MIB[0] = settings.memory_mib
        steps.TIME_LIMIT_SECONDS[0] = settings.time_limit_seconds
        _warm_up()
        app = jobs.connect(url)
        print(
            f"commissioning worker {settings.name} on {redacted(url)} (queue {jobs.QUEUE}; "
            f"memory limit {settings.memory_mib} MiB)",
            file=sys.stderr,
            flush=True,
        )
        asyncio.run(_work(app, store, settings))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _warm_up() -> None:
    """Import the solver stack now, so the first job does not wait for it."""
    import commissioning.analysis.scorecard
    import commissioning.excel
    import commissioning.optimise  # noqa: F401


async def _work(app: object, store: object, settings: WorkerSettings) -> None:
    from procrastinate import App

    from commissioning.queue import jobs

    assert isinstance(app, App)
    async with app.open_async():
        janitor = asyncio.create_task(_keep_tidy(app, store, settings))
        try:
            await app.run_worker_async(
                queues=[jobs.QUEUE],
                name=settings.name,
                concurrency=1,  # solves are CPU-bound: one per worker, one worker per core
                update_heartbeat_interval=settings.heartbeat_seconds,
                stalled_worker_timeout=settings.stalled_seconds,
                delete_jobs="successful",  # a finished run's record is in its run row
                install_signal_handlers=True,
            )
        finally:
            janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await janitor


async def _keep_tidy(app: object, store: object, settings: WorkerSettings) -> None:
    from procrastinate import App

    from commissioning.queue.janitor import tidy
    from commissioning.store.postgres import PostgresStore

    assert isinstance(app, App) and isinstance(store, PostgresStore)
    while True:
        await asyncio.sleep(settings.heartbeat_seconds)
        try:
            await tidy(app, store, settings.stalled_seconds)
        except Exception:  # the next pass tries again; a worker must not stop for this
            log.exception("checking for stalled jobs failed")
