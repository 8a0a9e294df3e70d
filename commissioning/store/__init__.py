"""Where keys, scenarios and runs are kept: one small interface, SQLite by default."""

from __future__ import annotations

import os
from pathlib import Path

from commissioning.store.interface import (
    ROLES,
    RUN_STATUSES,
    ApiKey,
    Role,
    RunRecord,
    RunStatus,
    Store,
    StoredScenario,
)
from commissioning.store.sqlite import SqliteStore

DEFAULT_STORE_PATH = "commissioning.sqlite3"
STORE_ENV = "COMMISSIONING_STORE"


def default_store_path() -> Path:
    """$COMMISSIONING_STORE, else commissioning.sqlite3 in the current directory."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE_PATH)


def store_at(path: str | Path | None = None) -> Store:
    """The store at `path` (default: `default_store_path()`), not yet opened.

    This is the one place that picks an implementation: a PostgreSQL URL would be dispatched
    here to a PostgreSQL store implementing the same `Store` interface.
    """
    return SqliteStore(path or default_store_path())


def open_store(path: str | Path | None = None) -> Store:
    """The store at `path`, with its tables and folders created if they are missing."""
    store = store_at(path)
    store.initialise()
    return store


__all__ = [
    "DEFAULT_STORE_PATH",
    "ROLES",
    "RUN_STATUSES",
    "STORE_ENV",
    "ApiKey",
    "Role",
    "RunRecord",
    "RunStatus",
    "SqliteStore",
    "Store",
    "StoredScenario",
    "default_store_path",
    "open_store",
    "store_at",
]
