"""Decide units per area × service × year and which pot pays, fairly and within every rule."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import replace
from importlib.metadata import version

import polars as pl
import pulp

from commissioning import __version__
from commissioning.fairness_rules import DEFINITIONS
from commissioning.models import Scenario
from commissioning.need import benchmark_targets, need_index
from commissioning.optimise import affordability
from commissioning.optimise.benchmark_cost import cost_to_benchmark_table
from commissioning.optimise.bid_reasons import bids_summary
from commissioning.optimise.binding import binding_table
from commissioning.optimise.data import AllocationData, build_data
from commissioning.optimise.funding_rounds import PreparedRound, prepare
from commissioning.optimise.reasons import explain_cells
from commissioning.optimise.solver import retry_log, run_deadline
from commissioning.optimise.split import split_by_pot
from commissioning.optimise.stages import Solution, solve_stages
from commissioning.optimise.tables import (
    allocations_table,
    commitments_table,
    coverage_table,
    explanations_table,
    pots_table,
)
from commissioning.results import Allocation, RunResult, conform

__all__ = ["Allocation", "ProgressCallback", "solve"]


# Called with a complete, provisional run after each solved stage (status "time_limit", the
# stage reached named), so a caller that must stop the solve keeps the best allocation so far.
ProgressCallback = Callable[[RunResult], None]


def solve(scenario: Scenario, *, on_progress: ProgressCallback | None = None) -> RunResult:
    """Solve a validated scenario. Raises InfeasibleScenario (plain words) or SolverFailed.

    The stages share the scenario's time limit: each solver call gets at most what is left of
    it (a stage that runs out keeps its feasible warm start). `on_progress`, if given, receives
    a provisional run after each completed stage.
    """
    started = time.perf_counter()
    with retry_log() as retries:
        prepared = prepare(scenario)
        data = build_data(prepared.scenario, prepared.bid_provision)
        with run_deadline(scenario.policy.solver.time_limit_seconds):
            solution = _solve_stages(data, on_progress, scenario, prepared, started, retries)
        return _result(scenario, prepared, data, solution, started, retries)


def _solve_stages(
    data: AllocationData,
    on_progress: ProgressCallback | None,
    scenario: Scenario,
    prepared: PreparedRound,
    started: float,
    retries: list[str],
) -> Solution:
    if on_progress is None:
        return solve_stages(data)

    def on_stage(partial: Solution) -> None:
        run = _result(scenario, prepared, data, partial, started, retries)
        stages = run.summary["stages"]
        summary = {
            **run.summary,
            "status": "time_limit",
            "stage_reached": stages[-1]["name"] if stages else None,
        }
        on_progress(replace(run, summary=summary))

    return solve_stages(data, on_stage=on_stage)


def _result(
    scenario: Scenario,
    prepared: PreparedRound,
    data: AllocationData,
    solution: Solution,
    started: float,
    retries: list[str],
) -> RunResult:
    payments = split_by_pot(data, solution.granules)
    pots = pots_table(data, payments)
    unspent = {(r["pot"], r["year"]): r["unspent_pence"] for r in pots.iter_rows(named=True)}
    reasons = explain_cells(data, solution.granules, payments, unspent, solution.cells or None)
    tables = {
        "targets": conform("targets", benchmark_targets(scenario)),
        "need": conform("need", need_index(scenario)),
        "allocations": allocations_table(data, payments),
        "coverage": coverage_table(data, solution.granules, reasons),
        "pots": pots,
        "commitments": commitments_table(data),
        "explanations": explanations_table(reasons),
        "cost_to_benchmark": conform(
            "cost_to_benchmark", cost_to_benchmark_table(data, solution.granules)
        ),
        "binding": conform("binding", binding_table(data, solution.granules, payments)),
    }
    if prepared.grants is not None:
        tables["grants"] = conform("grants", prepared.grants)
    if prepared.bids is not None:
        tables["bids"] = conform("bids", prepared.bids)
    opts = scenario.policy.solver
    exact = solution.fairness_level
    level = None if exact is None else round(float(exact), 6)
    summary = {
        "scenario": scenario.name,
        "scenario_hash": scenario.content_hash(),
        "financial_years": list(scenario.financial_years),
        "areas": len(scenario.areas),
        "fairness_rule": scenario.policy.fairness_rule,
        "fairness_rule_definition": DEFINITIONS[scenario.policy.fairness_rule],
        "fairness_level": level,
        "fairness_level_exact": None if exact is None else str(exact),
        "status": solution.status,
        "gap": round(solution.gap, 6),
        "solver": {
            "name": scenario.policy.solver.solver,
            "time_limit_seconds": scenario.policy.solver.time_limit_seconds,
            "relative_gap": scenario.policy.solver.relative_gap,
            "threads": scenario.policy.solver.threads,
            **({"retries": list(retries)} if retries else {}),
        },
        "tolerances": {
            "fairness": "exact (no gap): every level is decided by exact checks",
            "later_stages": (
                f"stability and cost are kept within relative_gap {opts.relative_gap}; "
                "they cannot change any cell's level"
            ),
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
        "affordability": affordability.check(data, solution.granules, unspent),
        "versions": {
            "commissioning": __version__,
            "python": platform.python_version(),
            "pulp": pulp.__version__,
            "highspy": version("highspy"),
            "polars": pl.__version__,
        },
    }
    if prepared.bid_rounds:
        summary["bids"] = bids_summary(
            scenario,
            prepared.bid_rounds,
            pots.iter_rows(named=True),
            tables["coverage"].iter_rows(named=True),
            summary["affordability"],
        )
    timing = {
        "wall_time_seconds": round(time.perf_counter() - started, 4),
        "stage_seconds": {s.name: round(s.seconds, 4) for s in solution.stages},
        "fairness_feasibility_checks": solution.checks,
        "fairness_mip_solves": solution.mip_checks,
        "fairness_rounds": solution.rounds,
    }
    return RunResult(scenario, tables, summary, timing)


def _totals(pots: pl.DataFrame) -> dict[str, int]:
    sums = pots.select(
        pl.col("budget_pence", "committed_pence", "allocated_pence", "unspent_pence").sum()
    ).row(0, named=True)
    return {k.removesuffix("_pence"): int(v) for k, v in sums.items()}
