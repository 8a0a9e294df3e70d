"""The MIP that chooses a round's bids: best objective, then least cost, then earlier bid ids.

One binary variable per eligible bid (PuLP + HiGHS), solved to proven optimality three times
over: the best objective; among selections reaching it, the least total cost over all years;
among those, bids earlier in id order are preferred. The rules themselves, and the integer
re-check of the answer, are in commissioning.optimise.bid_round.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import pulp

from commissioning.errors import InfeasibleScenario, SolverFailed
from commissioning.models import Bid, BidRound, SolverOptions
from commissioning.money import pounds
from commissioning.optimise.bid_reasons import deliveries
from commissioning.optimise.solver import make_solver, run

__all__ = ["best_selection"]


def best_selection(
    what: str,
    bid_round: BidRound,
    bids: Mapping[str, Bid],
    eligible: Sequence[str],
    costs: Mapping[str, int],
    values: Mapping[str, int],
    budget: Mapping[str, int],
    cover: Sequence[str],
    options: SolverOptions,
) -> set[str]:
    """The ids of the bids chosen among `eligible`; InfeasibleScenario if no selection keeps
    the budget, the coverage and the overlap rules at once."""
    problem = pulp.LpProblem("bid_round", pulp.LpMaximize)
    x = problem.add_variable_dict("x", (list(eligible),), cat=pulp.LpBinary)
    for n, year in enumerate(sorted(budget)):
        row = {x[b]: costs[b] for b in eligible if year in bids[b].years}
        if row:
            problem += pulp.LpAffineExpression(row) <= budget[year], f"budget_{n}"
    for n, area in enumerate(cover):
        row = {x[b]: 1 for b in eligible if area in bids[b].partner_areas}
        problem += pulp.LpAffineExpression(row) >= 1, f"cover_{n}"
    overlaps = False
    if not bid_round.allow_overlap:
        offering: dict[tuple[str, str], list[str]] = defaultdict(list)
        for b in eligible:
            for pair in sorted(deliveries(bids[b])):
                offering[pair].append(b)
        for n, pair in enumerate(sorted(offering)):
            if len(offering[pair]) > 1:
                row = {x[b]: 1 for b in offering[pair]}
                problem += pulp.LpAffineExpression(row) <= 1, f"overlap_{n}"
                overlaps = True

    # 1. the best objective
    value = pulp.LpAffineExpression({x[b]: values[b] for b in eligible})
    problem += value
    if not _solve_mip(problem, options, what):
        budgets = ", ".join(f"{y} {pounds(budget[y])}" for y in sorted(budget))
        rule = " without two bids for one service in one area" if overlaps else ""
        raise InfeasibleScenario(
            [f"{what}: no selection of bids within the budget ({budgets}) covers every area{rule}"]
        )
    best = sum(values[b] for b in _chosen(what, x))
    problem += value >= best - 0.5, "best_value"

    # 2. the least total cost among the best
    cost = pulp.LpAffineExpression({x[b]: costs[b] * len(set(bids[b].years)) for b in eligible})
    problem.sense = pulp.LpMinimize
    problem.setObjective(cost)
    if not _solve_mip(problem, options, what):
        raise SolverFailed(f"{what}: the best selection of bids could not be found again")
    incumbent = _chosen(what, x)
    cheapest = sum(costs[b] * len(set(bids[b].years)) for b in incumbent)
    problem += cost <= cheapest + 0.5, "least_cost"

    # 3. earlier bid ids first: keep a bid if some tied selection (with the bids kept so far)
    #    includes it, else leave it out
    for b in eligible:
        if b not in incumbent:
            x[b].lowBound = 1
            if _solve_mip(problem, options, what):
                incumbent = _chosen(what, x)
            else:
                x[b].lowBound = 0
                x[b].upBound = 0
                continue
        x[b].lowBound = 1
    return incumbent


def _solve_mip(problem: pulp.LpProblem, options: SolverOptions, what: str) -> bool:
    """True: solved to proven optimality. False: infeasible, confirmed by every attempt of the
    solver ladder (HiGHS once called a feasible round infeasible). Anything else raises
    SolverFailed."""
    # Integer tolerance 1e-9 first: a bid's cost is up to millions of pence, so a "binary"
    # of 1 - 1e-8 could hide pennies; the selection is re-checked in integers anyway.
    solver = make_solver(
        options, mip=True, relative_gap=0.0, absolute_gap=0.5, feasibility_tolerance=1e-9
    )  # objectives are whole numbers, so within 0.5 of the bound is optimal
    report = run(problem, solver, objective_tolerance=1e-9, confirm_infeasible="ladder")
    if report.state == "optimal":
        return True
    if report.state == "infeasible":
        return False
    raise SolverFailed(
        f"{what}: the solver stopped before proving the best selection of bids "
        f"({report.state}, time limit {options.time_limit_seconds:g} s; tried: "
        f"{'; '.join(report.attempts)}); no bids are reported"
    )


def _chosen(what: str, x: Mapping[str, pulp.LpVariable]) -> set[str]:
    chosen = set()
    for bid_id, var in x.items():
        value = var.varValue
        if value is None or min(abs(value), abs(value - 1)) > 1e-6:
            raise SolverFailed(f"{what}: bid {bid_id} came back as {value}, not 0 or 1")
        if value > 0.5:
            chosen.add(bid_id)
    return chosen
