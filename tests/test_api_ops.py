"""Operations: /health (liveness) and /ready (store and run queue) without a key, and a run's
progress (stage, stages done of all) recorded by its worker process as the real solve goes."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from postgres_support import (
    drop_store,
    open_test_store,
    sqlite_only,
    store_held,
    wait_for_workers,
)
from test_api_support import (
    Keys,
    create_scenario,
    london_data,
    make_keys,
    settings_for,
    start_run,
    wait_for_run,
)

from commissioning import __version__
from commissioning.api.app import create_app
from commissioning.api.services.progress import SOLVE_STAGES, run_progress
from commissioning.store import RunRecord, SqliteStore, Store, open_store
from commissioning.store.sqlite import SCHEMA_VERSION


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient[Any], Store, Keys]]:
    """The real app on a store of its own: one worker, no waiting room (a second run is 429)."""
    settings = settings_for(tmp_path, workers=1, queue_size=0)
    store = open_test_store(settings.store)
    keys = make_keys(store)
    wait_for_workers(settings.store)  # /ready counts them
    with TestClient(create_app(settings)) as client:
        yield client, store, keys


def test_health_needs_no_key_and_touches_nothing(
    served: tuple[TestClient[Any], Store, Keys],
) -> None:
    client, store, _ = served
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}
    # Liveness says the process answers, whatever its store: with the store gone it still does.
    drop_store(store)
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 503


def test_ready_with_a_live_store_and_queue(
    served: tuple[TestClient[Any], Store, Keys],
) -> None:
    client, _, _ = served
    response = client.get("/ready")  # no key
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready" and body["version"] == __version__
    assert body["store"] == {"ok": True, "problem": None}
    assert body["queue"] == {
        "open": True,
        "accepting": True,
        "workers_total": 1,
        "workers_busy": 0,
        "queued_runs": 0,
        "capacity": 1,
    }


@sqlite_only("the store's file removed: the message names the file, and no empty one is made")
def test_ready_is_503_naming_the_store_when_its_file_is_gone(
    served: tuple[TestClient[Any], Store, Keys],
) -> None:
    client, store, _ = served
    assert isinstance(store, SqliteStore)
    store.path.unlink()
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert [e["field"] for e in body["errors"]] == ["store"]
    assert "missing" in body["errors"][0]["message"]
    assert str(store.path) in body["errors"][0]["message"]
    assert body["store"]["ok"] is False and body["queue"]["open"] is True
    assert body["status"] == 503 and body["instance"] == "/ready"
    assert not store.path.exists()  # asking did not leave an empty store file behind


@sqlite_only("the store's file overwritten with bytes that are not SQLite")
def test_ready_is_503_naming_the_store_when_it_is_not_a_database(
    served: tuple[TestClient[Any], Store, Keys],
) -> None:
    client, store, _ = served
    assert isinstance(store, SqliteStore)
    for leftover in store.path.parent.glob(store.path.name + "-*"):
        leftover.unlink()  # the WAL files of the real store
    store.path.write_bytes(b"this is not a SQLite file" * 100)
    response = client.get("/ready")
    assert response.status_code == 503
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["store"]
    assert "cannot be read" in errors[0]["message"]


def test_ready_is_503_naming_the_queue_once_it_is_closed(
    served: tuple[TestClient[Any], Store, Keys],
) -> None:
    client, _, _ = served
    run_queue = client.app.state["run_queue"]
    client.blocking_portal.call(run_queue.close)  # on the app's event loop, as at shutdown
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert [e["field"] for e in body["errors"]] == ["queue"]
    assert "closed" in body["errors"][0]["message"]
    assert body["queue"]["open"] is False and body["store"]["ok"] is True


def test_a_solve_reports_its_stages_as_it_goes_and_all_done_when_finished(
    served: tuple[TestClient[Any], Store, Keys],
) -> None:
    client, _, keys = served
    commissioner = keys.header("commissioner")
    run_id = start_run(client, keys, create_scenario(client, keys, london_data()))
    stages = len(SOLVE_STAGES)
    seen: list[dict[str, Any]] = []
    readiness: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = client.get(f"/api/v1/runs/{run_id}", headers=commissioner).json()
        if run["status"] != "running":
            if run["status"] == "queued":
                assert run["progress"] == {"stage": "queued", "steps_done": 0, "steps_total": 7}
                continue
            break
        seen.append(run["progress"])
        if len(readiness) < 3:
            readiness.append(client.get("/ready").json())
        time.sleep(0.02)
    finished = wait_for_run(client, run_id, commissioner)
    assert finished["status"] == "succeeded", finished["reason"]
    assert finished["progress"] == {"stage": "finished", "steps_done": stages, "steps_total": 7}

    assert seen, "the run was never seen running"
    for progress in seen:
        assert progress["stage"] in SOLVE_STAGES and progress["steps_total"] == stages
        assert progress["steps_done"] == SOLVE_STAGES.index(progress["stage"]) < stages
    order = [SOLVE_STAGES.index(p["stage"]) for p in seen]
    assert order == sorted(order), "stages only move forward"
    assert len(set(order)) >= 2, f"only {set(order)} seen: the worker records no stages"

    # One worker and no waiting room: while it solves, a new run would be refused.
    for body in readiness:
        assert body["status"] == 503 and [e["field"] for e in body["errors"]] == ["queue"]
        assert "full" in body["errors"][0]["message"] and body["queue"]["accepting"] is False
    assert client.get("/ready").status_code == 200  # the run has finished: room again


def _record(**changes: Any) -> RunRecord:
    run = RunRecord(
        id="r",
        scenario_id="s",
        scenario_name="London",
        status="queued",
        reason=None,
        created_at="2026-01-01T00:00:00.000Z",
        started_at=None,
        finished_at=None,
        published_at=None,
        published_by=None,
        summary=None,
        created_by=None,
    )
    return replace(run, **changes)


def test_progress_follows_from_status_and_stage() -> None:
    started = "2026-01-01T00:00:01.000Z"
    assert vars(run_progress(_record())) == {"stage": "queued", "steps_done": 0, "steps_total": 7}
    begun = _record(status="running", started_at=started)
    assert vars(run_progress(begun))["stage"] == "starting"
    cost = run_progress(replace(begun, progress_stage="cost"))
    assert (cost.stage, cost.steps_done) == ("cost", 3)
    stopped = run_progress(replace(begun, status="failed", progress_stage="explaining"))
    assert (stopped.stage, stopped.steps_done) == ("explaining", 4)
    never_begun = run_progress(_record(status="failed"))  # failed at a restart while queued
    assert (never_begun.stage, never_begun.steps_done) == ("queued", 0)
    done = run_progress(_record(status="succeeded", started_at=started, kind="sweep"))
    assert vars(done) == {"stage": "finished", "steps_done": 2, "steps_total": 2}


@sqlite_only("upgrading a SQLite file of schema 3 in place")
def test_a_store_from_before_run_stages_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    store = open_store(path)
    scenario = store.add_scenario("London", "{}", "hash", None)
    run = store.add_run(scenario.id, None)
    assert store.mark_running(run.id, "lease")
    with sqlite3.connect(path) as conn:  # as schema 3 made it: no progress_stage column
        conn.execute("ALTER TABLE runs DROP COLUMN progress_stage")
        conn.execute("PRAGMA user_version = 3")
    reopened = open_store(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    old = reopened.get_run(run.id)
    assert old is not None and old.status == "running" and old.progress_stage is None
    assert run_progress(old).stage == "starting"
    assert reopened.set_stage(run.id, "lease", "fairness")
    assert not reopened.set_stage(run.id, "another lease", "cost")  # only under its lease
    again = reopened.get_run(run.id)
    assert again is not None and again.progress_stage == "fairness"


def test_the_probes_and_progress_are_in_the_openapi_spec(
    served: tuple[TestClient[Any], Store, Keys],
) -> None:
    client, _, _ = served
    spec = client.get("/schema/openapi.json").json()
    for path in ("/health", "/ready"):
        operation = spec["paths"][path]["get"]
        assert "200" in operation["responses"] and not operation.get("security")
    assert "503" in spec["paths"]["/ready"]["get"]["responses"]
    schemas = spec["components"]["schemas"]
    assert "progress" in schemas["RunOut"]["required"]
    assert set(schemas["ProgressOut"]["properties"]) == {"stage", "steps_done", "steps_total"}


def test_ready_is_503_when_the_store_does_not_answer_in_time(
    served: tuple[TestClient[Any], Store, Keys],
) -> None:
    client, store, _ = served
    # The app keeps connections open between requests; an exclusive lock needs them closed
    # first (as after a restart), and /ready then opens one of its own, which must wait.
    client.app.state.store.close()
    store.close()
    with store_held(store):  # another process holding the store exclusively: readers wait
        started = time.monotonic()
        response = client.get("/ready")
        waited = time.monotonic() - started
    assert response.status_code == 503
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["store"] and "within 2 s" in errors[0]["message"]
    assert waited < 10  # not the store's own 30 s busy wait
    assert client.get("/health").status_code == 200
