"""Solve a scenario and write its outputs: the one service the CLI, API and exports share."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from commissioning import __version__
from commissioning.models import Scenario
from commissioning.need import benchmark_targets, need_index
from commissioning.outputs import write_run_directory


@dataclass(frozen=True)
class RunOutputs:
    scenario: Scenario
    targets: pl.DataFrame
    need: pl.DataFrame
    summary: dict[str, Any]
    out_dir: Path

    def report(self) -> str:
        """A short table for people: benchmark targets per service across all areas."""
        totals = (
            self.targets.group_by("service")
            .agg(pl.col("target_units").sum(), pl.len().alias("areas"))
            .sort("service")
        )
        lines = [f"{self.scenario.name}", f"{'service':<28}{'areas':>7}{'target units':>15}"]
        lines += [
            f"{row['service']:<28}{row['areas']:>7}{row['target_units']:>15.1f}"
            for row in totals.iter_rows(named=True)
        ]
        return "\n".join(lines)


def run_summary(scenario: Scenario, targets: pl.DataFrame) -> dict[str, Any]:
    totals = targets.group_by("service").agg(pl.col("target_units").sum()).sort("service")
    return {
        "scenario": scenario.name,
        "scenario_hash": scenario.content_hash(),
        "financial_years": scenario.financial_years,
        "areas": len(scenario.areas),
        "target_units_by_service": {
            row["service"]: round(row["target_units"], 6) for row in totals.iter_rows(named=True)
        },
        "versions": {
            "commissioning": __version__,
            "python": platform.python_version(),
            "polars": pl.__version__,
        },
    }


def solve_to_directory(scenario: Scenario, out_dir: Path) -> RunOutputs:
    targets = benchmark_targets(scenario)
    need = need_index(scenario)
    summary = run_summary(scenario, targets)
    written = write_run_directory(
        out_dir, tables={"targets": targets, "need": need}, documents={"summary": summary}
    )
    return RunOutputs(scenario, targets, need, summary, written)
