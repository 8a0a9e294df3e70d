"""Settings of the API server: where the store is, how many solves run at once, limits."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from commissioning.store import default_store_path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE_SCENARIO = REPO_ROOT / "fixtures" / "london-2019" / "scenario.json"
REFERENCE_ENV = "COMMISSIONING_REFERENCE_SCENARIO"


def default_workers() -> int:
    """One solver process per core, leaving one core for the web server."""
    return max(1, (os.cpu_count() or 2) - 1)


def default_reference_scenario() -> Path:
    return Path(os.environ.get(REFERENCE_ENV) or DEFAULT_REFERENCE_SCENARIO)


@dataclass(frozen=True)
class ApiSettings:
    """Everything `create_app` needs; the defaults suit one server on one machine."""

    store_path: Path = field(default_factory=default_store_path)
    reference_scenario: Path = field(default_factory=default_reference_scenario)
    workers: int = field(default_factory=default_workers)
    queue_size: int = 8
    """Runs that may wait for a worker; beyond workers + queue_size new runs get 429."""
    retry_after_seconds: int = 30
    max_body_bytes: int = 8 * 1024 * 1024
    api_key_header: str = "X-API-Key"
    debug: bool = False

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.queue_size < 0:
            raise ValueError("queue_size must not be negative")
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1024")
