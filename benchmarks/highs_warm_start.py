"""HiGHS after `setSolution`: the objective it reports against the columns it returns.

    .venv/bin/python benchmarks/highs_warm_start.py [--areas 1000]

Builds the first year of `synthetic_scenario(N)`, runs the exact fairness stage, then solves
the cost stage four ways from the fairness answer as a start (`setSolution`): presolve on and
off, at the stage's gap (0.5 %) and at gap 0. For each it prints HiGHS's status, the objective
it reports, the objective of the columns it returns, whether those columns are the start, and
the cost of every column at its lower bound. What it showed is in TECH-NOTES.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pulp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from commissioning.optimise import stages
from commissioning.optimise.data import build_data
from commissioning.optimise.funding_rounds import prepare
from commissioning.optimise.highs_pass import HiGHSFromCurrentValues
from commissioning.synthetic import synthetic_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=1000)
    args = parser.parse_args()
    prepared = prepare(synthetic_scenario(args.areas))
    data = build_data(prepared.scenario, prepared.bid_provision)
    block = stages.BlockSolver(replace(data, years=data.years[:1]), "leximin", {})
    block.leximin.solve()
    problem = block.leximin.full.model.problem
    cost = stages._tie_broken_cost(block.leximin.full.model)
    problem.setObjective(cost)
    start = [float(v.varValue or 0.0) for v in problem.variables()]
    at_lower = sum(c * (v.lowBound or 0.0) for v, c in cost.items())
    print(f"{args.areas} areas, first year; start objective {float(pulp.value(cost)):,.1f}")
    print(f"every column at its lower bound: {at_lower:,.1f}\n")
    print(
        "| gap | presolve | seconds | status | reported | columns' objective | "
        "reported ÷ columns − 1 | columns are the start |"
    )
    print("|---|---|---:|---|---:|---:|---:|---|")
    for gap in (0.005, 0.0):
        for presolve in ("on", "off"):
            for var, value in zip(problem.variables(), start, strict=True):
                var.varValue = value
            solver = HiGHSFromCurrentValues(msg=False, gapRel=gap, mip=True)
            call = solver.callSolver

            def with_presolve(
                lp: pulp.LpProblem, presolve: str = presolve, call: Callable = call
            ) -> None:
                lp.solverModel.setOptionValue("presolve", presolve)
                call(lp)

            solver.callSolver = with_presolve  # type: ignore[method-assign]
            started = time.perf_counter()
            problem.solve(solver)
            seconds = time.perf_counter() - started
            highs = problem.solverModel
            reported = highs.getObjectiveValue()
            got = float(pulp.value(cost))
            same = [v.varValue for v in problem.variables()] == start
            print(
                f"| {gap} | {presolve} | {seconds:.2f} | {highs.getModelStatus().name} | "
                f"{reported:,.1f} | {got:,.1f} | {reported / got - 1:+.2e} | {same} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
