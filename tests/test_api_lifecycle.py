"""Lifecycle and audit: Location on creation, Idempotency-Key, cancel, delete, unpublish, the
audit log and key management, against the real app, store and worker processes."""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from postgres_support import open_test_store, sqlite_only, world_store
from test_api_support import (
    CAMDEN,
    World,
    api_world,
    create_scenario,
    london_data,
    wait_for_run,
    with_direct_budget,
)

from commissioning.store import open_store
from commissioning.store.sqlite_schema import SCHEMA

ALICE = "Alice Moss (commissioning lead)"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with api_world(tmp_path_factory.mktemp("lifecycle")) as built:
        yield built


@pytest.fixture(scope="module")
def alice(world: World) -> dict[str, str]:
    """A named commissioner key: the audit log must show its name."""
    return {"X-API-Key": world.store.create_key("commissioner", label=ALICE)[1]}


def _errors(response: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def _wait_for_worker(world: World, run_id: str) -> int:
    queue = world.client.app.state.run_queue
    deadline = time.monotonic() + 30
    while run_id not in queue.worker_pids:
        assert time.monotonic() < deadline, "no worker process started"
        time.sleep(0.01)
    pid: int = queue.worker_pids[run_id]
    return pid


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _audit(world: World, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = world.client.get("/api/v1/audit", headers=headers)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


def _start(world: World, headers: dict[str, str], scenario_id: str) -> str:
    response = world.client.post("/api/v1/runs", json={"scenario_id": scenario_id}, headers=headers)
    assert response.status_code == 202, response.text
    run_id: str = response.json()["id"]
    return run_id


# -- Location and duplicate scenarios -------------------------------------------------------


def test_creation_answers_with_location_and_the_same_scenario_is_not_stored_twice(
    world: World, alice: dict[str, str]
) -> None:
    data = with_direct_budget(450_000_000, "London, MOPAC direct £4.5m")
    created = world.client.post("/api/v1/scenarios", json=data, headers=alice)
    assert created.status_code == 201
    scenario_id = created.json()["id"]
    assert created.headers["location"] == f"/api/v1/scenarios/{scenario_id}"
    assert world.client.get(created.headers["location"], headers=alice).json()["id"] == scenario_id
    before = len(world.client.get("/api/v1/scenarios", headers=alice).json()["scenarios"])

    again = world.client.post("/api/v1/scenarios", json=data, headers=alice)
    assert again.status_code == 200  # nothing new: the one already stored
    assert again.json()["id"] == scenario_id
    assert again.headers["location"] == f"/api/v1/scenarios/{scenario_id}"
    after = len(world.client.get("/api/v1/scenarios", headers=alice).json()["scenarios"])
    assert after == before
    renamed = world.client.post(
        "/api/v1/scenarios", json={**data, "name": "another name"}, headers=alice
    )
    assert renamed.status_code == 201 and renamed.json()["id"] != scenario_id

    started = world.client.post("/api/v1/runs", json={"scenario_id": scenario_id}, headers=alice)
    assert started.status_code == 202
    run_id = started.json()["id"]
    assert started.headers["location"] == f"/api/v1/runs/{run_id}"
    assert world.client.post(f"/api/v1/runs/{run_id}/cancel", headers=alice).status_code == 200

    analysis = world.client.post(
        "/api/v1/analyses",
        json={
            "kind": "sweep",
            "scenario_id": scenario_id,
            "sweep": {
                "axes": [{"path": "pots.mopac_direct", "from": "50%", "to": "100%", "steps": 2}],
                "knee": False,
            },
        },
        headers=alice,
    )
    assert analysis.status_code == 202, analysis.text
    analysis_id = analysis.json()["id"]
    assert analysis.headers["location"] == f"/api/v1/analyses/{analysis_id}"
    cancelled = world.client.post(f"/api/v1/runs/{analysis_id}/cancel", headers=alice)
    assert cancelled.status_code == 200


# -- Idempotency-Key ------------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(
    world: World, alice: dict[str, str]
) -> None:
    headers = {**alice, "Idempotency-Key": "retry-run-1"}
    body = {"scenario_id": world.scenario_id}
    before = len(world.client.get("/api/v1/runs?limit=500", headers=alice).json()["runs"])
    first = world.client.post("/api/v1/runs", json=body, headers=headers)
    assert first.status_code == 202
    retry = world.client.post("/api/v1/runs", json=body, headers=headers)
    assert retry.status_code == 202
    assert retry.json()["id"] == first.json()["id"]
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    after = len(world.client.get("/api/v1/runs?limit=500", headers=alice).json()["runs"])
    assert after == before + 1  # one run, not two

    other = world.client.post(
        "/api/v1/runs", json={"scenario_id": "0" * 32}, headers=headers
    )  # the same key for a different request
    assert other.status_code == 422
    assert "different request" in _errors(other)["Idempotency-Key"]

    # Keys belong to the API key that sent them: another commissioner's key is its own.
    bob = {"X-API-Key": world.store.create_key("commissioner", label="Bob")[1]}
    separate = world.client.post(
        "/api/v1/runs", json=body, headers={**bob, "Idempotency-Key": "retry-run-1"}
    )
    assert separate.status_code == 202 and separate.json()["id"] != first.json()["id"]
    for run_id in (first.json()["id"], separate.json()["id"]):
        world.client.post(f"/api/v1/runs/{run_id}/cancel", headers=alice)

    # A scenario POST is replayed too (201 again, not the 200 of a duplicate).
    data = with_direct_budget(420_000_000, "London, MOPAC direct £4.2m")
    scenario_headers = {**alice, "Idempotency-Key": "scenario-1"}
    made = world.client.post("/api/v1/scenarios", json=data, headers=scenario_headers)
    replayed = world.client.post("/api/v1/scenarios", json=data, headers=scenario_headers)
    assert made.status_code == replayed.status_code == 201
    assert replayed.json() == made.json()

    # An error is not kept: the retry runs again (and fails again, here).
    bad = {**alice, "Idempotency-Key": "bad-1"}
    assert world.client.post("/api/v1/runs", json={}, headers=bad).status_code == 400
    assert world.client.post("/api/v1/runs", json={}, headers=bad).status_code == 400
    too_long = world.client.post(
        "/api/v1/runs", json=body, headers={**alice, "Idempotency-Key": "x" * 256}
    )
    assert too_long.status_code == 400 and "Idempotency-Key" in _errors(too_long)


# -- cancel ---------------------------------------------------------------------------------


@sqlite_only(
    "cancelling stops the server's own worker process (found by pid); a `commissioning worker` "
    "is left to finish and write nothing (tests/test_store_contract.py: leases)"
)
def test_cancel_a_running_and_a_queued_run(world: World, alice: dict[str, str]) -> None:
    running = _start(world, alice, world.scenario_id)
    queued = _start(world, alice, world.scenario_id)  # one worker: this one waits
    pid = _wait_for_worker(world, running)
    assert world.client.get(f"/api/v1/runs/{queued}", headers=alice).json()["status"] == "queued"

    response = world.client.post(
        f"/api/v1/runs/{queued}/cancel", json={"reason": "started twice"}, headers=alice
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    response = world.client.post(f"/api/v1/runs/{running}/cancel", headers=alice)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert _gone(pid), "the worker process is still alive"

    for run_id in (running, queued):
        run = wait_for_run(world.client, run_id, alice)
        assert run["status"] == "cancelled"  # the killed worker did not overwrite it
        results = world.client.get(f"/api/v1/runs/{run_id}/results", headers=alice)
        assert results.status_code == 409
    assert not world.store.run_dir(queued).exists()
    # The queue goes on: the next run is solved.
    after = _start(world, alice, world.scenario_id)
    assert wait_for_run(world.client, after, alice)["status"] == "succeeded"
    finished = world.client.post(f"/api/v1/runs/{after}/cancel", headers=alice)
    assert finished.status_code == 409
    assert "already finished" in _errors(finished)["run_id"]

    entries = _audit(world, alice)
    cancel = next(e for e in entries if e["action"] == "cancel" and e["target_id"] == queued)
    assert cancel["reason"] == "started twice" and cancel["key_name"] == ALICE


# -- delete and unpublish -------------------------------------------------------------------


def test_delete_draft_runs_and_scenarios_but_never_published_ones(
    world: World, alice: dict[str, str]
) -> None:
    run_dir = world.store.finished_run_dir(world.draft)  # PostgreSQL: fetched from the database
    assert run_dir.exists()
    deleted = world.client.request(
        "DELETE", f"/api/v1/runs/{world.draft}", json={"reason": "a test run"}, headers=alice
    )
    assert deleted.status_code == 204
    assert world.client.get(f"/api/v1/runs/{world.draft}", headers=alice).status_code == 404
    assert not run_dir.exists()
    assert world.client.delete(f"/api/v1/runs/{world.draft}", headers=alice).status_code == 404

    published = world.client.delete(f"/api/v1/runs/{world.published}", headers=alice)
    assert published.status_code == 409 and "published" in _errors(published)["run_id"]
    scenario = world.client.delete(f"/api/v1/scenarios/{world.scenario_id}", headers=alice)
    assert scenario.status_code == 409 and "published" in _errors(scenario)["scenario_id"]

    # A scenario whose only run is a (cancelled) draft goes, with the run.
    scenario_id = create_scenario(
        world.client, world.keys, with_direct_budget(410_000_000, "London to delete")
    )
    run_id = _start(world, alice, scenario_id)
    world.client.post(f"/api/v1/runs/{run_id}/cancel", headers=alice)
    gone = world.client.delete(f"/api/v1/scenarios/{scenario_id}", headers=alice)
    assert gone.status_code == 204
    assert world.client.get(f"/api/v1/scenarios/{scenario_id}", headers=alice).status_code == 404
    assert world.client.get(f"/api/v1/runs/{run_id}", headers=alice).status_code == 404

    finance = world.keys.header("finance")
    assert world.client.delete(f"/api/v1/runs/{world.other}", headers=finance).status_code == 403
    entries = _audit(world, alice)
    draft = next(e for e in entries if e["action"] == "delete" and e["target_id"] == world.draft)
    assert draft["target_kind"] == "run" and draft["reason"] == "a test run"
    assert any(e["target_kind"] == "scenario" and e["target_id"] == scenario_id for e in entries)


def test_unpublish_withdraws_a_run_and_is_audited(world: World, alice: dict[str, str]) -> None:
    finance = world.keys.header("finance")
    assert world.client.get(f"/api/v1/runs/{world.other}", headers=finance).status_code == 200
    no_reason = world.client.post(f"/api/v1/runs/{world.other}/unpublish", headers=alice)
    assert no_reason.status_code == 400
    by_finance = world.client.post(
        f"/api/v1/runs/{world.other}/unpublish", json={"reason": "x"}, headers=finance
    )
    assert by_finance.status_code == 403

    response = world.client.post(
        f"/api/v1/runs/{world.other}/unpublish",
        json={"reason": "the MOPAC figure was wrong"},
        headers=alice,
    )
    assert response.status_code == 200 and response.json()["published"] is False
    assert world.client.get(f"/api/v1/runs/{world.other}", headers=finance).status_code == 403
    again = world.client.post(
        f"/api/v1/runs/{world.other}/unpublish", json={"reason": "again"}, headers=alice
    )
    assert again.status_code == 409

    republished = world.client.post(
        f"/api/v1/runs/{world.other}/publish", json={"reason": "figure corrected"}, headers=alice
    )
    assert republished.status_code == 200 and republished.json()["published"] is True

    entries = _audit(world, alice)
    assert [e["action"] for e in entries[:2]] == ["publish", "unpublish"]  # newest first
    publish, unpublish = entries[0], entries[1]
    assert publish["reason"] == "figure corrected"
    assert unpublish["reason"] == "the MOPAC figure was wrong"
    for entry in (publish, unpublish):
        assert entry["target_kind"] == "run" and entry["target_id"] == world.other
        assert entry["key_name"] == ALICE and entry["role"] == "commissioner"
        assert entry["key_id"].startswith("key_")
        at = datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
        assert abs(datetime.now(UTC) - at) < timedelta(minutes=5)
    # The world's own publishes (a key without a name) are in the log too.
    assert {e["target_id"] for e in entries if e["action"] == "publish"} >= {world.published}
    text = world.client.get("/api/v1/audit", headers=alice).text
    assert alice["X-API-Key"] not in text  # never a secret
    assert world.client.get("/api/v1/audit", headers=finance).status_code == 403

    # Paged one entry at a time, the pages add up to the whole log, in the same order.
    whole = world.client.get("/api/v1/audit", headers=alice).json()
    assert whole["total"] == len(whole["entries"]) >= 3 and whole["next"] is None
    paged: list[dict[str, Any]] = []
    link: str | None = "/api/v1/audit?limit=1"
    while link is not None:
        page = world.client.get(link, headers=alice).json()
        assert page["total"] == whole["total"] and len(page["entries"]) == 1
        paged += page["entries"]
        link = page["next"]
    assert paged == whole["entries"]


# -- keys -----------------------------------------------------------------------------------


def test_commissioners_make_list_and_revoke_keys(world: World, alice: dict[str, str]) -> None:
    made = world.client.post(
        "/api/v1/keys",
        json={"role": "borough_lead", "borough": CAMDEN, "name": "Camden finance lead"},
        headers=alice,
    )
    assert made.status_code == 201, made.text
    key = made.json()
    assert made.headers["location"] == f"/api/v1/keys/{key['id']}"
    assert key["secret"].startswith("cmk_") and key["borough"] == CAMDEN
    camden = {"X-API-Key": key["secret"]}
    assert world.client.get(f"/api/v1/runs/{world.published}", headers=camden).status_code == 200

    listing = world.client.get("/api/v1/keys", headers=alice)
    assert listing.status_code == 200
    listed = next(k for k in listing.json()["keys"] if k["id"] == key["id"])
    assert listed["name"] == "Camden finance lead" and "secret" not in listed
    assert key["secret"] not in listing.text

    revoked = world.client.request(
        "DELETE", f"/api/v1/keys/{key['id']}", json={"reason": "left"}, headers=alice
    )
    assert revoked.status_code == 204
    assert world.client.get(f"/api/v1/runs/{world.published}", headers=camden).status_code == 401
    assert world.client.delete(f"/api/v1/keys/{key['id']}", headers=alice).status_code == 204
    assert world.client.delete("/api/v1/keys/key_000000000000", headers=alice).status_code == 404

    entries = _audit(world, alice)
    assert entries[0]["action"] == "revoke_key" and entries[0]["reason"] == "left"
    assert entries[1]["action"] == "create_key" and entries[1]["target_id"] == key["id"]
    assert entries[0]["key_name"] == ALICE


def test_an_expired_key_is_refused(world: World, alice: dict[str, str]) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    made = world.client.post(
        "/api/v1/keys",
        json={"role": "finance", "name": "short-lived", "expires_at": soon.isoformat()},
        headers=alice,
    )
    assert made.status_code == 201, made.text
    assert made.json()["expires_at"].endswith("Z")
    finance = {"X-API-Key": made.json()["secret"]}
    assert world.client.get("/api/v1/runs", headers=finance).status_code == 200
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
    assert world.client.get("/api/v1/runs", headers=finance).status_code == 401

    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    stale = world.client.post(
        "/api/v1/keys", json={"role": "finance", "name": "x", "expires_at": past}, headers=alice
    )
    assert stale.status_code == 400 and "expires_at" in _errors(stale)
    naive = world.client.post(
        "/api/v1/keys",
        json={"role": "finance", "name": "x", "expires_at": "2030-01-01T00:00:00"},
        headers=alice,
    )
    assert naive.status_code == 400


def test_only_commissioners_manage_keys_and_never_commissioner_keys(
    world: World, alice: dict[str, str]
) -> None:
    body = {"role": "finance", "name": "x"}
    for who in ("finance", "camden"):
        headers = world.keys.header(who)
        assert world.client.post("/api/v1/keys", json=body, headers=headers).status_code == 403
        assert world.client.get("/api/v1/keys", headers=headers).status_code == 403
        some_key = world.store.list_keys()[0].id
        assert world.client.delete(f"/api/v1/keys/{some_key}", headers=headers).status_code == 403
    boss = world.client.post(
        "/api/v1/keys", json={"role": "commissioner", "name": "boss"}, headers=alice
    )
    assert boss.status_code == 400 and "role" in _errors(boss)
    no_borough = world.client.post(
        "/api/v1/keys", json={"role": "borough_lead", "name": "x"}, headers=alice
    )
    assert no_borough.status_code == 400 and "borough" in _errors(no_borough)
    commissioner_key = next(k for k in world.store.list_keys() if k.role == "commissioner")
    refused = world.client.delete(f"/api/v1/keys/{commissioner_key.id}", headers=alice)
    assert refused.status_code == 403


# -- the spec and the store file ------------------------------------------------------------


def test_every_lifecycle_route_is_in_the_openapi_spec(world: World) -> None:
    spec = world.client.get("/schema/openapi.json").json()
    paths = spec["paths"]
    expected = {
        "/api/v1/runs/{run_id}/cancel": {"post"},
        "/api/v1/runs/{run_id}/unpublish": {"post"},
        "/api/v1/runs/{run_id}": {"get", "delete"},
        "/api/v1/scenarios/{scenario_id}": {"get", "delete"},
        "/api/v1/audit": {"get"},
        "/api/v1/keys": {"get", "post"},
        "/api/v1/keys/{key_id}": {"delete"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    assert {"200", "201"} <= set(paths["/api/v1/scenarios"]["post"]["responses"])
    assert "409" in paths["/api/v1/runs/{run_id}/cancel"]["post"]["responses"]

    # Every POST honours Idempotency-Key, so every POST declares it, with its 409 and 422.
    posts = {path: ops["post"] for path, ops in paths.items() if "post" in ops}
    assert len(posts) >= 7
    for path, operation in posts.items():
        headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
        declared = headers.get("Idempotency-Key")
        assert declared is not None and declared["required"] is False, path
        assert declared["schema"]["maxLength"] == 255, path
        assert {"409", "422"} <= set(operation["responses"]), path


@sqlite_only("upgrading a SQLite file of schema 3 in place")
def test_a_schema_3_store_file_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = re.sub(r",\s*'cancelled'", "", SCHEMA.replace("    expires_at  TEXT,\n", ""))
    old = old.split("CREATE TABLE IF NOT EXISTS audit_log")[0]
    assert "'cancelled'" not in old and "expires_at" not in old
    conn = sqlite3.connect(path)
    conn.executescript(old)
    conn.execute("PRAGMA user_version = 3")
    conn.execute(
        "INSERT INTO api_keys (id, key_hash, role, created_at) VALUES "
        "('key_1', 'h', 'finance', '2026-01-01T00:00:00.000Z')"
    )
    conn.execute(
        "INSERT INTO scenarios (id, name, content_hash, body, created_at) VALUES "
        "('s1', 'old', 'c', '{}', '2026-01-01T00:00:00.000Z')"
    )
    for run_id in ("r1", "r2"):
        conn.execute(
            "INSERT INTO runs (id, scenario_id, status, created_at) VALUES "
            f"('{run_id}', 's1', 'queued', '2026-01-01T00:00:00.000Z')"
        )
    conn.commit()
    conn.close()

    store = open_store(path)
    assert [k.id for k in store.list_keys()] == ["key_1"]
    assert store.list_keys()[0].expires_at is None
    cancelled = store.cancel_run("r1", "cancelled: upgrade test")
    assert cancelled is not None and cancelled.status == "cancelled"
    assert store.get_run("r2") is not None and store.get_run("r2").status == "queued"  # type: ignore[union-attr]
    assert store.find_scenario("c") is not None
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] >= 4
        indexes = {r[1] for r in check.execute("PRAGMA index_list(runs)")}
        assert {"runs_created", "runs_status"} <= indexes
        assert check.execute("PRAGMA foreign_key_check").fetchall() == []
    open_store(path)  # a second upgrade changes nothing


def test_london_is_still_one_scenario(world: World) -> None:
    """The world stored London once; storing it again finds it (no duplicate)."""
    again = world.client.post(
        "/api/v1/scenarios", json=london_data(), headers=world.keys.header("commissioner")
    )
    assert again.status_code == 200 and again.json()["id"] == world.scenario_id


def test_idempotency_claims_expire_and_a_second_claim_waits(tmp_path: Path) -> None:
    store = open_test_store(world_store(tmp_path, "store", workers=0))
    key, _ = store.create_key("commissioner", label="x")
    assert store.reserve_response(key.id, "k", "fp", 3600) is None  # claimed
    waiting = store.reserve_response(key.id, "k", "fp", 3600)
    assert waiting is not None and waiting.status is None  # the API answers 409
    store.keep_response(key.id, "k", 202, "application/json", "/api/v1/runs/r", b"{}")
    kept = store.reserve_response(key.id, "k", "fp", 3600)
    assert kept is not None and (kept.status, kept.location, kept.body) == (
        202,
        "/api/v1/runs/r",
        b"{}",
    )
    time.sleep(0.01)
    assert store.reserve_response(key.id, "k", "other", 0) is None  # expired: claimed afresh
    store.release_response(key.id, "k")
    assert store.reserve_response(key.id, "k", "fp", 3600) is None
