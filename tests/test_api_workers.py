"""Solve workers that cannot hurt each other: memory and time limits, no orphans, no stale writes.

Every run is solved in a real worker process of its own (`python -m commissioning.api.worker`);
these tests kill, starve and outlive those processes for real.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient
from postgres_support import open_test_store, sqlite_only, world_store
from test_api_support import create_scenario, london_data, make_keys, settings_for, wait_for_run
from test_api_uvicorn import live_server

from commissioning.api.app import create_app
from commissioning.api.services import runs
from commissioning.api.settings import ApiSettings
from commissioning.api.worker import MEMORY_HOG_ENV, worker_command
from commissioning.store import open_store
from commissioning.store.interface import INTERRUPTED_REASON

POOL = "the API server's own per-run worker processes (api/worker.py)"
SOLVE_MEMORY_MIB = 512  # London allocates about 120 MiB; the hogs want far more


def worker_pids(run_id: str) -> list[int]:
    """Live (not zombie) worker processes solving `run_id`, found by walking /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # it ended while we looked
        if b"commissioning.api.worker" in argv and run_id.encode() in argv and state != "Z":
            found.append(int(entry.name))
    return found


def london_text() -> str:
    return json.dumps(london_data())


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> float:
    """Poll `condition()` until true; return the seconds it took."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"{what} after {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - start


@sqlite_only(f"{POOL}: a killed server leaves none behind")
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc (Linux)")
def test_a_server_killed_with_a_run_in_flight_leaves_no_worker(tmp_path: Path) -> None:
    store_path = tmp_path / "commissioning.sqlite3"
    store = open_store(store_path)
    key = store.create_key("commissioner")[1]
    run_id = ""
    try:
        with live_server(tmp_path, store_path) as server:
            with httpx.Client(base_url=server.url, headers={"X-API-Key": key}) as client:
                scenario_id = client.post("/api/v1/scenarios", json=london_data()).json()["id"]
                run_id = client.post("/api/v1/runs", json={"scenario_id": scenario_id}).json()["id"]
            wait_until(lambda: worker_pids(run_id), 30, "no worker process started")
            os.kill(server.process.pid, signal.SIGKILL)  # the server only, not its group
            server.process.wait(timeout=10)
            took = wait_until(lambda: not worker_pids(run_id), 10, "a worker outlived its server")
        assert took < 10
        # The worker died mid-solve (interpreter start alone outlasts the poll above): it wrote
        # neither a result directory nor a verdict, and the next start fails the run.
        run = store.get_run(run_id)
        assert run is not None and run.status == "running"
        assert not store.run_dir(run_id).exists()
    finally:
        for pid in worker_pids(run_id) if run_id else []:
            os.kill(pid, signal.SIGKILL)


# A parent that starts a worker and dies at once, the worker running with prctl made a no-op
# (option 0 is invalid), as on a system without a parent-death signal.
ABANDONING_PARENT = """
import os, subprocess, sys, time
code = (
    "import sys\\nfrom commissioning.api import worker\\n"
    "worker.PR_SET_PDEATHSIG = 0\\nsys.exit(worker.main(sys.argv[1:]))"
)
run_id, lease = sys.argv[1:]
argv = [sys.executable, "-c", code, run_id, "--lease", lease, "--parent", str(os.getpid())]
worker = subprocess.Popen([*argv, "--memory-mib", "1024"], stdin=subprocess.PIPE)
worker.stdin.write(sys.stdin.buffer.read())
worker.stdin.close()
print(worker.pid, flush=True)
time.sleep(0.5)
os._exit(0)
"""


@sqlite_only(f"{POOL}: the watchdog of one whose server died")
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc (Linux)")
def test_without_a_death_signal_the_watchdog_stops_an_orphaned_worker(tmp_path: Path) -> None:
    store = open_store(tmp_path / "commissioning.sqlite3")
    scenario = store.add_scenario("London", london_text(), "0" * 64, None)
    run = store.add_run(scenario.id, None)
    lease = runs.begin_run(store, run.id)
    assert lease is not None
    parent = subprocess.run(
        [sys.executable, "-c", ABANDONING_PARENT, run.id, lease],
        input=pickle.dumps(store),
        capture_output=True,
        timeout=60,
    )
    pid = int(parent.stdout)
    try:
        took = wait_until(lambda: not worker_pids(run.id), 5, "an orphaned worker kept running")
        assert took < 2  # the watchdog looks every half second
        after = store.get_run(run.id)
        assert after is not None and after.status == "running"  # it wrote nothing
        assert not store.run_dir(run.id).exists()
    finally:
        if worker_pids(run.id):
            os.kill(pid, signal.SIGKILL)


@sqlite_only(f"{POOL}: the memory cap the server gives each run")
def test_a_run_out_of_memory_fails_alone_and_queued_runs_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MEMORY_HOG_ENV, "1")
    settings = settings_for(tmp_path, workers=1, queue_size=4, worker_memory_mib=SOLVE_MEMORY_MIB)
    keys = make_keys(open_test_store(settings.store))
    headers = keys.header("commissioner")
    with TestClient(create_app(settings)) as client:
        london = create_scenario(client, keys, london_data())
        native = create_scenario(client, keys, {**london_data(), "name": "memory hog: native"})
        python = create_scenario(client, keys, {**london_data(), "name": "memory hog: python"})
        started = {}
        for name, scenario_id in (("native", native), ("python", python), ("london", london)):
            response = client.post(
                "/api/v1/runs", json={"scenario_id": scenario_id}, headers=headers
            )
            assert response.status_code == 202, response.text
            started[name] = response.json()["id"]
        outcome = {name: wait_for_run(client, run_id, headers) for name, run_id in started.items()}
    for hog in ("native", "python"):
        assert outcome[hog]["status"] == "failed"
        assert outcome[hog]["reason"] == "the solve ran out of its memory limit of 512 MiB"
    assert outcome["london"]["status"] == "succeeded"


@sqlite_only(f"{POOL}: the run time limit the server enforces by stopping it")
def test_a_run_past_its_time_limit_is_stopped_and_says_so(tmp_path: Path) -> None:
    # Starting a worker alone takes longer than this, so the London run cannot finish in time.
    settings = settings_for(tmp_path, workers=1, run_time_limit_seconds=0.3)
    keys = make_keys(open_test_store(settings.store))
    headers = keys.header("commissioner")
    with TestClient(create_app(settings)) as client:
        scenario_id = create_scenario(client, keys, london_data())
        response = client.post("/api/v1/runs", json={"scenario_id": scenario_id}, headers=headers)
        run_id = response.json()["id"]
        run = wait_for_run(client, run_id, headers)
        assert client.app.state.run_queue.worker_pids == {}
    assert run["status"] == "failed"
    assert run["reason"] == (
        "time_limit: the solve did not finish within the run time limit of 0.3 s, so it was stopped"
    )
    assert not worker_pids(run_id)


@sqlite_only(
    f"{POOL}: one outlived by a restart, which fails its run (PostgreSQL's restarts fail none)"
)
def test_a_stale_worker_cannot_finish_a_run_a_restart_failed(tmp_path: Path) -> None:
    store = open_store(tmp_path / "commissioning.sqlite3")
    scenario = store.add_scenario("London", london_text(), "0" * 64, None)
    run = store.add_run(scenario.id, None)
    lease = runs.begin_run(store, run.id)
    assert lease is not None
    assert store.recover() == 1  # a new server starts: the old attempt is failed

    assert not store.finish_run(run.id, "succeeded", summary={"areas": 32}, lease=lease)
    assert not store.holds_lease(run.id, lease)
    # The stale worker itself, solving for real, then trying to record its result.
    worker = subprocess.run(
        worker_command(run.id, lease, SOLVE_MEMORY_MIB),
        input=pickle.dumps(store),
        capture_output=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr.decode()
    after = store.get_run(run.id)
    assert after is not None
    assert (after.status, after.reason, after.summary) == ("failed", INTERRUPTED_REASON, None)
    assert not store.run_dir(run.id).exists()


def test_a_finish_names_the_lease_of_the_attempt_that_holds_the_run(tmp_path: Path) -> None:
    store = open_test_store(world_store(tmp_path, "commissioning", workers=0))
    scenario = store.add_scenario("London", london_text(), "0" * 64, None)
    run = store.add_run(scenario.id, None)
    assert store.mark_running(run.id, "attempt-1")
    assert store.holds_lease(run.id, "attempt-1")
    assert not store.finish_run(run.id, "failed", reason="someone else", lease="attempt-0")
    store.run_dir(run.id).mkdir(
        parents=True
    )  # written before it succeeds, as a worker does (PostgreSQL then keeps its files)
    assert store.finish_run(run.id, "succeeded", summary={"areas": 32}, lease="attempt-1")
    assert not store.finish_run(run.id, "failed", reason="too late", lease="attempt-1")
    finished = store.get_run(run.id)
    assert finished is not None and finished.status == "succeeded"


@sqlite_only("upgrading a SQLite file of schema 1 in place")
def test_a_store_made_before_leases_gains_the_column_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    store = open_store(path)
    scenario = store.add_scenario("London", london_text(), "0" * 64, None)
    run = store.add_run(scenario.id, None)
    with sqlite3.connect(path) as conn:  # what schema 1 looked like: no lease column
        conn.execute("ALTER TABLE runs DROP COLUMN lease")
        conn.execute("PRAGMA user_version = 1")
    reopened = open_store(path)
    assert reopened.mark_running(run.id, "attempt-1")
    assert reopened.finish_run(run.id, "succeeded", summary={}, lease="attempt-1")


def test_worker_limits_are_settings_with_plain_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMISSIONING_WORKER_MEMORY_MIB", "1024")
    monkeypatch.setenv("COMMISSIONING_RUN_TIME_LIMIT_SECONDS", "90")
    settings = ApiSettings()
    assert (settings.worker_memory_mib, settings.run_time_limit_seconds) == (1024, 90.0)
    with pytest.raises(ValueError, match="worker_memory_mib must be at least 256"):
        ApiSettings(worker_memory_mib=100)
    with pytest.raises(ValueError, match="run_time_limit_seconds must be"):
        ApiSettings(run_time_limit_seconds=0)
    monkeypatch.setenv("COMMISSIONING_WORKER_MEMORY_MIB", "lots")
    with pytest.raises(ValueError, match="COMMISSIONING_WORKER_MEMORY_MIB must be a whole number"):
        ApiSettings()
    monkeypatch.setenv("COMMISSIONING_WORKER_MEMORY_MIB", "1024")
    monkeypatch.setenv("COMMISSIONING_RUN_TIME_LIMIT_SECONDS", "nan")
    with pytest.raises(ValueError, match="RUN_TIME_LIMIT_SECONDS must be a positive number"):
        ApiSettings()


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip(reason="worker isolation is tested on Linux")
