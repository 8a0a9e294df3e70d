"""The SQLite store's file: its tables, connections, and bringing an older file up to date.

`connect` sets what every connection needs (foreign keys, a busy wait, full sync).
`create_or_upgrade` makes the tables of a new file, adds the columns a file from an older version
lacks, and refuses a file from a newer version rather than guess at its layout.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id          TEXT PRIMARY KEY,
    key_hash    TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('commissioner', 'finance', 'borough_lead')),
    area_code   TEXT,
    label       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
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
                  CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'infeasible')),
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
    CHECK (published_at IS NULL OR status = 'succeeded')
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at, id);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
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
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Bring a store made by an older version up to date (schema 1 had no run leases, schema
    2 no run kinds: its runs are all solves)."""
    columns = {row["name"] for row in conn.execute("PRAGMA table_info(runs)")}
    added = {
        "lease": "TEXT",
        "kind": "TEXT NOT NULL DEFAULT 'solve'",
        "settings": "TEXT",
        "progress_done": "INTEGER",
        "progress_total": "INTEGER",
    }
    for name, definition in added.items():
        if name not in columns:
            conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {definition}")
