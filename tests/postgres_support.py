"""A throw-away PostgreSQL cluster for the tests that need one, and the switch that runs the API
and web suites on either store.

The cluster starts once per test session, on first use (scripts/test installs the server with
scripts/ensure_postgres.sh); without PostgreSQL's binaries those tests skip, saying why.

`COMMISSIONING_TEST_STORE=postgresql` runs every test that builds its store through
`world_store` (the API and web suites' worlds) on PostgreSQL: each world gets a fresh
database of the session's cluster, a data folder under its own tmp folder and real
`commissioning worker` processes that solve its runs, stopped (SIGINT) when the world's scope
ends. Unset or `sqlite`, the same tests run on a SQLite file, as they always have.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from commissioning.store import Store, StoreLocation, is_postgres, open_store
from commissioning.store.pg_cluster import Cluster, ClusterUnavailable, throwaway_cluster
from commissioning.store.postgres import DATA_DIR_ENV, PostgresStore
from commissioning.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
TEST_STORE_ENV = "COMMISSIONING_TEST_STORE"
STORES = ("sqlite", "postgresql")
# Quick enough that a worker killed by a test is noticed within the test's patience.
HEARTBEAT_SECONDS = "0.5"
STALLED_SECONDS = "3"


def _test_store() -> str:
    kind = os.environ.get(TEST_STORE_ENV, "").strip().lower() or "sqlite"
    if kind not in STORES:
        raise pytest.UsageError(f"${TEST_STORE_ENV} must be one of {STORES}, not {kind!r}")
    return kind


ON_POSTGRES = _test_store() == "postgresql"


def sqlite_only(why: str) -> pytest.MarkDecorator:
    """Skip on PostgreSQL a test of something only the SQLite store has; `why` says what."""
    return pytest.mark.skipif(ON_POSTGRES, reason=f"SQLite store only: {why}")


_numbers = itertools.count(1)
_cluster: list[Cluster] = []  # the session's, while ON_POSTGRES
# What to undo when the current test (or module) ends: worker processes, store connections.
_cleanups: list[Callable[[], None]] = []


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    try:
        with throwaway_cluster() as cluster:
            yield cluster
    except ClusterUnavailable as exc:
        pytest.skip(f"no PostgreSQL here: {exc}")


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> str:
    """The URL of a new, empty database of the session's cluster."""
    return postgres_cluster.create_database(f"test_{next(_numbers)}")


@pytest.fixture(scope="session", autouse=True)
def _test_store_cluster(request: pytest.FixtureRequest) -> Iterator[None]:
    if ON_POSTGRES:
        _cluster.append(request.getfixturevalue("postgres_cluster"))
    yield
    _cluster.clear()


def _undo_since(mark: int) -> None:
    while len(_cleanups) > mark:
        _cleanups.pop()()


# Autouse fixtures come first within their scope: a module's own worlds are built after
# `_module_cleanups` took its mark, and a test's after `_test_cleanups` did, so each scope ends
# the workers and connections its worlds started, and no others.
@pytest.fixture(scope="module", autouse=True)
def _module_cleanups() -> Iterator[None]:
    mark = len(_cleanups)
    yield
    _undo_since(mark)


@pytest.fixture(autouse=True)
def _test_cleanups() -> Iterator[None]:
    mark = len(_cleanups)
    yield
    _undo_since(mark)


@dataclass
class Workers:
    """`commissioning worker` processes solving the runs of one database."""

    url: str
    folder: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str) -> None:
        log = (self.folder / f"{name}.log").open("ab")
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            DATA_DIR_ENV: str(self.folder / f"{name}-data"),
            "COMMISSIONING_WORKER_HEARTBEAT_SECONDS": HEARTBEAT_SECONDS,
            "COMMISSIONING_WORKER_STALLED_SECONDS": STALLED_SECONDS,
        }
        argv = [sys.executable, "-m", "commissioning", "worker", "--store", self.url]
        self.processes.append(
            subprocess.Popen(
                [*argv, "--name", name], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT
            )
        )
        log.close()  # the child has its own copy

    def logs(self) -> str:
        """The workers' logs, for a failure message (their ends: that is where errors are)."""
        return "\n".join(
            f"--- {path.name}:\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.folder.glob("*.log"))
        )

    def stop(self) -> None:
        """SIGINT: each finishes the job in hand and leaves; one that will not is killed."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


_worlds: dict[tuple[Path, str], StoreLocation] = {}
_workers: dict[str, Workers] = {}


def world_store(folder: Path, name: str, workers: int = 1) -> StoreLocation:
    """Where a test world keeps its store: `folder/NAME.sqlite3`, or on PostgreSQL a new
    database (its local data folder `folder/NAME-data`) with `workers` worker processes.

    Asking again for the same folder and name gives the same store (a test may build two apps
    on one store). Nothing is made on disk or in the cluster for SQLite: the store makes its
    file when opened, as before.
    """
    if not ON_POSTGRES:
        return folder / f"{name}.sqlite3"
    known = _worlds.get((folder, name))
    if known is not None:
        return known
    if not _cluster:
        raise RuntimeError("the PostgreSQL cluster is not running (is the conftest loaded?)")
    url = _cluster[0].create_database(f"{re.sub(r'[^a-z0-9]', '_', name.lower())}_{next(_numbers)}")
    # The app makes its own store object from the URL, and a PostgreSQL store takes its local
    # folder (fetched run files, exports) from the environment: worlds are built one at a time,
    # so each store made from now on, until the next world, gets this world's folder.
    os.environ[DATA_DIR_ENV] = str(folder / f"{name}-data")
    group = Workers(url, folder)
    for number in range(workers):
        group.start(f"{name}-worker-{number + 1}")
    _workers[url] = group
    _worlds[(folder, name)] = url

    def forget() -> None:
        group.stop()
        _workers.pop(url, None)
        _worlds.pop((folder, name), None)

    _cleanups.append(forget)
    return url


def open_test_store(location: StoreLocation) -> Store:
    """`open_store`, with a PostgreSQL store's connections closed when the test's scope ends
    (a test that opened it and forgot would otherwise hold them for the whole session)."""
    store = open_store(location)
    if is_postgres(location):
        _cleanups.append(store.close)
    return store


def worker_logs(location: StoreLocation) -> str:
    """The logs of the workers solving `location`'s runs ('' for SQLite: none run apart)."""
    group = _workers.get(str(location))
    return group.logs() if group is not None else ""


def wait_for_workers(location: StoreLocation, timeout: float = 60) -> None:
    """Return once every worker of `location` has sent a heartbeat (at once for SQLite, whose
    workers are the app's own): for tests that read the worker count /ready reports."""
    group = _workers.get(str(location))
    if group is None:
        return
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(group.url, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
        if row is not None and row[0] >= len(group.processes):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"workers did not start within {timeout:g} s\n{group.logs()}")
        time.sleep(0.1)


def drop_store(store: Store) -> None:
    """Make the store vanish under a running app: the SQLite file's folder, or the database."""
    if isinstance(store, PostgresStore):
        store.close()
        group = _workers.get(store.url)
        if group is not None:  # stopped first: a worker whose database vanished hangs on
            group.stop()
        url = store.url.rsplit("/", 1)
        with _admin() as conn:
            conn.execute(f'DROP DATABASE "{url[1]}" WITH (FORCE)')
        return
    assert isinstance(store, SqliteStore)
    shutil.rmtree(store.path.parent)


@contextmanager
def store_held(store: Store) -> Iterator[None]:
    """Another client holding the whole store exclusively while the block runs: the store's
    readers then wait (a SQLite exclusive file lock; a PostgreSQL ACCESS EXCLUSIVE table lock)."""
    if isinstance(store, PostgresStore):
        import psycopg

        with psycopg.connect(store.url) as holder:  # one transaction, rolled back at the end
            holder.execute("LOCK TABLE runs IN ACCESS EXCLUSIVE MODE")
            yield
            holder.rollback()
        return
    assert isinstance(store, SqliteStore)
    holder = sqlite3.connect(store.path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _admin() -> Any:
    import psycopg

    return psycopg.connect(_cluster[0].url(), autocommit=True)
