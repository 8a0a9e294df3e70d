"""Where the pots' money went: the facts a `money` or `ring_fence` reason cites.

Every figure here is shared by many cells (all the cells a set of pots may fund, in a year), so
each is worked out once per pot set and year, not per cell:

- what the pots paid for: how many benchmarked cells, and their lowest and highest coverage;
- the *next in line*: the granule leximin would buy next with more money in these pots, i.e. the
  lowest-level below-benchmark cell they may fund that no cap or area cap holds (ties by area,
  then service);
- per ring-fence and year, the fenced cells its pot paid for ranked by level, so "how many sit
  above this cell, at what coverage" is a binary search and two look-ups.

Levels are ranked by their floats (`CellFigures.level_floats`, one array for the run) and
compared exactly only where two are within a hair of each other.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

import numpy as np

from commissioning.optimise.data import AllocationData, Slot
from commissioning.optimise.reason_figures import CellFigures, Ratio, ranks_below
from commissioning.optimise.split import Payment

# (count, lowest, highest): how many cells, and their lowest and highest coverage in printed
# tenths of a percent (coverage is never negative, so its printed figure rises with it).
Spread = tuple[int, int, int]
# Levels this close (relative) are compared exactly: the floats of two levels are a few ulps
# from exact, and genuine differences are far larger.
HAIR = 1e-9
# A cell's place in line: its level (float, exact), area, service.
Place = tuple[tuple[float, Ratio], str, str]


class PotSpending:
    """What each pot paid for, what it has left, and which cell its next granule would buy."""

    def __init__(
        self,
        data: AllocationData,
        figures: CellFigures,
        payments: list[Payment],
        unspent: dict[tuple[str, str], int],
    ):
        self.data = data
        self.figures = figures
        self.unspent = unspent
        # (pot, year) -> slots it paid for; (ring-fence, year) -> pence its pot spent inside it
        self.paid: dict[tuple[str, str], set[int]] = defaultdict(set)
        self.fence_spend: dict[tuple[str, str], int] = defaultdict(int)
        fence_pot = {f.id: f.pot for f in data.scenario.ring_fences}
        slots = data.slots
        for year, i, pot, pence in payments:
            if pence > 0:
                self.paid[(pot, year)].add(i)
                for fence_id in slots[i].ring_fences:
                    if fence_pot[fence_id] == pot:
                        self.fence_spend[(fence_id, year)] += pence
        # Caps on an area's total, by area: the next in line skips a cell they hold.
        self.area_caps = {
            area: [limit.max_pence for _, limit in limits if limit.max_pence is not None]
            for area, limits in data.area_total_limits.items()
        }
        self._area_totals: dict[tuple[str, str], int] | None = None
        arrays = figures.arrays
        below = np.array(figures.below, dtype=bool).reshape(arrays.granules.shape)
        self._free = below & ~(arrays.capped & (arrays.granules >= arrays.cap))
        self._groups: dict[tuple[str, ...], np.ndarray] | None = None
        self._levels_by_year: dict[int, list[float]] = {}
        self._left: dict[tuple[tuple[str, ...], str], int] = {}
        self._spreads: dict[tuple[tuple[str, ...], str], Spread | None] = {}
        self._pot_spreads: dict[tuple[str, str], tuple[set[int], int, int]] = {}
        self._best: dict[str, dict[tuple[str, ...], tuple[Place, Slot]]] = {}
        self._next: dict[tuple[tuple[str, ...], str], Slot | None] = {}
        self._fenced: dict[
            tuple[str, str], tuple[list[float], list[int], list[int], list[int]]
        ] = {}

    def area_total(self, area: str, year: str) -> int:
        """Pence funded in an area in a year (worked out for every area when first asked)."""
        if self._area_totals is None:
            self._area_totals = _area_totals(self.data, self.figures)
        return self._area_totals[(area, year)]

    def left(self, pots: tuple[str, ...], year: str) -> int:
        """Unspent pence of these pots in the year (a pot overspent counts as none)."""
        key = (pots, year)
        found = self._left.get(key)
        if found is None:
            found = self._left[key] = sum(max(0, self.unspent[(p, year)]) for p in pots)
        return found

    # --- what the pots paid for ---------------------------------------------------------------

    def paid_spread(self, pots: tuple[str, ...], year: str) -> Spread | None:
        """How many benchmarked cells these pots paid for, and their coverage's spread (the
        spread of a union is the spread of its parts: each pot's is worked out once)."""
        key = (pots, year)
        if key not in self._spreads:
            parts = [self._pot_spread(p, year) for p in pots]
            parts = [part for part in parts if part[0]]
            cells = set().union(*(part[0] for part in parts))
            self._spreads[key] = (
                (len(cells), min(p[1] for p in parts), max(p[2] for p in parts)) if cells else None
            )
        return self._spreads[key]

    def _pot_spread(self, pot: str, year: str) -> tuple[set[int], int, int]:
        key = (pot, year)
        found = self._pot_spreads.get(key)
        if found is None:
            benchmarked, tenths = self.figures.benchmarked, self.figures.tenths
            j, width = self.figures.column[year], self.figures.width
            cells = {i for i in self.paid[key] if benchmarked[i]}
            printed = [tenths[i * width + j] for i in cells]
            found = self._pot_spreads[key] = (
                cells,
                min(printed, default=0),
                max(printed, default=0),
            )
        return found

    def _paid_cells(self, pots: tuple[str, ...], year: str) -> list[Slot]:
        indices = set().union(*(self.paid[(p, year)] for p in pots))
        slots = self.data.slots
        return [slots[i] for i in sorted(indices) if slots[i].benchmarked]

    # --- the next in line ---------------------------------------------------------------------

    def next_cell(self, pots: tuple[str, ...], year: str) -> Slot | None:
        """The lowest-level below-benchmark cell these pots may fund that no cap holds."""
        key = (pots, year)
        if key not in self._next:
            wanted = set(pots)
            best: tuple[Place, Slot] | None = None
            for group, candidate in self._best_by_pots(year).items():
                if wanted.intersection(group) and (best is None or _before(candidate[0], best[0])):
                    best = candidate
            self._next[key] = None if best is None else best[1]
        return self._next[key]

    def _best_by_pots(self, year: str) -> dict[tuple[str, ...], tuple[Place, Slot]]:
        """Per set of funding pots, the first in line among the cells with exactly those pots:
        a pot set's next cell is then the first among the groups it shares a pot with. Levels
        are compared as floats, and exactly among the cells within a hair of the lowest."""
        if year not in self._best:
            best: dict[tuple[str, ...], tuple[Place, Slot]] = {}
            figures, slots = self.figures, self.data.slots
            j = figures.column[year]
            # below benchmark (so benchmarked) and not at the cell's cap
            free = self._free[:, j].copy()
            for i in np.flatnonzero(free).tolist():
                if slots[i].area in self.area_caps and self._area_capped(slots[i], year):
                    free[i] = False
            floats = figures.level_floats()[:, j]
            for pots, members in self._pot_groups().items():
                chosen = members[free[members]]
                if not len(chosen):
                    continue
                values = floats[chosen]
                low = values.min()
                for i in chosen[values <= low + HAIR * (1 + abs(low))].tolist():
                    slot = slots[i]
                    place = (figures.level(slot, year), slot.area, slot.service)
                    held = best.get(pots)
                    if held is None or _before(place, held[0]):
                        best[pots] = (place, slot)
            self._best[year] = best
        return self._best[year]

    def _pot_groups(self) -> dict[tuple[str, ...], np.ndarray]:
        """Slots by the set of pots that may fund them (slots no pot may fund are left out)."""
        if self._groups is None:
            groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
            for slot in self.data.slots:
                if slot.pots:
                    groups[slot.pots].append(slot.index)
            self._groups = {p: np.array(m, dtype=np.int64) for p, m in groups.items()}
        return self._groups

    def _area_capped(self, slot: Slot, year: str) -> bool:
        """One more granule would break a cap on the area's total."""
        total = self.area_total(slot.area, year) + slot.granule_cost
        return any(total > most for most in self.area_caps[slot.area])

    # --- ring-fences --------------------------------------------------------------------------

    def fenced_above(self, fence_id: str, pot: str, year: str, slot: Slot) -> Spread | None:
        """How many fenced cells the fence's pot paid for sit above this cell's level, and
        their coverage's spread (the cells are ranked by level once per fence and year)."""
        floats, cells, lowest, highest = self._fenced_ranking(fence_id, pot, year)
        j = self.figures.column[year]
        value = self._year_levels(j)[slot.index]
        hair = HAIR * (1 + abs(value))
        # Above by more than a hair: a suffix of the ranking; within a hair: asked exactly.
        start = bisect.bisect_right(floats, value + hair)
        near = range(bisect.bisect_left(floats, value - hair), start)
        level = self.figures.level(slot, year) if near else None
        above = [
            k for k in near if level is not None and ranks_below(level, self._level(cells[k], year))
        ]
        printed = [self.figures.tenths[cells[k] * self.figures.width + j] for k in above]
        if start < len(floats):
            printed += [lowest[start], highest[start]]
        if not printed:
            return None
        return len(floats) - start + len(above), min(printed), max(printed)

    def _year_levels(self, j: int) -> list[float]:
        """Every slot's level as a float in the year numbered j, as a list (quicker to index
        one at a time than the array)."""
        found = self._levels_by_year.get(j)
        if found is None:
            found = self._levels_by_year[j] = self.figures.level_floats()[:, j].tolist()
        return found

    def _level(self, i: int, year: str) -> tuple[float, Ratio]:
        return self.figures.level(self.data.slots[i], year)

    def _fenced_ranking(
        self, fence_id: str, pot: str, year: str
    ) -> tuple[list[float], list[int], list[int], list[int]]:
        """Fenced cells paid by the pot, by level (as floats), with the lowest and highest
        printed coverage from each position to the end."""
        key = (fence_id, year)
        if key not in self._fenced:
            j, width = self.figures.column[year], self.figures.width
            floats = self._year_levels(j)
            tenths = self.figures.tenths
            ranked = sorted(
                (floats[s.index], s.index, tenths[s.index * width + j])
                for s in self._paid_cells((pot,), year)
                if fence_id in s.ring_fences
            )
            lowest, highest = [0] * len(ranked), [0] * len(ranked)
            low, high = None, None
            for k in range(len(ranked) - 1, -1, -1):
                printed = ranked[k][2]
                low = printed if low is None else min(low, printed)
                high = printed if high is None else max(high, printed)
                lowest[k], highest[k] = low, high
            self._fenced[key] = ([r[0] for r in ranked], [r[1] for r in ranked], lowest, highest)
        return self._fenced[key]


def _area_totals(data: AllocationData, figures: CellFigures) -> dict[tuple[str, str], int]:
    """Pence funded per area and year."""
    arrays = figures.arrays
    areas = {a.code: k for k, a in enumerate(data.scenario.areas)}
    where = np.fromiter((areas[s.area] for s in data.slots), dtype=np.int64, count=len(data.slots))
    spent = np.zeros((len(areas), len(data.years)), dtype=np.int64)
    np.add.at(spent, where, arrays.granules * arrays.cost[:, None])
    by_area = spent.tolist()
    return {
        (code, year): by_area[k][j]
        for code, k in areas.items()
        for j, year in enumerate(data.years)
    }


def _before(x: Place, y: Place) -> bool:
    """x comes before y in line: lower level, then area, then service."""
    below = ranks_below(x[0], y[0])
    if below is not None:
        return below
    return (x[1], x[2]) < (y[1], y[2])
