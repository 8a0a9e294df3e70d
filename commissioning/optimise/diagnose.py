"""Explain an infeasible scenario by re-solving with every rule allowed to give way at a price.

The elastic model minimises the total give (in pence; unit floors are priced at their cost), so
the rules it bends are the fewest and smallest that make the scenario solvable. A unit floor's
give is priced a little above its cost: when money rules and floors could give way by the same
amount, the one money rule gives way rather than an arbitrary handful of many floors.
"""

from __future__ import annotations

import pulp

from commissioning.money import pounds
from commissioning.optimise.data import AllocationData
from commissioning.optimise.model import AllocationModel
from commissioning.optimise.solver import make_solver, run

FLOOR_PREMIUM = 0.01


def diagnose(data: AllocationData) -> tuple[list[str], list[str]]:
    model = AllocationModel(data, elastic=True)
    weights: dict[pulp.LpVariable, float] = {}
    for name, give in model.slack.items():
        if name.startswith("unit_floor["):
            slot = next(
                s for s in data.slots if name.startswith(f"unit_floor[{s.area}][{s.service}]")
            )
            weights[give] = float(slot.granule_cost) * (1 + FLOOR_PREMIUM)
        else:
            weights[give] = 1.0
    model.problem.setObjective(pulp.LpAffineExpression(weights))
    report = run(model.problem, make_solver(data.scenario.policy.solver, mip=False))
    if not report.has_solution:
        return ["the rules conflict in a way the diagnosis could not isolate"], []
    gave_way = []
    for name, give in sorted(model.slack.items()):
        amount = give.varValue or 0.0
        if amount <= 0.5:
            continue
        if name.startswith("unit_floor["):
            gave_way.append(f"{model.described[name]}: short by {amount:g} granules")
        else:
            gave_way.append(f"{model.described[name]}: had to give way by {pounds(round(amount))}")
    reasons = [g.split(":")[0] + ": cannot be met with the money and rules given" for g in gave_way]
    return reasons, gave_way
