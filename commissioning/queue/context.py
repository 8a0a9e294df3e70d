"""What a `commissioning worker` process holds for its jobs: its store and its name."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from commissioning.store.postgres import PostgresStore

_store: list[PostgresStore] = []


def set_worker_store(store: PostgresStore) -> None:
    _store[:] = [store]


def worker_store() -> PostgresStore:
    if not _store:
        raise RuntimeError("no store: jobs run in `commissioning worker`, which sets it")
    return _store[0]


def default_worker_name() -> str:
    """host:pid, so an operator can find the process that solved a step."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_name(context: Any) -> str:
    return str(getattr(context, "worker_name", None) or default_worker_name())
