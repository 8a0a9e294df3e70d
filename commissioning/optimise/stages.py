"""The lexicographic solve: fairness first, then need-weighted shortfall, then stability, then cost.

Each stage fixes the previous stage's optimum (within the stated tolerance) before the next
objective is optimised, so a later preference can never undo an earlier one.

Years that no rule ties together (no pace-of-change limit, awards that end) are independent
problems, so they are solved as separate, smaller models: the fairness level is the lowest of
the blocks' best levels, and the later objectives are sums over blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import pulp

from commissioning.errors import InfeasibleScenario, SolverFailed
from commissioning.optimise import fairness, level_check
from commissioning.optimise.data import AllocationData
from commissioning.optimise.diagnose import diagnose
from commissioning.optimise.model import AllocationModel
from commissioning.optimise.prechecks import impossibilities
from commissioning.optimise.solver import SolveReport, make_solver, run

# A stage's optimum is kept to within relative_gap of itself, plus this hair for round-off.
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


def year_blocks(data: AllocationData) -> list[tuple[str, ...]]:
    """Groups of years that rules tie together; each group is solved on its own."""
    policy = data.scenario.policy
    if policy.max_change_pct is not None:
        return [data.years]
    length = policy.award_years
    return [data.years[i : i + length] for i in range(0, len(data.years), length)]


class BlockSolver:
    """One block of years: its model, and the fewest-granule requirements of a fairness level."""

    def __init__(
        self,
        data: AllocationData,
        scored: list[fairness.ScoredCell],
        scale: float,
        solution: Solution,
    ):
        self.data = data
        self.options = data.scenario.policy.solver
        self.rule = data.scenario.policy.fairness_rule
        self.model = AllocationModel(data)
        self.scored = {(slot.index, year) for slot, year in scored}
        self.scale = scale
        self.solution = solution
        self.cost = pulp.LpAffineExpression(
            {self.model.units[(s.index, y)]: s.granule_cost for s in data.slots for y in data.years}
        )

    def require(self, level: float | None) -> bool:
        """Set each cell's fewest granules for `level`; False if a cap makes it impossible."""
        granules = self.requirement(level)
        if granules is None:
            return False
        for cell, need in granules.items():
            self.model.units[cell].lowBound = need
        return True

    def affordable(self, level: float) -> bool:
        """Binary-search step: can the money and rules reach `level` (LP relaxation)?"""
        if level_check.applies(self.data):
            granules = self.requirement(level)
            if granules is None:
                return False
            self.solution.lp_checks += 1
            return level_check.money_allows(self.data, granules)
        return self.feasible(level, mip=False) is not None

    def requirement(self, level: float | None) -> dict[tuple[int, str], int] | None:
        """Fewest granules per cell for `level`, or None if a cap makes it impossible."""
        granules = {}
        for slot in self.data.slots:
            for year in self.data.years:
                need = slot.floor
                if level is not None and (slot.index, year) in self.scored:
                    need = max(
                        need,
                        fairness.granules_needed(slot, year, level, self.rule, self.scale),
                    )
                cap = slot.cap_in(year)
                if cap is not None and need > cap:
                    return None
                granules[(slot.index, year)] = need
        return granules

    def feasible(self, level: float | None, mip: bool) -> SolveReport | None:
        if not self.require(level):
            return None
        self.model.problem.setObjective(self.cost)
        report = run(self.model.problem, make_solver(self.options, mip=mip))
        if not mip:
            self.solution.lp_checks += 1
        return report if report.has_solution else None

    def best_level(self, levels: list[float]) -> tuple[int, SolveReport]:
        """Index of the highest level this block can reach, by binary search.

        The LP relaxation answers each step; it can only overstate, so the answer is then
        confirmed with integer units, stepping down a level at a time if needed.
        """
        lo, hi = 0, len(levels) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.affordable(levels[mid]):
                lo = mid
            else:
                hi = mid - 1
        report = self.feasible(levels[lo], mip=True)
        while report is None and lo > 0:
            lo -= 1
            report = self.feasible(levels[lo], mip=True)
        if report is None:
            raise _diagnosed(self.data)
        return lo, report

    def optimise(self, name: str, objective: pulp.LpAffineExpression) -> SolveReport:
        """Optimise one later stage, then keep its optimum for the stages after it.

        The optimum is kept as a bound on the stage objective (within relative_gap). Keeping it
        cell by cell instead (no cell further below benchmark than this stage left it) would tie
        the later stages to this stage's particular choice among equally good allocations, so
        the cost stage could miss a cheaper one with the same need-weighted shortfall.
        """
        self.model.problem.setObjective(objective)
        # Start from the previous stage's answer, which is feasible here; `run` falls back to
        # a cold solve if that attempt fails or its values disagree with its objective.
        report = run(self.model.problem, make_solver(self.options, mip=True, warm_start=True))
        if not report.has_solution or report.objective is None:
            if report.state == "infeasible":
                raise _diagnosed(self.data)
            raise SolverFailed(
                f"stage '{name}': the solver stopped with no solution ({report.state})"
            )
        keep = report.objective + max(
            ABSOLUTE_TOLERANCE, abs(report.objective) * self.options.relative_gap
        )
        self.model.problem.addConstraint(objective <= keep, name=f"keep[{name}]")
        return report


def solve_stages(data: AllocationData) -> Solution:
    reasons = impossibilities(data)
    if reasons:
        raise InfeasibleScenario(reasons)
    rule = data.scenario.policy.fairness_rule
    scored = fairness.scored_cells(data.slots, data.years, rule)
    scale = fairness.shortfall_scale(scored)
    solution = Solution(granules={}, fairness_level=None)
    blocks = [
        BlockSolver(replace(data, years=b), scored, scale, solution) for b in year_blocks(data)
    ]

    # Report every block of years that cannot hold, not only the first.
    stuck = [b.data for b in blocks if b.feasible(0.0 if scored else None, mip=False) is None]
    if stuck:
        raise _diagnosed(*stuck)
    if scored:
        levels = [float(v) for v in fairness.candidate_levels(scored, rule, scale)]
        found = [block.best_level(levels) for block in blocks]
        lowest = min(index for index, _ in found)
        solution.fairness_level = levels[lowest]
        solution.stages.append(
            _merge(f"fairness ({rule}): lowest level", [r for _, r in found], levels[lowest])
        )
        for block in blocks:
            block.require(solution.fairness_level)
    else:
        solution.stages.append(
            StageResult(f"fairness ({rule}): no benchmarked cells", None, "skipped", None, 0.0)
        )

    plans = []
    for block in blocks:
        plan = [("need-weighted shortfall", _shortfall_expression(block.model))]
        stability = _stability_expression(block.model)
        if stability is not None:
            plan.append(("change from previous allocation (units)", stability))
        plan.append(("total cost (pence)", _tie_broken_cost(block.model)))
        plans.append(plan)
    for step in range(len(plans[0])):
        name = plans[0][step][0]
        reports = [
            block.optimise(name, plan[step][1]) for block, plan in zip(blocks, plans, strict=True)
        ]
        solution.stages.append(_merge(name, reports, sum(r.objective or 0.0 for r in reports)))

    for block in blocks:
        for key, var in block.model.units.items():
            value = var.varValue
            if value is None or abs(value - round(value)) > 1e-6:
                raise SolverFailed(f"non-integer units {value} for {key}: refusing to report them")
            solution.granules[key] = round(value)
    return solution


def _merge(name: str, reports: list[SolveReport], objective: float) -> StageResult:
    states = {r.state for r in reports}
    state = "time_limit_with_solution" if "time_limit_with_solution" in states else "optimal"
    gap = max((r.gap or 0.0 for r in reports), default=0.0)
    return StageResult(name, objective, state, gap, sum(r.seconds for r in reports))


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


def _shortfall_expression(model: AllocationModel) -> pulp.LpAffineExpression:
    """Need-weighted shortfall in units: sum of need index × units still below benchmark."""
    terms: dict[pulp.LpVariable, float] = {}
    for slot in model.data.slots:
        for year in model.data.years:
            gap = fairness.gap(slot, year)
            if not slot.benchmarked or gap <= 0:
                continue
            where = f"[{slot.area}][{slot.service}][{year}]"
            short = model.problem.add_variable(f"shortfall{where}", lowBound=0)
            units = model.units[(slot.index, year)]
            g = float(slot.granule_units)
            row = pulp.LpAffineExpression({short: 1, units: g})
            model.problem.addConstraint(row >= gap, name=f"shortfall_def{where}")
            # The last granule closes only the remainder of the gap, yet costs a whole granule.
            # This cut makes each cell's shortfall the convex hull of its integer points, so the
            # LP bound is tight and the MIP only has to settle the pots' budget rows.
            whole = math.floor(gap / g + fairness.EPSILON)
            remainder = gap - g * whole
            if remainder > fairness.EPSILON:
                hull = pulp.LpAffineExpression({short: 1, units: remainder})
                model.problem.addConstraint(
                    hull >= remainder * (whole + 1), name=f"shortfall_hull{where}"
                )
            # Start from the shortfall the current units leave, so the warm start is feasible.
            funded = g * (units.varValue or 0.0)
            hull_floor = remainder * (whole + 1 - (units.varValue or 0.0))
            short.varValue = max(0.0, gap - funded, hull_floor)
            terms[short] = slot.need
    return pulp.LpAffineExpression(terms)


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
