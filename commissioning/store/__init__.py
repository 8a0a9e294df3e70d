"""Where keys, scenarios and runs are kept: one small interface, SQLite by default.

The names below are imported when first used (PEP 562 `__getattr__`): the `commissioning`
command builds its help from ROLES and default_store_path() alone, and should not pay for the
store's records (dataclasses, which import inspect) or sqlite3.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commissioning.store.roles import ROLES, Role

if TYPE_CHECKING:
    from commissioning.store.interface import (
        RUN_STATUSES,
        ApiKey,
        RunRecord,
        RunStatus,
        Store,
        StoredScenario,
    )
    from commissioning.store.sqlite import SqliteStore

DEFAULT_STORE_PATH = "commissioning.sqlite3"
STORE_ENV = "COMMISSIONING_STORE"

_FROM_INTERFACE = {"RUN_STATUSES", "ApiKey", "RunRecord", "RunStatus", "Store", "StoredScenario"}


def __getattr__(name: str) -> Any:
    if name in _FROM_INTERFACE:
        from commissioning.store import interface

        return getattr(interface, name)
    if name == "SqliteStore":
        from commissioning.store.sqlite import SqliteStore

        return SqliteStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_store_path() -> Path:
    """$COMMISSIONING_STORE, else commissioning.sqlite3 in the current directory."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE_PATH)


def store_at(path: str | Path | None = None) -> Store:
    """The store at `path` (default: `default_store_path()`), not yet opened.

    This is the one place that picks an implementation: a PostgreSQL URL would be dispatched
    here to a PostgreSQL store implementing the same `Store` interface.
    """
    from commissioning.store.sqlite import SqliteStore

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
