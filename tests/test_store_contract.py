"""One store test-suite, run against both stores: SQLite (a file) and PostgreSQL (a real server,
a throw-away cluster started by the tests). Whatever holds them, keys, scenarios, runs, leases,
the lifecycle, the audit log, Idempotency-Keys, sessions and run files behave the same."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from commissioning.store import Store, open_store, store_at, store_location
from commissioning.store.interface import INTERRUPTED_REASON

STORES = ["sqlite", "postgresql"]


def _open(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    if kind == "sqlite":
        return open_store(tmp_path / "store.sqlite3")
    from commissioning.store.postgres import PostgresStore

    url: str = request.getfixturevalue("postgres_url")
    store = PostgresStore(url, tmp_path / "data")
    store.initialise()
    return store


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    opened = _open(request.param, tmp_path, request)
    yield opened
    opened.close()


def _scenario(store: Store, name: str = "s") -> str:
    return store.add_scenario(name, json.dumps({"name": name}), name.ljust(64, "0"), None).id


def _write_folder(store: Store, run_id: str, files: dict[str, bytes]) -> None:
    folder = store.run_dir(run_id)
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)


def test_it_implements_the_interface(store: Store) -> None:
    assert isinstance(store, Store)


def test_keys_hashed_found_revoked_and_expired(store: Store) -> None:
    key, secret = store.create_key("borough_lead", "E09000007", label="Camden lead")
    assert store.authenticate(secret) == key
    assert store.authenticate(secret + "x") is None
    assert store.get_key(key.id) == key
    assert store.revoke_key(key.id) and not store.revoke_key(key.id)
    assert store.authenticate(secret) is None
    expired, old = store.create_key("finance", expires_at="2000-01-01T00:00:00.000Z")
    assert store.authenticate(old) is None
    assert [k.id for k in store.list_keys()] == sorted(
        [key.id, expired.id],
        key=lambda i: (store.get_key(i).created_at, i),  # type: ignore[union-attr]
    )
    with pytest.raises(ValueError):
        store.create_key("finance", "E09000007")


def test_scenarios_listed_newest_first_and_found_by_content(store: Store) -> None:
    ids = [_scenario(store, f"s{i}") for i in range(3)]
    assert [s.id for s in store.list_scenarios()] == ids[::-1]
    assert [s.id for s in store.list_scenarios(limit=1, offset=1)] == [ids[1]]
    assert store.count_scenarios() == 3
    found = store.find_scenario("s1".ljust(64, "0"))
    assert found is not None and found.id == ids[1] and found.body == '{"name": "s1"}'
    assert store.get_scenario("nope") is None


def test_run_transitions_are_guarded_by_status_and_lease(store: Store) -> None:
    run = store.add_run(_scenario(store), None, "sweep", {"axes": [1]})
    assert run.status == "queued" and run.kind == "sweep" and run.settings == {"axes": [1]}
    assert store.count_unfinished() == 1
    assert store.mark_running(run.id, "lease-1")
    assert not store.mark_running(run.id, "lease-2")  # no longer queued
    assert store.set_progress(run.id, "lease-1", 3, 20)
    assert not store.set_progress(run.id, "other", 4, 20)
    assert store.set_stage(run.id, "lease-1", "solving")
    assert store.holds_lease(run.id, "lease-1") and not store.holds_lease(run.id, "x")
    # A retried job takes the run over; the first lease can then write nothing.
    assert store.take_over_run(run.id, "lease-2")
    assert not store.finish_run(run.id, "failed", "late", lease="lease-1")
    _write_folder(store, run.id, {"summary.json": b"{}"})
    assert store.finish_run(run.id, "succeeded", summary={"k": 1}, lease="lease-2")
    assert not store.take_over_run(run.id, "lease-3")
    done = store.get_run(run.id)
    assert done is not None and done.status == "succeeded" and done.summary == {"k": 1}
    assert (done.progress_done, done.progress_total, done.progress_stage) == (3, 20, "solving")
    assert done.started_at is not None and done.finished_at is not None
    with pytest.raises(ValueError):
        store.finish_run(run.id, "running")  # type: ignore[arg-type]
    assert store.count_unfinished() == 0


def test_a_failed_run_cannot_later_succeed(store: Store) -> None:
    scenario = _scenario(store)
    runs = [store.add_run(scenario, None) for _ in range(3)]
    assert store.mark_running(runs[0].id, "a")
    assert store.fail_unfinished(INTERRUPTED_REASON, [runs[0].id, runs[1].id]) == 2
    assert store.fail_unfinished("x", []) == 0
    assert not store.finish_run(runs[0].id, "succeeded", lease="a")
    record = store.get_run(runs[0].id)
    assert record is not None and record.status == "failed" and record.reason == INTERRUPTED_REASON
    assert store.count_unfinished() == 1


def test_listing_filters_and_pages_runs(store: Store) -> None:
    first, second = _scenario(store, "a"), _scenario(store, "b")
    made = [store.add_run(first, None), store.add_run(second, None), store.add_run(first, None)]
    _write_folder(store, made[0].id, {"a.csv": b"1"})
    store.finish_run(made[0].id, "succeeded")
    assert store.publish_run(made[0].id, None) is not None
    assert store.publish_run(made[1].id, None) is None  # not succeeded
    assert [r.id for r in store.list_runs(published_only=True)] == [made[0].id]
    assert store.count_runs(scenario_id=first) == 2
    assert {r.id for r in store.list_runs(scenario_id=first)} == {made[0].id, made[2].id}
    assert len(store.list_runs(limit=2)) == 2 and len(store.list_runs(offset=2)) == 1
    assert store.list_runs(scenario_id=first)[0].scenario_name == "a"


def test_a_succeeded_runs_files_are_readable_where_the_store_is(store: Store) -> None:
    run = store.add_run(_scenario(store), None)
    assert store.mark_running(run.id, "l")
    files = {"allocations.csv": b"year,area\n2019,E09000007\n", "workbook.xlsx": bytes(range(256))}
    _write_folder(store, run.id, files)
    assert store.finish_run(run.id, "succeeded", lease="l")
    folder = store.finished_run_dir(run.id)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files


def test_cancel_unpublish_and_delete(store: Store) -> None:
    scenario = _scenario(store)
    queued, done = store.add_run(scenario, None), store.add_run(scenario, None)
    cancelled = store.cancel_run(queued.id, "changed my mind")
    assert cancelled is not None and cancelled.status == "cancelled"
    assert store.cancel_run(queued.id) is None
    _write_folder(store, done.id, {"s.json": b"{}"})
    store.finish_run(done.id, "succeeded")
    store.publish_run(done.id, None)
    assert store.delete_scenario(scenario) is None  # a published run keeps it
    assert not store.delete_run(done.id)
    assert store.unpublish_run(done.id) and not store.unpublish_run(done.id)
    assert store.delete_run(done.id)
    assert store.get_run(done.id) is None and not store.run_dir(done.id).exists()
    assert store.delete_scenario(scenario) == [queued.id]
    assert store.get_scenario(scenario) is None


def test_a_running_run_is_not_deleted(store: Store) -> None:
    scenario = _scenario(store)
    run = store.add_run(scenario, None)
    store.mark_running(run.id, "l")
    assert not store.delete_run(run.id)
    assert store.delete_scenario(scenario) is None


def test_the_audit_log_keeps_the_keys_name_newest_first(store: Store) -> None:
    key, _ = store.create_key("commissioner", label="Alice")
    first = store.add_audit("publish", "run", "r1", key.id, "commissioner", None)
    second = store.add_audit("unpublish", "run", "r1", key.id, "commissioner", "wrong year")
    store.revoke_key(key.id)
    assert first.key_name == "Alice" and second.reason == "wrong year"
    assert [e.id for e in store.list_audit()] == [second.id, first.id]
    assert store.count_audit() == 2 and store.list_audit(limit=1, offset=1) == [first]


def test_idempotency_keys_claim_keep_replay_and_release(store: Store) -> None:
    assert store.reserve_response("k", "idem-1", "fp", 3600) is None
    waiting = store.reserve_response("k", "idem-1", "fp", 3600)
    assert waiting is not None and waiting.status is None
    store.keep_response("k", "idem-1", 201, "application/json", "/runs/1", b'{"id": 1}')
    kept = store.reserve_response("k", "idem-1", "fp", 3600)
    assert kept is not None and (kept.status, kept.body, kept.location) == (
        201,
        b'{"id": 1}',
        "/runs/1",
    )
    assert store.reserve_response("k", "idem-2", "fp", 3600) is None
    store.release_response("k", "idem-2")
    assert store.reserve_response("k", "idem-2", "fp", 3600) is None  # claimable again


def test_two_claims_at_once_one_wins(store: Store) -> None:
    answers: list[Any] = []

    def claim() -> None:
        answers.append(store.reserve_response("k", "same", "fp", 3600))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(answer is None for answer in answers) == 1


def test_sessions_and_the_shared_secret(store: Store, tmp_path: Path) -> None:
    store.end_session("s1", "k", timedelta(hours=8))
    store.end_session("s1", "k", timedelta(hours=8))  # idempotent
    assert store.session_ended("s1") and not store.session_ended("s2")
    secret = store.shared_secret("web-session")
    assert len(secret) == 32 and store.shared_secret("web-session") == secret
    assert store.shared_secret("other") != secret


def test_a_pickled_copy_opens_its_own_connections(store: Store) -> None:
    import pickle

    key, secret = store.create_key("finance")
    copy = pickle.loads(pickle.dumps(store))
    assert copy.authenticate(secret) == key
    copy.close()
    store.close()
    assert store.get_key(key.id) == key  # reopens


def test_store_locations_name_the_store() -> None:
    assert store_location("sqlite:///var/c.sqlite3") == Path("var/c.sqlite3")
    assert store_location("sqlite:////srv/c.sqlite3") == Path("/srv/c.sqlite3")
    assert store_location("postgresql://u@h/db") == "postgresql://u@h/db"
    assert type(store_at("postgresql://u@h/db")).__name__ == "PostgresStore"
    with pytest.raises(ValueError, match="mysql"):
        store_location("mysql://u@h/db")


# -- PostgreSQL only: migrations, several servers, redaction -----------------------------------


def test_postgres_migrations_apply_once_and_a_newer_database_is_refused(
    postgres_url: str, tmp_path: Path
) -> None:
    import psycopg

    from commissioning.store.postgres import PostgresStore
    from commissioning.store.postgres_schema import SCHEMA_VERSION, migrate, migrations

    assert [m.version for m in migrations()] == list(range(1, SCHEMA_VERSION + 1))
    store = PostgresStore(postgres_url, tmp_path)
    store.initialise()
    store.initialise()  # idempotent
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert migrate(conn) == []
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
        assert conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0]
        conn.execute(
            "INSERT INTO schema_migrations VALUES (%s, 'future', 'x')", (SCHEMA_VERSION + 1,)
        )
        with pytest.raises(RuntimeError, match="newer version"):
            migrate(conn)
    store.close()


def test_postgres_servers_starting_together_migrate_once(postgres_url: str, tmp_path: Path) -> None:
    from commissioning.store.postgres import PostgresStore

    errors: list[BaseException] = []

    def start(i: int) -> None:
        try:
            PostgresStore(postgres_url, tmp_path / str(i)).initialise()
        except BaseException as exc:  # pragma: no cover - the failure the test looks for
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_another_server_reads_a_run_solved_elsewhere(postgres_url: str, tmp_path: Path) -> None:
    from commissioning.store.postgres import PostgresStore

    worker = PostgresStore(postgres_url, tmp_path / "worker-machine")
    server = PostgresStore(postgres_url, tmp_path / "server-machine")
    worker.initialise()
    run = worker.add_run(_scenario(worker), None)
    worker.mark_running(run.id, "l")
    _write_folder(worker, run.id, {"summary.json": json.dumps({"ok": 1}).encode()})
    assert worker.finish_run(run.id, "succeeded", lease="l")
    folder = server.finished_run_dir(run.id)
    assert folder.parent.parent == tmp_path / "server-machine"
    assert json.loads((folder / "summary.json").read_text()) == {"ok": 1}
    assert server.delete_run(run.id) and not folder.exists()
    worker.close()
    server.close()


def test_a_postgres_password_is_never_shown() -> None:
    from commissioning.store.postgres import PostgresStore, redacted

    assert redacted("postgresql://u:hunter2@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert "hunter2" not in repr(PostgresStore("postgresql://u:hunter2@h/db"))
