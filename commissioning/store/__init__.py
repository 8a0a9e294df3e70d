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


StoreLocation = str | Path
"""A SQLite file (a path, or `sqlite:///relative/file` / `sqlite:////absolute/file`) or a
PostgreSQL URL (`postgresql://user:password@host:5432/database`)."""

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SCHEME = "sqlite:///"


class StoreLocationError(ValueError):
    """A store location that is neither a SQLite file nor a PostgreSQL URL."""


def store_location(text: str | Path) -> StoreLocation:
    """What a store setting names: a PostgreSQL URL (kept as text) or a SQLite file (a Path).

    `sqlite:///` follows the usual URL form: three slashes then a relative path, four for an
    absolute one. Any other `scheme://` is refused rather than taken for a file name.
    """
    if isinstance(text, Path):
        return text
    text = text.strip()
    if not text:
        raise StoreLocationError("the store location is empty")
    if text.startswith(POSTGRES_SCHEMES):
        return text
    if text.startswith(SQLITE_SCHEME):
        path = text[len(SQLITE_SCHEME) :]
        if not path:
            raise StoreLocationError(f"{text!r} names no file after sqlite:///")
        return Path(path)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise StoreLocationError(
            f"unknown store {scheme}://...: use a SQLite file (path or sqlite:///file) or "
            "postgresql://user@host/database"
        )
    return Path(text)


def is_postgres(location: StoreLocation) -> bool:
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def default_store_path() -> StoreLocation:
    """$COMMISSIONING_STORE, else commissioning.sqlite3 in the current directory."""
    return store_location(os.environ.get(STORE_ENV) or DEFAULT_STORE_PATH)


def store_at(path: StoreLocation | None = None) -> Store:
    """The store at `path` (default: `default_store_path()`), not yet opened.

    This is the one place that picks an implementation: SQLite for a file, PostgreSQL for a
    postgresql:// URL (store/postgres.py; its data folder is $COMMISSIONING_DATA_DIR).
    """
    location = store_location(path) if path else default_store_path()
    if is_postgres(location):
        from commissioning.store.postgres import PostgresStore

        return PostgresStore(str(location))
    from commissioning.store.sqlite import SqliteStore

    return SqliteStore(location)


def open_store(path: StoreLocation | None = None) -> Store:
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
    "StoreLocation",
    "StoreLocationError",
    "StoredScenario",
    "default_store_path",
    "is_postgres",
    "open_store",
    "store_at",
    "store_location",
]
