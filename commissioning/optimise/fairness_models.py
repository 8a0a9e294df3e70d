"""The two models that answer the fairness rounds' questions: spending classes (`MoneyModel`,
when money is all that cells share) and the block's full allocation model (`FullModel`)."""

from __future__ import annotations

import numpy as np
import pulp

from commissioning.errors import SolverFailed
from commissioning.models import SolverOptions
from commissioning.optimise.clock import builds_a_model
from commissioning.optimise.data import AllocationData
from commissioning.optimise.fairness import ScoredCell
from commissioning.optimise.fairness_questions import Key, Question
from commissioning.optimise.model import AllocationModel
from commissioning.optimise.money_highs import HighsMoneyQuestions
from commissioning.optimise.solver import Problem, make_solver, run


def _solved(
    problem: pulp.LpProblem, options: SolverOptions, mip: bool, what: str, confirm: bool = True
) -> bool:
    """Solve; True if a solution exists, False if proven infeasible, an error otherwise.
    Without `confirm`, a first "infeasible" is believed (for probes whose answer is checked)."""
    report = run(
        problem, make_solver(options, mip=mip), confirm_infeasible="presolve" if confirm else "none"
    )
    if report.state == "infeasible":
        return False
    if not report.has_solution:
        raise SolverFailed(
            f"fairness: {what} ended without an answer ({report.state}); raise the time limit "
            "or simplify the scenario"
        )
    return True


def _gate_rows(
    problem: pulp.LpProblem, question: Question, gate_var: dict[int, pulp.LpVariable]
) -> None:
    """Nesting, counts, shut and forced gates, shared by both models."""
    for gate, var in gate_var.items():
        parent = question.parents.get(gate)
        if parent is not None:
            problem.addConstraint(var - gate_var[parent] <= 0, name=f"nested[{gate}]")
        var.lowBound = 1 if gate in question.forced else 0
        var.upBound = 0 if gate in question.shut else 1
    for i, count in enumerate(question.counts):
        problem.addConstraint(
            pulp.LpAffineExpression({gate_var[g]: 1 for g in count.gates}) >= count.at_least,
            name=f"leximin_count[{i}]",
        )


class MoneyModel:
    """The block as spending classes: each class must spend the cost of its cells' steps (gated
    steps paid when their gate is on); pots pay classes they may fund. Built anew per question:
    it has a few dozen columns. Class totals are summed with arrays, once per question."""

    def __init__(self, data: AllocationData, keys: list[Key], options: SolverOptions):
        self.data = data
        self.options = options
        self.class_of = {i: cls.index for cls in data.classes for i in cls.slots}
        self.groups = [(cls.index, year) for cls in data.classes for year in data.years]
        group = {where: g for g, where in enumerate(self.groups)}
        self.cell_group = np.array([group[(self.class_of[i], y)] for i, y in keys], dtype=np.int64)
        self.cell_cost = np.array([data.slots[i].granule_cost for i, _ in keys], dtype=np.int64)
        self.pos = {key: j for j, key in enumerate(keys)}
        scored = set(keys)
        self.unscored = np.zeros(len(self.groups), dtype=np.int64)
        self.room: list[int | None] = []
        for cls in data.classes:
            for year in data.years:
                room: int | None = 0
                for i in cls.slots:
                    slot = data.slots[i]
                    cap = slot.cap_in(year)
                    room = None if room is None or cap is None else room + cap * slot.granule_cost
                    if (i, year) not in scored:
                        self.unscored[group[(cls.index, year)]] += slot.floor * slot.granule_cost
                self.room.append(room)
        self.group_index = {where: g for g, where in enumerate(self.groups)}
        self.fast = HighsMoneyQuestions(self, options) if options.solver == "highs" else None

    @builds_a_model
    def _build(
        self, question: Question, mip: bool
    ) -> tuple[pulp.LpProblem, dict[int, pulp.LpVariable], dict[tuple[int, str], pulp.LpVariable]]:
        data = self.data
        problem = Problem("money", pulp.LpMinimize)
        cat = pulp.LpBinary if mip else pulp.LpContinuous
        gate_var = {
            g: problem.add_variable(f"gate[{g}]", lowBound=0, upBound=1, cat=cat)
            for g in question.parents
        }
        spend = {
            (cls.index, pot, year): problem.add_variable(
                f"m[{cls.index}][{pot}][{year}]", lowBound=0
            )
            for cls in data.classes
            for pot in cls.pots
            for year in data.years
        }
        fixed = self.unscored.copy()
        np.add.at(fixed, self.cell_group, question.first * self.cell_cost)
        must = [pulp.LpAffineExpression() for _ in self.groups]
        for key, row in question.steps.items():
            j = self.pos[key]
            cost = int(self.cell_cost[j])
            for step, gate in enumerate(question.gates[key]):
                must[self.cell_group[j]].addterm(gate_var[gate], (row[step + 1] - row[step]) * cost)
        extra: dict[tuple[int, str], pulp.LpVariable] = {}
        for g, (klass, year) in enumerate(self.groups):
            cls = data.classes[klass]
            paid = pulp.LpAffineExpression({spend[(klass, p, year)]: 1 for p in cls.pots})
            if (klass, year) == question.spare:
                extra[(klass, year)] = problem.add_variable("extra", lowBound=0)
                must[g].addterm(extra[(klass, year)], 1)
            if cls.ring_fences:
                # A ring-fence may need more than the levels ask; what more a class spends is
                # whole granules, or the integer model could not spend it. Cells of one granule
                # cost are interchangeable for that, so one integer per cost (with their room).
                room: dict[int, int | None] = {}
                for i in cls.slots:
                    slot = data.slots[i]
                    cap = slot.cap_in(year)
                    where = self.pos.get((i, year))
                    base = slot.floor if where is None else int(question.first[where])
                    have = room.get(slot.granule_cost, 0)
                    room[slot.granule_cost] = (
                        None if have is None or cap is None else have + max(0, cap - base)
                    )
                for cost, most in sorted(room.items()):
                    more = problem.add_variable(
                        f"more[{klass}][{year}][{cost}]",
                        lowBound=0,
                        upBound=most,
                        cat=pulp.LpInteger if mip else pulp.LpContinuous,
                    )
                    must[g].addterm(more, cost)
                problem.addConstraint(paid - must[g] == int(fixed[g]))
            else:
                problem.addConstraint(paid - must[g] >= int(fixed[g]))
            if self.room[g] is not None:
                problem.addConstraint(paid <= self.room[g])
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
        _gate_rows(problem, question, gate_var)
        return problem, gate_var, extra

    def feasible(self, question: Question, mip: bool, confirm: bool = False) -> bool:
        if self.fast is not None:
            answer = self.fast.feasible(question, mip, confirm)
            if answer is not None:
                return answer
        problem, _, _ = self._build(question, mip)
        problem.setObjective(pulp.LpAffineExpression())
        return _solved(problem, self.options, mip, "a money check", confirm)

    def most_gates_on(self, question: Question) -> int:
        problem, gate_var, _ = self._build(question, mip=True)
        problem.setObjective(pulp.LpAffineExpression({gate_var[g]: -1 for g in question.count}))
        if not _solved(problem, self.options, True, "counting the cells that can rise"):
            raise SolverFailed("fairness: no allocation keeps the levels already settled")
        return round(sum(gate_var[g].varValue or 0.0 for g in question.count))

    def spare(self, question: Question, where: tuple[int, str]) -> float:
        """Most extra money the class could spend in the year. Asked with whole granules for
        ring-fenced spending (an LP would let a fence be met with a fraction of a granule and so
        overstate what is left); if that ends without a proven answer, the LP's upper bound."""
        if self.fast is not None:
            answer = self.fast.spare(question, self.group_index[where])
            if answer is not None:
                return answer
        question.spare = where
        try:
            for mip in (True, False):
                problem, _, extra = self._build(question, mip=mip)
                problem.setObjective(pulp.LpAffineExpression({extra[where]: -1}))
                report = run(problem, make_solver(self.options, mip=mip))
                if report.state == "optimal" or not mip:
                    break
        finally:
            question.spare = None
        if not report.has_solution:
            return 0.0 if report.state == "infeasible" else float("inf")
        return float(extra[where].varValue or 0.0)


class FullModel:
    """The block's allocation model with the fairness requirements written in: a cell's steps
    as its units' lower bound and, per gate, a row `units − M·gate ≥ step − M` (M: the most
    granules the cell could ever have, so a shut gate asks nothing)."""

    def __init__(
        self,
        data: AllocationData,
        model: AllocationModel,
        cells: dict[Key, ScoredCell],
        options: SolverOptions,
    ):
        self.data = data
        self.model = model
        self.cells = cells
        self.options = options
        self.gate_var: dict[int, pulp.LpVariable] = {}
        self.rows: dict[int, pulp.LpConstraint] = {}
        self.most: dict[Key, int] = {}
        self.nested: set[int] = set()
        self.counted = 0

    def _most_granules(self, key: Key) -> int:
        """An upper bound on a cell's granules: its cap, or what all its pots could buy."""
        if key not in self.most:
            cell = self.cells[key]
            if cell.cap is not None:
                self.most[key] = cell.cap
            else:
                money = sum(max(0, self.data.free_budget[(p, cell.year)]) for p in cell.slot.pots)
                self.most[key] = money // cell.slot.granule_cost
        return self.most[key]

    @builds_a_model
    def write(self, question: Question) -> None:
        """Put the question's requirements into the model (gates, rows, counts)."""
        problem = self.model.problem
        for key, first in zip(question.keys, question.first, strict=True):
            self.model.units[key].lowBound = max(int(first), self.cells[key].floor)
        for key, row in question.steps.items():
            units = self.model.units[key]
            most = self._most_granules(key)
            for j, gate in enumerate(question.gates[key]):
                if gate not in self.gate_var:
                    cell = self.cells[key]
                    var = problem.add_variable(
                        f"rises[{cell.slot.area}][{cell.slot.service}][{cell.year}][{gate}]",
                        lowBound=0,
                        upBound=1,
                        cat=pulp.LpBinary,
                    )
                    self.gate_var[gate] = var
                    name = f"fair_floor_{var.name}"
                    expr = pulp.LpAffineExpression({units: 1, var: -most})
                    problem.addConstraint(expr >= -most, name=name)
                    self.rows[gate] = problem.get_constraint_by_name(name)
                    self.model.described[name] = (
                        f"{cell.slot.area_name} {cell.slot.service} {cell.year}: keeps the level "
                        "fairness gave it, if it is one of the cells that rise"
                    )
                step = row[j + 1]
                self.rows[gate].changeRHS(min(step, most) - most)
                var = self.gate_var[gate]
                var.lowBound = 1 if gate in question.forced else 0
                var.upBound = 0 if gate in question.shut or step > most else 1
        live = {gate for gates in question.gates.values() for gate in gates}
        for gate, var in self.gate_var.items():
            if gate not in live:  # dropped when no contender could rise: it asks nothing
                var.lowBound = var.upBound = 0
        for gate, parent in question.parents.items():
            if parent is not None and gate not in self.nested:
                self.nested.add(gate)
                problem.addConstraint(
                    self.gate_var[gate] - self.gate_var[parent] <= 0, name=f"nested[{gate}]"
                )
        for i in range(self.counted, len(question.counts)):
            count = question.counts[i]
            name = f"leximin_count[{i}]"
            problem.addConstraint(
                pulp.LpAffineExpression({self.gate_var[g]: 1 for g in count.gates})
                >= count.at_least,
                name=name,
            )
            self.model.described[name] = (
                f"fairness: at least {count.at_least} of {len(count.gates)} cells rise above "
                f"level {float(count.level):.4f} (the most that can)"
            )
        self.counted = len(question.counts)

    def feasible(self, question: Question, mip: bool, confirm: bool = False) -> bool:
        self.write(question)
        self.model.problem.setObjective(pulp.LpAffineExpression())
        return _solved(self.model.problem, self.options, mip, "a feasibility check", confirm)

    def most_gates_on(self, question: Question) -> int:
        self.write(question)
        objective = pulp.LpAffineExpression({self.gate_var[g]: -1 for g in question.count})
        self.model.problem.setObjective(objective)
        if not _solved(self.model.problem, self.options, True, "counting the cells that rise"):
            raise SolverFailed("fairness: no allocation keeps the levels already settled")
        return round(sum(self.gate_var[g].varValue or 0.0 for g in question.count))
