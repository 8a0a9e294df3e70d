"""The lexicographic solve: fairness first, then need-weighted shortfall, then stability, then cost.

Each stage fixes the previous stage's optimum (within the stated tolerance) before the next
objective is optimised, so a later preference can never undo an earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulp

from commissioning.errors import InfeasibleScenario, SolverFailed
from commissioning.optimise import fairness
from commissioning.optimise.data import AllocationData
from commissioning.optimise.diagnose import diagnose
from commissioning.optimise.model import AllocationModel
from commissioning.optimise.prechecks import impossibilities
from commissioning.optimise.solver import SolveReport, make_solver, run

# A stage's optimum is kept to within this share (plus a hair for round-off) in later stages.
ABSOLUTE_TOLERANCE = 1e-6


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
    fairness_level: float | None
    stages: list[StageResult] = field(default_factory=list)
    lp_checks: int = 0

    @property
    def status(self) -> str:
        states = {s.state for s in self.stages if s.state != "skipped"}
        return "time_limit_with_solution" if "time_limit_with_solution" in states else "optimal"

    @property
    def gap(self) -> float:
        return max((s.gap or 0.0 for s in self.stages), default=0.0)


def solve_stages(data: AllocationData) -> Solution:
    reasons = impossibilities(data)
    if reasons:
        raise InfeasibleScenario(reasons)
    options = data.scenario.policy.solver
    rule = data.scenario.policy.fairness_rule
    model = AllocationModel(data)
    scored = fairness.scored_slots(data.slots, rule)
    scale = fairness.shortfall_scale(data.slots)
    solution = Solution(granules={}, fairness_level=None)
    cost = _cost_expression(model)

    def requirement_bounds(level: float | None) -> bool:
        """Set each cell's fewest granules for `level`; False if a cap makes it impossible."""
        for slot in data.slots:
            need = slot.floor
            if level is not None and slot in scored_set:
                need = max(need, fairness.granules_needed(slot, level, rule, scale))
            if slot.cap is not None and need > slot.cap:
                return False
            for year in data.years:
                model.units[(slot.index, year)].lowBound = need
        return True

    def feasible(level: float | None, mip: bool) -> SolveReport | None:
        if not requirement_bounds(level):
            return None
        model.problem.setObjective(cost)
        report = run(model.problem, make_solver(options, mip=mip))
        solution.lp_checks += 0 if mip else 1
        return report if report.has_solution else None

    scored_set = set(scored)
    # Stage 1: the highest level every scored cell can reach together.
    if feasible(0.0 if scored else None, mip=False) is None:
        raise _diagnosed(data)
    if scored:
        levels = fairness.candidate_levels(scored, rule, scale)
        lo, hi = 0, len(levels) - 1  # levels[lo] is feasible in the LP relaxation
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if feasible(float(levels[mid]), mip=False) is not None:
                lo = mid
            else:
                hi = mid - 1
        # The LP relaxation can only overstate; confirm with integers, stepping down if needed.
        report = feasible(float(levels[lo]), mip=True)
        while report is None and lo > 0:
            lo -= 1
            report = feasible(float(levels[lo]), mip=True)
        if report is None:
            raise _diagnosed(data)
        solution.fairness_level = float(levels[lo])
        solution.stages.append(
            StageResult(f"fairness ({rule}): lowest level", solution.fairness_level, report.state, report.gap, report.seconds)
        )
        requirement_bounds(solution.fairness_level)
    else:
        solution.stages.append(StageResult(f"fairness ({rule}): no benchmarked cells", None, "skipped", None, 0.0))

    shortfall = _shortfall_expression(model, data)
    stability = _stability_expression(model, data)
    stages = [("need-weighted shortfall", shortfall)]
    if stability is not None:
        stages.append(("change from previous allocation (units)", stability))
    stages.append(("total cost (pence)", _tie_broken_cost(model, data)))
    for name, objective in stages:
        model.problem.setObjective(objective)
        report = run(model.problem, make_solver(options, mip=True))
        if not report.has_solution or report.objective is None:
            if report.state == "infeasible":
                raise _diagnosed(data)
            raise SolverFailed(f"stage '{name}': the solver stopped with no solution ({report.state})")
        solution.stages.append(StageResult(name, report.objective, report.state, report.gap, report.seconds))
        keep = report.objective + max(ABSOLUTE_TOLERANCE, abs(report.objective) * options.relative_gap)
        model.problem.addConstraint(objective <= keep, name=f"keep_stage[{len(solution.stages)}]")

    for key, var in model.units.items():
        value = var.varValue
        if value is None or abs(value - round(value)) > 1e-6:
            raise SolverFailed(f"non-integer units {value} for {key}: refusing to report them")
        solution.granules[key] = int(round(value))
    return solution


def _cost_expression(model: AllocationModel) -> pulp.LpAffineExpression:
    return pulp.LpAffineExpression(
        {model.units[(s.index, y)]: s.granule_cost for s in model.data.slots for y in model.data.years}
    )


def _tie_broken_cost(model: AllocationModel, data: AllocationData) -> pulp.LpAffineExpression:
    """Least cost; among equal-cost choices, prefer areas with higher need (a tiny nudge)."""
    ranks = {a: i for i, a in enumerate(sorted({s.area for s in data.slots}, key=lambda a: -_need(data, a)))}
    return pulp.LpAffineExpression(
        {
            model.units[(s.index, y)]: s.granule_cost * (1 + 1e-7 * ranks[s.area])
            for s in data.slots
            for y in data.years
        }
    )


def _need(data: AllocationData, area: str) -> float:
    return next(s.need for s in data.slots if s.area == area)


def _shortfall_expression(model: AllocationModel, data: AllocationData) -> pulp.LpAffineExpression:
    """Need-weighted shortfall in units: sum of need index × units still below benchmark."""
    terms: dict[pulp.LpVariable, float] = {}
    for slot in data.slots:
        if not slot.benchmarked:
            continue
        for year in data.years:
            gap = slot.target - slot.existing
            if gap <= 0:
                continue
            short = model.problem.add_variable(f"shortfall[{slot.area}][{slot.service}][{year}]", lowBound=0)
            row = pulp.LpAffineExpression({short: 1, model.units[(slot.index, year)]: float(slot.granule_units)})
            model.problem.addConstraint(row >= gap, name=f"shortfall_def[{slot.area}][{slot.service}][{year}]")
            terms[short] = slot.need
    return pulp.LpAffineExpression(terms)


def _stability_expression(model: AllocationModel, data: AllocationData) -> pulp.LpAffineExpression | None:
    if not data.scenario.policy.previous_allocation:
        return None
    terms: dict[pulp.LpVariable, float] = {}
    for slot in data.slots:
        for year in data.years:
            move = model.problem.add_variable(f"change[{slot.area}][{slot.service}][{year}]", lowBound=0)
            units = model.units[(slot.index, year)]
            model.problem.addConstraint(move - units >= -slot.previous, name=f"change_up[{slot.area}][{slot.service}][{year}]")
            model.problem.addConstraint(move + units >= slot.previous, name=f"change_down[{slot.area}][{slot.service}][{year}]")
            terms[move] = float(slot.granule_units)
    return pulp.LpAffineExpression(terms)


def _diagnosed(data: AllocationData) -> InfeasibleScenario:
    reasons, gave_way = diagnose(data)
    return InfeasibleScenario(reasons or ["the rules conflict (see what had to give way)"], gave_way)
