"""Fairness rules: how a cell's benchmark position is measured, and what a level requires.

Every rule scores a benchmarked cell (an area × service in one year) on a level from 0 (worst)
to 1 (at benchmark) that rises with the units funded. Stage one of the optimiser maximises the
lowest level over all cells. Because units come in granules, the level of a cell can only take a
few values, and for a given level the fewest granules each cell needs follow directly; so the
optimum is found by a binary search over those values, each step asking only whether the money
and the rules allow it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from commissioning.optimise.data import Slot

EPSILON = 1e-9

ScoredCell = tuple[Slot, str]  # a slot in one year


def gap(slot: Slot, year: str) -> float:
    """Units between existing provision and the benchmark in a year (never negative)."""
    return max(0.0, slot.target - slot.existing_in(year))


def scored_cells(slots: Sequence[Slot], years: Sequence[str], rule: str) -> list[ScoredCell]:
    """Cells the fairness rule scores: benchmarked ones (with a gap, for the proportional rule)."""
    cells = [(s, y) for s in slots if s.benchmarked for y in years]
    if rule == "proportional_to_benchmark_cost":
        return [(s, y) for s, y in cells if gap(s, y) > EPSILON]
    return cells


def shortfall_scale(cells: Sequence[ScoredCell]) -> float:
    """Largest need-relative gap, so the equal-shortfall level runs from 0 to 1."""
    return max((gap(s, y) / s.need for s, y in cells if s.need > 0), default=1.0) or 1.0


def level(slot: Slot, year: str, granules: float, rule: str, scale: float) -> float:
    """The level a cell reaches with this many granules funded (capped at 1: the benchmark)."""
    units = float(slot.granule_units) * granules
    if rule == "leximin":
        return min(1.0, (slot.existing_in(year) + units) / slot.target / slot.priority)
    if rule == "proportional_to_benchmark_cost":
        return min(1.0, units / gap(slot, year))
    shortfall = max(0.0, gap(slot, year) - units)
    return min(1.0, 1.0 - shortfall / max(slot.need, EPSILON) / scale)


def granules_needed(slot: Slot, year: str, target_level: float, rule: str, scale: float) -> int:
    """Fewest granules that lift the cell to `target_level`."""
    g = float(slot.granule_units)
    t = min(target_level, 1.0)
    if rule == "leximin":
        units = min(t * slot.priority, 1.0) * slot.target - slot.existing_in(year)
    elif rule == "proportional_to_benchmark_cost":
        units = t * gap(slot, year)
    else:
        units = gap(slot, year) - (1.0 - t) * scale * max(slot.need, EPSILON)
    return max(0, math.ceil(units / g - EPSILON))


def candidate_levels(cells: Sequence[ScoredCell], rule: str, scale: float) -> np.ndarray:
    """Every level some cell can sit at, sorted: the optimum is one of them."""
    values: list[float] = [1.0]
    seen: set[tuple[int, float]] = set()
    for slot, year in cells:
        key = (slot.index, slot.existing_in(year))
        if key in seen:
            continue  # the same slot with the same existing units has the same levels
        seen.add(key)
        most = granules_needed(slot, year, 1.0, rule, scale)
        values.extend(level(slot, year, k, rule, scale) for k in range(most + 1))
    return np.unique(np.round(np.asarray(values), 12))
