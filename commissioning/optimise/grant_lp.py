"""A formula grant's transition LP and the rounding of its answer to whole pence.

The LP (PuLP + HiGHS) moves areas from their anchors (each target clamped to its bounds), all in
the residual's direction, by the same % of target unless a bound stops them: the unique
allocation with the least total distance from target that spreads the residual in proportion
to target. `round_within` then gives whole pence summing exactly to the pot, never past a bound.
(The whole method: commissioning.optimise.formula_grant.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pulp

from commissioning.errors import SolverFailed
from commissioning.models import SolverOptions
from commissioning.optimise.grant_bounds import AreaBounds
from commissioning.optimise.solver import make_solver, run

__all__ = ["round_within", "spread"]

_SNAP = 1e-6  # LP values this close to a whole penny are that penny


def _solve_lp(problem: pulp.LpProblem, options: SolverOptions, what: str) -> None:
    """Solve an LP to proven optimality, or raise SolverFailed saying what was being solved.
    The solver ladder retries errors and confirms an infeasible verdict before it is final."""
    report = run(problem, make_solver(options, mip=False))
    if report.state != "optimal":
        raise SolverFailed(
            f"{what}: the solver stopped without an optimal answer ({report.state}; tried: "
            f"{'; '.join(report.attempts)}); no grants are reported"
        )


def spread(
    label: str,
    pot: int,
    anchors: Mapping[str, int],
    targets: Mapping[str, int],
    bounds: Mapping[str, AreaBounds],
    options: SolverOptions,
) -> dict[str, float]:
    """The LP: move areas from their anchors, in one direction, by the same % of target."""
    residual = pot - sum(anchors.values())
    # z is measured in pence of the whole pot (an area moves by at most its target share of z),
    # which keeps the LP well scaled: with z as a fraction of each target the duals are ~1e-9,
    # below the solvers' optimality tolerances, and they stop early.
    scale = sum(max(t, 1) for t in targets.values())
    problem = pulp.LpProblem("formula_grant", pulp.LpMinimize)
    z = problem.add_variable("z", lowBound=0)
    grants: dict[str, pulp.LpVariable] = {}
    for n, (code, anchor) in enumerate(sorted(anchors.items())):
        b = bounds[code]
        if residual > 0:
            x = problem.add_variable(f"x{n}", lowBound=anchor, upBound=b.high(pot))
            move = pulp.LpAffineExpression({x: 1}, constant=-anchor)
        else:
            x = problem.add_variable(f"x{n}", lowBound=b.low, upBound=anchor)
            move = pulp.LpAffineExpression({x: -1}, constant=anchor)
        weight = max(targets[code], 1) / scale  # a zero target moves as if it were 1p
        problem += move - weight * z <= 0, f"pro_rata_{n}"
        grants[code] = x
    problem += pulp.LpAffineExpression({x: 1 for x in grants.values()}) == pot, "pot"
    problem += pulp.LpAffineExpression({z: 1})
    _solve_lp(problem, options, label)
    values = {}
    for code, x in grants.items():
        if x.varValue is None:
            raise SolverFailed(f"{label}: the solver gave no grant for {code}")
        values[code] = float(x.varValue)
    return values


def round_within(
    label: str,
    values: Mapping[str, float],
    total: int,
    low: Mapping[str, int],
    high: Mapping[str, int],
) -> dict[str, int]:
    """Whole pence summing to `total`: largest remainder, never past an area's bounds."""
    snapped = {k: float(round(v)) if abs(v - round(v)) < _SNAP else v for k, v in values.items()}
    result = {k: min(max(math.floor(v), low[k]), high[k]) for k, v in snapped.items()}
    remainder = {k: round(v - math.floor(v), 6) for k, v in snapped.items()}
    left = total - sum(result.values())
    step = 1 if left > 0 else -1
    order = sorted(result, key=lambda k: (-step * remainder[k], k))
    while left:
        moved = False
        for k in order:
            if left == 0:
                break
            if (step > 0 and result[k] < high[k]) or (step < 0 and result[k] > low[k]):
                result[k] += step
                left -= step
                moved = True
        if not moved:
            raise SolverFailed(f"{label}: cannot round the grants to whole pence within bounds")
    return result
