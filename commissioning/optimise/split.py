"""Which pot pays for what, in whole pence.

The stages decide units; this step decides the money. Per year a small integer programme splits
each spending class's exact cost across its pots within budgets and ring-fences, drawing pots in
the order the scenario lists them. Within a class every cell may be paid by the same pots, so the
class's pot money is then poured into its cells in a fixed order (area, service). All sums are
integers, so pot totals reconcile to the penny.
"""

from __future__ import annotations

import numpy as np
import pulp

from commissioning.errors import SolverFailed
from commissioning.optimise.cell_arrays import granule_matrix
from commissioning.optimise.data import AllocationData
from commissioning.optimise.solver import make_solver, run

Payment = tuple[str, int, str, int]  # (year, slot index, pot, pence)


def split_by_pot(data: AllocationData, granules: dict[tuple[int, str], int]) -> list[Payment]:
    payments: list[Payment] = []
    order = {p: i for i, p in enumerate(data.pot_ids)}
    cost = np.fromiter((s.granule_cost for s in data.slots), dtype=np.int64, count=len(data.slots))
    # pence per cell, slot × year
    pence = granule_matrix(data, granules) * cost[:, None]
    # each class's cells in the order its money is poured into them: (area, service)
    poured = {
        cls.index: sorted(cls.slots, key=lambda i: (data.slots[i].area, data.slots[i].service))
        for cls in data.classes
    }
    for j, year in enumerate(data.years):
        due = pence[:, j].tolist()
        totals = {cls.index: sum(due[i] for i in cls.slots) for cls in data.classes}
        problem = pulp.LpProblem(f"pot_split_{year}", pulp.LpMinimize)
        money = {
            (cls.index, pot): problem.add_variable(
                f"pays[{pot}][class{cls.index}]", lowBound=0, cat=pulp.LpInteger
            )
            for cls in data.classes
            if totals[cls.index] > 0
            for pot in cls.pots
        }
        if not money:
            continue
        for cls in data.classes:
            if totals[cls.index] > 0:
                problem.addConstraint(
                    pulp.LpAffineExpression({money[(cls.index, p)]: 1 for p in cls.pots})
                    == totals[cls.index],
                    name=f"class_paid[{cls.index}]",
                )
        for pot in data.pot_ids:
            terms = {v: 1 for (k, p), v in money.items() if p == pot}
            if terms:
                problem.addConstraint(
                    pulp.LpAffineExpression(terms) <= data.free_budget[(pot, year)],
                    name=f"budget[{pot}]",
                )
        for fence in data.scenario.ring_fences:
            if year not in data.fence_years(fence.id):
                continue
            terms = {
                v: 1
                for (k, p), v in money.items()
                if p == fence.pot and fence.id in data.classes[k].ring_fences
            }
            need = data.ring_fence_need[(fence.id, year)]
            if need > 0:
                problem.addConstraint(
                    pulp.LpAffineExpression(terms) >= need, name=f"fence[{fence.id}]"
                )
        problem.setObjective(
            pulp.LpAffineExpression({v: 1 + order[p] for (k, p), v in money.items()})
        )
        report = run(problem, make_solver(data.scenario.policy.solver, mip=True))
        if report.state != "optimal":
            raise SolverFailed(
                f"{year}: could not split the funded units across pots ({report.state})"
            )
        for cls in data.classes:
            if totals[cls.index] > 0:
                pot_money = {p: round(money[(cls.index, p)].varValue or 0) for p in cls.pots}
                payments.extend(_pour(data, poured[cls.index], due, year, pot_money))
    return payments


def _pour(
    data: AllocationData,
    cells: list[int],
    due_by_slot: list[int],
    year: str,
    pot_money: dict[str, int],
) -> list[Payment]:
    """Fill the class's cells, in (area, service) order, from its pots in the scenario's order."""
    payments: list[Payment] = []
    queue = [(p, m) for p, m in pot_money.items() if m > 0]
    for i in cells:
        due = due_by_slot[i]
        while due > 0:
            if not queue:
                raise SolverFailed(f"{year}: pot money ran out while paying {data.slots[i].area}")
            pot, left = queue[0]
            paid = min(due, left)
            payments.append((year, i, pot, paid))
            due -= paid
            if left == paid:
                queue.pop(0)
            else:
                queue[0] = (pot, left - paid)
    return payments
