"""The SQLite store's file: its tables, connections, and bringing an older file up to date.

`connect` sets what every connection needs (foreign keys, a busy wait, full sync).
`create_or_upgrade` makes the tables of a new file, adds the columns a file from an older version
lacks, and refuses a file from a newer version rather than guess at its layout.

Versions: 1 keys, scenarios, runs; 2 run leases; 3 run kinds and settings; 4 run stages,
expiring keys, cancelled runs, the audit log and Idempotency-Keys; 5 signed-out web sessions
(a new table only: `CREATE TABLE IF NOT EXISTS` adds it to an older file).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 5

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id          TEXT PRIMARY KEY,
    key_hash    TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('commissioner', 'finance', 'borough_lead')),
    area_code   TEXT,
    label       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    expires_at  TEXT,
    CHECK ((role = 'borough_lead') = (area_code IS NOT NULL))
);
CREATE TABLE IF NOT EXISTS scenarios (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT REFERENCES api_keys(id)
);
CREATE INDEX IF NOT EXISTS scenarios_created ON scenarios (created_at, id);
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY,
    scenario_id   TEXT NOT NULL REFERENCES scenarios(id),
    status        TEXT NOT NULL
                  CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'infeasible',
                                    'cancelled')),
    reason        TEXT,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    published_at  TEXT,
    published_by  TEXT REFERENCES api_keys(id),
    summary       TEXT,
    created_by    TEXT REFERENCES api_keys(id),
    lease         TEXT,
    kind          TEXT NOT NULL DEFAULT 'solve',
    settings      TEXT,
    progress_done INTEGER,
    progress_total INTEGER,
    progress_stage TEXT,
    CHECK (published_at IS NULL OR status = 'succeeded')
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at, id);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    key_id      TEXT,
    key_name    TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL,
    reason      TEXT
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key_id       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       INTEGER,
    content_type TEXT,
    location     TEXT,
    body         BLOB,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (key_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency_keys (created_at);
CREATE TABLE IF NOT EXISTS ended_sessions (
    session_id  TEXT PRIMARY KEY,
    key_id      TEXT NOT NULL,
    ended_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ended_sessions_at ON ended_sessions (ended_at);
"""


class Connection(sqlite3.Connection):
    """A SQLite connection that can be referred to weakly (the built-in one cannot), so a
    store can keep track of its open connections without keeping them open."""


def connect(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are begun explicitly), rows by name."""
    conn = sqlite3.connect(
        path,
        timeout=30.0,
        isolation_level=None,
        check_same_thread=check_same_thread,
        factory=Connection,
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def create_or_upgrade(path: Path) -> None:
    """Create the tables if missing and upgrade an older file, in one transaction (idempotent)."""
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{path} was made by a newer version (schema {version}); upgrade first"
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            _add_missing_columns(conn)
            _allow_cancelled_runs(conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Bring a store made by an older version up to date (schema 1 had no run leases, schema
    2 no run kinds: its runs are all solves; schema 3 no run stages: NULL reads as the stage
    a run's status implies)."""
    columns = {row["name"] for row in conn.execute("PRAGMA table_info(runs)")}
    added = {
        "lease": "TEXT",
        "kind": "TEXT NOT NULL DEFAULT 'solve'",
        "settings": "TEXT",
        "progress_done": "INTEGER",
        "progress_total": "INTEGER",
        "progress_stage": "TEXT",
    }
    for name, definition in added.items():
        if name not in columns:
            conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {definition}")
    # Schema 4: keys may expire.
    key_columns = {row["name"] for row in conn.execute("PRAGMA table_info(api_keys)")}
    if "expires_at" not in key_columns:
        conn.execute("ALTER TABLE api_keys ADD COLUMN expires_at TEXT")


def _allow_cancelled_runs(conn: sqlite3.Connection) -> None:
    """Schema 4 added the status `cancelled`. SQLite cannot alter a CHECK constraint, so an
    older runs table is rebuilt (SQLite's documented way: make the new table, copy the rows,
    drop the old one), inside the caller's transaction: a failure leaves the file as it was."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'")
    sql = row.fetchone()[0]
    if "'cancelled'" in sql:
        return
    conn.execute("ALTER TABLE runs RENAME TO runs_before_schema_4")
    statements = [s for s in SCHEMA.split(";") if " runs " in s or " runs(" in s]
    create = next(s for s in statements if "CREATE TABLE" in s)
    conn.execute(create)
    columns = ", ".join(
        row["name"] for row in conn.execute("PRAGMA table_info(runs_before_schema_4)")
    )
    conn.execute(f"INSERT INTO runs ({columns}) SELECT {columns} FROM runs_before_schema_4")
    conn.execute("DROP TABLE runs_before_schema_4")  # its indexes go with it
    for statement in statements:
        if "CREATE INDEX" in statement:
            conn.execute(statement)
