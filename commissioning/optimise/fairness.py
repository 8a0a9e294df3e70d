"""Fairness rules: how a benchmarked cell's position is measured, exactly, as a rational number.

A *cell* is one area × service in one year. Every rule scores a cell with a *level* that rises
with the granules funded and stops rising at the benchmark; the optimiser then lexicographically
maximises the sorted vector of levels (leximin). The rules differ only in the level:

    leximin                         level = min(1, (existing + funded) ÷ target) ÷ weight
    proportional_to_benchmark_cost  level = min(1, funded ÷ (target − existing)) ÷ weight
    equal_shortfall                 level = −need × weight × (target − existing − funded)⁺ ÷ target

`weight` is the service's priority (unlisted services weigh 1; a weight of 2 means the service
is lifted as if it were twice as far from benchmark). With k granules of g units funded, each
level is affine in k until it reaches the benchmark, `min(top, a + b·k)`, so for any threshold
the fewest granules that reach it follow directly: `ceil((t − a) ÷ b)`. Nothing enumerates
granules, so work grows with the number of cells, not with the size of the numbers.

All arithmetic is on `fractions.Fraction`: the levels that decide who gets a unit are exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from commissioning.fairness_rules import RULES
from commissioning.optimise.data import Slot


@lru_cache(maxsize=65_536)
def _decimal(value: float) -> Fraction:
    return Fraction(repr(value))


def exact(value: float | int | str | object) -> Fraction:
    """A float from a table as the decimal it was written as (0.1 is 1/10, not 0.1000…0555)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return _decimal(value)
    return Fraction(str(value))


@dataclass(frozen=True)
class ScoredCell:
    """One benchmarked cell and its level function `min(top, a + b·k)` for k granules funded,
    with k kept between the cell's floor and cap (in granules)."""

    slot: Slot
    year: str
    a: Fraction
    b: Fraction
    top: Fraction  # the level at the benchmark (or at the cap, if that comes first)
    floor: int
    cap: int | None

    @property
    def key(self) -> tuple[int, str]:
        return (self.slot.index, self.year)

    # The search asks these of thousands of cells per step; Fraction arithmetic normalises
    # every intermediate value (a gcd each), so they work on numerators and denominators
    # instead: the same exact answers, several times faster.
    def level(self, granules: int) -> Fraction:
        a, b, top = self.a, self.b, self.top
        ad, bd = a.denominator, b.denominator
        n = a.numerator * bd + b.numerator * granules * ad
        d = ad * bd
        if n * top.denominator >= top.numerator * d:
            return top
        return Fraction(n, d)

    def granules_for(self, threshold: Fraction) -> int | None:
        """Fewest granules whose level reaches `threshold`; None if the cell cannot."""
        tn, td = threshold.numerator, threshold.denominator
        top = self.top
        if tn * top.denominator > top.numerator * td:
            return None
        a, b = self.a, self.b
        an, ad, bn = a.numerator, a.denominator, b.numerator
        if an * td >= tn * ad or bn == 0:
            return self.floor
        # (t − a) ÷ b = (tn·ad − an·td)·bd ÷ (td·ad·bn); ceil(x) = −floor(−x)
        k = -((an * td - tn * ad) * b.denominator // (td * ad * bn))
        return max(self.floor, k)

    def granules_above(self, threshold: Fraction) -> int | None:
        """Fewest granules whose level is strictly above `threshold`; None if the cell cannot."""
        tn, td = threshold.numerator, threshold.denominator
        top = self.top
        if tn * top.denominator >= top.numerator * td:
            return None
        a, b = self.a, self.b
        an, ad = a.numerator, a.denominator
        if an * td > tn * ad:
            return self.floor
        k = (tn * ad - an * td) * b.denominator // (td * ad * b.numerator) + 1
        return max(self.floor, k)


def scored_cells(
    slots: Sequence[Slot],
    years: Sequence[str],
    rule: str,
    shapes: dict[int, SlotShape] | None = None,
) -> list[ScoredCell]:
    """The cells the rule scores: benchmarked ones (with a gap, for the proportional rule).
    `shapes`, if given, keeps each slot's year-independent part for the next block of years."""
    cells = []
    shapes = {} if shapes is None else shapes
    for slot in slots:
        if not slot.benchmarked:
            continue
        shape = shapes.get(slot.index)
        if shape is None:
            shape = shapes[slot.index] = SlotShape(slot, rule)
        for year in years:
            cell = shape.cell(year)
            if cell is not None:
                cells.append(cell)
    return cells


# A cell the rule does not score (the proportional rule: no gap to close).
_UNSCORED = (Fraction(-1), Fraction(-1), Fraction(-1))


class SlotShape:
    """What a slot's level functions share across years (only existing provision and caps
    differ by year), worked out once: exact arithmetic is the slow part of scoring cells."""

    def __init__(self, slot: Slot, rule: str):
        if rule not in RULES:  # pragma: no cover - the policy model admits only the rules
            raise ValueError(f"unknown fairness rule {rule!r}")
        self.slot = slot
        self.rule = rule
        self._by_year: dict[tuple[float, int | None], tuple[Fraction, Fraction, Fraction]] = {}
        self.target = exact(slot.target)
        self.granule = Fraction(slot.granule_units)
        self.weight = Fraction(slot.priority)
        if rule == "leximin":
            self.scale = self.target * self.weight
            self.b = self.granule / self.scale
            self.top = 1 / self.weight
        elif rule == "equal_shortfall":
            self.scale = exact(slot.need) * self.weight / self.target
            self.b = self.scale * self.granule
            self.top = Fraction(0)
        else:
            self.top = 1 / self.weight

    def cell(self, year: str) -> ScoredCell | None:
        slot = self.slot
        cap = slot.cap_in(year)
        written = slot.existing_in(year)
        # Years differ only where bids add units; the exact arithmetic is done once per
        # distinct (existing, cap), usually once per slot.
        known = self._by_year.get((written, cap))
        if known is None:
            known = self._by_year[(written, cap)] = self._shape(exact(written), cap)
        if known is _UNSCORED:
            return None
        a, b, top = known
        return ScoredCell(slot, year, a, b, top, slot.floor, cap)

    def _shape(self, existing: Fraction, cap: int | None) -> tuple[Fraction, Fraction, Fraction]:
        if self.rule == "leximin":
            a = existing / self.scale if existing else existing
            b, top = self.b, self.top
        elif self.rule == "equal_shortfall":
            a, b, top = -self.scale * max(Fraction(0), self.target - existing), self.b, self.top
        else:  # proportional_to_benchmark_cost
            if existing >= self.target:
                return _UNSCORED
            a, b, top = Fraction(0), self.granule / (self.target - existing) / self.weight, self.top
        if cap is not None:
            top = min(top, a + b * cap)
        return a, b, top
