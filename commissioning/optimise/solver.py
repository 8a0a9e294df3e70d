"""The one place that runs a solver and reads its answer (PuLP 3.x today, 4.x later).

PuLP 3 reports a time-limited MIP as status "Optimal" while `sol_status` says only that a
solution was found, so the status is always taken from `sol_status`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import highspy
import pulp

from commissioning.models import SolverOptions

SolveState = Literal["optimal", "time_limit_with_solution", "infeasible", "no_solution"]


@dataclass(frozen=True)
class SolveReport:
    state: SolveState
    objective: float | None
    gap: float | None
    seconds: float

    @property
    def has_solution(self) -> bool:
        return self.state in ("optimal", "time_limit_with_solution")


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """HiGHS prints a banner on fd 1 even with msg=False; keep CLI and JSON output clean."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


# HiGHS accepts integer units within 1e-6 of a whole number by default: at £20,000 a granule
# that is a couple of pence, enough for units that round to whole granules to overspend a pot
# that the exact pot split then cannot pay. 1e-8 keeps the rounding to a fraction of a penny;
# 1e-9 is tighter still but made HiGHS 1.16 stop with a solve error on some models, so the
# looser settings are only a fallback (the exact pot split still checks every penny).
MIP_FEASIBILITY_TOLERANCES = (1e-8, 1e-7)


def make_solver(
    options: SolverOptions,
    *,
    time_limit: float | None = None,
    mip: bool = True,
    warm_start: bool = False,
) -> pulp.LpSolver:
    """A configured solver; HiGHS ones carry the fallbacks `run` tries if an attempt fails."""
    limit = options.time_limit_seconds if time_limit is None else time_limit
    if options.solver == "cbc":
        return pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=limit,
            gapRel=options.relative_gap,
            threads=options.threads,
            mip=mip,
            warmStart=warm_start,
        )

    def highs(kind: type[pulp.HiGHS], tolerance: float) -> pulp.HiGHS:
        return kind(
            msg=False,
            timeLimit=limit,
            gapRel=options.relative_gap,
            threads=options.threads,
            mip=mip,
            mip_feasibility_tolerance=tolerance,
        )

    first = highs(
        _HiGHSFromCurrentValues if warm_start else pulp.HiGHS, MIP_FEASIBILITY_TOLERANCES[0]
    )
    cold = [highs(pulp.HiGHS, t) for t in MIP_FEASIBILITY_TOLERANCES]
    first.fallbacks = cold if warm_start else cold[1:]
    return first


class _HiGHSFromCurrentValues(pulp.HiGHS):
    """In-process HiGHS that starts from the variables' current values (PuLP's in-process
    HiGHS has no warm start). A later stage starts from the previous stage's answer, which is
    feasible for it by construction, so HiGHS has an incumbent before it branches at all, and
    stops at once when that answer is already within the gap."""

    def callSolver(self, lp: pulp.LpProblem) -> None:
        start = highspy.HighsSolution()
        start.col_value = [float(v.varValue or 0.0) for v in lp.variables()]
        start.value_valid = True
        lp.solverModel.setSolution(start)
        super().callSolver(lp)


def run(problem: pulp.LpProblem, solver: pulp.LpSolver) -> SolveReport:
    """Solve and read the answer honestly. A HiGHS attempt that errors, or whose values do not
    give the objective it reports, is repeated with the solver's fallbacks; a proof of
    infeasibility is final."""
    started = time.perf_counter()
    with quiet_stdout():
        problem.solve(solver)
        for fallback in getattr(solver, "fallbacks", []):
            if problem.sol_status == pulp.LpSolutionInfeasible or _values_match_objective(problem):
                break
            problem.solve(fallback)
    seconds = time.perf_counter() - started
    sol = problem.sol_status
    if sol == pulp.LpSolutionOptimal:
        state: SolveState = "optimal"
    elif sol == pulp.LpSolutionIntegerFeasible:
        state = "time_limit_with_solution"
    elif sol == pulp.LpSolutionInfeasible or problem.status == pulp.LpStatusInfeasible:
        state = "infeasible"
    else:
        state = "no_solution"
    objective = (
        pulp.value(problem.objective) if state in ("optimal", "time_limit_with_solution") else None
    )
    return SolveReport(state, objective, _gap(problem, state), seconds)


def _values_match_objective(problem: pulp.LpProblem) -> bool:
    """True when a solution came back and its values give the objective the solver reports."""
    if problem.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return False  # a start should never make things worse: try again from cold
    reported = float(problem.solverModel.getObjectiveValue())
    computed = float(pulp.value(problem.objective) or 0.0)
    return abs(reported - computed) <= 1e-6 * max(1.0, abs(reported))


def _gap(problem: pulp.LpProblem, state: SolveState) -> float | None:
    if state == "optimal":
        model = getattr(problem, "solverModel", None)
        if model is not None and hasattr(model, "getInfo"):
            gap = float(model.getInfo().mip_gap)
            return gap if 0 <= gap < 1e30 else 0.0
        return 0.0
    if state == "time_limit_with_solution":
        model = getattr(problem, "solverModel", None)
        if model is not None and hasattr(model, "getInfo"):
            return float(model.getInfo().mip_gap)
    return None
