"""The tables a solved run produces, their fixed schemas, and the run directory that holds them.

A run directory is the hand-over point between the solver and everyone downstream (CLI, API,
Excel): `scenario.json` (areas inline), one CSV per table, `summary.json` (deterministic) and
`timing.json` (wall-clock figures, which differ run to run), and the `.commissioning-run` marker
that lets a later run replace it (see commissioning.safe_output).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from commissioning.explain_schemas import (
    BINDING_SCHEMA,
    COST_TO_BENCHMARK_SCHEMA,
    EXPLAIN_SORT_KEYS,
    MARGINAL_SCHEMA,
)
from commissioning.models import Scenario
from commissioning.need import NEED_SCHEMA, TARGETS_SCHEMA
from commissioning.outputs import frame_from_csv, write_run_directory
from commissioning.scenario_io import scenario_json

ALLOCATIONS_SCHEMA = pl.Schema(
    {
        "year": pl.String,
        "area_code": pl.String,
        "area_name": pl.String,
        "service": pl.String,
        "pot": pl.String,
        "units": pl.Float64,
        "cost_pence": pl.Int64,
    }
)

COVERAGE_SCHEMA = pl.Schema(
    {
        "year": pl.String,
        "area_code": pl.String,
        "area_name": pl.String,
        "service": pl.String,
        "target_units": pl.Float64,
        "existing_units": pl.Float64,
        "bid_units": pl.Float64,  # units of selected co-commissioning bids (not in existing)
        "funded_units": pl.Float64,
        "total_units": pl.Float64,
        "coverage_ratio": pl.Float64,
        "shortfall_units": pl.Float64,
        "funded_cost_pence": pl.Int64,
        "explanation": pl.String,
    }
)

POTS_SCHEMA = pl.Schema(
    {
        "year": pl.String,
        "pot": pl.String,
        "pot_name": pl.String,
        "budget_pence": pl.Int64,
        "committed_pence": pl.Int64,
        "allocated_pence": pl.Int64,
        "unspent_pence": pl.Int64,
    }
)

COMMITMENTS_SCHEMA = pl.Schema(
    {
        "year": pl.String,
        "commitment": pl.String,
        "name": pl.String,
        "pot": pl.String,
        "service": pl.String,
        "area_code": pl.String,
        "amount_pence": pl.Int64,
    }
)

GRANTS_SCHEMA = pl.Schema(
    {
        "year": pl.String,
        "pot": pl.String,
        "area_code": pl.String,
        "area_name": pl.String,
        "target_share": pl.Float64,
        "target_pence": pl.Int64,
        "allocated_pence": pl.Int64,
        "distance_pence": pl.Int64,
        "previous_pence": pl.Int64,
        "change_pence": pl.Int64,
        "change_pct": pl.Float64,
    }
)

BIDS_SCHEMA = pl.Schema(
    {
        "bid": pl.String,
        "provider": pl.String,
        "selected": pl.Boolean,
        "score": pl.Float64,
        "year": pl.String,
        "cost_pence": pl.Int64,
        "partner_areas": pl.String,
        "reason_code": pl.String,  # commissioning.optimise.bid_reasons.BID_REASON_CODES
        "reason": pl.String,
    }
)

# One row per coverage row: the cell's reason code (commissioning.optimise.reasons.ReasonCode),
# what it is short (units, and granules short × granule cost in pence) and the sentence.
EXPLANATIONS_SCHEMA = pl.Schema(
    {
        "year": pl.String,
        "area_code": pl.String,
        "area_name": pl.String,
        "service": pl.String,
        "reason_code": pl.String,
        "coverage_ratio": pl.Float64,
        "shortfall_units": pl.Float64,
        "shortfall_pence": pl.Int64,
        "reason": pl.String,
    }
)

TABLE_SCHEMAS: dict[str, pl.Schema] = {
    "targets": TARGETS_SCHEMA,
    "need": NEED_SCHEMA,
    "allocations": ALLOCATIONS_SCHEMA,
    "coverage": COVERAGE_SCHEMA,
    "pots": POTS_SCHEMA,
    "commitments": COMMITMENTS_SCHEMA,
    "grants": GRANTS_SCHEMA,
    "bids": BIDS_SCHEMA,
    "explanations": EXPLANATIONS_SCHEMA,
    "cost_to_benchmark": COST_TO_BENCHMARK_SCHEMA,
    "marginal": MARGINAL_SCHEMA,
    "binding": BINDING_SCHEMA,
}
OPTIONAL_TABLES = frozenset(
    {"grants", "bids", "explanations", "cost_to_benchmark", "marginal", "binding"}
)

# Rows are always written in this order so reruns are byte-identical.
SORT_KEYS: dict[str, list[str]] = {
    "targets": ["area_code", "service"],
    "need": ["area_code"],
    "allocations": ["year", "area_code", "service", "pot"],
    "coverage": ["year", "area_code", "service"],
    "pots": ["year", "pot"],
    "commitments": ["year", "commitment"],
    "grants": ["year", "pot", "area_code"],
    "bids": ["bid", "year"],
    "explanations": ["year", "area_code", "service"],
    **EXPLAIN_SORT_KEYS,
}


def conform(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Columns in schema order and types, rows in the table's fixed order."""
    schema = TABLE_SCHEMAS[name]
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()]).sort(
        SORT_KEYS[name], maintain_order=True
    )


@dataclass(frozen=True)
class RunResult:
    """A solved scenario (an allocation): its tables, its deterministic summary, and its timings
    (wall-clock figures are kept apart so that summary.json is the same on every rerun)."""

    scenario: Scenario
    tables: dict[str, pl.DataFrame]
    summary: dict[str, Any]
    timing: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> pl.DataFrame:
        return self.tables[name]

    @property
    def allocations(self) -> pl.DataFrame:
        """Year, area, service, pot, units and cost_pence: which pot pays for what."""
        return self.tables["allocations"]

    @property
    def coverage(self) -> pl.DataFrame:
        """Year × area × service: target, existing, funded, coverage ratio, shortfall, why."""
        return self.tables["coverage"]

    @property
    def pots(self) -> pl.DataFrame:
        """Year × pot: budget, committed, allocated and unspent pence (they reconcile)."""
        return self.tables["pots"]

    def write(self, out_dir: str | Path, extra_writers: dict[str, Any] | None = None) -> Path:
        def write_scenario(path: Path) -> None:
            path.write_text(scenario_json(self.scenario), encoding="utf-8")

        return write_run_directory(
            out_dir,
            tables={name: conform(name, frame) for name, frame in self.tables.items()},
            documents={"summary": self.summary, "timing": self.timing},
            extra_writers={"scenario.json": write_scenario, **(extra_writers or {})},
        )

    @classmethod
    def read(cls, run_dir: str | Path) -> RunResult:
        """Load a run directory written by `write` (used by exports and the API)."""
        from commissioning.scenario_io import load_scenario

        run_dir = Path(run_dir)
        scenario = load_scenario(run_dir / "scenario.json")
        tables = {}
        for name, schema in TABLE_SCHEMAS.items():
            path = run_dir / f"{name}.csv"
            if path.exists():
                tables[name] = frame_from_csv(path, schema)
            elif name not in OPTIONAL_TABLES:
                raise FileNotFoundError(f"run directory {run_dir} has no {name}.csv")
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        timing_path = run_dir / "timing.json"
        timing = json.loads(timing_path.read_text(encoding="utf-8")) if timing_path.exists() else {}
        return cls(scenario, tables, summary, timing)


Allocation = RunResult
