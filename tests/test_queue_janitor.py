"""The queue's check for dead workers, on a real PostgreSQL: a stalled job is retried once, a job
stalled again fails its run with the reason, a run stored but never queued is queued."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from commissioning.queue import jobs
from commissioning.queue.janitor import STOPPED_TWICE, tidy
from commissioning.store.postgres import PostgresStore


@pytest.fixture
def store(postgres_url: str, tmp_path: Path) -> Iterator[PostgresStore]:
    opened = PostgresStore(postgres_url, tmp_path)
    opened.initialise()
    yield opened
    opened.close()


def _queued_run(store: PostgresStore) -> str:
    scenario = store.add_scenario("s", "{}", "0" * 64, None)
    return store.add_run(scenario.id, None).id


def _tidy(store: PostgresStore) -> dict[str, int]:
    async def once() -> dict[str, int]:
        app = jobs.connect(store.url)
        async with app.open_async():
            return await tidy(app, store, stalled_seconds=3)

    return asyncio.run(once())


def _job_taken_by_a_dead_worker(store: PostgresStore, run_id: str, attempts: int) -> int:
    """The run's job as a worker left it when it died: doing, its heartbeat an hour old."""
    app = jobs.connect(store.url)
    with app.open():
        job_id = jobs.defer_run(run_id)
    store.mark_running(run_id, "the dead worker's lease")
    with store._write() as conn:
        worker = conn.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '1 hour') RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s, attempts = %s "
            "WHERE id = %s",
            (worker, attempts, job_id),
        )
    return job_id


def _job(store: PostgresStore, job_id: int) -> Any:
    with store._read() as conn:
        return conn.execute(
            "SELECT status::text, attempts FROM procrastinate_jobs WHERE id = %s", (job_id,)
        ).fetchone()


def test_a_job_of_a_dead_worker_is_retried_once(store: PostgresStore) -> None:
    run_id = _queued_run(store)
    job_id = _job_taken_by_a_dead_worker(store, run_id, attempts=0)
    assert _tidy(store)["retried"] == 1
    assert tuple(_job(store, job_id)) == ("todo", 1)
    run = store.get_run(run_id)
    assert run is not None and run.status == "running"  # the retried job takes it over
    assert _tidy(store) == {"retried": 0, "failed": 0, "requeued": 0}  # nothing stalled now


def test_a_job_that_stalls_twice_fails_its_run_with_the_reason(store: PostgresStore) -> None:
    run_id = _queued_run(store)
    job_id = _job_taken_by_a_dead_worker(store, run_id, attempts=1)
    assert _tidy(store)["failed"] == 1
    assert _job(store, job_id)[0] == "failed"
    run = store.get_run(run_id)
    assert run is not None and run.status == "failed" and run.reason == STOPPED_TWICE


def test_a_run_stored_but_never_queued_is_queued(store: PostgresStore) -> None:
    run_id = _queued_run(store)
    assert _tidy(store)["requeued"] == 0  # too young: its server may be queueing it now
    with store._write() as conn:
        conn.execute(
            "UPDATE runs SET created_at = '2000-01-01T00:00:00.000Z' WHERE id = %s", (run_id,)
        )
    assert _tidy(store)["requeued"] == 1
    with store._read() as conn:
        queued = conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE args->>'run_id' = %s "
            "AND status = 'todo'",
            (run_id,),
        ).fetchone()[0]
    assert queued == 1
    assert _tidy(store)["requeued"] == 0  # it has its job now
