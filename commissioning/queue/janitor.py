"""Noticing dead workers: every worker runs this check, one at a time (an advisory lock).

A worker that is killed (kill -9, a machine lost, a native crash) stops sending its heartbeat.
Once its heartbeat is `stalled_seconds` old, its job is *stalled*:

- the first time, the job is retried (back to the queue, for whichever worker is free: another
  machine's, or this one's after a restart);
- a job already retried once that stalls again fails, and so does its run, with the reason:
  a job that kills its worker twice would go on killing workers.

Retrying is safe because every job is idempotent (commissioning.queue.jobs): the retried job
takes the run over under a new lease, so the dead worker could not write even if it woke.

The same check re-queues a run left `queued` with no job (an API server that stopped between
storing the run and queueing it) and forgets dead workers' rows.
"""

from __future__ import annotations

import logging
from typing import Any

from procrastinate import App
from procrastinate.jobs import Status

from commissioning.store.postgres import PostgresStore

log = logging.getLogger(__name__)

JANITOR_LOCK = 7_274_521_014  # pg advisory lock: one janitor at a time across every worker
ORPHAN_SECONDS = 30  # a queued run this old with no job lost it (never so for a fresh one)
STOPPED_TWICE = (
    "the worker solving this run stopped twice (killed, out of memory or its machine lost); "
    "it was retried once on another worker and not again"
)


async def tidy(app: App, store: PostgresStore, stalled_seconds: float) -> dict[str, int]:
    """One pass; how many jobs were retried and failed and runs re-queued."""
    import anyio.to_thread

    done = {"retried": 0, "failed": 0, "requeued": 0}
    async with await _janitor_connection(store) as conn:
        got = await (
            await conn.execute("SELECT pg_try_advisory_lock(%s)", (JANITOR_LOCK,))
        ).fetchone()
        if not got or not got[0]:
            return done  # another worker is tidying now
        try:
            manager = app.job_manager
            for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds):
                run_id = str(job.task_kwargs.get("run_id", ""))
                if job.attempts < 1:
                    log.warning("job %s of run %s stalled: retrying it once", job.id, run_id)
                    await manager.retry_job(job)
                    done["retried"] += 1
                    continue
                log.error("job %s of run %s stalled again: failing the run", job.id, run_id)
                assert job.id is not None
                await manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=False)
                if run_id:
                    await anyio.to_thread.run_sync(store.fail_unfinished, STOPPED_TWICE, [run_id])
                done["failed"] += 1
            await manager.prune_stalled_workers(stalled_seconds)
            for run_id in await anyio.to_thread.run_sync(_orphans, store):
                from commissioning.queue.jobs import defer_run_async

                log.warning("run %s was queued without a job: queueing it", run_id)
                await defer_run_async(run_id)
                done["requeued"] += 1
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (JANITOR_LOCK,))
    return done


async def _janitor_connection(store: PostgresStore) -> Any:
    import psycopg

    return await psycopg.AsyncConnection.connect(store.url, autocommit=True)


def _orphans(store: PostgresStore) -> list[str]:
    """Queued runs older than ORPHAN_SECONDS with no job of the queue's to run them."""
    from commissioning.store.rows import now

    with store._read() as conn:
        rows = conn.execute(
            "SELECT id FROM runs WHERE status = 'queued' "
            "AND created_at < to_char((%s::timestamptz - make_interval(secs => %s)) "
            "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
            "AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j "
            "WHERE j.args->>'run_id' = runs.id AND j.status IN ('todo', 'doing'))",
            (now(), ORPHAN_SECONDS),
        ).fetchall()
    return [row[0] for row in rows]
