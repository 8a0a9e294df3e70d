"""Reference data (areas, services, benchmarks) from the configured reference scenario.

By default that is the London 2019 fixture: the 32 MPS boroughs with their ONS populations, the
services with their unit costs, and the SafeLives benchmarks. It is public data, so every role
may read it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from commissioning.models import Scenario
from commissioning.scenario_io import load_scenario


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> Scenario:
    return load_scenario(path)


def reference_scenario(path: Path) -> Scenario:
    """The reference scenario, read once and again only when the file changes."""
    resolved = path.resolve()
    return _load(str(resolved), resolved.stat().st_mtime_ns)
