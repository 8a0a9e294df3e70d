"""The fairness search's money questions asked of one HiGHS model kept between questions.

The threshold search asks the money model (`leximin.MoneyModel`) a hundred or more questions per
block that differ only in what each spending class must spend: its rows' bounds and the room of
its whole-granule "more" columns. Rebuilding the model in PuLP and passing it to HiGHS for each
cost about two thirds of the search (measured at 320 areas); here the model is built once, in
HiGHS, and each question changes bounds only, so HiGHS also starts from the last basis.

Only questions without gates are asked here (gated questions add columns and rows and are few);
every other question, and any answer this path cannot vouch for, goes to the PuLP model with
the full retry ladder of `solver.run`. The answers are held to the same standard as there: a
"feasible" is believed only when the returned values meet every row, bound and integrality
within `solver.ROW_TOLERANCE` / `INTEGER_TOLERANCE`, and an "infeasible" that must be confirmed
only when HiGHS with and without presolve agree.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import highspy
import numpy as np

from commissioning.optimise.clock import building_models, inside_highs
from commissioning.optimise.highs_pass import INTEGER_TOLERANCE, ROW_TOLERANCE
from commissioning.optimise.solver import MIP_FEASIBILITY_TOLERANCES
from commissioning.optimise.solver_context import quiet_stdout, remaining_seconds

if TYPE_CHECKING:
    from commissioning.models import SolverOptions
    from commissioning.optimise.fairness_models import MoneyModel
    from commissioning.optimise.fairness_questions import Question

_INF = highspy.kHighsInf
_WHOLE = 1e-12
_OPTIMAL = highspy.HighsModelStatus.kOptimal
_INFEASIBLE = highspy.HighsModelStatus.kInfeasible


class HighsMoneyQuestions:
    """`MoneyModel`'s rows and columns for gate-free questions, as one persistent HiGHS model.

    Columns: what each pot pays each class each year; one `extra` per class-year (held at 0
    unless that class's spare money is asked); for ring-fenced classes one whole-granule
    `more` per granule cost. Rows: each class-year's spending (at least, or for ring-fenced
    classes exactly, what its cells' granules cost), its room under the caps, each pot's free
    budget, each ring-fence's need. The same rows as `MoneyModel._build`, in the same order.
    """

    def __init__(self, money: MoneyModel, options: SolverOptions):
        data = money.data
        self.money = money
        self.options = options
        cols_lb: list[float] = []
        cols_ub: list[float] = []
        spend: dict[tuple[int, str, str], int] = {}
        for cls in data.classes:
            for pot in cls.pots:
                for year in data.years:
                    spend[(cls.index, pot, year)] = len(cols_lb)
                    cols_lb.append(0.0)
                    cols_ub.append(_INF)
        self.extra = np.arange(len(cols_lb), len(cols_lb) + len(money.groups))
        cols_lb += [0.0] * len(money.groups)
        cols_ub += [0.0] * len(money.groups)

        rows: list[tuple[list[int], list[float], float, float]] = []
        self.group_row = np.zeros(len(money.groups), dtype=np.int64)
        self.fenced = np.zeros(len(money.groups), dtype=bool)
        # per fenced class-year and granule cost: its `more` column and the slots it covers
        self.more: list[tuple[int, int, list[tuple[int | None, int, int | None]]]] = []
        for g, (klass, year) in enumerate(money.groups):
            cls = data.classes[klass]
            index = [spend[(klass, p, year)] for p in cls.pots]
            value = [1.0] * len(index)
            if cls.ring_fences:
                self.fenced[g] = True
                by_cost: dict[int, list[tuple[int | None, int, int | None]]] = {}
                for i in cls.slots:
                    slot = data.slots[i]
                    by_cost.setdefault(slot.granule_cost, []).append(
                        (money.pos.get((i, year)), slot.floor, slot.cap_in(year))
                    )
                for cost, members in sorted(by_cost.items()):
                    column = len(cols_lb)
                    cols_lb.append(0.0)
                    cols_ub.append(_INF)
                    self.more.append((column, g, members))
                    index.append(column)
                    value.append(-float(cost))
            index.append(int(self.extra[g]))
            value.append(-1.0)
            self.group_row[g] = len(rows)
            rows.append((index, value, 0.0, 0.0 if cls.ring_fences else _INF))
            room = money.room[g]
            if room is not None:
                rows.append((index[: len(cls.pots)], [1.0] * len(cls.pots), -_INF, float(room)))
        for pot in data.pot_ids:
            for year in data.years:
                index = [j for (_, p, y), j in spend.items() if p == pot and y == year]
                if index:
                    rows.append((index, [1.0] * len(index), -_INF, data.free_budget[(pot, year)]))
        self.usable = True
        for fence in data.scenario.ring_fences:
            for year in data.fence_years(fence.id):
                index = [
                    j
                    for (k, p, y), j in spend.items()
                    if p == fence.pot and y == year and fence.id in data.classes[k].ring_fences
                ]
                if not index:
                    self.usable = False  # an empty row: leave such oddities to the PuLP model
                rows.append(
                    (index, [1.0] * len(index), data.ring_fence_need[(fence.id, year)], _INF)
                )

        self.more_cols = np.array([c for c, _, _ in self.more], dtype=np.int32)
        self.cols_lb = np.array(cols_lb)
        self.cols_ub = np.array(cols_ub)
        self.rows_lb = np.array([r[2] for r in rows], dtype=np.float64)
        self.rows_ub = np.array([r[3] for r in rows], dtype=np.float64)
        starts = np.cumsum([0] + [len(r[0]) for r in rows])
        self.matrix = (
            starts.astype(np.int32),
            np.array([j for r in rows for j in r[0]], dtype=np.int32),
            np.array([v for r in rows for v in r[1]], dtype=np.float64),
        )
        with building_models():
            self.highs = self._highs()

    def _highs(self) -> highspy.Highs:
        with quiet_stdout():  # HiGHS prints its banner on creation
            h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        if self.options.threads is not None:
            h.setOptionValue("threads", int(self.options.threads))
        h.setOptionValue("mip_feasibility_tolerance", MIP_FEASIBILITY_TOLERANCES[0])
        h.setOptionValue("mip_rel_gap", 0.0)
        n = len(self.cols_lb)
        h.addVars(n, self.cols_lb, self.cols_ub)
        starts, index, value = self.matrix
        h.addRows(len(self.rows_lb), self.rows_lb, self.rows_ub, len(index), starts, index, value)
        return h

    # ----------------------------------------------------------------- questions
    def feasible(self, question: Question, mip: bool, confirm: bool) -> bool | None:
        """Whether the requirements can be paid for; None when this path cannot vouch for it."""
        answer = self._solve(question, mip, confirm, spare_group=None)
        return None if answer is None else answer[0]

    def spare(self, question: Question, group: int) -> float | None:
        """Most extra money the class-year could spend in whole granules; None when this path
        cannot vouch for the answer, or the requirements themselves cannot be paid for (the
        search never asks that; the PuLP model then answers with its relaxation's bound)."""
        answer = self._solve(question, True, True, spare_group=group)
        if answer is None or not answer[0]:
            return None
        return answer[1]

    def _solve(
        self, question: Question, mip: bool, confirm: bool, spare_group: int | None
    ) -> tuple[bool, float] | None:
        if not self.usable or question.parents or question.count:
            return None
        h = self.highs
        money = self.money
        fixed = money.unscored.copy()
        np.add.at(fixed, money.cell_group, question.first * money.cell_cost)
        lb = self.rows_lb.copy()
        ub = self.rows_ub.copy()
        rows = self.group_row
        lb[rows] = fixed
        ub[rows] = np.where(self.fenced, fixed, _INF)
        col_ub = self.cols_ub.copy()
        cost = np.zeros(len(self.cols_lb))
        for column, _, members in self.more:
            room = 0
            for where, floor, cap in members:
                if cap is None:
                    room = -1
                    break
                base = floor if where is None else int(question.first[where])
                room += max(0, cap - base)
            col_ub[column] = _INF if room < 0 else float(room)
        if spare_group is not None:
            col_ub[self.extra[spare_group]] = _INF
            cost[self.extra[spare_group]] = -1.0
        n = len(self.cols_lb)
        all_rows = np.arange(len(lb), dtype=np.int32)
        all_cols = np.arange(n, dtype=np.int32)
        h.changeRowsBounds(len(all_rows), all_rows, lb, ub)  # type: ignore[attr-defined]
        h.changeColsBounds(n, all_cols, self.cols_lb, col_ub)
        h.changeColsCost(n, all_cols, cost)
        # The relaxation first: its "infeasible" holds for whole granules too, and an optimum
        # whose `more` columns are already whole is the whole-granule optimum (it is feasible
        # there and no whole-granule answer can beat the relaxation).
        answer = self._answer(h, lb, ub, col_ub, confirm, spare_group, whole=False)
        if not mip or not len(self.more_cols) or answer is None or not answer[0]:
            return answer
        x = np.array(h.getSolution().col_value)
        more = x[self.more_cols]
        # Whole only if exactly whole: a millionth of a £10,000 granule is a penny, and a
        # relaxation that met a ring-fence with it has not met it in whole granules.
        if np.all(np.abs(more - np.round(more)) <= _WHOLE):
            return answer
        if len(self.more_cols) == 1:
            return self._round_the_one_integer(h, lb, ub, col_ub, confirm, spare_group, more[0])
        return self._answer(h, lb, ub, col_ub, confirm, spare_group, whole=True)

    def _round_the_one_integer(
        self,
        h: highspy.Highs,
        lb: np.ndarray,
        ub: np.ndarray,
        col_ub: np.ndarray,
        confirm: bool,
        spare_group: int | None,
        relaxed: float,
    ) -> tuple[bool, float] | None:
        """With one whole-granule column m, the best answer (or any feasible one) has m at the
        floor or the ceiling of its relaxed value: the relaxation's optimum is a concave
        function of m (and its feasible m an interval containing the relaxed value), so over
        whole numbers it peaks, or is first met, next to that value. Two small LPs replace a
        branch-and-bound that costs ten times as much."""
        column = int(self.more_cols[0])
        best: tuple[bool, float] | None = (False, 0.0)
        for value in (math.floor(relaxed), math.ceil(relaxed)):
            if value < 0 or value > col_ub[column]:
                continue
            fixed = col_ub.copy()
            fixed[column] = value
            lower = self.cols_lb.copy()
            lower[column] = value
            h.changeColBounds(column, float(value), float(value))
            answer = self._answer(h, lb, ub, fixed, confirm, spare_group, whole=False, lower=lower)
            if answer is None:
                return None
            if answer[0] and (not best or not best[0] or answer[1] > best[1]):
                best = answer
        return best

    def _answer(
        self,
        h: highspy.Highs,
        lb: np.ndarray,
        ub: np.ndarray,
        col_ub: np.ndarray,
        confirm: bool,
        spare_group: int | None,
        whole: bool,
        lower: np.ndarray | None = None,
    ) -> tuple[bool, float] | None:
        if len(self.more_cols):
            kind = highspy.HighsVarType.kInteger if whole else highspy.HighsVarType.kContinuous
            h.changeColsIntegrality(
                len(self.more_cols), self.more_cols, np.array([kind] * len(self.more_cols))
            )
        verdict = self._run(h, presolve=True)
        if verdict == "infeasible" and confirm:
            verdict = self._run(h, presolve=False)
        if verdict == "infeasible":
            return (False, 0.0)
        if verdict != "optimal":
            return None
        x = np.array(h.getSolution().col_value)
        if not self._meets_every_row(
            x, lb, ub, self.cols_lb if lower is None else lower, col_ub, whole
        ):
            return None
        return (True, float(x[self.extra[spare_group]]) if spare_group is not None else 0.0)

    def _run(self, h: highspy.Highs, presolve: bool) -> str:
        left = remaining_seconds()
        limit = self.options.time_limit_seconds
        if left is not None:
            limit = left if limit is None else min(limit, left)
        if limit is not None and limit < 0.05:
            return "unknown"  # out of time: the PuLP path reports it properly
        h.setOptionValue("time_limit", float(limit) if limit is not None else _INF)
        h.setOptionValue("presolve", "on" if presolve else "off")
        with quiet_stdout(), inside_highs():
            h.run()
        status = h.getModelStatus()
        if status == _OPTIMAL:
            return "optimal"
        if status == _INFEASIBLE:
            return "infeasible"
        return "unknown"

    def _meets_every_row(
        self,
        x: np.ndarray,
        lb: np.ndarray,
        ub: np.ndarray,
        col_lb: np.ndarray,
        col_ub: np.ndarray,
        mip: bool,
    ) -> bool:
        starts, index, value = self.matrix
        activity = np.add.reduceat(value * x[index], starts[:-1]) if len(index) else lb * 0
        empty = starts[1:] == starts[:-1]
        activity = np.where(empty, 0.0, activity)
        size = np.maximum(1.0, np.abs(np.where(np.isfinite(lb), lb, 0.0)))
        slack = ROW_TOLERANCE * np.maximum(size, np.abs(np.where(np.isfinite(ub), ub, 0.0)))
        if np.any(activity < lb - slack) or np.any(activity > ub + slack):
            return False
        if np.any(x < col_lb - ROW_TOLERANCE) or np.any(x > col_ub + ROW_TOLERANCE):
            return False
        if mip and len(self.more_cols):
            more = x[self.more_cols]
            if np.any(np.abs(more - np.round(more)) > INTEGER_TOLERANCE):
                return False
        return True
