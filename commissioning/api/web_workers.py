"""Several web processes on one store: `commissioning serve --web-workers N`.

uvicorn starts N processes that each import the app (`app_for_web_worker`, its settings passed
in $COMMISSIONING_API_SETTINGS) and share the listening socket; each dies with the server
process, as solver workers do. Reads scale with them; runs must
not multiply with them, so in this mode:

- **Recovery happens once**, in the parent, before any web process starts (`prepare_store`):
  a web process that starts later (uvicorn restarts one that died) must not mark failed the
  runs the others are solving, so web processes never call `store.recover()` themselves.
- **Queue limits hold across processes** (`SharedRunGate`): a run is admitted while holding an
  exclusive file lock, after counting the store's queued and running runs against the limit
  (`workers + queue_size`), so N processes never queue more than one server would.
- **Solves run `workers` at a time across processes**: a run's solve takes one of `workers`
  slot files (an exclusive `flock`) before its worker process starts, and gives it back when it
  ends. The kernel drops a dead process's locks, so a crash never leaks a slot. Runs queued in
  different web processes start in about, not exactly, the order they came.

What is not covered: a web process killed outright leaves its runs queued or running in the
store (its solver processes die with it) until the server is restarted, when the parent's
recovery marks them failed, as for a single process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from litestar import Litestar

from commissioning.api.services.access import Busy
from commissioning.api.settings import ApiSettings
from commissioning.store import Store

SETTINGS_ENV = "COMMISSIONING_API_SETTINGS"
PARENT_ENV = "COMMISSIONING_API_PARENT"  # the pid of `commissioning serve`
SLOT_POLL_SECONDS = 0.2

T = TypeVar("T")


def default_web_workers() -> int:
    """One web process per core, at least one."""
    return max(1, os.cpu_count() or 1)


def settings_to_env(settings: ApiSettings) -> str:
    return json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in _fields(settings)})


def settings_from_env(text: str) -> ApiSettings:
    data: dict[str, Any] = json.loads(text)
    for name in ("store_path", "reference_scenario"):
        data[name] = Path(data[name])
    data["cors_origins"] = tuple(data.get("cors_origins", ()))  # JSON has lists, not tuples
    return ApiSettings(**data)


def _fields(settings: ApiSettings) -> Iterator[tuple[str, Any]]:
    for f in dataclasses.fields(settings):
        yield f.name, getattr(settings, f.name)


def app_for_web_worker() -> Litestar:
    """The app in one of several web processes (uvicorn's factory, called in each)."""
    from commissioning.api.app import create_app
    from commissioning.api.worker import _die_with_parent

    text = os.environ.get(SETTINGS_ENV)
    if not text:
        raise RuntimeError(f"${SETTINGS_ENV} is not set: start this with `commissioning serve`")
    # A server killed outright takes its web processes with it, as it does its solver
    # workers (which then die with their web process): nothing is left serving or solving.
    _die_with_parent(int(os.environ[PARENT_ENV]))
    return create_app(settings_from_env(text))


def prepare_store(settings: ApiSettings) -> int:
    """In the parent, before the web processes: create or upgrade the store, mark failed the
    runs a previous server left unfinished, tidy leftovers, and check the reference data."""
    from commissioning.api.app import check_reference
    from commissioning.safe_output import remove_output_leftovers
    from commissioning.store import store_at

    store = store_at(settings.store)
    try:
        failed = store.recover()
        remove_output_leftovers(store.data_dir)
    finally:
        store.close()
    check_reference(settings)
    return failed


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive flock on `path`, waiting for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:  # closing drops the lock
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class SharedRunGate:
    """Queue limits and solver slots shared by every web process on one store (file locks in
    the store's data folder)."""

    def __init__(self, store: Store, workers: int, capacity: int, retry_after_seconds: int):
        self.store = store
        self.workers = workers
        self.capacity = capacity
        self.retry_after_seconds = retry_after_seconds
        self.folder = store.data_dir / "web-workers"

    def admit(self, create: Callable[[], T]) -> T:
        """`create()` the run if fewer than `capacity` runs are queued or running in the store,
        else raise Busy; the count and the creation are one step for every process. Blocking."""
        with _locked(self.folder / "admit.lock"):
            waiting = self.store.count_unfinished()
            if waiting >= self.capacity:
                raise Busy(
                    f"{waiting} runs are already queued or solving (the limit is "
                    f"{self.capacity}); try again later",
                    retry_after=self.retry_after_seconds,
                )
            return create()

    def try_solver_slot(self) -> IO[bytes] | None:
        """One of the `workers` solver slots if one is free (hold the handle; close to free)."""
        for slot in range(self.workers):
            path = self.folder / f"solver-{slot}.lock"
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("ab")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            return handle
        return None

    async def solver_slot(self) -> IO[bytes]:
        """Wait for a solver slot (polling: slots are held for whole solves)."""
        while (handle := self.try_solver_slot()) is None:
            await asyncio.sleep(SLOT_POLL_SECONDS)
        return handle
