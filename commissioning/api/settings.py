"""Settings of the API server: where the store is, how many solves run at once, limits."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from commissioning.store import (
    DEFAULT_STORE_PATH,
    StoreLocation,
    default_store_path,
    is_postgres,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE_SCENARIO = REPO_ROOT / "fixtures" / "london-2019" / "scenario.json"
REFERENCE_ENV = "COMMISSIONING_REFERENCE_SCENARIO"
WORKER_MEMORY_ENV = "COMMISSIONING_WORKER_MEMORY_MIB"
RUN_TIME_LIMIT_ENV = "COMMISSIONING_RUN_TIME_LIMIT_SECONDS"
CORS_ORIGINS_ENV = "COMMISSIONING_CORS_ORIGINS"
DEFAULT_WORKER_MEMORY_MIB = 4096
DEFAULT_RUN_TIME_LIMIT_SECONDS = 600.0


def default_workers() -> int:
    """One solver process per core, leaving one core for the web server."""
    return max(1, (os.cpu_count() or 2) - 1)


def default_reference_scenario() -> Path:
    return Path(os.environ.get(REFERENCE_ENV) or DEFAULT_REFERENCE_SCENARIO)


def _from_env(name: str, kind: type[int] | type[float], default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        what = "whole number" if kind is int else "number"
        raise ValueError(f"${name} must be a {what}, not {text!r}") from None
    if not 0 < value < math.inf:
        raise ValueError(f"${name} must be a positive number, not {text!r}")
    return value


def default_worker_memory_mib() -> int:
    """$COMMISSIONING_WORKER_MEMORY_MIB, else 4 GiB: London solves in about 120 MiB."""
    return int(_from_env(WORKER_MEMORY_ENV, int, DEFAULT_WORKER_MEMORY_MIB))


def default_run_time_limit_seconds() -> float:
    """$COMMISSIONING_RUN_TIME_LIMIT_SECONDS, else 10 minutes."""
    return _from_env(RUN_TIME_LIMIT_ENV, float, DEFAULT_RUN_TIME_LIMIT_SECONDS)


def check_origin(origin: str) -> str:
    """An origin as a browser sends it: scheme://host[:port], nothing after."""
    parts = urlsplit(origin)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise ValueError(
            f"CORS origin {origin!r} must be scheme://host[:port], e.g. https://finance.example.org"
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise ValueError(f"CORS origin {origin!r} has a bad port") from None
    return origin


def default_cors_origins() -> tuple[str, ...]:
    """$COMMISSIONING_CORS_ORIGINS, comma-separated; none by default (no CORS headers)."""
    text = os.environ.get(CORS_ORIGINS_ENV, "")
    try:
        return tuple(check_origin(o.strip()) for o in text.split(",") if o.strip())
    except ValueError as exc:
        raise ValueError(f"${CORS_ORIGINS_ENV}: {exc}") from None


def _default_location() -> tuple[Path, str | None]:
    """$COMMISSIONING_STORE as (SQLite file, PostgreSQL URL): one of them names the store."""
    location = default_store_path()
    if is_postgres(location):
        return Path(DEFAULT_STORE_PATH), str(location)
    return Path(location), None


def with_store(location: StoreLocation) -> dict[str, object]:
    """The ApiSettings fields naming `location` (a SQLite file or a PostgreSQL URL)."""
    if is_postgres(location):
        return {"store_url": str(location)}
    return {"store_path": Path(location), "store_url": None}


@dataclass(frozen=True)
class ApiSettings:
    """Everything `create_app` needs; the defaults suit one server on one machine."""

    store_path: Path = field(default_factory=lambda: _default_location()[0])
    """The SQLite store's file (used unless `store_url` is set)."""
    store_url: str | None = field(default_factory=lambda: _default_location()[1])
    """A PostgreSQL store's postgresql:// URL: runs then go to `commissioning worker`s."""
    reference_scenario: Path = field(default_factory=default_reference_scenario)
    workers: int = field(default_factory=default_workers)
    queue_size: int = 8
    """Runs that may wait for a worker; beyond workers + queue_size new runs get 429."""
    retry_after_seconds: int = 30
    worker_memory_mib: int = field(default_factory=default_worker_memory_mib)
    """Memory one solve may allocate; a run that needs more fails alone, plainly."""
    run_time_limit_seconds: float = field(default_factory=default_run_time_limit_seconds)
    """Wall time of one run's worker, from its start; the worker is then stopped (time_limit)."""
    max_body_bytes: int = 8 * 1024 * 1024
    api_key_header: str = "X-API-Key"
    cors_origins: tuple[str, ...] = field(default_factory=default_cors_origins)
    """Browser origins allowed to call the API (CORS); empty: no CORS headers at all."""
    debug: bool = False
    shared_queue: bool = False
    """One of several web processes on this store (`serve --web-workers N`): the parent has
    recovered the store, and queue limits and solver slots are shared (api/web_workers.py)."""

    @property
    def store(self) -> StoreLocation:
        """Where the store is: the PostgreSQL URL if one is set, else the SQLite file."""
        return self.store_url or self.store_path

    def __post_init__(self) -> None:
        if self.store_url is not None and not is_postgres(self.store_url):
            raise ValueError(f"store_url must be a postgresql:// URL, not {self.store_url!r}")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.queue_size < 0:
            raise ValueError("queue_size must not be negative")
        if self.worker_memory_mib < 256:
            raise ValueError("worker_memory_mib must be at least 256 (a solve needs ~120 MiB)")
        if not 0 < self.run_time_limit_seconds < math.inf:
            raise ValueError("run_time_limit_seconds must be a positive number of seconds")
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1024")
        for origin in self.cors_origins:
            check_origin(origin)
