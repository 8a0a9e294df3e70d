"""A fast money check for one fairness level, used by the binary search when it is exact.

When no rule ties an area's services or years together (no area totals in pence, no pace of
change, one-year awards), whether a level is affordable depends only on how much each spending
class must spend and which pots may pay: a transportation problem with a handful of variables,
instead of the full model with one variable per cell.
"""

from __future__ import annotations

import pulp

from commissioning.optimise.data import AllocationData
from commissioning.optimise.solver import make_solver, run


def applies(data: AllocationData) -> bool:
    policy = data.scenario.policy
    return (
        policy.max_change_pct is None
        and policy.award_years == 1
        and all(limit.service is not None for limit in policy.area_limits)
    )


def money_allows(data: AllocationData, granules: dict[tuple[int, str], int]) -> bool:
    """True when the pots can pay for at least `granules` in every slot, in every year.

    Same answer as the LP relaxation of the full model: classes may spend more than they must
    (extra units, up to their caps) so that ring-fences can be met.
    """
    problem = pulp.LpProblem("level_check", pulp.LpMinimize)
    spend = {
        (cls.index, pot, year): problem.add_variable(f"m[{cls.index}][{pot}][{year}]", lowBound=0)
        for cls in data.classes
        for pot in cls.pots
        for year in data.years
    }
    for cls in data.classes:
        for year in data.years:
            slots = [data.slots[i] for i in cls.slots]
            must = sum(granules[(s.index, year)] * s.granule_cost for s in slots)
            caps = [s.cap_in(year) for s in slots]
            paid = pulp.LpAffineExpression({spend[(cls.index, p, year)]: 1 for p in cls.pots})
            problem.addConstraint(paid >= must)
            if all(c is not None for c in caps):
                room = sum((c or 0) * s.granule_cost for c, s in zip(caps, slots, strict=True))
                problem.addConstraint(paid <= room)
    for pot in data.pot_ids:
        for year in data.years:
            terms = {v: 1 for (k, p, y), v in spend.items() if p == pot and y == year}
            if terms:
                problem.addConstraint(
                    pulp.LpAffineExpression(terms) <= data.free_budget[(pot, year)]
                )
    for fence in data.scenario.ring_fences:
        for year in data.fence_years(fence.id):
            terms = {
                v: 1
                for (k, p, y), v in spend.items()
                if p == fence.pot and y == year and fence.id in data.classes[k].ring_fences
            }
            problem.addConstraint(
                pulp.LpAffineExpression(terms) >= data.ring_fence_need[(fence.id, year)]
            )
    problem.setObjective(pulp.LpAffineExpression({v: 1 for v in spend.values()}))
    return run(problem, make_solver(data.scenario.policy.solver, mip=False)).has_solution
