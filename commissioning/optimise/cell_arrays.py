"""A run's cells as slot × year arrays, for the tables that look at every cell.

Per-cell Python (a dict look-up, a method call, a Fraction) was most of the time spent building
the explanation tables at thousands of areas; here each fact of every cell is one array, built
once per table from the slots and the granules map. The float values are the same operations
on the same numbers as `Slot.existing_in` and `Slot.cap_in`, so the answers do not change.
"""

from __future__ import annotations

import numpy as np

from commissioning.optimise.data import AllocationData

Cell = tuple[int, str]  # (slot index, year)


def granule_matrix(data: AllocationData, granules: dict[Cell, int]) -> np.ndarray:
    """Granules per slot (rows) and year (columns): the map's keys and values read in bulk
    (it may hold cells of other years too, as a block of years' data does)."""
    width, height = len(data.years), len(data.slots)
    column = {y: j for j, y in enumerate(data.years)}
    count = len(granules)
    rows = np.fromiter((k[0] for k in granules), dtype=np.int64, count=count)
    cols = np.fromiter((column.get(k[1], -1) for k in granules), dtype=np.int64, count=count)
    values = np.fromiter(granules.values(), dtype=np.int64, count=count)
    keep = (cols >= 0) & (rows >= 0) & (rows < height)
    matrix = np.zeros((height, width), dtype=np.int64)
    if int(keep.sum()) == height * width:  # keys are unique, so every cell is there
        matrix[rows[keep], cols[keep]] = values[keep]
        return matrix
    for i in range(height):  # a cell is missing: say which, as a look-up would
        for j, y in enumerate(data.years):
            matrix[i, j] = granules[(i, y)]
    return matrix


class CellArrays:
    """Targets, granule sizes and costs per slot; granules, existing units and caps per cell."""

    def __init__(self, data: AllocationData, granules: dict[Cell, int]):
        slots, years = data.slots, data.years
        self.data = data
        self.years = years
        self.benchmarked = np.fromiter((s.benchmarked for s in slots), dtype=bool, count=len(slots))
        self.target = np.fromiter((s.target for s in slots), dtype=np.float64, count=len(slots))
        self.size = np.fromiter(
            (float(s.granule_units) for s in slots), dtype=np.float64, count=len(slots)
        )
        self.cost = np.fromiter((s.granule_cost for s in slots), dtype=np.int64, count=len(slots))
        self.granules = granule_matrix(data, granules)
        # existing_in(year): provision funded elsewhere plus selected bids' units that year
        extra = np.zeros((len(slots), len(years)), dtype=np.float64)
        # cap_in(year): the slot's cap, or a benchmark cap that bids' units lowered that year
        # (-1: no cap)
        cap = np.fromiter(
            (-1 if s.cap is None else s.cap for s in slots), dtype=np.int64, count=len(slots)
        )
        cap = np.repeat(cap[:, None], len(years), axis=1)
        for s in slots:
            if s.existing_by_year:
                by_year = dict(s.existing_by_year)
                for j, y in enumerate(years):
                    extra[s.index, j] = by_year.get(y, 0.0)
                    c = s.cap_in(y)
                    cap[s.index, j] = -1 if c is None else c
        existing = np.fromiter((s.existing for s in slots), dtype=np.float64, count=len(slots))
        self.existing = existing[:, None] + extra
        self.cap = cap
        self.capped = cap >= 0

    def area_slots(self, area: str) -> list[int]:
        """The area's slots, by number."""
        return [s.index for s in self.data.slots_by_area.get(area, [])]
