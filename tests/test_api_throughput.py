"""Throughput without losing correctness: kept store connections, the key and table caches,
and several web processes sharing one store's queue limits, solver slots and recovery."""

from __future__ import annotations

import asyncio
import csv
import io
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from postgres_support import open_test_store, sqlite_only, world_store
from test_api_support import (
    CAMDEN,
    ISLINGTON,
    Keys,
    create_scenario,
    london_data,
    make_keys,
    settings_for,
    start_run,
    wait_for_run,
)
from test_api_uvicorn import SERVE, free_port

from commissioning.api.app import create_app
from commissioning.api.key_cache import KeyCache
from commissioning.api.queue import RunQueue
from commissioning.api.services.access import Busy, Principal
from commissioning.api.web_workers import settings_from_env, settings_to_env
from commissioning.store import SqliteStore, open_store

# -- store connections ----------------------------------------------------------------------


@sqlite_only("the SQLite store's kept connection per thread (PostgreSQL's: a psycopg pool)")
def test_the_store_keeps_one_connection_per_thread(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite3")
    assert isinstance(store, SqliteStore)
    before = store.connections_opened
    key, secret = store.create_key("finance")
    for _ in range(50):
        assert store.authenticate(secret) == key
        assert store.list_runs() == []
    assert store.connections_opened - before == 1

    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(len(store.list_keys())))
    thread.start()
    thread.join()
    assert seen == [1] and store.connections_opened - before == 2  # its own, not shared

    store.close()
    assert store.authenticate(secret) == key  # reopens after close()
    assert store.connections_opened - before == 3

    copy = pickle.loads(pickle.dumps(store))  # what a worker process receives
    assert copy.connections_opened == 0 and copy.path == store.path
    assert copy.authenticate(secret) == key and copy.connections_opened == 1


@sqlite_only("the SQLite store's kept connection per thread (PostgreSQL's: a psycopg pool)")
def test_a_failed_write_leaves_the_kept_connection_usable(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite3")
    assert isinstance(store, SqliteStore)
    with pytest.raises(ValueError), store._write() as conn:
        conn.execute(
            "INSERT INTO scenarios (id, name, content_hash, body, created_at) "
            "VALUES ('x', 'x', 'h', '{}', 'now')"
        )
        raise ValueError("stop half-way")
    assert store.get_scenario("x") is None  # rolled back
    assert store.add_scenario("kept", "{}", "h", None).name == "kept"


@sqlite_only("counts the SQLite store's connections (PostgreSQL's pool has a fixed max_size)")
def test_a_hundred_requests_open_a_bounded_number_of_connections(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    keys = make_keys(open_test_store(settings.store))
    app = create_app(settings)
    store = app.state.store
    with TestClient(app) as client:
        opened = store.connections_opened
        for who in ["commissioner", "finance", "camden", "islington"] * 25:
            response = client.get("/api/v1/runs", headers=keys.header(who))
            assert response.status_code == 200
        # Before: two fresh connections per request (200 here). Now one per thread of the
        # server's small pool, whatever the number of requests.
        assert store.connections_opened - opened <= 8


# -- the key cache --------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_remembered_for_the_ttl_only(tmp_path: Path) -> None:
    store = open_test_store(world_store(tmp_path, "s", workers=0))
    key, secret = store.create_key("finance")
    clock = Clock()
    cache = KeyCache(ttl_seconds=5, clock=clock)
    assert cache.cached(secret) is None
    assert cache.authenticate(store, secret) == key
    assert cache.cached(secret) == key

    assert store.revoke_key(key.id)
    clock.now += 4.9
    assert cache.authenticate(store, secret) == key  # still remembered: at most ttl_seconds
    clock.now += 0.2
    assert cache.cached(secret) is None
    assert cache.authenticate(store, secret) is None  # expired, asked again: revoked
    assert cache.authenticate(store, "cmk_never-issued") is None
    assert len(cache) == 0  # unknown and revoked keys are never remembered


def test_clear_forgets_every_key_at_once(tmp_path: Path) -> None:
    store = open_test_store(world_store(tmp_path, "s", workers=0))
    key, secret = store.create_key("finance")
    cache = KeyCache(ttl_seconds=5, clock=Clock())
    assert cache.authenticate(store, secret) == key
    store.revoke_key(key.id)
    cache.clear()  # what revoking through the API calls
    assert cache.cached(secret) is None
    assert cache.authenticate(store, secret) is None


def test_the_key_cache_refuses_a_long_ttl() -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        KeyCache(ttl_seconds=3600)


def test_the_server_remembers_keys_and_forgets_them_on_clear(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = open_test_store(settings.store)
    keys = make_keys(store)
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/api/v1/runs", headers=keys.header("finance")).status_code == 200
        finance = next(k for k in store.list_keys() if k.role == "finance" and not k.revoked_at)
        store.revoke_key(finance.id)
        # Revoked by another process (the CLI): remembered for up to the TTL...
        assert client.get("/api/v1/runs", headers=keys.header("finance")).status_code == 200
        app.state.key_cache.clear()  # ... unless the revocation clears the cache
        assert client.get("/api/v1/runs", headers=keys.header("finance")).status_code == 401


# -- the table cache ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient[Any], Keys, str]]:
    """One published London run and one draft, in a real app with a real worker."""
    settings = settings_for(tmp_path_factory.mktemp("tables"), queue_size=4)
    keys = make_keys(open_test_store(settings.store))
    with TestClient(create_app(settings)) as client:
        scenario_id = create_scenario(client, keys, london_data())
        run_id = start_run(client, keys, scenario_id)
        commissioner = keys.header("commissioner")
        assert wait_for_run(client, run_id, commissioner)["status"] == "succeeded"
        assert client.post(f"/api/v1/runs/{run_id}/publish", headers=commissioner).is_success
        yield client, keys, run_id


def test_a_cached_table_is_the_same_bytes(solved: tuple[TestClient[Any], Keys, str]) -> None:
    client, keys, run_id = solved
    cache = client.app.state.table_cache
    cache.clear()
    url = f"/api/v1/runs/{run_id}/results/allocations"
    first = client.get(url, headers=keys.header("finance"))
    hits = cache.hits
    second = client.get(url, headers=keys.header("finance"))
    assert first.status_code == second.status_code == 200
    assert cache.hits == hits + 1  # the second came from the cache
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    body = first.json()
    assert body["run_id"] == run_id and body["area_code"] is None
    assert len({row["area_code"] for row in body["rows"]}) > 2  # London-wide

    as_csv = client.get(url, params={"format": "csv"}, headers=keys.header("finance"))
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    again = client.get(url, params={"format": "csv"}, headers=keys.header("finance"))
    assert again.content == as_csv.content
    assert again.headers["content-disposition"] == as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == len(body["rows"])


@pytest.mark.parametrize("representation", ["json", "csv"])
def test_the_table_cache_never_crosses_borough_scopes(
    solved: tuple[TestClient[Any], Keys, str], representation: str
) -> None:
    client, keys, run_id = solved
    url = f"/api/v1/runs/{run_id}/results/coverage?format={representation}"
    for _ in range(2):  # the second round is served from the cache
        for who, area in [("camden", CAMDEN), ("islington", ISLINGTON), ("finance", None)]:
            response = client.get(url, headers=keys.header(who))
            assert response.status_code == 200
            if representation == "json":
                codes = {row["area_code"] for row in response.json()["rows"]}
            else:
                codes = {row["area_code"] for row in csv.DictReader(io.StringIO(response.text))}
            assert codes == {area} if area else len(codes) > 2, (who, codes)
        # A borough lead's access rules still apply when the body is cached.
        assert (
            client.get(
                f"/api/v1/runs/{run_id}/results/pots", headers=keys.header("camden")
            ).status_code
            == 403
        )


def test_visibility_is_checked_before_the_cache(
    solved: tuple[TestClient[Any], Keys, str],
) -> None:
    client, keys, run_id = solved
    url = f"/api/v1/runs/{run_id}/results/allocations"
    assert client.get(url, headers=keys.header("finance")).status_code == 200
    assert client.get(url, headers={"X-API-Key": "cmk_not-a-key"}).status_code == 401
    assert client.get(url, headers=keys.header("revoked")).status_code == 401
    missing = f"/api/v1/runs/{'0' * 32}/results/allocations"
    assert client.get(missing, headers=keys.header("finance")).status_code == 404

    # Unpublished (as the lifecycle's unpublish does): the cached body is not served to those
    # who may no longer see the run, and is to those who may.
    store = client.app.state.store
    assert store.unpublish_run(run_id)  # the store alone: nothing tells the cache
    try:
        assert client.get(url, headers=keys.header("finance")).status_code == 403
        assert client.get(url, headers=keys.header("camden")).status_code == 403
        assert client.get(url, headers=keys.header("commissioner")).status_code == 200
    finally:
        assert store.publish_run(run_id, None) is not None


# -- several web processes ------------------------------------------------------------------


def test_settings_survive_the_trip_to_a_web_process(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, queue_size=3, shared_queue=True)
    assert settings_from_env(settings_to_env(settings)) == settings


@sqlite_only("`serve --web-workers` sharing the server's own queue limit and solver slots")
def test_shared_queues_hold_one_limit_across_processes(tmp_path: Path) -> None:
    """Two web processes' run queues on one store admit no more runs than one would."""
    store = open_store(tmp_path / "s.sqlite3")
    boss = Principal(key_id=None, role="commissioner")
    scenario = store.add_scenario("London", "{}", "h", None)

    async def go() -> None:
        first, second = (
            RunQueue(store, workers=1, queue_size=1, retry_after_seconds=3, shared=True)
            for _ in range(2)
        )
        first.open()
        second.open()
        try:
            await first.start(boss, scenario.id)
            await second.start(boss, scenario.id)  # queue_size 1: room for one waiting run
            for queue in (first, second):
                with pytest.raises(Busy, match="limit is 2"):
                    await queue.start(boss, scenario.id)
        finally:
            await first.close()
            await second.close()

    asyncio.run(go())
    assert store.count_unfinished() == 0  # closing failed both (this scenario cannot solve)
    assert len(store.list_runs()) == 2


@sqlite_only("`serve --web-workers` sharing the server's own queue limit and solver slots")
def test_shared_queues_solve_no_more_runs_at_once_than_workers(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite3")
    gates = [
        RunQueue(store, workers=1, queue_size=4, retry_after_seconds=3, shared=True)._gate
        for _ in range(2)
    ]
    assert gates[0] is not None and gates[1] is not None
    slot = gates[0].try_solver_slot()
    assert slot is not None
    assert gates[1].try_solver_slot() is None  # the one slot is taken, by another "process"
    slot.close()
    other = gates[1].try_solver_slot()
    assert other is not None
    other.close()


@sqlite_only("recovery fails unfinished runs on SQLite only (PostgreSQL's belong to workers)")
def test_a_web_process_in_a_shared_server_does_not_recover_the_store(tmp_path: Path) -> None:
    """Another web process's running run must survive this one starting (the parent recovers
    the store once, before any web process)."""
    store = open_store(tmp_path / "api.sqlite3")
    scenario = store.add_scenario("London", "{}", "h", None)
    run = store.add_run(scenario.id, None)
    assert store.mark_running(run.id, "lease-of-another-process")
    shared = settings_for(tmp_path, shared_queue=True)
    with TestClient(create_app(shared)):
        pass
    still = store.get_run(run.id)
    assert still is not None and still.status == "running"
    with TestClient(create_app(settings_for(tmp_path))):  # one web process: it recovers
        pass
    failed = store.get_run(run.id)
    assert failed is not None and failed.status == "failed"


def test_serve_with_two_web_workers_answers(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    location = world_store(tmp_path, "served", workers=0)
    finance = open_test_store(location).create_key("finance")[1]
    port = free_port()
    argv = ["serve", "--port", str(port), "--store", str(location), "--workers", "1"]
    argv += ["--web-workers", "2", "--log-level", "warning"]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/api/v1/runs", headers={"X-API-Key": finance}).is_success:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        children = subprocess.run(
            ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(children) >= 2, children  # the web processes (and uvicorn's helpers)
        for _ in range(20):
            answer = httpx.get(f"{url}/api/v1/runs", headers={"X-API-Key": finance})
            assert answer.status_code == 200 and answer.json()["runs"] == []
        assert httpx.get(f"{url}/api/v1/runs").status_code == 401

        # Killed outright (the server alone, not its group): its web processes go with it.
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() and not _zombie(pid) for pid in children):
            assert time.monotonic() < deadline, "a web process outlived its server"
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _zombie(pid: str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
