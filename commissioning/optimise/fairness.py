"""Fairness rules: how a cell's benchmark position is measured, and what a level requires.

Every rule scores a benchmarked cell on a level from 0 (worst) to 1 (at benchmark) that rises
with the units funded. Stage one of the optimiser maximises the lowest level over all cells.
Because units come in granules, the level of a cell can only take a few values, and for a given
level the fewest granules each cell needs follow directly; so the optimum is found by a binary
search over those values, each step asking only whether the money and the rules allow it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from commissioning.optimise.data import Slot

EPSILON = 1e-9


def _gap(slot: Slot) -> float:
    return max(0.0, slot.target - slot.existing)


def scored_slots(slots: Sequence[Slot], rule: str) -> list[Slot]:
    """Cells the fairness rule scores: benchmarked ones (with a gap, for the proportional rule)."""
    if rule == "proportional_to_benchmark_cost":
        return [s for s in slots if s.benchmarked and _gap(s) > EPSILON]
    return [s for s in slots if s.benchmarked]


def shortfall_scale(slots: Sequence[Slot]) -> float:
    """Largest need-relative gap, so the equal-shortfall level runs from 0 to 1."""
    return (
        max((_gap(s) / s.need for s in slots if s.benchmarked and s.need > 0), default=1.0) or 1.0
    )


def level(slot: Slot, granules: float, rule: str, scale: float) -> float:
    """The level a cell reaches with this many granules funded (capped at 1: the benchmark)."""
    units = float(slot.granule_units) * granules
    if rule == "leximin":
        return min(1.0, (slot.existing + units) / slot.target / slot.priority)
    if rule == "proportional_to_benchmark_cost":
        return min(1.0, units / _gap(slot))
    shortfall = max(0.0, _gap(slot) - units)
    return min(1.0, 1.0 - shortfall / max(slot.need, EPSILON) / scale)


def granules_needed(slot: Slot, target_level: float, rule: str, scale: float) -> int:
    """Fewest granules that lift the cell to `target_level`."""
    g = float(slot.granule_units)
    t = min(target_level, 1.0)
    if rule == "leximin":
        units = min(t * slot.priority, 1.0) * slot.target - slot.existing
    elif rule == "proportional_to_benchmark_cost":
        units = t * _gap(slot)
    else:
        units = _gap(slot) - (1.0 - t) * scale * max(slot.need, EPSILON)
    return max(0, math.ceil(units / g - EPSILON))


def candidate_levels(slots: Sequence[Slot], rule: str, scale: float) -> np.ndarray:
    """Every level some cell can sit at, sorted: the optimum is one of them."""
    values: list[float] = [1.0]
    for slot in slots:
        most = granules_needed(slot, 1.0, rule, scale)
        values.extend(level(slot, k, rule, scale) for k in range(most + 1))
    return np.unique(np.round(np.asarray(values), 12))
