"""A cell's level function, exactly: `level(k) = min(top, a + b·k)`, and the fewest granules
that reach (or pass) a threshold, against their definitions by enumeration.

`fairness.ScoredCell` works on numerators and denominators for speed; these check it against
Fraction arithmetic and against a walk over k, on random exact values."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from commissioning.optimise.fairness import ScoredCell

fractions = st.builds(Fraction, st.integers(min_value=-3_000, max_value=3_000), st.integers(1, 997))
slopes = st.builds(Fraction, st.integers(min_value=1, max_value=500), st.integers(1, 997))


def _cell(a: Fraction, b: Fraction, top: Fraction, floor: int) -> ScoredCell:
    slot: Any = None  # the level functions never look at the slot
    return ScoredCell(slot, "2019/20", a, b, top, floor, None)


def _fewest(cell: ScoredCell, reaches: Any) -> int | None:
    """The fewest k ≥ floor whose level passes `reaches`, by walking k (None: none does)."""
    k = cell.floor
    while True:
        if reaches(min(cell.top, cell.a + cell.b * k)):
            return k
        if cell.a + cell.b * k >= cell.top:
            return None
        k += 1


@settings(max_examples=400, deadline=None)
@given(a=fractions, b=slopes, rise=fractions, floor=st.integers(0, 5), k=st.integers(0, 40))
def test_level_is_the_lower_of_top_and_the_line(
    a: Fraction, b: Fraction, rise: Fraction, floor: int, k: int
) -> None:
    top = a + abs(rise) / 7
    cell = _cell(a, b, top, floor)
    assert cell.level(k) == min(top, a + b * k)
    assert isinstance(cell.level(k), Fraction)


@settings(max_examples=400, deadline=None)
@given(
    a=fractions,
    b=slopes,
    rise=st.integers(0, 30),
    floor=st.integers(0, 5),
    t=fractions,
    on_a_step=st.booleans(),
    step=st.integers(0, 35),
)
def test_fewest_granules_to_reach_and_to_pass_a_threshold(
    a: Fraction,
    b: Fraction,
    rise: int,
    floor: int,
    t: Fraction,
    on_a_step: bool,
    step: int,
) -> None:
    top = a + b * rise + b / 3
    if on_a_step:  # thresholds the search uses sit exactly on a granule's level
        t = min(top, a + b * step)
    cell = _cell(a, b, top, floor)
    assert cell.granules_for(t) == _fewest(cell, lambda level: level >= t)
    assert cell.granules_above(t) == _fewest(cell, lambda level: level > t)
