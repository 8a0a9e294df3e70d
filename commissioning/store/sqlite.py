"""The default store: one SQLite file (WAL) plus a data folder holding each run's directory.

Every public method runs one transaction on its thread's own connection, so the store is safe
to use from the web server's threads and from worker processes at once (SQLite serialises the
writers; readers are never blocked in WAL mode). Connections are kept, one per thread and
process, because opening one costs far more than the queries a request makes (about 190 µs
against 3 µs); `close()` closes them all, and a copy sent to another process opens its own.

A run's result directory is written atomically by the worker *before* its row says succeeded,
and status changes are guarded (`WHERE status IN ...`), so a crash leaves either a finished run
or an unfinished one that `recover` marks failed.
A running run also holds a lease (a token per attempt), and a finish that names a lease is
accepted only while that lease still holds: a stale worker cannot overwrite a later verdict.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from commissioning.store.interface import (
    FINISHED,
    INTERRUPTED_REASON,
    UNFINISHED,
    ApiKey,
    Role,
    RunKind,
    RunRecord,
    RunStatus,
    StoredScenario,
    check_key_scope,
    hash_secret,
    new_secret,
    same_hash,
)
from commissioning.store.rows import (
    RUN_COLUMNS,
    key_from_row,
    new_id,
    now,
    run_from_row,
    scenario_from_row,
    select_run,
)
from commissioning.store.sqlite_lifecycle import SqliteLifecycle
from commissioning.store.sqlite_schema import SCHEMA_VERSION, connect, create_or_upgrade
from commissioning.store.sqlite_sessions import SqliteSessions

__all__ = ["SCHEMA_VERSION", "SqliteStore", "data_dir_for"]


def data_dir_for(db_path: Path) -> Path:
    """`var/commissioning.sqlite3` keeps its run directories in `var/commissioning-data/`."""
    return db_path.with_name(f"{db_path.stem}-data")


class _ThreadConnection(threading.local):
    """One thread's connection, with the process and store generation that opened it."""

    conn: sqlite3.Connection | None = None
    pid = -1
    generation = -1


class SqliteStore(SqliteLifecycle, SqliteSessions):
    """Store on a SQLite file. Picklable: a copy carries only the paths and opens its own
    connections."""

    def __init__(self, path: str | Path, data_dir: str | Path | None = None):
        self.path = Path(path).resolve()
        self._data_dir = Path(data_dir).resolve() if data_dir else data_dir_for(self.path)
        self._local = _ThreadConnection()
        self._lock = threading.Lock()
        # Weak: a thread that ends drops its connection, which then closes itself.
        self._connections: weakref.WeakSet[sqlite3.Connection] = weakref.WeakSet()
        self._generation = 0
        self.connections_opened = 0
        """Connections this store has opened in this process (each thread keeps its own)."""

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "data_dir": self._data_dir}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["data_dir"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def runs_dir(self) -> Path:
        return self._data_dir / "runs"

    # -- connections and transactions ------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again after close() or a fork)."""
        local = self._local
        conn = local.conn
        if conn is not None and local.generation == self._generation and local.pid == os.getpid():
            if conn.in_transaction:  # left open by an interrupted caller: never reuse it open
                conn.execute("ROLLBACK")
            return conn
        # Used only by this thread; not tied to it so that close() may close it from another.
        conn = connect(self.path, check_same_thread=False)
        with self._lock:
            self._connections.add(conn)
            self.connections_opened += 1
            local.conn, local.pid, local.generation = conn, os.getpid(), self._generation
        return conn

    def close(self) -> None:
        """Close every connection this store has open; a later call opens new ones."""
        with self._lock:
            connections = list(self._connections)
            self._connections = weakref.WeakSet()
            self._generation += 1
        for conn in connections:
            conn.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        # Autocommit: each statement reads its own snapshot, and holds no lock once done.
        yield self._connection()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def initialise(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        create_or_upgrade(self.path)

    # -- keys ------------------------------------------------------------------------------

    def create_key(
        self,
        role: Role,
        area_code: str | None = None,
        label: str = "",
        expires_at: str | None = None,
    ) -> tuple[ApiKey, str]:
        check_key_scope(role, area_code)
        secret = new_secret()
        key = ApiKey(
            id="key_" + new_id()[:12],
            role=role,
            area_code=area_code,
            label=label,
            created_at=now(),
            expires_at=expires_at,
        )
        with self._write() as conn:
            conn.execute(
                "INSERT INTO api_keys (id, key_hash, role, area_code, label, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key.id, hash_secret(secret), role, area_code, label, key.created_at, expires_at),
            )
        return key, secret

    def authenticate(self, secret: str) -> ApiKey | None:
        digest = hash_secret(secret)
        with self._read() as conn:
            row = conn.execute(
                "SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL "
                "AND (expires_at IS NULL OR expires_at > ?)",  # both UTC, same ISO format
                (digest, now()),
            ).fetchone()
        if row is None or not same_hash(row["key_hash"], digest):
            return None
        return key_from_row(row)

    def list_keys(self) -> list[ApiKey]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM api_keys ORDER BY created_at, id").fetchall()
        return [key_from_row(r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now(), key_id),
            )
        return cur.rowcount == 1

    # -- scenarios -------------------------------------------------------------------------

    def add_scenario(
        self, name: str, body: str, content_hash: str, created_by: str | None
    ) -> StoredScenario:
        record = StoredScenario(new_id(), name, content_hash, body, now(), created_by)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO scenarios (id, name, content_hash, body, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (record.id, name, content_hash, body, record.created_at, created_by),
            )
        return record

    def get_scenario(self, scenario_id: str) -> StoredScenario | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM scenarios WHERE id = ?", (scenario_id,)).fetchone()
        return scenario_from_row(row) if row else None

    def list_scenarios(self, limit: int = 100, offset: int = 0) -> list[StoredScenario]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM scenarios ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [scenario_from_row(r) for r in rows]

    def count_scenarios(self) -> int:
        with self._read() as conn:
            count: int = conn.execute("SELECT COUNT(*) FROM scenarios").fetchone()[0]
        return count

    # -- runs ------------------------------------------------------------------------------

    def add_run(
        self,
        scenario_id: str,
        created_by: str | None,
        kind: RunKind = "solve",
        settings: dict[str, Any] | None = None,
    ) -> RunRecord:
        run_id = new_id()
        text = json.dumps(settings, sort_keys=True) if settings is not None else None
        with self._write() as conn:
            conn.execute(
                "INSERT INTO runs (id, scenario_id, status, created_at, created_by, kind, "
                "settings) VALUES (?, ?, 'queued', ?, ?, ?, ?)",
                (run_id, scenario_id, now(), created_by, kind, text),
            )
            return run_from_row(select_run(conn, run_id))

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._read() as conn:
            row = select_run(conn, run_id)
        return run_from_row(row) if row else None

    def list_runs(
        self,
        *,
        published_only: bool = False,
        scenario_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[RunRecord]:
        where, params = _run_filters(published_only, scenario_id)
        sql = (
            f"SELECT {RUN_COLUMNS} FROM runs JOIN scenarios ON scenarios.id = runs.scenario_id "
            f"WHERE {' AND '.join(where)} ORDER BY runs.created_at DESC, runs.id LIMIT ? OFFSET ?"
        )
        with self._read() as conn:
            rows = conn.execute(sql, (*params, limit, offset)).fetchall()
        return [run_from_row(r) for r in rows]

    def count_runs(self, *, published_only: bool = False, scenario_id: str | None = None) -> int:
        where, params = _run_filters(published_only, scenario_id)
        sql = f"SELECT COUNT(*) FROM runs WHERE {' AND '.join(where)}"
        with self._read() as conn:
            count: int = conn.execute(sql, params).fetchone()[0]
        return count

    def mark_running(self, run_id: str, lease: str | None = None) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = 'running', started_at = ?, lease = ? "
                "WHERE id = ? AND status = 'queued'",
                (now(), lease, run_id),
            )
        return cur.rowcount == 1

    def take_over_run(self, run_id: str, lease: str) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?), "
                "lease = ? WHERE id = ? AND status IN ('queued', 'running')",
                (now(), lease, run_id),
            )
        return cur.rowcount == 1

    def set_progress(self, run_id: str, lease: str, done: int, total: int) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET progress_done = ?, progress_total = ? "
                "WHERE id = ? AND status = 'running' AND lease = ?",
                (done, total, run_id, lease),
            )
        return cur.rowcount == 1

    def set_stage(self, run_id: str, lease: str, stage: str) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET progress_stage = ? WHERE id = ? AND status = 'running' "
                "AND lease = ?",
                (stage, run_id, lease),
            )
        return cur.rowcount == 1

    def ping(self) -> None:
        # Connecting would create an empty file where the store has gone: look first.
        if not self.path.is_file():
            raise FileNotFoundError(f"the store file {self.path} is missing")
        if not self.runs_dir.is_dir():
            raise FileNotFoundError(f"the store's run folder {self.runs_dir} is missing")
        # A connection of its own: one kept open would answer from what it already holds
        # even if the file has since been replaced or locked.
        conn = connect(self.path)
        try:
            conn.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()
        finally:
            conn.close()

    def holds_lease(self, run_id: str, lease: str) -> bool:
        with self._read() as conn:
            row = conn.execute(
                "SELECT 1 FROM runs WHERE id = ? AND status = 'running' AND lease = ?",
                (run_id, lease),
            ).fetchone()
        return row is not None

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        reason: str | None = None,
        summary: dict[str, Any] | None = None,
        lease: str | None = None,
    ) -> bool:
        if status not in FINISHED:
            raise ValueError(f"{status!r} is not a finished status")
        sql = "UPDATE runs SET status = ?, reason = ?, summary = ?, finished_at = ? WHERE id = ?"
        params: list[Any] = [
            status,
            reason,
            json.dumps(summary, sort_keys=True) if summary is not None else None,
            now(),
            run_id,
        ]
        if lease is None:
            sql += " AND status IN ('queued', 'running')"
        else:
            sql += " AND status = 'running' AND lease = ?"
            params.append(lease)
        with self._write() as conn:
            cur = conn.execute(sql, params)
        return cur.rowcount == 1

    def publish_run(self, run_id: str, published_by: str | None) -> RunRecord | None:
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET published_at = ?, published_by = ? "
                "WHERE id = ? AND status = 'succeeded' AND published_at IS NULL",
                (now(), published_by, run_id),
            )
            row = select_run(conn, run_id)
        if row is None or row["status"] != "succeeded":
            return None
        return run_from_row(row)

    def fail_unfinished(self, reason: str, run_ids: list[str] | None = None) -> int:
        marks = ", ".join("?" for _ in UNFINISHED)
        sql = (
            "UPDATE runs SET status = 'failed', reason = ?, finished_at = ? "
            f"WHERE status IN ({marks})"
        )
        params: list[Any] = [reason, now(), *UNFINISHED]
        if run_ids is not None:
            if not run_ids:
                return 0
            sql += f" AND id IN ({', '.join('?' for _ in run_ids)})"
            params += run_ids
        with self._write() as conn:
            return conn.execute(sql, params).rowcount

    def count_unfinished(self) -> int:
        marks = ", ".join("?" for _ in UNFINISHED)
        with self._read() as conn:
            row = conn.execute(f"SELECT COUNT(*) FROM runs WHERE status IN ({marks})", UNFINISHED)
            return int(row.fetchone()[0])

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def finished_run_dir(self, run_id: str) -> Path:
        return self.run_dir(run_id)  # the worker wrote it here, on this machine

    def recover(self) -> int:
        self.initialise()
        failed = self.fail_unfinished(INTERRUPTED_REASON)
        # write_run_directory stages into hidden siblings; a crash can leave one behind.
        for leftover in self.runs_dir.glob(".*"):
            shutil.rmtree(leftover, ignore_errors=True)
        return failed


def _run_filters(published_only: bool, scenario_id: str | None) -> tuple[list[str], list[str]]:
    """The WHERE terms list_runs and count_runs share."""
    where, params = ["1 = 1"], []
    if published_only:
        where.append("runs.published_at IS NOT NULL")
    if scenario_id is not None:
        where.append("runs.scenario_id = ?")
        params.append(scenario_id)
    return where, params
