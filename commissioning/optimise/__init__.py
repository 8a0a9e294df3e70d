"""Decide units per area × service × year and which pot pays, fairly and within every rule."""

from __future__ import annotations

import platform
import time
from importlib.metadata import version

import polars as pl
import pulp

from commissioning import __version__
from commissioning.models import Scenario
from commissioning.need import benchmark_targets, need_index
from commissioning.optimise.data import build_data
from commissioning.optimise.funding_rounds import prepare
from commissioning.optimise.split import split_by_pot
from commissioning.optimise.stages import solve_stages
from commissioning.optimise.tables import (
    allocations_table,
    commitments_table,
    coverage_table,
    pots_table,
)
from commissioning.results import Allocation, RunResult, conform

__all__ = ["Allocation", "solve"]


def solve(scenario: Scenario) -> RunResult:
    """Solve a validated scenario. Raises InfeasibleScenario (plain words) or SolverFailed."""
    started = time.perf_counter()
    prepared = prepare(scenario)
    data = build_data(prepared.scenario, prepared.bid_provision)
    solution = solve_stages(data)
    payments = split_by_pot(data, solution.granules)
    pots = pots_table(data, payments)
    tables = {
        "targets": conform("targets", benchmark_targets(scenario)),
        "need": conform("need", need_index(scenario)),
        "allocations": allocations_table(data, payments),
        "coverage": coverage_table(data, solution.granules, pots),
        "pots": pots,
        "commitments": commitments_table(data),
    }
    if prepared.grants is not None:
        tables["grants"] = conform("grants", prepared.grants)
    if prepared.bids is not None:
        tables["bids"] = conform("bids", prepared.bids)
    summary = {
        "scenario": scenario.name,
        "scenario_hash": scenario.content_hash(),
        "financial_years": list(scenario.financial_years),
        "areas": len(scenario.areas),
        "fairness_rule": scenario.policy.fairness_rule,
        "fairness_level": solution.fairness_level,
        "status": solution.status,
        "gap": round(solution.gap, 6),
        "solver": {
            "name": scenario.policy.solver.solver,
            "time_limit_seconds": scenario.policy.solver.time_limit_seconds,
            "relative_gap": scenario.policy.solver.relative_gap,
            "threads": scenario.policy.solver.threads,
            "stage_tolerance": "each stage keeps the previous optimum within relative_gap",
        },
        "stages": [
            {
                "name": s.name,
                "objective": None if s.objective is None else round(s.objective, 6),
                "status": s.state,
            }
            for s in solution.stages
        ],
        "totals_pence": _totals(pots),
        "versions": {
            "commissioning": __version__,
            "python": platform.python_version(),
            "pulp": pulp.__version__,
            "highspy": version("highspy"),
            "polars": pl.__version__,
        },
    }
    timing = {
        "wall_time_seconds": round(time.perf_counter() - started, 4),
        "stage_seconds": {s.name: round(s.seconds, 4) for s in solution.stages},
        "lp_feasibility_checks": solution.lp_checks,
    }
    return RunResult(scenario, tables, summary, timing)


def _totals(pots: pl.DataFrame) -> dict[str, int]:
    sums = pots.select(
        pl.col("budget_pence", "committed_pence", "allocated_pence", "unspent_pence").sum()
    ).row(0, named=True)
    return {k.removesuffix("_pence"): int(v) for k, v in sums.items()}
