"""Solved runs for the London workbook tests, each solved once per test session.

- "fixture": the London 2019 fixture as it stands (every borough at or above benchmark);
- "cut": the same with MOPAC's direct budget at 66% and the co-commissioning fund at half, so
  25 boroughs fall below benchmark and the workbook's red has something to mark;
- "synthetic": 70 synthetic areas that are not London boroughs (no map; more areas than a
  chart labels);
- "london33": all 33 London codes, the City too (one benchmarked service, one pot), so the
  map has no grey square and the chart 33 bars.

Each is solved for real, written to a run directory and read back, as `commissioning export`
and the API build workbooks; the workbook is written beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from conftest import small_scenario_data
from test_excel_london import solved_run_dir

from commissioning.analysis.overrides import apply_overrides
from commissioning.excel import write_london_workbook
from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.results import RunResult
from commissioning.synthetic import synthetic_scenario

CUTS = [("pots.mopac_direct.scale", "0.66"), ("pots.lcpf_co_commissioning.scale", "0.5")]


@dataclass(frozen=True)
class SolvedRun:
    name: str
    folder: Path  # the run directory: the CSV files the workbook must agree with
    run: RunResult
    book: Path  # the London workbook

    def csv(self, name: str) -> pl.DataFrame:
        return pl.read_csv(self.folder / f"{name}.csv", infer_schema_length=None)


_SOLVED: dict[str, SolvedRun] = {}


def solved(name: str, factory: pytest.TempPathFactory, london: Scenario) -> SolvedRun:
    """The run called `name` (see the module's docstring), solved on first use."""
    if name not in _SOLVED:
        folder = factory.mktemp(f"london-{name}")
        if name == "synthetic":
            run_dir = solve(synthetic_scenario(70, services=3, pots=2, years=2)).write(
                folder / "run"
            )
        elif name == "london33":
            populations = {f"E090000{n:02d}": 60_000.0 + 4_000 * n for n in range(1, 34)}
            data = small_scenario_data(populations)
            run_dir = solve(Scenario.model_validate(data)).write(folder / "run")
        else:
            scenario = apply_overrides(london, CUTS) if name == "cut" else london
            run_dir = solved_run_dir(folder, scenario)
        run = RunResult.read(run_dir)
        _SOLVED[name] = SolvedRun(
            name, run_dir, run, write_london_workbook(run, folder / "london.xlsx")
        )
    return _SOLVED[name]
