"""Lift the delivered allocation to benchmark where the rules allow it (the allocation
`benchmark_cost` prices; its module docstring gives the rules).

The cells are held as arrays (slot × year), so lifting every cell is a few array operations;
only the rules that tie a few cells together (an area's total cap, pace of change) loop, over
their own areas. The float tests are the same operations, in the same order, as the per-cell
ones they replace (`granules_to_benchmark` keeps the per-cell form for callers with one cell),
so the answers are identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from commissioning.money import pounds
from commissioning.optimise.cell_arrays import Cell, CellArrays
from commissioning.optimise.data import AllocationData, Slot

# The same tolerance as the coverage table's "at or above benchmark".
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Lift:
    """The least allocation with every reachable cell at benchmark, and what holds the rest."""

    granules: dict[Cell, int]
    unreachable: dict[Cell, str]  # cell -> the rule that holds it


def granules_to_benchmark(slot: Slot, year: str) -> int:
    """Fewest granules that bring the cell to its benchmark (existing units count)."""
    gap = slot.target - slot.existing_in(year)
    if gap <= TOLERANCE:
        return 0
    size = float(slot.granule_units)
    n = max(0, math.ceil(gap / size - TOLERANCE))
    while slot.existing_in(year) + n * size < slot.target - TOLERANCE:
        n += 1
    while n > 0 and slot.existing_in(year) + (n - 1) * size >= slot.target - TOLERANCE:
        n -= 1
    return n


class Cells(CellArrays):
    """A run's cells as slot × year arrays, with the granules that reach benchmark."""

    def to_benchmark(self) -> np.ndarray:
        """`granules_to_benchmark` of every cell."""
        target = self.target[:, None]
        size = self.size[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = target - self.existing
            n = np.maximum(0.0, np.ceil(gap / size - TOLERANCE))
        n = np.where(gap <= TOLERANCE, 0.0, n)
        line = target - TOLERANCE
        while True:
            up = (gap > TOLERANCE) & (self.existing + n * size < line)
            if not up.any():
                break
            n = n + up
        while True:
            down = (gap > TOLERANCE) & (n > 0) & (self.existing + (n - 1) * size >= line)
            if not down.any():
                break
            n = n - down
        return n.astype(np.int64)

    def as_dict(self, values: np.ndarray, into: dict[Cell, int]) -> dict[Cell, int]:
        """Write benchmarked cells' values into a copy of a granules map."""
        lifted = dict(into)
        chosen = np.flatnonzero(self.benchmarked)
        keys = [(i, y) for i in chosen.tolist() for y in self.years]
        lifted.update(zip(keys, values[chosen].ravel().tolist(), strict=True))
        return lifted


def lift_to_benchmark(data: AllocationData, granules: dict[Cell, int]) -> Lift:
    """Lift the delivered allocation to benchmark where the rules allow it."""
    cells = Cells(data, granules)
    held, lifted = lift_cells(cells)
    return Lift(cells.as_dict(lifted, granules), held)


def lift_cells(cells: Cells) -> tuple[dict[Cell, str], np.ndarray]:
    """What holds the unreachable cells, and the lifted granules as a slot × year array."""
    data = cells.data
    need = cells.to_benchmark()
    held: dict[Cell, str] = {}
    over = cells.benchmarked[:, None] & cells.capped & (need > cells.cap)
    for i, j in zip(*np.nonzero(over), strict=True):
        held[(int(i), data.years[j])] = f"the {data.slots[i].cap_rule}"
    while True:
        lifted = _lifted(cells, need, held)
        more = _area_caps(cells, lifted, held) or _pace(cells, lifted, held)
        if not more:
            return held, lifted
        held.update(more)


def _lifted(cells: Cells, need: np.ndarray, held: dict[Cell, str]) -> np.ndarray:
    data = cells.data
    years = data.years
    now = cells.granules
    lifted = np.maximum(now, need)
    for (i, y), rule in held.items():
        j = years.index(y)
        slot = data.slots[i]
        if cells.capped[i, j] and rule == f"the {slot.cap_rule}":
            # Leximin funds a capped cell to its cap before it tops anyone up to benchmark,
            # so the money must pay for that too.
            lifted[i, j] = max(now[i, j], cells.cap[i, j])
        else:
            lifted[i, j] = now[i, j]
    # A multi-year award keeps every unit bought to the award's end.
    length = data.scenario.policy.award_years
    if length > 1:
        all_years = data.scenario.financial_years
        for j in range(1, len(years)):
            if all_years.index(years[j]) % length != 0:
                lifted[:, j] = np.maximum(lifted[:, j], lifted[:, j - 1])
    lifted = np.where(cells.benchmarked[:, None], lifted, now)
    _fill_area_caps(cells, need, lifted, held)
    return lifted


def _fill_area_caps(
    cells: Cells, need: np.ndarray, lifted: np.ndarray, held: dict[Cell, str]
) -> None:
    """Within an area's total cap, money enough for all lets leximin raise the area's held
    cells too: lowest level first, one granule at a time, while the cap has room (exactly
    what leximin does when the area's cells cost the same per granule, as in London)."""
    data = cells.data
    for limit in data.scenario.policy.area_limits:
        if limit.service is not None or limit.max_pence is None:
            continue
        slots = cells.area_slots(limit.area)
        for j, year in enumerate(data.years):
            room = limit.max_pence - sum(int(lifted[i, j] * cells.cost[i]) for i in slots)
            rising = [
                i for i in slots if (i, year) in held and held[(i, year)].startswith("the area cap")
            ]
            while rising:
                lowest = min(rising, key=lambda i: (_coverage(cells, i, j, lifted), i))
                n = int(lifted[lowest, j])
                if (
                    cells.cost[lowest] > room
                    or (cells.capped[lowest, j] and n >= cells.cap[lowest, j])
                    or n >= need[lowest, j]
                ):
                    rising.remove(lowest)
                    continue
                lifted[lowest, j] = n + 1
                room -= int(cells.cost[lowest])


def _coverage(cells: Cells, i: int, j: int, lifted: np.ndarray) -> float:
    slot = cells.data.slots[i]
    units = slot.existing_in(cells.years[j]) + int(lifted[i, j]) * float(slot.granule_units)
    return min(1.0, units / slot.target) / float(slot.priority)


def _area_caps(cells: Cells, lifted: np.ndarray, held: dict[Cell, str]) -> dict[Cell, str]:
    data = cells.data
    more: dict[Cell, str] = {}
    for limit in data.scenario.policy.area_limits:
        if limit.service is not None or limit.max_pence is None:
            continue
        slots = cells.area_slots(limit.area)
        for j, year in enumerate(data.years):
            total = sum(int(lifted[i, j]) * int(cells.cost[i]) for i in slots)
            if total <= limit.max_pence:
                continue
            for i in slots:
                if lifted[i, j] > cells.granules[i, j] and (i, year) not in held:
                    more[(i, year)] = f"the area cap of {pounds(limit.max_pence)} a year"
    return more


def _pace(cells: Cells, lifted: np.ndarray, held: dict[Cell, str]) -> dict[Cell, str]:
    """Pin every lifted cell of an area whose lifted totals break the pace of change (the
    rows of model.define_pace_of_change, evaluated on the lifted allocation)."""
    data = cells.data
    pct = data.scenario.policy.max_change_pct
    if pct is None:
        return {}
    share = float(pct) / 100
    more: dict[Cell, str] = {}
    for area in data.scenario.areas:
        slots = cells.area_slots(area.code)
        before: float = sum(data.slots[i].previous * data.slots[i].granule_cost for i in slots)
        if not before:
            continue
        broken = False
        for j in range(len(data.years)):
            now = sum(int(lifted[i, j]) * int(cells.cost[i]) for i in slots)
            if now > (1 + share) * before + 1e-6 or now < (1 - share) * before - 1e-6:
                broken = True
            before = now
        if broken:
            for i in slots:
                for j, year in enumerate(data.years):
                    if lifted[i, j] > cells.granules[i, j] and (i, year) not in held:
                        more[(i, year)] = f"the pace-of-change limit of {pct}% a year"
    return more
