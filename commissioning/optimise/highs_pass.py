"""PuLP models handed to HiGHS in bulk, and answers read and checked as arrays.

PuLP 3.3's in-process HiGHS adds each column and row with its own call and reads every row
back for slacks and duals nothing here uses; `LpProblem.variables()` walks every row on each
call. Here the model goes in as arrays (the same columns and rows in the same order, so HiGHS
sees the same model), rows' coefficients are kept between passes of the same problem, and the
check that an answer meets every row is numpy over those arrays (TECH-NOTES.md has the figures).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import highspy
import numpy as np
import pulp

from commissioning.optimise.clock import building_models, inside_highs

__all__ = [
    "INTEGER_TOLERANCE",
    "ROW_TOLERANCE",
    "HiGHSFromCurrentValues",
    "HiGHSInBulk",
    "ModelArrays",
    "Problem",
    "feasible_by_arrays",
    "model_arrays",
]

# An answer's rows and bounds may miss by this much (relative to the row's size), and its
# whole numbers by this much, and still count as met.
ROW_TOLERANCE = 1e-6
INTEGER_TOLERANCE = 1e-6

_STATUS = highspy.HighsModelStatus
# PuLP 3.3's reading of HiGHS's model status (`pulp.HiGHS.findSolutionValues`): (status,
# solution status); any other status is "not solved, no solution".
_PULP_STATUS = {
    _STATUS.kOptimal: (pulp.LpStatusOptimal, pulp.LpSolutionOptimal),
    _STATUS.kInfeasible: (pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible),
    _STATUS.kUnboundedOrInfeasible: (pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible),
    _STATUS.kUnbounded: (pulp.LpStatusUnbounded, pulp.LpSolutionUnbounded),
    **{
        stopped: (pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible)
        for stopped in (
            _STATUS.kObjectiveBound,
            _STATUS.kObjectiveTarget,
            _STATUS.kInterrupt,
            _STATUS.kTimeLimit,
            _STATUS.kIterationLimit,
        )
    },
}
# Stopped by a limit with no solution at all (HiGHS then reports an infinite objective).
_STOPPED_EARLY = (_STATUS.kTimeLimit, _STATUS.kIterationLimit)


@dataclass(frozen=True)
class ModelArrays:
    """The model as passed to HiGHS: column bounds and kinds, row bounds, rows in CSR form."""

    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    starts: np.ndarray  # one more than rows: row r is index[starts[r]:starts[r + 1]]
    index: np.ndarray
    value: np.ndarray


class Problem(pulp.LpProblem):
    """PuLP's problem, with its variable list kept rather than rebuilt on every call.

    `LpProblem.variables()` walks every row to register stray variables and sorts them all
    each time it is called, and a solve calls it several times (at 1,000 areas, 0.9 s of a 4 s
    solve). Here every variable is created with `add_variable`, so the registered list is
    already complete; it is sorted by name as PuLP sorts it (HiGHS sees the same columns in
    the same order) only when a variable has been added since. The pass to HiGHS checks that
    no row uses a variable the problem does not hold.
    """

    _sorted_count = -1

    def variables(self) -> list[pulp.LpVariable]:
        if self._sorted_count != len(self._variables):
            self._variables.sort(key=lambda v: v.name)
            self._sorted_count = len(self._variables)
        return self._variables


class RowTerms:
    """Each row's columns and coefficients as arrays, kept between passes of the same problem.

    A problem is passed to HiGHS many times (the check that an allocation exists, each
    fairness check on the full model, each later stage) and most of its rows never change:
    only their bounds do (`changeRHS`), and bounds are read afresh on every pass. A row's
    arrays are reused while it has the same number of terms and the problem the same columns
    (a `Problem` re-sorts its columns only when one is added); anything else is read again.
    """

    def __init__(self, columns: int):
        self.columns = columns
        self.rows: dict[int, tuple[pulp.LpConstraint, int, np.ndarray, np.ndarray]] = {}

    @classmethod
    def of(cls, lp: pulp.LpProblem, columns: int) -> RowTerms:
        kept: RowTerms | None = getattr(lp, "commissioning_row_terms", None)
        if not isinstance(lp, Problem):
            return cls(columns)  # columns may be re-sorted behind our back: keep nothing
        if kept is None or kept.columns != columns:
            kept = cls(columns)
            lp.commissioning_row_terms = kept
        return kept

    def of_row(self, lp: pulp.LpProblem, row: pulp.LpConstraint) -> tuple[np.ndarray, np.ndarray]:
        kept = self.rows.get(id(row))
        if kept is not None and kept[0] is row and kept[1] == len(row):
            return kept[2], kept[3]
        registered = lp._variable_ids
        index: list[int] = []
        value: list[float] = []
        for var, coefficient in row.items():
            if coefficient != 0:
                if var.hash not in registered:
                    raise ValueError(f"row {row.name} uses {var.name}, not in the problem")
                index.append(var.index)
                value.append(coefficient)
        arrays = np.array(index, dtype=np.int64), np.array(value, dtype=np.float64)
        self.rows[id(row)] = (row, len(row), *arrays)
        return arrays


def model_arrays(lp: pulp.LpProblem) -> ModelArrays:
    """The model as arrays, columns in `variables()` order and rows in the problem's order;
    each variable's and row's `index` is set to its place, as PuLP's own pass sets it."""
    inf = highspy.kHighsInf
    variables = lp.variables()
    n = len(variables)
    lower = np.empty(n)
    upper = np.empty(n)
    for i, var in enumerate(variables):
        var.index = i
        lower[i] = -inf if var.lowBound is None else var.lowBound
        upper[i] = inf if var.upBound is None else var.upBound
    rows = list(lp._constraints.values())
    row_lower = np.empty(len(rows))
    row_upper = np.empty(len(rows))
    lengths = np.zeros(len(rows) + 1, dtype=np.int64)
    indices: list[np.ndarray] = []
    values: list[np.ndarray] = []
    terms = RowTerms.of(lp, n)
    for r, row in enumerate(rows):
        row.index = r
        row_index, row_value = terms.of_row(lp, row)
        indices.append(row_index)
        values.append(row_value)
        lengths[r + 1] = len(row_index)
        lb, ub = row.getLb(), row.getUb()
        row_lower[r] = -inf if lb is None else lb
        row_upper[r] = inf if ub is None else ub
    return ModelArrays(
        lower,
        upper,
        np.array([v.cat == pulp.LpInteger for v in variables], dtype=bool),
        row_lower,
        row_upper,
        np.cumsum(lengths),
        np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
        np.concatenate(values) if values else np.zeros(0, dtype=np.float64),
    )


class HiGHSInBulk(pulp.HiGHS):
    """PuLP's in-process HiGHS, with the model passed in bulk: PuLP adds each column and row
    with its own call (at 320 areas about a third of a solve's Python time); here they go in as
    arrays, in the same order, so the model HiGHS sees is the same."""

    def buildSolverModel(self, lp: pulp.LpProblem) -> None:
        with building_models():
            self._pass_in_bulk(lp)

    def callSolver(self, lp: pulp.LpProblem) -> None:
        with inside_highs():
            super().callSolver(lp)

    def _pass_in_bulk(self, lp: pulp.LpProblem) -> None:
        lp.commissioning_arrays = None
        arrays = model_arrays(lp)
        lp.commissioning_arrays = arrays
        variables = lp.variables()
        n = len(variables)
        sign = -1 if lp.sense == pulp.LpMaximize else 1
        objective = lp.objective
        model = lp.solverModel
        if n:
            cost = np.array([sign * objective.get(var, 0.0) for var in variables], dtype=np.float64)
            model.addVars(n, arrays.lower, arrays.upper)
            model.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        integer = np.flatnonzero(arrays.integer if self.mip else ()).astype(np.int32)
        if len(integer):
            model.changeColsIntegrality(
                len(integer), integer, np.full(len(integer), highspy.HighsVarType.kInteger)
            )
        rows = len(arrays.row_lower)
        if rows:
            model.addRows(
                rows,
                arrays.row_lower,
                arrays.row_upper,
                len(arrays.index),
                arrays.starts[:-1].astype(np.int32),
                arrays.index.astype(np.int32),
                arrays.value,
            )

    def actualSolve(self, lp: pulp.LpProblem) -> int:
        """PuLP's own steps, reading the answer in bulk (PuLP's reader walks every row for
        slacks and duals, which nothing here uses)."""
        self.createAndConfigureSolver(lp)
        self.buildSolverModel(lp)
        self.callSolver(lp)
        highs = lp.solverModel
        status = highs.getModelStatus()
        solution = highs.getSolution()
        for var, value in zip(lp.variables(), solution.col_value, strict=True):
            var.varValue = value
        lp_status, sol_status = _PULP_STATUS.get(
            status, (pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound)
        )
        if highs.getObjectiveValue() == math.inf and status in _STOPPED_EARLY:
            lp_status, sol_status = pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound
        lp.assignStatus(lp_status, sol_status)
        return lp_status


class HiGHSFromCurrentValues(HiGHSInBulk):
    """In-process HiGHS that starts from the variables' current values (PuLP's in-process
    HiGHS has no warm start). A later stage starts from the previous stage's answer, which is
    feasible for it by construction, so HiGHS has an incumbent before it branches at all, and
    stops at once when that answer is already within the gap."""

    def callSolver(self, lp: pulp.LpProblem) -> None:
        start = highspy.HighsSolution()
        start.col_value = [float(v.varValue or 0.0) for v in lp.variables()]
        start.value_valid = True
        lp.solverModel.setSolution(start)
        super().callSolver(lp)


def feasible_by_arrays(
    arrays: ModelArrays,
    variables: list[pulp.LpVariable],
    values: Mapping[str, float | None],
    mip: bool,
) -> bool:
    """`_feasible` on the arrays of the model as HiGHS saw it: the same tests, row by row
    (a row's size is its largest term or bound, as `row.constant` is its bound moved over)."""
    got = [values.get(v.name) for v in variables]
    if any(v is None for v in got):
        return False
    x = np.array(got, dtype=np.float64)
    if not np.isfinite(x).all():
        return False
    with np.errstate(invalid="ignore"):
        low_slack = ROW_TOLERANCE * np.maximum(1.0, np.abs(arrays.lower))
        high_slack = ROW_TOLERANCE * np.maximum(1.0, np.abs(arrays.upper))
        if (x < arrays.lower - low_slack).any() or (x > arrays.upper + high_slack).any():
            return False
    if mip and (np.abs(x[arrays.integer] - np.round(x[arrays.integer])) > INTEGER_TOLERANCE).any():
        return False
    rows = len(arrays.row_lower)
    if rows == 0:
        return True
    terms = arrays.value * x[arrays.index]
    counts = np.diff(arrays.starts)
    row_of = np.repeat(np.arange(rows), counts)
    activity = np.zeros(rows)
    np.add.at(activity, row_of, terms)
    largest = np.zeros(rows)
    np.maximum.at(largest, row_of, np.abs(terms))
    # PuLP keeps a row as `activity + constant (sense) 0`: the finite bound is -constant.
    bound = np.where(np.isfinite(arrays.row_upper), arrays.row_upper, arrays.row_lower)
    bound = np.where(np.isfinite(bound), bound, 0.0)
    slack = ROW_TOLERANCE * np.maximum(1.0, np.maximum(np.abs(bound), largest))
    over = np.isfinite(arrays.row_upper) & (activity - arrays.row_upper > slack)
    under = np.isfinite(arrays.row_lower) & (activity - arrays.row_lower < -slack)
    return not (over.any() or under.any())
