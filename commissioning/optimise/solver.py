"""The one place that runs a solver and reads its answer (PuLP 3.x today, 4.x later).

PuLP 3 reports a time-limited MIP as status "Optimal" while `sol_status` says only that a
solution was found, so the status is always taken from `sol_status`.

**No verdict without a cross-check.** HiGHS can misjudge a model: with presolve on and a tight
integer tolerance it has called a feasible bid round infeasible, and at other tolerances it has
stopped with "Solve error" on a budget a few pence short of a fairness step. So `run` never
trusts one attempt's "infeasible", error or empty answer. It walks a fixed ladder of attempts
(`make_solver` builds it; `SolveReport.attempts` records what was tried):

1. the configured solver (HiGHS: integer tolerance 1e-8, presolve on, warm start if asked);
2. the same with presolve off;
3. the other integer tolerances, nearest first (for 1e-8: 1e-9, then 1e-7) — MIPs only;
4. the other engine (CBC for HiGHS, HiGHS for CBC).

The ladder stops at the first answer that passes the checks below. An error or an empty answer
always walks the whole ladder. An infeasible verdict is final once confirmed: by default when
HiGHS with and without presolve agree (the misjudgment seen was presolve's, and a fairness
search probes hundreds of infeasible models, so a full ladder each time would multiply its
cost about fivefold); with `confirm_infeasible="ladder"` only once every attempt has found no
solution (bid rounds use this: their MIPs are small and their verdict ends the run). An attempt
that runs out of time is not repeated (the others would only spend more time), and no attempt
gets more than the run's remaining time (`run_deadline`).

**Every answer is checked, not believed.** Values must satisfy every row and bound (within a
small tolerance) and be whole where they must be; the objective is recomputed from them and must
agree with what the solver reports to within the stage's relative gap (`objective_tolerance`).
A warm start (the variables' values before solving) that is feasible is never thrown away: if
no attempt gives a better checked answer, the start is kept and reported as an unproven answer.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import highspy
import pulp

from commissioning.errors import SolverFailed
from commissioning.models import SolverOptions
from commissioning.optimise.highs_pass import (
    HiGHSFromCurrentValues,
    HiGHSInBulk,
    ModelArrays,
    Problem,
    feasible_by_arrays,
    model_arrays,
)
from commissioning.optimise.solver_context import (
    current_retry_log,
    quiet_stdout,
    remaining_seconds,
    retry_log,
    run_deadline,
    run_limit,
)

SolveState = Literal["optimal", "time_limit_with_solution", "infeasible", "no_solution"]

__all__ = [
    "MIP_FEASIBILITY_TOLERANCES",
    "Problem",
    "SolveReport",
    "SolveState",
    "TimeLimitReached",
    "make_solver",
    "quiet_stdout",
    "remaining_seconds",
    "retry_log",
    "run",
    "run_deadline",
]


class TimeLimitReached(SolverFailed):
    """The run's time ran out before this solve found any answer (nor had a feasible start)."""


@dataclass(frozen=True)
class SolveReport:
    state: SolveState
    objective: float | None
    gap: float | None
    seconds: float
    # What was tried, in order, each with its outcome, e.g. "highs tol 1e-08: infeasible".
    attempts: list[str] = field(default_factory=list)
    # True when no attempt gave a checked answer and the feasible warm start was kept instead.
    kept_start: bool = False

    @property
    def has_solution(self) -> bool:
        return self.state in ("optimal", "time_limit_with_solution")


def _log_retries(report: SolveReport) -> SolveReport:
    log = current_retry_log()
    rescued = len(report.attempts) > 1 and report.has_solution
    if log is not None and (rescued or report.kept_start or report.state == "no_solution"):
        log.append("; ".join(report.attempts))
    return report


# Below this many seconds an attempt cannot do anything useful; treat the time as spent.
_LEAST_USEFUL_SECONDS = 0.05


# --- building solvers -----------------------------------------------------------------------

# HiGHS accepts integer units within 1e-6 of a whole number by default: at £20,000 a granule
# that is a couple of pence, enough for units that round to whole granules to overspend a pot
# that the exact pot split then cannot pay. 1e-8 keeps the rounding to a fraction of a penny.
# HiGHS 1.x misjudges some models at each setting (a solve error at 1e-6…1e-8 that 1e-9 solves;
# an infeasible verdict at 1e-9 with presolve that 1e-8 refutes), so `run` tries the others.
MIP_FEASIBILITY_TOLERANCES = (1e-8, 1e-9, 1e-7)


@dataclass(frozen=True)
class _Settings:
    """What every attempt of one solve shares."""

    mip: bool
    time_limit: float | None
    relative_gap: float | None
    absolute_gap: float | None
    threads: int | None


@dataclass(frozen=True)
class _Attempt:
    engine: Literal["highs", "cbc"]
    tolerance: float | None = None  # HiGHS mip_feasibility_tolerance
    presolve: bool = True
    warm_start: bool = False

    @property
    def label(self) -> str:
        if self.engine == "cbc":
            words = ["cbc"]
        else:
            words = ["highs"] + ([f"tol {self.tolerance:g}"] if self.tolerance else [])
            words += [] if self.presolve else ["presolve off"]
        return " ".join(words + (["warm start"] if self.warm_start else []))


def _ladder(first: _Attempt, mip: bool) -> list[_Attempt]:
    """The attempts after `first`, in the documented order."""
    if first.engine == "cbc":
        rest = [_Attempt("highs", MIP_FEASIBILITY_TOLERANCES[0] if mip else None)]
        return [*rest, _Attempt("highs", rest[0].tolerance, presolve=False)]
    ladder = [_Attempt("highs", first.tolerance, presolve=False)]
    if mip and first.tolerance is not None:
        others = [t for t in MIP_FEASIBILITY_TOLERANCES if t != first.tolerance]
        others.sort(key=lambda t: abs(math.log10(t) - math.log10(first.tolerance or t)))
        ladder += [_Attempt("highs", t) for t in others]
    return [*ladder, _Attempt("cbc")]


def _build(attempt: _Attempt, settings: _Settings, time_limit: float | None) -> pulp.LpSolver:
    if attempt.engine == "cbc":
        return pulp.COIN_CMD(
            path=_cbc_path(),
            msg=False,
            timeLimit=time_limit,
            gapRel=settings.relative_gap,
            gapAbs=settings.absolute_gap,
            threads=settings.threads,
            mip=settings.mip,
            warmStart=attempt.warm_start,
        )
    options: dict[str, Any] = {}
    if attempt.tolerance is not None:
        options["mip_feasibility_tolerance"] = attempt.tolerance
    if not attempt.presolve:
        options["presolve"] = "off"
    kind = HiGHSFromCurrentValues if attempt.warm_start else HiGHSInBulk
    return kind(
        msg=False,
        timeLimit=time_limit,
        gapRel=settings.relative_gap,
        gapAbs=settings.absolute_gap,
        threads=settings.threads,
        mip=settings.mip,
        **options,
    )


def _cbc_path() -> str | None:
    """PuLP 3's bundled CBC (PULP_CBC_CMD is deprecated, and warns, in favour of COIN_CMD)."""
    from pulp.apis import coin_api

    bundled = getattr(coin_api, "pulp_cbc_path", None)
    return bundled if bundled and os.path.exists(bundled) else None


def make_solver(
    options: SolverOptions,
    *,
    time_limit: float | None = None,
    mip: bool = True,
    warm_start: bool = False,
    relative_gap: float | None = None,
    absolute_gap: float | None = None,
    feasibility_tolerance: float | None = None,
) -> pulp.LpSolver:
    """A configured solver for the first attempt; it carries the ladder `run` walks after it.

    `relative_gap` defaults to the scenario's; `feasibility_tolerance` is the first HiGHS
    attempt's integer tolerance (default 1e-8).
    """
    settings = _Settings(
        mip=mip,
        time_limit=options.time_limit_seconds if time_limit is None else time_limit,
        relative_gap=options.relative_gap if relative_gap is None else relative_gap,
        absolute_gap=absolute_gap,
        threads=options.threads,
    )
    if options.solver == "cbc":
        first = _Attempt("cbc", warm_start=warm_start)
    else:
        tolerance = feasibility_tolerance or MIP_FEASIBILITY_TOLERANCES[0]
        first = _Attempt("highs", tolerance if mip else None, warm_start=warm_start)
    solver = _build(first, settings, settings.time_limit)
    solver.commissioning_plan = (settings, first, _ladder(first, mip))
    return solver


def _plan_for(solver: pulp.LpSolver) -> tuple[_Settings, _Attempt, list[_Attempt]]:
    """The ladder of a solver `make_solver` built, or one derived from a plain PuLP solver."""
    plan = getattr(solver, "commissioning_plan", None)
    if plan is not None:
        return plan
    mip = bool(getattr(solver, "mip", True))
    settings = _Settings(
        mip=mip,
        time_limit=getattr(solver, "timeLimit", None),
        relative_gap=getattr(solver, "gapRel", None),
        absolute_gap=getattr(solver, "gapAbs", None),
        threads=getattr(solver, "threads", None),
    )
    if isinstance(solver, pulp.COIN_CMD):
        first = _Attempt("cbc")
    else:
        tolerance = getattr(solver, "optionsDict", {}).get("mip_feasibility_tolerance")
        first = _Attempt("highs", tolerance or (MIP_FEASIBILITY_TOLERANCES[0] if mip else None))
    return settings, first, _ladder(first, mip)


# --- running and checking -------------------------------------------------------------------

# Row activities and bounds may miss by this much relative to the row's size (HiGHS's own
# primal tolerance is 1e-7 on its scaled rows); units must be within this of a whole number.


@dataclass
class _Answer:
    state: SolveState
    objective: float
    gap: float | None
    values: Mapping[str, float | None]


def run(
    problem: pulp.LpProblem,
    solver: pulp.LpSolver,
    *,
    objective_tolerance: float | None = None,
    warm_start_values: Mapping[str, float] | None = None,
    confirm_infeasible: Literal["none", "presolve", "ladder"] = "presolve",
) -> SolveReport:
    """Solve and read the answer honestly (see the module docstring for the ladder).

    `objective_tolerance`: how far, relative, the solver's reported objective may be from the
    objective of its values (default: the solver's relative gap, at least 1e-6).
    `warm_start_values`: variable name → value of a known feasible answer to keep if nothing
    better is found (default: the variables' current values when the solver warm-starts).
    `confirm_infeasible`: "presolve" — an infeasible verdict is final once HiGHS with and
    without presolve agree (cheap enough for searches that probe many infeasible models);
    "ladder" — only once every attempt has found no solution (for verdicts that end a run);
    "none" — the first attempt's verdict stands (only for search probes whose deciding verdict
    the caller confirms afterwards with "presolve" or "ladder").
    Raises TimeLimitReached when time ran out with no answer and no feasible start.
    """
    started = time.perf_counter()
    problem.commissioning_arrays = None  # read back only from this run's own pass to HiGHS
    settings, first, ladder = _plan_for(solver)
    tolerance = objective_tolerance
    if tolerance is None:
        tolerance = max(settings.relative_gap or 0.0, 1e-6)
    start: dict[str, float] | None = None
    if warm_start_values is not None:
        start = dict(warm_start_values)
    elif first.warm_start:
        start = {v.name: float(v.varValue or 0.0) for v in problem.variables()}

    attempts: list[str] = []
    infeasible_by: list[_Attempt] = []
    best_rejected: _Answer | None = None
    out_of_time = False
    with quiet_stdout():
        for n, attempt in enumerate([first, *ladder]):
            limit = _attempt_limit(settings.time_limit)
            if limit is not None and limit < _LEAST_USEFUL_SECONDS:
                attempts.append(f"{attempt.label}: not run, no time left")
                out_of_time = True
                break
            if start is not None and attempt.warm_start:
                _assign(problem, start)
            pulp_solver = solver if n == 0 and limit == settings.time_limit else None
            if pulp_solver is None:
                pulp_solver = _build(attempt, settings, limit)
            outcome, answer, timed_out = _attempt(problem, pulp_solver, settings.mip, tolerance)
            attempts.append(f"{attempt.label}: {outcome}")
            if answer is not None and outcome in ("optimal", "time_limit_with_solution"):
                return _log_retries(_report(answer, started, attempts))
            if answer is not None and (
                best_rejected is None or _better(problem, answer, best_rejected)
            ):
                best_rejected = answer
            if outcome == "infeasible":
                infeasible_by.append(attempt)
                if confirm_infeasible == "none":
                    break
                presolves = {a.presolve for a in infeasible_by}
                if confirm_infeasible == "presolve" and presolves == {True, False}:
                    break
            if timed_out:  # the next attempts would only spend more time
                out_of_time = answer is None
                break

    # No attempt gave a checked answer: keep the better of a feasible start and a feasible
    # answer whose reported objective disagreed, rather than end with nothing.
    kept: _Answer | None = best_rejected
    if start is not None and _feasible(problem, start, settings.mip):
        from_start = _Answer("time_limit_with_solution", _objective(problem, start), None, start)
        if kept is None or _better(problem, from_start, kept):
            kept = from_start
    if kept is not None:
        _assign(problem, kept.values)
        kept.state = "time_limit_with_solution"
        from_the_start = kept.values is start
        attempts.append(
            "kept the feasible warm start"
            if from_the_start
            else "kept the best feasible answer, though its reported objective disagreed"
        )
        report = replace(_report(kept, started, attempts), kept_start=from_the_start)
        return _log_retries(report)

    seconds = time.perf_counter() - started
    if out_of_time:
        budget = settings.time_limit or run_limit()
        shown = f"{budget:g} s" if budget is not None else "the time limit"
        raise TimeLimitReached(
            f"the time limit of {shown} ran out before the solver found an answer "
            f"(tried: {'; '.join(attempts)})"
        )
    state: SolveState = "infeasible" if infeasible_by else "no_solution"
    return _log_retries(SolveReport(state, None, None, seconds, attempts))


def _attempt_limit(configured: float | None) -> float | None:
    left = remaining_seconds()
    if left is None:
        return configured
    return left if configured is None else min(configured, left)


def _attempt(
    problem: pulp.LpProblem, solver: pulp.LpSolver, mip: bool, tolerance: float
) -> tuple[str, _Answer | None, bool]:
    """One attempt: its outcome in words, the answer if its values are feasible, and whether it
    stopped at its time limit."""
    try:
        problem.solve(solver)
    except Exception as exc:  # a solver crash or a status PuLP cannot map is one more failure
        return f"error ({type(exc).__name__}: {exc})"[:200], None, False
    sol = problem.sol_status
    model = getattr(problem, "solverModel", None)
    timed_out = _stopped_at_time_limit(model)
    if sol not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        if sol == pulp.LpSolutionInfeasible or problem.status == pulp.LpStatusInfeasible:
            return "infeasible", None, False
        if timed_out:
            return "time limit, no solution", None, True
        status = pulp.LpStatus.get(problem.status, problem.status)
        detail = f", {model.getModelStatus().name}" if model is not None else ""
        return f"no solution ({status}{detail})", None, False
    values = {v.name: v.varValue for v in problem.variables()}
    if not _feasible(problem, values, mip):
        return "values break a row or bound", None, timed_out
    objective = _objective(problem, values)
    state: SolveState = "optimal" if sol == pulp.LpSolutionOptimal else "time_limit_with_solution"
    answer = _Answer(state, objective, _gap(model, state), values)
    reported = _reported_objective(problem, model)
    if reported is not None and abs(reported - objective) > max(
        1e-6, tolerance * max(1.0, abs(objective))
    ):
        return (
            f"objective {reported:.9g} reported but its values give {objective:.9g}",
            answer,
            timed_out,
        )
    return state, answer, timed_out


def _stopped_at_time_limit(model: Any) -> bool:
    if model is None or not hasattr(model, "getModelStatus"):
        return False
    return bool(model.getModelStatus() == highspy.HighsModelStatus.kTimeLimit)


def _reported_objective(problem: pulp.LpProblem, model: Any) -> float | None:
    """HiGHS's objective in the problem's own sense and with PuLP's constant (PuLP gives HiGHS
    a minimisation of the negated objective for a maximisation, and no constant)."""
    if model is None or not hasattr(model, "getObjectiveValue"):
        return None
    sign = -1.0 if problem.sense == pulp.LpMaximize else 1.0
    return sign * float(model.getObjectiveValue()) + float(problem.objective.constant or 0.0)


def _objective(problem: pulp.LpProblem, values: Mapping[str, float | None]) -> float:
    objective = problem.objective
    total = float(objective.constant or 0.0)
    for var, coefficient in objective.items():
        total += coefficient * float(values.get(var.name) or 0.0)
    return total


def _better(problem: pulp.LpProblem, a: _Answer, b: _Answer) -> bool:
    if problem.sense == pulp.LpMaximize:
        return a.objective > b.objective
    return a.objective < b.objective


def _feasible(problem: pulp.LpProblem, values: Mapping[str, float | None], mip: bool) -> bool:
    """Every bound, whole-number rule and row holds for these values (within tolerance)."""
    arrays: ModelArrays | None = getattr(problem, "commissioning_arrays", None)
    if arrays is None or len(arrays.lower) != len(problem.variables()):
        # No pass to HiGHS in this run (CBC): the same arrays, built for the check alone.
        arrays = problem.commissioning_arrays = model_arrays(problem)
    return feasible_by_arrays(arrays, problem.variables(), values, mip)


def _assign(problem: pulp.LpProblem, values: Mapping[str, float | None]) -> None:
    for var in problem.variables():
        if var.name in values:
            var.varValue = values[var.name]


def _report(answer: _Answer, started: float, attempts: list[str]) -> SolveReport:
    return SolveReport(
        answer.state, answer.objective, answer.gap, time.perf_counter() - started, attempts
    )


def _gap(model: Any, state: SolveState) -> float | None:
    info = model.getInfo() if model is not None and hasattr(model, "getInfo") else None
    if state == "optimal":
        if info is None:
            return 0.0
        gap = float(info.mip_gap)
        return gap if 0 <= gap < 1e30 else 0.0
    if state == "time_limit_with_solution" and info is not None:
        gap = float(info.mip_gap)  # infinite when HiGHS stopped before it had any bound
        return gap if math.isfinite(gap) else None
    return None
