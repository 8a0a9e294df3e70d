"""The run queue and the store across restarts: 429 when full, killed runs marked failed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from litestar.testing import TestClient
from postgres_support import open_test_store, sqlite_only
from test_api_support import (
    create_scenario,
    london_data,
    make_keys,
    settings_for,
    wait_for_run,
)

from commissioning.api.app import create_app


def test_a_full_queue_answers_429_with_retry_after(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, workers=1, queue_size=0, retry_after_seconds=7)
    keys = make_keys(open_test_store(settings.store))
    headers = keys.header("commissioner")
    with TestClient(create_app(settings)) as client:
        scenario_id = create_scenario(client, keys, london_data())
        first = client.post("/api/v1/runs", json={"scenario_id": scenario_id}, headers=headers)
        assert first.status_code == 202
        # The only worker is busy (starting a process alone takes longer than this request).
        second = client.post("/api/v1/runs", json={"scenario_id": scenario_id}, headers=headers)
        assert second.status_code == 429
        assert second.headers["retry-after"] == "7"
        assert second.json()["status"] == 429
        runs = client.get("/api/v1/runs", headers=headers).json()["runs"]
        assert [r["id"] for r in runs] == [first.json()["id"]]  # a refused run leaves no row
        assert wait_for_run(client, first.json()["id"], headers)["status"] == "succeeded"
        third = client.post("/api/v1/runs", json={"scenario_id": scenario_id}, headers=headers)
        assert third.status_code == 202  # room again once the first run finished


@sqlite_only(
    "a restarted server fails the runs its own worker processes held; on PostgreSQL queued "
    "and running runs belong to `commissioning worker`s, which go on"
)
def test_a_restart_marks_runs_killed_mid_solve_failed(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = open_test_store(settings.store)
    keys = make_keys(store)
    # What a server killed mid-solve leaves behind: a running run, a queued run and a
    # half-written run directory.
    scenario = store.add_scenario("killed", '{"name": "killed"}', "0" * 64, None)
    running = store.add_run(scenario.id, None)
    assert store.mark_running(running.id)
    queued = store.add_run(scenario.id, None)
    staging = store.run_dir(running.id).with_name(f".{running.id}.tmp123")
    staging.mkdir(parents=True)
    (staging / "coverage.csv").write_text("half a file")

    with TestClient(create_app(settings)) as client:
        headers = keys.header("commissioner")
        for run_id in (running.id, queued.id):
            run = client.get(f"/api/v1/runs/{run_id}", headers=headers).json()
            assert run["status"] == "failed"
            assert run["reason"].startswith("interrupted")
            results = client.get(f"/api/v1/runs/{run_id}/results", headers=headers)
            assert results.status_code == 409
    assert not staging.exists()


@sqlite_only(
    "a stopping server fails the runs its own worker processes held; on PostgreSQL the "
    "workers, not the server, solve them and go on"
)
def test_stopping_the_server_fails_its_unfinished_runs(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, workers=1, queue_size=4)
    store = open_test_store(settings.store)
    keys = make_keys(store)
    headers = keys.header("commissioner")
    with TestClient(create_app(settings)) as client:
        scenario_id = create_scenario(client, keys, london_data())
        run_ids = [
            client.post("/api/v1/runs", json={"scenario_id": scenario_id}, headers=headers).json()[
                "id"
            ]
            for _ in range(3)
        ]
    # The app stopped at once: whatever had not finished is failed, nothing is left running.
    statuses = {store.get_run(run_id).status for run_id in run_ids}  # type: ignore[union-attr]
    assert statuses <= {"succeeded", "failed"}
    assert "failed" in statuses
    for run_id in run_ids:
        run = store.get_run(run_id)
        assert run is not None
        if run.status == "failed":
            assert run.reason is not None and run.reason.startswith("interrupted")


@sqlite_only(
    "kills one of the server's own worker processes by pid; a killed `commissioning worker` "
    "is tests/test_queue_postgres.py's (its job is retried once)"
)
def test_a_worker_that_dies_fails_its_run_and_the_queue_goes_on(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, workers=1, queue_size=2)
    keys = make_keys(open_test_store(settings.store))
    headers = keys.header("commissioner")
    with TestClient(create_app(settings)) as client:
        scenario_id = create_scenario(client, keys, london_data())
        doomed = client.post("/api/v1/runs", json={"scenario_id": scenario_id}, headers=headers)
        queued = client.post("/api/v1/runs", json={"scenario_id": scenario_id}, headers=headers)
        queue = client.app.state.run_queue
        deadline = time.monotonic() + 30
        while doomed.json()["id"] not in queue.worker_pids:
            assert time.monotonic() < deadline, "no worker process started"
            time.sleep(0.01)
        os.kill(queue.worker_pids[doomed.json()["id"]], signal.SIGKILL)
        run = wait_for_run(client, doomed.json()["id"], headers)
        assert run["status"] == "failed"
        assert run["reason"] == (
            "the worker process solving this run stopped unexpectedly (signal SIGKILL)"
        )
        assert wait_for_run(client, queued.json()["id"], headers)["status"] == "succeeded"
