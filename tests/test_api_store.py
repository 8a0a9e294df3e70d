"""The store: hashed keys, guarded run transitions, transactions, recovery (SQLite's file,
WAL and schema version; on PostgreSQL, COMMISSIONING_TEST_STORE=postgresql, the rest)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from postgres_support import open_test_store, sqlite_only, world_store

from commissioning.store import SqliteStore, Store
from commissioning.store.interface import hash_secret
from commissioning.store.sqlite import SCHEMA_VERSION


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_test_store(world_store(tmp_path, "store", workers=0))


@pytest.fixture
def sqlite_store(store: Store) -> SqliteStore:
    assert isinstance(store, SqliteStore)
    return store


def test_the_store_implements_the_interface(store: Store) -> None:
    assert isinstance(store, Store)


@sqlite_only("where the SQLite store keeps its files")
def test_the_sqlite_store_keeps_its_data_beside_its_file(sqlite_store: SqliteStore) -> None:
    store = sqlite_store
    assert store.data_dir == store.path.with_name("store-data")


def test_keys_are_found_by_their_secret(store: Store) -> None:
    key, secret = store.create_key("borough_lead", "E09000007", label="Camden VAWG lead")
    assert secret.startswith("cmk_") and len(secret) > 40
    found = store.authenticate(secret)
    assert found == key and found.area_code == "E09000007"
    assert store.authenticate(secret + "x") is None


@sqlite_only("reads the SQLite file's bytes and table (tests/test_store_contract.py: both)")
def test_keys_are_stored_hashed(sqlite_store: SqliteStore) -> None:
    store = sqlite_store
    key, secret = store.create_key("borough_lead", "E09000007", label="Camden VAWG lead")
    for file in store.path.parent.glob(store.path.name + "*"):  # the database, its WAL
        assert secret.encode() not in file.read_bytes()
    with sqlite3.connect(store.path) as conn:
        stored = conn.execute("SELECT key_hash FROM api_keys WHERE id = ?", (key.id,)).fetchone()
    assert stored[0] == hash_secret(secret)


def test_revoked_keys_no_longer_authenticate(store: Store) -> None:
    key, secret = store.create_key("finance")
    assert store.revoke_key(key.id)
    assert store.authenticate(secret) is None
    assert not store.revoke_key(key.id)
    assert store.list_keys()[0].revoked_at is not None


@pytest.mark.parametrize(
    ("role", "area"),
    [("borough_lead", None), ("finance", "E09000007"), ("admin", None)],
)
def test_key_roles_and_areas_must_agree(store: Store, role: str, area: str | None) -> None:
    with pytest.raises(ValueError):
        store.create_key(role, area)  # type: ignore[arg-type]
    assert store.list_keys() == []


def test_run_transitions_are_guarded(store: Store) -> None:
    scenario = store.add_scenario("s", "{}", "0" * 64, None)
    run = store.add_run(scenario.id, None)
    assert run.status == "queued" and run.scenario_name == "s"
    assert store.publish_run(run.id, None) is None  # only succeeded runs are published
    assert store.mark_running(run.id)
    assert not store.mark_running(run.id)
    store.run_dir(run.id).mkdir(
        parents=True
    )  # written before it succeeds, as a worker does (PostgreSQL then keeps its files)
    assert store.finish_run(run.id, "succeeded", summary={"areas": 32})
    assert not store.finish_run(run.id, "failed", reason="too late")  # finished stays finished
    done = store.get_run(run.id)
    assert done is not None and done.status == "succeeded" and done.summary == {"areas": 32}
    published = store.publish_run(run.id, None)
    assert published is not None and published.published
    with pytest.raises(ValueError):
        store.finish_run(run.id, "running")


@sqlite_only("a SQLite server's restart fails unfinished runs; PostgreSQL's leaves them to workers")
def test_a_run_failed_at_restart_cannot_later_succeed(store: Store) -> None:
    scenario = store.add_scenario("s", "{}", "0" * 64, None)
    run = store.add_run(scenario.id, None)
    store.mark_running(run.id)
    assert store.recover() == 1
    # An orphaned worker finishing afterwards does not overwrite the verdict.
    assert not store.finish_run(run.id, "succeeded", summary={})
    after = store.get_run(run.id)
    assert after is not None and after.status == "failed"
    assert after.reason is not None and after.reason.startswith("interrupted")


def test_a_failed_write_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        store.add_run("no-such-scenario", None)  # foreign key fails inside the transaction
    assert store.list_runs() == []


def test_published_only_listing_and_paging(store: Store) -> None:
    scenario = store.add_scenario("s", "{}", "0" * 64, None)
    ids = []
    for _ in range(3):
        run = store.add_run(scenario.id, None)
        store.mark_running(run.id)
        store.run_dir(run.id).mkdir(
            parents=True
        )  # written before it succeeds, as a worker does (PostgreSQL then keeps its files)
        store.finish_run(run.id, "succeeded", summary={})
        ids.append(run.id)
    store.publish_run(ids[1], None)
    assert [r.id for r in store.list_runs(published_only=True)] == [ids[1]]
    assert len(store.list_runs(limit=2)) == 2
    assert len(store.list_runs(limit=2, offset=2)) == 1


@sqlite_only("the SQLite file's journal mode and user_version")
def test_the_store_uses_wal_and_a_schema_version(sqlite_store: SqliteStore) -> None:
    store = sqlite_store
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    store.initialise()  # idempotent


@sqlite_only("a SQLite file's user_version (tests/test_store_contract.py: PostgreSQL's)")
def test_a_store_from_a_newer_version_is_refused(sqlite_store: SqliteStore) -> None:
    store = sqlite_store
    with sqlite3.connect(store.path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(RuntimeError, match="newer version"):
        store.initialise()


def test_the_library_uses_the_same_services_and_store(store: Store) -> None:
    from test_api_support import CAMDEN, london_data

    from commissioning.api.services import runs, scenarios
    from commissioning.api.services.access import Principal

    me = Principal.system()
    stored = scenarios.create_scenario(store, me, london_data())
    run = runs.run_now(store, me, stored.id)
    assert run.status == "succeeded" and run.summary is not None
    assert runs.publish_run(store, me, run.id).published
    camden = Principal(key_id=None, role="borough_lead", area_code=CAMDEN)
    scoped = runs.results(store, camden, run.id)
    assert "pots" in scoped.hidden
    assert set(scoped.tables["coverage"]["area_code"]) == {CAMDEN}
