"""The lexicographic solve: exact leximin fairness first, then stability, then cost.

Fairness decides who gets units and is exact (`leximin`: no relative gap anywhere). The later
stages can no longer change any cell's level, only which of equally fair allocations is chosen:
stability (fewest units moved from a previous allocation), then least cost. Only the cost stage
keeps a relative gap, and it is reported.

Years that no rule ties together (no pace-of-change limit, awards that end) are independent
problems, so they are solved as separate, smaller models.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np
import pulp

from commissioning.errors import InfeasibleScenario, SolverFailed
from commissioning.optimise import fairness
from commissioning.optimise.clock import step
from commissioning.optimise.data import AllocationData
from commissioning.optimise.diagnose import diagnose
from commissioning.optimise.leximin import Leximin
from commissioning.optimise.model import AllocationModel
from commissioning.optimise.prechecks import impossibilities
from commissioning.optimise.solver import SolveReport, make_solver, run

# A later stage's optimum is kept to within its tolerance, plus this hair for round-off.
ABSOLUTE_TOLERANCE = 1e-6
# What timing.json calls each later stage's step.
STAGE_STEPS = {
    "change from previous allocation (units)": "stability",
    "total cost (pence)": "cost",
}


@dataclass
class StageResult:
    name: str
    objective: float | None
    state: str
    gap: float | None
    seconds: float


@dataclass
class Solution:
    granules: dict[tuple[int, str], int]
    fairness_level: Fraction | None
    stages: list[StageResult] = field(default_factory=list)
    cells: list[fairness.ScoredCell] = field(default_factory=list)  # the cells the rule scored
    checks: int = 0  # feasibility questions asked by the fairness rounds
    mip_checks: int = 0
    rounds: int = 0

    @property
    def status(self) -> str:
        states = {s.state for s in self.stages if s.state != "skipped"}
        return "time_limit_with_solution" if "time_limit_with_solution" in states else "optimal"

    @property
    def gap(self) -> float:
        return max((s.gap or 0.0 for s in self.stages), default=0.0)


def year_blocks(data: AllocationData) -> list[tuple[str, ...]]:
    """Groups of years that rules tie together; each group is solved on its own."""
    policy = data.scenario.policy
    if policy.max_change_pct is not None:
        return [data.years]
    length = policy.award_years
    return [data.years[i : i + length] for i in range(0, len(data.years), length)]


class BlockSolver:
    """One block of years: its model, its fairness rounds and its later stages."""

    def __init__(
        self, data: AllocationData, rule: str, shapes: dict[int, fairness.SlotShape]
    ) -> None:
        self.data = data
        self.options = data.scenario.policy.solver
        self.model = AllocationModel(data)
        self.cells = fairness.scored_cells(data.slots, data.years, rule, shapes)
        self.leximin = Leximin(data, self.model, self.cells, self.options)

    def has_any_allocation(self) -> bool:
        """The rules and money allow some allocation in whole granules (the LP relaxation
        alone would pass a floor that only a fraction of a granule could meet)."""
        self.model.problem.setObjective(pulp.LpAffineExpression())
        options = self.options.model_copy(update={"relative_gap": 0.0})
        return run(self.model.problem, make_solver(options, mip=True)).has_solution

    def optimise(self, name: str, objective: pulp.LpAffineExpression, gap: float) -> SolveReport:
        """Optimise one later stage, then keep its optimum (within `gap`) for the stages after."""
        self.model.problem.setObjective(objective)
        options = self.options.model_copy(update={"relative_gap": gap})
        report = run(self.model.problem, make_solver(options, mip=True))
        if not report.has_solution or report.objective is None:
            if report.state == "infeasible":
                raise _diagnosed(self.data)
            raise SolverFailed(
                f"stage '{name}': the solver stopped with no solution ({report.state})"
            )
        value = float(pulp.value(objective) or 0.0)
        keep = value + max(ABSOLUTE_TOLERANCE, abs(value) * gap)
        self.model.problem.addConstraint(objective <= keep, name=f"keep[{name}]")
        return report


def solve_stages(
    data: AllocationData, on_stage: Callable[[Solution], None] | None = None
) -> Solution:
    """Solve every stage; `on_stage`, if given, receives a complete (provisional) solution after
    fairness and after each later stage, so a caller that must stop the solve keeps the best
    allocation reached."""
    reasons = impossibilities(data)
    if reasons:
        raise InfeasibleScenario(reasons)
    rule = data.scenario.policy.fairness_rule
    solution = Solution(granules={}, fairness_level=None)
    shapes: dict[int, fairness.SlotShape] = {}
    with step("models and fairness cells"):
        blocks = [BlockSolver(replace(data, years=b), rule, shapes) for b in year_blocks(data)]

    # Report every block of years that cannot hold, not only the first.
    with step("check that some allocation exists"):
        stuck = [b.data for b in blocks if not b.has_any_allocation()]
    if stuck:
        raise _diagnosed(*stuck)

    started = time.perf_counter()
    for block in blocks:
        with step("fairness"):
            block.leximin.solve()
        block.model = block.leximin.full.model  # a fresh one if the rounds had to be redone
        solution.checks += block.leximin.checks
        solution.mip_checks += block.leximin.mips
        solution.rounds += len(block.leximin.rounds)
    fairness_seconds = time.perf_counter() - started
    fairness_stage = StageResult(
        f"fairness ({rule}): lowest level",
        None,
        "optimal" if any(b.cells for b in blocks) else "skipped",
        0.0,
        fairness_seconds,
    )
    if on_stage is not None:
        # Any allocation that keeps the fairness constraints is a fair one; the cost stage then
        # only makes it cheaper.
        with step("provisional answers"):
            for block in blocks:
                block.model.problem.setObjective(pulp.LpAffineExpression())
                if not run(block.model.problem, make_solver(block.options, mip=True)).has_solution:
                    break
            else:
                on_stage(_provisional(blocks, data, [fairness_stage]))

    plans = []
    for block in blocks:
        plan = []
        with step("models and fairness cells"):
            stability = _stability_expression(block.model)
        if stability is not None:
            plan.append(
                ("change from previous allocation (units)", stability, block.options.relative_gap)
            )
        plan.append(
            ("total cost (pence)", _tie_broken_cost(block.model), block.options.relative_gap)
        )
        plans.append(plan)
    later: list[StageResult] = []
    for number in range(len(plans[0])):
        name = plans[0][number][0]
        with step(STAGE_STEPS.get(name, name)):
            reports = [
                block.optimise(name, plan[number][1], plan[number][2])
                for block, plan in zip(blocks, plans, strict=True)
            ]
        later.append(_merge(name, reports))
        if on_stage is not None:
            with step("provisional answers"):
                on_stage(_provisional(blocks, data, [fairness_stage, *later]))

    for block in blocks:
        for key, var in block.model.units.items():
            value = var.varValue
            if value is None or abs(value - round(value)) > 1e-6:
                raise SolverFailed(f"non-integer units {value} for {key}: refusing to report them")
            solution.granules[key] = round(value)

    # Every reported objective is recomputed from the delivered allocation.
    solution.fairness_level = _lowest_level(blocks, solution.granules)
    solution.cells = [c for b in blocks for c in b.cells]
    fairness_stage.objective = (
        None if solution.fairness_level is None else float(solution.fairness_level)
    )
    solution.stages.append(fairness_stage)
    for number, result in enumerate(later):
        if result.name == "total cost (pence)":
            result.objective = float(
                sum(n * data.slots[i].granule_cost for (i, _), n in solution.granules.items())
            )
        else:
            result.objective = sum(float(pulp.value(plan[number][1]) or 0.0) for plan in plans)
        solution.stages.append(result)
    return solution


def _provisional(
    blocks: list[BlockSolver], data: AllocationData, stages: list[StageResult]
) -> Solution:
    granules = {
        key: round(var.varValue or 0.0)
        for block in blocks
        for key, var in block.model.units.items()
    }
    return Solution(granules, _lowest_level(blocks, granules), list(stages))


def _lowest_level(
    blocks: list[BlockSolver], granules: dict[tuple[int, str], int]
) -> Fraction | None:
    """The exact lowest level of every scored cell (None: no cell is scored)."""
    lowest = []
    for block in blocks:
        keys = block.leximin.keys
        if keys:
            k = np.fromiter((granules[key] for key in keys), dtype=np.int64, count=len(keys))
            lowest.append(block.leximin.levels.lowest(k, np.arange(len(keys))))
    return min(lowest, default=None)


def _merge(name: str, reports: list[SolveReport]) -> StageResult:
    """One stage over all blocks; its objective is recomputed from the delivered allocation."""
    states = {r.state for r in reports}
    state = "time_limit_with_solution" if "time_limit_with_solution" in states else "optimal"
    gap = max((r.gap or 0.0 for r in reports), default=0.0)
    return StageResult(name, None, state, gap, sum(r.seconds for r in reports))


def _tie_broken_cost(model: AllocationModel) -> pulp.LpAffineExpression:
    """Least cost; among equal-cost choices, prefer areas with higher need (a tiny nudge)."""
    data = model.data
    need = {s.area: s.need for s in data.slots}
    ranks = {a: i for i, a in enumerate(sorted(need, key=lambda a: (-need[a], a)))}
    return pulp.LpAffineExpression(
        {
            model.units[(s.index, y)]: s.granule_cost * (1 + 1e-7 * ranks[s.area])
            for s in data.slots
            for y in data.years
        }
    )


def _stability_expression(model: AllocationModel) -> pulp.LpAffineExpression | None:
    """Units moved away from the previous allocation, summed over cells."""
    if not model.data.scenario.policy.previous_allocation:
        return None
    terms: dict[pulp.LpVariable, float] = {}
    for slot in model.data.slots:
        for year in model.data.years:
            where = f"[{slot.area}][{slot.service}][{year}]"
            move = model.problem.add_variable(f"change{where}", lowBound=0)
            units = model.units[(slot.index, year)]
            model.problem.addConstraint(move - units >= -slot.previous, name=f"change_up{where}")
            model.problem.addConstraint(move + units >= slot.previous, name=f"change_down{where}")
            move.varValue = abs((units.varValue or 0.0) - slot.previous)
            terms[move] = float(slot.granule_units)
    return pulp.LpAffineExpression(terms)


def _diagnosed(*blocks: AllocationData) -> InfeasibleScenario:
    reasons: list[str] = []
    gave_way: list[str] = []
    for data in blocks:
        found, gave = diagnose(data)
        reasons += found
        gave_way += gave
    return InfeasibleScenario(
        reasons or ["the rules conflict (see what had to give way)"], gave_way
    )
