"""Cells' level functions as arrays, for the threshold search: floats first, exact where it counts.

The search asks the same questions of thousands of cells at each step (fewest granules for a
threshold, the lowest level reached, the next level above one). Fractions answer them exactly
but slowly; here numpy answers in floats, and every answer a float could get wrong (a value
within a hair of a whole number of granules, or of a tie for the lowest level) is recomputed
with the cell's exact `Fraction` function. So the results are exact, and the cost is an array
operation per step rather than Python arithmetic per cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction

import numpy as np

from commissioning.optimise.fairness import ScoredCell

# Floats within this (relative) of a whole number of granules or of each other are settled
# exactly; genuine differences between levels are far larger (targets are at most 10,000 units).
HAIR = 1e-9


class LevelArrays:
    def __init__(self, cells: Sequence[ScoredCell]):
        self.cells = list(cells)
        self.a = np.array([float(c.a) for c in cells], dtype=np.float64)
        self.b = np.array([float(c.b) for c in cells], dtype=np.float64)
        self.top = np.array([float(c.top) for c in cells], dtype=np.float64)
        self.floor = np.array([c.floor for c in cells], dtype=np.int64)
        self.flat = self.b <= 0  # a level that never moves: always settled exactly
        # Most cells share their top (the benchmark, or its priority weighting): questions
        # about tops are asked once per distinct top, not once per cell.
        ids: dict[Fraction, int] = {}
        self.top_id = np.array([ids.setdefault(c.top, len(ids)) for c in cells], dtype=np.int64)
        self.distinct_tops = list(ids)

    def _steps(
        self, t: Fraction, idx: np.ndarray
    ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """Granules to t as floats, which cells a float could get the granules wrong for, and
        which it could get wrong only whether t is within reach (t within a hair of the top)."""
        tf = float(t)
        a, b, top = self.a[idx], self.b[idx], self.top[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = (tf - a) / b
        doubtful = (
            self.flat[idx]
            | (np.abs(x - np.round(x)) <= HAIR * (1 + np.abs(x)))
            | (np.abs(tf - a) <= HAIR * (1 + abs(tf)))
        )
        near_top = np.abs(tf - top) <= HAIR * (1 + abs(tf))
        return tf, x, doubtful, near_top & ~doubtful

    def granules_for(self, t: Fraction, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fewest granules reaching t per cell, and whether the cell can reach t at all."""
        tf, x, doubtful, near_top = self._steps(t, idx)
        k = np.where(tf <= self.a[idx], 0.0, np.ceil(x))
        possible = tf <= self.top[idx]
        self._settle_reach(possible, near_top, idx, lambda top: t <= top)
        return self._settle(k, possible, doubtful, idx, lambda c: c.granules_for(t))

    def granules_above(self, t: Fraction, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fewest granules strictly above t per cell, and whether the cell can pass t at all."""
        tf, x, doubtful, near_top = self._steps(t, idx)
        k = np.where(tf < self.a[idx], 0.0, np.floor(x) + 1)
        possible = tf < self.top[idx]
        self._settle_reach(possible, near_top, idx, lambda top: t < top)
        return self._settle(k, possible, doubtful, idx, lambda c: c.granules_above(t))

    def _settle_reach(
        self,
        possible: np.ndarray,
        near_top: np.ndarray,
        idx: np.ndarray,
        within: Callable[[Fraction], bool],
    ) -> None:
        """Whether t is within reach, exactly, where only that was in doubt: one comparison per
        distinct top (most cells share theirs: the benchmark, or its priority weighting)."""
        where = np.flatnonzero(near_top)
        if not len(where):
            return
        ids = self.top_id[idx[where]]
        for top in np.unique(ids):
            possible[where[ids == top]] = within(self.distinct_tops[top])

    def _settle(
        self,
        k: np.ndarray,
        possible: np.ndarray,
        doubtful: np.ndarray,
        idx: np.ndarray,
        exact: Callable[[ScoredCell], int | None],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Float granules as whole numbers within the floors, with the doubtful ones replaced
        by the cell's exact answer (None: the cell cannot get there)."""
        k = np.maximum(np.nan_to_num(k, nan=0.0, posinf=0.0), 0).astype(np.int64)
        k = np.maximum(k, self.floor[idx])
        for j in np.flatnonzero(doubtful):
            answer = exact(self.cells[idx[j]])
            possible[j] = answer is not None
            k[j] = 0 if answer is None else answer
        return k, possible

    def levels(self, k: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.minimum(self.top[idx], self.a[idx] + self.b[idx] * k)

    def lowest(self, k: np.ndarray, idx: np.ndarray) -> Fraction:
        """The exact lowest level among these cells with these granules."""
        approx = self.levels(k, idx)
        floor = approx.min()
        near = np.flatnonzero(approx <= floor + HAIR * (1 + abs(floor)))
        return min(self.cells[idx[j]].level(int(k[j])) for j in near)

    def at(self, t: Fraction, k: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Which cells sit exactly at level t with these granules."""
        tf = float(t)
        approx = self.levels(k, idx)
        hit = np.zeros(len(idx), dtype=bool)
        for j in np.flatnonzero(np.abs(approx - tf) <= HAIR * (1 + abs(tf))):
            hit[j] = self.cells[idx[j]].level(int(k[j])) == t
        return hit

    def at_top(self, k: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Which cells are at their top (cannot rise further) with these granules."""
        approx = self.a[idx] + self.b[idx] * k
        top = self.top[idx]
        result = approx >= top
        for j in np.flatnonzero(np.abs(approx - top) <= HAIR * (1 + np.abs(top))):
            cell = self.cells[idx[j]]
            result[j] = cell.level(int(k[j])) >= cell.top
        return result

    def lowest_top(self, idx: np.ndarray) -> Fraction:
        approx = self.top[idx]
        floor = approx.min()
        near = idx[approx <= floor + HAIR * (1 + abs(floor))]
        return min(self.distinct_tops[top] for top in np.unique(self.top_id[near]))

    def highest_top(self, idx: np.ndarray) -> Fraction:
        approx = self.top[idx]
        ceiling = approx.max()
        near = idx[approx >= ceiling - HAIR * (1 + abs(ceiling))]
        return max(self.distinct_tops[top] for top in np.unique(self.top_id[near]))
