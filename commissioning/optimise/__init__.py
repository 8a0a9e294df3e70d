"""Decide units per area × service × year and which pot pays, fairly and within every rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from commissioning.optimise import clock
from commissioning.optimise.clock import MODEL, SOLVER, RunClock, run_clock, step

# polars, pulp, highspy and numpy load when `solve` runs, not when a submodule is imported:
# `commissioning validate` checks a scenario's arithmetic with optimise.data and
# optimise.prechecks, and must not pay for the solver (tests/test_cli_imports.py).
if TYPE_CHECKING:
    import polars as pl

    from commissioning.models import Scenario
    from commissioning.optimise.data import AllocationData
    from commissioning.optimise.funding_rounds import PreparedRound
    from commissioning.optimise.stages import Solution
    from commissioning.results import RunResult

__all__ = ["Allocation", "ProgressCallback", "solve"]


# Called with a complete, provisional run after each solved stage (status "time_limit", the
# stage reached named), so a caller that must stop the solve keeps the best allocation so far.
ProgressCallback = Callable[["RunResult"], None]


def __getattr__(name: str) -> Any:
    if name == "Allocation":  # still importable from here, without loading results eagerly
        from commissioning.results import Allocation

        return Allocation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def solve(
    scenario: Scenario,
    *,
    on_progress: ProgressCallback | None = None,
    on_data: Callable[[AllocationData], None] | None = None,
) -> RunResult:
    """Solve a validated scenario. Raises InfeasibleScenario (plain words) or SolverFailed.

    The stages share the scenario's time limit: each solver call gets at most what is left of
    it (a stage that runs out keeps its feasible warm start). `on_progress`, if given, receives
    a provisional run after each completed stage; `on_data` the allocation data the stages
    solve, once it is built (the marginal analysis re-solves from it).
    """
    import time

    # Every module the stages and the result tables use, imported before the clock starts:
    # timing.json times the solve, not a fresh process's imports.
    from commissioning.optimise import (  # noqa: F401
        affordability,
        benchmark_cost,
        bid_reasons,
        binding,
        reasons,
        split,
        stages,
        tables,
    )
    from commissioning.optimise.data import build_data
    from commissioning.optimise.funding_rounds import prepare
    from commissioning.optimise.solver import retry_log, run_deadline

    started = time.perf_counter()
    with retry_log() as retries, run_clock() as seconds:
        with step("funding rounds"):
            prepared = prepare(scenario)
        with step("allocation data"):
            data = build_data(prepared.scenario, prepared.bid_provision)
        if on_data is not None:
            on_data(data)
        with run_deadline(scenario.policy.solver.time_limit_seconds):
            solution = _solve_stages(data, on_progress, scenario, prepared, started, retries)
        return _result(scenario, prepared, data, solution, started, retries, seconds)


def _solve_stages(
    data: AllocationData,
    on_progress: ProgressCallback | None,
    scenario: Scenario,
    prepared: PreparedRound,
    started: float,
    retries: list[str],
) -> Solution:
    from dataclasses import replace

    from commissioning.optimise.stages import solve_stages

    if on_progress is None:
        return solve_stages(data)

    def on_stage(partial: Solution) -> None:
        run = _result(scenario, prepared, data, partial, started, retries, clock.current())
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
    seconds: RunClock,
) -> RunResult:
    import platform
    import time
    from importlib.metadata import version

    import polars as pl
    import pulp

    from commissioning import __version__
    from commissioning.fairness_rules import DEFINITIONS
    from commissioning.need import benchmark_targets, need_index
    from commissioning.optimise import affordability
    from commissioning.optimise.benchmark_cost import cost_to_benchmark_table
    from commissioning.optimise.bid_reasons import bids_summary
    from commissioning.optimise.binding import binding_table
    from commissioning.optimise.reasons import explain_cells
    from commissioning.optimise.split import split_by_pot
    from commissioning.optimise.tables import (
        allocations_table,
        commitments_table,
        coverage_table,
        explanations_table,
        pots_table,
    )
    from commissioning.results import RunResult, conform

    with step("split by pot"):
        payments = split_by_pot(data, solution.granules)
    with step("tables"):
        pots = pots_table(data, payments)
    unspent = {(r["pot"], r["year"]): r["unspent_pence"] for r in pots.iter_rows(named=True)}
    with step("reasons"):
        reasons = explain_cells(data, solution.granules, payments, unspent, solution.cells or None)
    with step("tables"):
        tables = {
            "targets": conform("targets", benchmark_targets(scenario)),
            "need": conform("need", need_index(scenario)),
            "allocations": allocations_table(data, payments),
            "coverage": coverage_table(data, solution.granules, reasons),
            "pots": pots,
            "commitments": commitments_table(data),
            "explanations": explanations_table(reasons),
        }
    with step("cost to benchmark"):
        tables["cost_to_benchmark"] = conform(
            "cost_to_benchmark", cost_to_benchmark_table(data, solution.granules)
        )
    with step("binding rules"):
        tables["binding"] = conform("binding", binding_table(data, solution.granules, payments))
    if prepared.grants is not None:
        tables["grants"] = conform("grants", prepared.grants)
    if prepared.bids is not None:
        tables["bids"] = conform("bids", prepared.bids)
    with step("tables"):
        affordable = affordability.check(data, solution.granules, unspent)
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
        "affordability": affordable,
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
    wall = time.perf_counter() - started
    steps = {name: round(value, 4) for name, value in seconds.steps.items()}

    def share(total: str) -> dict[str, float]:
        return {name: round(value, 4) for name, value in seconds.by_step.get(total, {}).items()}

    timing = {
        "wall_time_seconds": round(wall, 4),
        # Every step of the solve, in the order first reached; what they leave out is listed
        # as "other" (Python between the steps), so the steps add up to the wall time.
        "step_seconds": {
            **steps,
            "other": round(max(0.0, wall - sum(seconds.steps.values())), 4),
        },
        # Across the steps: building PuLP models and passing them to HiGHS, and inside HiGHS.
        "model_seconds": round(seconds.totals.get(MODEL, 0.0), 4),
        "solver_seconds": round(seconds.totals.get(SOLVER, 0.0), 4),
        "model_seconds_by_step": share(MODEL),
        "solver_seconds_by_step": share(SOLVER),
        "stage_seconds": {s.name: round(s.seconds, 4) for s in solution.stages},
        "fairness_feasibility_checks": solution.checks,
        "fairness_mip_solves": solution.mip_checks,
        "fairness_rounds": solution.rounds,
    }
    return RunResult(scenario, tables, summary, timing)


def _totals(pots: pl.DataFrame) -> dict[str, int]:
    import polars as pl

    sums = pots.select(
        pl.col("budget_pence", "committed_pence", "allocated_pence", "unspent_pence").sum()
    ).row(0, named=True)
    return {k.removesuffix("_pence"): int(v) for k, v in sums.items()}
