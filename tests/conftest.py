"""Shared fixtures: the London 2019 scenario, and writable copies of it to break on purpose."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from postgres_support import (  # noqa: F401 (fixtures)
    _module_cleanups,
    _test_cleanups,
    _test_store_cluster,
    postgres_cluster,
    postgres_url,
)

from commissioning.models import Scenario
from commissioning.scenario_io import load_scenario, scenario_json

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019"


class ScenarioCopy:
    """A copy of the London fixture folder that a test may change freely."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / "scenario.json"

    def data(self) -> dict[str, Any]:
        return json.loads(self.path.read_text(encoding="utf-8"))

    def write(self, data: Any) -> None:
        self.path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")

    def edit(self, change: Callable[[dict[str, Any]], object]) -> None:
        """Load scenario.json, let `change` mutate the dict in place, and write it back."""
        data = self.data()
        change(data)
        self.write(data)

    def rows(self, csv_name: str) -> list[list[str]]:
        with (self.folder / csv_name).open(newline="", encoding="utf-8") as f:
            return list(csv.reader(f))

    def write_rows(self, csv_name: str, rows: list[list[str]]) -> None:
        with (self.folder / csv_name).open("w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)

    def set_cell(self, csv_name: str, code: str, column: str, value: str) -> int:
        """Set one CSV cell, found by area code and column; returns its row number (header = 1)."""
        rows = self.rows(csv_name)
        col = rows[0].index(column)
        number = next(n for n, row in enumerate(rows[1:], start=2) if row[0] == code)
        rows[number - 1][col] = value
        self.write_rows(csv_name, rows)
        return number

    def make_inline(self) -> None:
        """Replace `area_data` by the same areas written inline (via the canonical writer)."""
        self.path.write_text(scenario_json(load_scenario(self.path)), encoding="utf-8")


@pytest.fixture(scope="session")
def london_scenario_path() -> Path:
    return FIXTURE_DIR / "scenario.json"


@pytest.fixture(scope="session")
def london_scenario(london_scenario_path: Path) -> Scenario:
    return load_scenario(london_scenario_path)


def copy_london(parent: Path) -> ScenarioCopy:
    """Copy the London fixture folder into `parent` and return the copy."""
    folder = parent / "london-2019"
    shutil.copytree(FIXTURE_DIR, folder)
    return ScenarioCopy(folder)


@pytest.fixture
def london_copy(tmp_path: Path) -> ScenarioCopy:
    return copy_london(tmp_path)


def small_scenario_data(
    populations: dict[str, float] | None = None, **overrides: Any
) -> dict[str, Any]:
    """A small valid scenario as plain data: areas inline with `female_16_plus`, one benchmark."""
    populations = populations or {"E09000002": 79013.0, "E09000003": 158228.0}
    data: dict[str, Any] = {
        "name": "small test scenario",
        "financial_years": ["2019/20", "2020/21"],
        "areas": [
            {"code": code, "name": f"Area {code}", "indicators": {"female_16_plus": pop}}
            for code, pop in populations.items()
        ],
        "services": [
            {"id": "idva", "name": "IDVA", "unit": "FTE", "unit_cost_pence": 4_000_000},
            {
                "id": "marac",
                "name": "MARAC coordinator",
                "unit": "FTE",
                "unit_cost_pence": 4_000_000,
            },
        ],
        "benchmarks": [
            {
                "service": "idva",
                "units": "4",
                "per": 100_000,
                "basis": "female_16_plus",
                "source": "SafeLives",
                "edition": "test",
            }
        ],
        "pots": [
            {
                "id": "pot",
                "name": "A pot",
                "kind": "commissioned_services",
                "amounts": [
                    {"year": "2019/20", "amount_pence": 100_000_000},
                    {"year": "2020/21", "amount_pence": 100_000_000},
                ],
            }
        ],
    }
    data.update(overrides)
    return data
