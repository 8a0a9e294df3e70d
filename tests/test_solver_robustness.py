"""A feasible scenario always solves, an infeasible verdict is confirmed, time limits are real.

Every test runs the real solvers (HiGHS in process, CBC as a subprocess); the deadline is kept
by a real solve thread left behind, and by the real `commissioning solve` process ending on time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pulp
import pytest

from commissioning.bounded_solve import GRACE_SECONDS, solve_within_time_limit
from commissioning.errors import SolverFailed
from commissioning.models import Scenario, SolverOptions
from commissioning.optimise import solve
from commissioning.optimise.bid_selection import select_bids
from commissioning.optimise.solver import TimeLimitReached, make_solver, retry_log, run
from commissioning.scenario_io import load_scenario
from commissioning.synthetic import synthetic_scenario

LONDON = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019" / "scenario.json"


def _london(change: Any = None) -> Scenario:
    scenario = load_scenario(LONDON)
    if change is None:
        return scenario
    data = scenario.model_dump(mode="json")
    change(data)
    return Scenario.model_validate(data)


def _less_lcpf_and_looser_losses(data: dict[str, Any]) -> None:
    for pot in data["pots"]:
        if pot["id"] == "lcpf":
            for amount in pot["amounts"]:
                amount["amount_pence"] = amount["amount_pence"] * 7 // 10
    data["formula_grants"][0]["transition"]["max_loss_pct"] = "35"


# --- (a) the bid round HiGHS called infeasible ----------------------------------------------


def test_the_bid_round_that_highs_misjudged_is_solved_and_the_retry_is_recorded() -> None:
    scenario = _london(_less_lcpf_and_looser_losses)
    with retry_log() as log:
        selection = select_bids(scenario)
    assert selection.rounds[0].selected  # used to exit 3: "could not be found again"
    # HiGHS at 1e-9 with presolve calls this round's MIP infeasible; without presolve it is not.
    assert any(
        "highs tol 1e-09: infeasible" in line and "presolve off: optimal" in line for line in log
    ), log


def test_the_whole_london_what_if_solves() -> None:
    run_result = solve(_london(_less_lcpf_and_looser_losses))
    assert run_result.summary["status"] in ("optimal", "time_limit_with_solution")
    assert run_result.summary["totals_pence"]["allocated"] > 0
    # the run's summary says which solve needed the ladder and what rescued it
    retries = run_result.summary["solver"]["retries"]
    assert any("highs tol 1e-09 presolve off: optimal" in line for line in retries), retries


# --- (b) a budget a few pence short of a fairness step at £54m --------------------------------


def _at_54_million(budget_pence: int | None = None) -> tuple[Scenario, dict[str, Any]]:
    """A small synthetic scenario whose money is scaled to £54m, so that a penny is 2e-10 of
    the budget: below HiGHS's default integer tolerance, at the edge of the tight ones."""
    base = synthetic_scenario(areas=10, services=4, pots=1, years=1, seed=3, budget_share=0.5)
    data = base.model_dump(mode="json")
    scale = 5_400_000_000 / sum(a["amount_pence"] for p in data["pots"] for a in p["amounts"])
    for service in data["services"]:
        service["unit_cost_pence"] = 2 * round(service["unit_cost_pence"] * scale / 2)
    for amount in data["pots"][0]["amounts"]:
        amount["amount_pence"] = int(amount["amount_pence"] * scale)
    for commitment in data["commitments"]:
        commitment["amount_pence"] = int(commitment["amount_pence"] * scale)
    for fence in data["ring_fences"]:
        fence["min_amount_pence"] = int(fence["min_amount_pence"] * scale)
    if budget_pence is not None:
        data["pots"][0]["amounts"][0]["amount_pence"] = budget_pence
    return Scenario.model_validate(data), data


@pytest.mark.parametrize("pence_short", [1, 3])
def test_a_budget_pennies_short_of_a_fairness_step_at_54_million_solves(pence_short: int) -> None:
    scenario, _ = _at_54_million()
    first = solve(scenario).summary["totals_pence"]
    assert 5_000_000_000 < first["budget"] < 6_000_000_000
    # The exact cost of the best allocation: a few pence less cannot buy it.
    step = first["committed"] + first["allocated"]
    short, _ = _at_54_million(step - pence_short)
    second = solve(short)  # used to stop with "the solver stopped with no solution"
    totals = second.summary["totals_pence"]
    assert second.summary["status"] in ("optimal", "time_limit_with_solution")
    assert totals["committed"] + totals["allocated"] <= step - pence_short
    assert totals["allocated"] > 0


# --- (c) a large block whose feasible warm start must be kept -------------------------------


def _large_block(n: int = 6_000) -> tuple[pulp.LpProblem, dict[str, float]]:
    """Units per cell with whole-granule costs, budget rows per group and demand floors: hard
    enough that HiGHS finds nothing in a few hundredths of a second, with a known feasible
    start (every cell at its floor plus one granule)."""
    problem = pulp.LpProblem("large_block", pulp.LpMinimize)
    units = [problem.add_variable(f"u{i}", 0, 20, cat=pulp.LpInteger) for i in range(n)]
    cost = [1_000_003 + 7_919 * (i % 97) for i in range(n)]
    start: dict[str, float] = {}
    groups = 60
    for g in range(groups):
        cells = range(g, n, groups)
        problem += (
            pulp.LpAffineExpression({units[i]: 3 + i % 5 for i in cells}) >= 7 * len(cells),
            f"need_{g}",
        )
        problem += (
            pulp.LpAffineExpression({units[i]: cost[i] for i in cells})
            <= sum(cost[i] * 4 for i in cells),
            f"budget_{g}",
        )
        for i in cells:
            start[units[i].name] = 3.0  # (3..7) × 3 ≥ 7 on average per group; within budget
    problem += pulp.LpAffineExpression({u: c for u, c in zip(units, cost, strict=True)})
    return problem, start


def test_a_feasible_warm_start_is_kept_when_the_solver_returns_nothing() -> None:
    problem, start = _large_block()
    options = SolverOptions(time_limit_seconds=120)
    solver = make_solver(options, mip=True, time_limit=0.06)  # cold: HiGHS finds nothing
    report = run(problem, solver, warm_start_values=start)
    assert report.has_solution and report.kept_start, report.attempts
    assert report.state == "time_limit_with_solution"
    assert all(v.varValue == start[v.name] for v in problem.variables())
    assert report.objective == pytest.approx(pulp.value(problem.objective))


def test_a_warm_start_that_breaks_a_row_is_never_reported() -> None:
    problem, start = _large_block()
    broken = {name: 0.0 for name in start}  # misses every need row
    solver = make_solver(SolverOptions(), mip=True, time_limit=0.06)
    with pytest.raises(TimeLimitReached, match="ran out before the solver found an answer"):
        run(problem, solver, warm_start_values=broken)


# --- (d) the retry ladder -------------------------------------------------------------------


def _small_lp(feasible: bool = True) -> pulp.LpProblem:
    problem = pulp.LpProblem("small", pulp.LpMinimize)
    x = problem.add_variable("x", 0, 10)
    y = problem.add_variable("y", 0, 10)
    problem += x + 2 * y >= 4, "need"
    problem += x - y <= 1, "balance"
    if not feasible:
        problem += x + y <= 1, "too_little"
    problem += 3 * x + 4 * y
    return problem


def test_a_first_attempt_that_stops_with_nothing_is_retried_down_the_ladder() -> None:
    problem = _small_lp()
    broken = pulp.HiGHS(msg=False, mip=False, presolve="off", simplex_iteration_limit=0)
    report = run(problem, broken)
    assert report.state == "optimal"
    assert report.objective == pytest.approx(4 * 2)  # x = 0, y = 2
    # Stopped at its iteration limit, HiGHS hands back the all-zero start, which PuLP reports as
    # a solution; the check of every row catches it.
    assert report.attempts[0] == "highs: values break a row or bound"
    assert report.attempts[1] == "highs presolve off: optimal"


def test_an_infeasible_lp_is_confirmed_with_presolve_off_before_it_is_reported() -> None:
    report = run(_small_lp(feasible=False), make_solver(SolverOptions(), mip=False))
    assert report.state == "infeasible"
    assert report.attempts == ["highs: infeasible", "highs presolve off: infeasible"]


def test_an_infeasible_verdict_that_ends_a_run_walks_the_whole_ladder_to_cbc() -> None:
    problem = pulp.LpProblem("knapsack", pulp.LpMaximize)
    x = [problem.add_variable(f"x{i}", cat=pulp.LpBinary) for i in range(4)]
    problem += pulp.lpSum(x) >= 3, "at_least_three"
    problem += pulp.lpSum(x) <= 2, "at_most_two"
    problem += pulp.lpSum(x)
    report = run(problem, make_solver(SolverOptions(), mip=True), confirm_infeasible="ladder")
    assert report.state == "infeasible"
    assert [a.split(":")[0] for a in report.attempts] == [
        "highs tol 1e-08",
        "highs tol 1e-08 presolve off",
        "highs tol 1e-09",
        "highs tol 1e-07",
        "cbc",
    ]


# --- (e) the deadline -----------------------------------------------------------------------


def _london_with_limit(seconds: int) -> Scenario:
    def limit(data: dict[str, Any]) -> None:
        data["policy"]["solver"]["time_limit_seconds"] = seconds

    return _london(limit)


def test_a_solve_past_its_deadline_is_left_behind_and_the_best_stage_result_is_kept() -> None:
    scenario = _london_with_limit(6)
    started = time.monotonic()
    result = solve_within_time_limit(scenario, _stall_after_solve_seconds=60)
    took = time.monotonic() - started
    assert took <= 6 + GRACE_SECONDS + 1.5, took
    assert result.summary["status"] == "time_limit"
    assert result.summary["stage_reached"] == result.summary["stages"][-1]["name"]
    assert result.allocations.height > 0


def test_a_solve_left_behind_before_any_allocation_fails_in_plain_words() -> None:
    scenario = _london_with_limit(1)
    started = time.monotonic()
    with pytest.raises(SolverFailed, match=r"the time limit of 1 s ran out before any allocation"):
        solve_within_time_limit(scenario, grace_seconds=2, _stall_before_solve_seconds=60)
    assert time.monotonic() - started <= 1 + 2 + 1.5


def test_a_solve_that_finishes_returns_its_own_answer() -> None:
    result = solve_within_time_limit(_london())
    assert result.summary["status"] in ("optimal", "time_limit_with_solution")
    assert "stage_reached" not in result.summary


def test_a_solve_that_overruns_still_ends_the_command_on_time_with_its_files(
    tmp_path: Path,
) -> None:
    """The real command in its own process: the solve thread reports its run, then stalls
    past the deadline as a stuck HiGHS call would; the command writes the best run and ends,
    taking the stalled thread with it, instead of waiting for it at exit."""
    scenario = tmp_path / "scenario.json"
    scenario.write_text(_london_with_limit(4).model_dump_json())
    out = tmp_path / "out"
    script = (
        "import sys\n"
        "from commissioning import bounded_solve, cli\n"
        "bounded_solve.solve_within_time_limit.__kwdefaults__['_stall_after_solve_seconds'] = 600\n"
        "cli.end_if_a_solve_was_left_running(cli.main(sys.argv[1:]))\n"
        "raise SystemExit(99)  # not reached: the command ends the process itself\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script, "solve", str(scenario), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert took <= 4 + GRACE_SECONDS + 10, took  # imports and writing on a busy machine
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "time_limit"
    assert (out / "workbook.xlsx").stat().st_size > 0
