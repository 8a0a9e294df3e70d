"""The PostgreSQL store: keys, scenarios and runs in a database several servers and workers share.

Chosen with `COMMISSIONING_STORE=postgresql://user@host/db`. It keeps the `Store` promises of
the SQLite store (every method one transaction, guarded status changes, leases), so the same
store test-suite runs on both (tests/test_store_contract.py). What differs is where a run's
files live: a worker on any machine writes the run's folder locally, and `finish_run` stores
its files in the database in the transaction that marks the run succeeded, so a result is
written once, whole, or not at all. A server reading a run fetches the files into its own data
folder once (`finished_run_dir`); a succeeded run's files never change, so the copy stays true.

Connections come from a pool per process (psycopg_pool), opened on first use and again in a
process the store was pickled into: worker processes receive the store as the SQLite one.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from commissioning.store.interface import (
    FINISHED,
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
from commissioning.store.postgres_files import PostgresRunFiles
from commissioning.store.postgres_lifecycle import PostgresLifecycle
from commissioning.store.postgres_schema import migrate
from commissioning.store.postgres_steps import PostgresSteps
from commissioning.store.rows import (
    RUN_COLUMNS,
    key_from_row,
    new_id,
    now,
    run_from_row,
    scenario_from_row,
    select_run,
)

POOL_SIZE = 8
DEFAULT_DATA_DIR = "commissioning-data"
DATA_DIR_ENV = "COMMISSIONING_DATA_DIR"


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


class StoreUnavailable(OSError):
    """The database cannot be reached or opened (an OSError: the CLI and /ready report it)."""


def default_data_dir() -> Path:
    """$COMMISSIONING_DATA_DIR, else commissioning-data in the current directory."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


class PostgresStore(PostgresLifecycle, PostgresSteps, PostgresRunFiles):
    """Store in a PostgreSQL database. Picklable: a copy carries the URL and data folder."""

    def __init__(self, url: str, data_dir: str | Path | None = None):
        self.url = url
        self._data_dir = Path(data_dir or default_data_dir()).resolve()
        self._pool: Any = None
        self._pool_pid = -1
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "data_dir": self._data_dir}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], state["data_dir"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"PostgresStore({redacted(self.url)!r})"

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def runs_dir(self) -> Path:
        return self._data_dir / "runs"

    # -- connections and transactions ------------------------------------------------------

    def _connections(self) -> Any:
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                from psycopg_pool import ConnectionPool

                self._pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=POOL_SIZE,
                    kwargs={"autocommit": True},
                    open=True,
                    name="commissioning-store",
                )
                self._pool_pid = os.getpid()
            return self._pool

    @contextmanager
    def _read(self) -> Iterator[Any]:
        with self._connections().connection() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """One transaction: committed at the end, rolled back on any error."""
        with self._connections().connection() as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pool_pid == os.getpid():
            pool.close()

    def initialise(self) -> None:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=10, autocommit=True) as conn:
                migrate(conn)
        except psycopg.OperationalError as exc:  # unreachable, refused, bad password, no database
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise StoreUnavailable(
                f"cannot open the PostgreSQL store at {redacted(self.url)}: {reason}"
            ) from None

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
                "expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (key.id, hash_secret(secret), role, area_code, label, key.created_at, expires_at),
            )
        return key, secret

    def authenticate(self, secret: str) -> ApiKey | None:
        digest = hash_secret(secret)
        row = self._one(
            "SELECT * FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > %s)",
            (digest, now()),
        )
        if row is None or not same_hash(row["key_hash"], digest):
            return None
        return key_from_row(row)

    def list_keys(self) -> list[ApiKey]:
        return [
            key_from_row(r) for r in self._all("SELECT * FROM api_keys ORDER BY created_at, id")
        ]

    def revoke_key(self, key_id: str) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
                (now(), key_id),
            )
        return bool(cur.rowcount == 1)

    # -- scenarios -------------------------------------------------------------------------

    def add_scenario(
        self, name: str, body: str, content_hash: str, created_by: str | None
    ) -> StoredScenario:
        record = StoredScenario(new_id(), name, content_hash, body, now(), created_by)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO scenarios (id, name, content_hash, body, created_at, created_by) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (record.id, name, content_hash, body, record.created_at, created_by),
            )
        return record

    def get_scenario(self, scenario_id: str) -> StoredScenario | None:
        row = self._one("SELECT * FROM scenarios WHERE id = %s", (scenario_id,))
        return scenario_from_row(row) if row else None

    def list_scenarios(self, limit: int = 100, offset: int = 0) -> list[StoredScenario]:
        rows = self._all(
            "SELECT * FROM scenarios ORDER BY created_at DESC, id LIMIT %s OFFSET %s",
            (limit, offset),
        )
        return [scenario_from_row(r) for r in rows]

    def count_scenarios(self) -> int:
        return self._count("SELECT COUNT(*) FROM scenarios")

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
                "settings) VALUES (%s, %s, 'queued', %s, %s, %s, %s)",
                (run_id, scenario_id, now(), created_by, kind, text),
            )
            return run_from_row(select_run(conn, run_id, "%s"))

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._read() as conn:
            row = select_run(conn, run_id, "%s")
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
            f"WHERE {where} ORDER BY runs.created_at DESC, runs.id LIMIT %s OFFSET %s"
        )
        with self._read() as conn:
            rows = conn.execute(sql, (*params, limit, offset)).fetchall()
        return [run_from_row(r) for r in rows]

    def count_runs(self, *, published_only: bool = False, scenario_id: str | None = None) -> int:
        where, params = _run_filters(published_only, scenario_id)
        return self._count(f"SELECT COUNT(*) FROM runs WHERE {where}", params)

    def mark_running(self, run_id: str, lease: str | None = None) -> bool:
        return self._changed(
            "UPDATE runs SET status = 'running', started_at = %s, lease = %s "
            "WHERE id = %s AND status = 'queued'",
            (now(), lease, run_id),
        )

    def take_over_run(self, run_id: str, lease: str) -> bool:
        return self._changed(
            "UPDATE runs SET status = 'running', started_at = COALESCE(started_at, %s), "
            "lease = %s WHERE id = %s AND status IN ('queued', 'running')",
            (now(), lease, run_id),
        )

    def set_progress(self, run_id: str, lease: str, done: int, total: int) -> bool:
        return self._changed(
            "UPDATE runs SET progress_done = %s, progress_total = %s "
            "WHERE id = %s AND status = 'running' AND lease = %s",
            (done, total, run_id, lease),
        )

    def set_stage(self, run_id: str, lease: str, stage: str) -> bool:
        return self._changed(
            "UPDATE runs SET progress_stage = %s WHERE id = %s AND status = 'running' "
            "AND lease = %s",
            (stage, run_id, lease),
        )

    def ping(self) -> None:
        import psycopg

        # A connection of its own, with a short connect timeout: a pooled one would wait for
        # the pool and would not notice a server that has gone until a query failed.
        try:
            with psycopg.connect(self.url, connect_timeout=2, autocommit=True) as conn:
                conn.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()
        except psycopg.Error as exc:
            raise OSError(f"PostgreSQL at {redacted(self.url)}: {exc}") from None

    def holds_lease(self, run_id: str, lease: str) -> bool:
        row = self._one(
            "SELECT 1 AS held FROM runs WHERE id = %s AND status = 'running' AND lease = %s",
            (run_id, lease),
        )
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
        sql = (
            "UPDATE runs SET status = %s, reason = %s, summary = %s, finished_at = %s WHERE id = %s"
        )
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
            sql += " AND status = 'running' AND lease = %s"
            params.append(lease)
        with self._write() as conn:
            cur = conn.execute(sql, params)
            if cur.rowcount != 1:
                return False
            if status == "succeeded":
                self._keep_files(conn, run_id)
        return True

    def publish_run(self, run_id: str, published_by: str | None) -> RunRecord | None:
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET published_at = %s, published_by = %s "
                "WHERE id = %s AND status = 'succeeded' AND published_at IS NULL",
                (now(), published_by, run_id),
            )
            row = select_run(conn, run_id, "%s")
        if row is None or row[3] != "succeeded":
            return None
        return run_from_row(row)

    def fail_unfinished(self, reason: str, run_ids: list[str] | None = None) -> int:
        sql = (
            "UPDATE runs SET status = 'failed', reason = %s, finished_at = %s "
            "WHERE status = ANY(%s)"
        )
        params: list[Any] = [reason, now(), list(UNFINISHED)]
        if run_ids is not None:
            if not run_ids:
                return 0
            sql += " AND id = ANY(%s)"
            params.append(list(run_ids))
        with self._write() as conn:
            return int(conn.execute(sql, params).rowcount)

    def count_unfinished(self) -> int:
        return self._count("SELECT COUNT(*) FROM runs WHERE status = ANY(%s)", (list(UNFINISHED),))

    def recover(self) -> int:
        """Make the tables if missing and tidy this machine's leftovers. Unlike SQLite, fails
        no run: queued and running runs belong to the workers, which go on while a server
        restarts (a worker that died is noticed by the queue, not here)."""
        self.initialise()
        for leftover in self.runs_dir.glob(".*"):
            shutil.rmtree(leftover, ignore_errors=True)
        return 0

    # -- small helpers ---------------------------------------------------------------------

    def _one(self, sql: str, params: Any = ()) -> Any:
        from psycopg.rows import dict_row

        with self._read() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(sql, params).fetchone()

    def _all(self, sql: str, params: Any = ()) -> list[Any]:
        from psycopg.rows import dict_row

        with self._read() as conn, conn.cursor(row_factory=dict_row) as cur:
            return list(cur.execute(sql, params).fetchall())

    def _count(self, sql: str, params: Any = ()) -> int:
        with self._read() as conn:
            return int(conn.execute(sql, params).fetchone()[0])

    def _changed(self, sql: str, params: Any) -> bool:
        with self._write() as conn:
            return bool(conn.execute(sql, params).rowcount == 1)


def _run_filters(published_only: bool, scenario_id: str | None) -> tuple[str, list[str]]:
    where, params = ["TRUE"], []
    if published_only:
        where.append("runs.published_at IS NOT NULL")
    if scenario_id is not None:
        where.append("runs.scenario_id = %s")
        params.append(scenario_id)
    return " AND ".join(where), params
