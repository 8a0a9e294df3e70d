"""The exact figures the reasons print and compare, in whole-number ratios rather than `Fraction`.

A cell's coverage, shortfall and fairness level are rational numbers, and the sentences must
print them exactly (a cell short of benchmark never reads as 100 %). `Fraction` does that, but
every operation normalises by a gcd and type-checks its operands, which at thousands of cells was
most of the time spent explaining a run. Here a rational is a pair of ints `(numerator,
denominator)` with a positive denominator, never normalised:

- printing needs only the value: `percent_text` computes exactly what `wording.percent` does,
  and `float` of a pair is `numerator / denominator`, which Python rounds correctly, so both
  give the same text and the same float as the `Fraction` would;
- comparing uses the float first (correct rounding is monotonic: a < b gives float(a) <=
  float(b)) and cross-multiplied ints only where two floats are equal;
- whole columns (every cell's coverage, every cell's level) are worked out with numpy, and
  exactly in Python ints only where numpy could not hold the numbers (`CellFigures`) or
  where two levels are within a hair of each other (`level_floats`).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from commissioning.models import Service
from commissioning.money import pounds
from commissioning.optimise.cell_arrays import CellArrays
from commissioning.optimise.data import AllocationData, Slot
from commissioning.optimise.fairness import ScoredCell, SlotShape
from commissioning.wording import amount

Ratio = tuple[int, int]  # (numerator, denominator), denominator > 0, not normalised

TOLERANCE = 1e-9
# A cell the fairness rule does not score ranks above every scored one.
UNSCORED: Ratio = (10**9, 1)

_DECIMALS: dict[float, Ratio] = {}


def ratio(value: float | Decimal) -> Ratio:
    """A float from a table as the decimal it was written as (0.1 is 1/10, as
    `fairness.exact` reads it); a Decimal exactly."""
    if isinstance(value, Decimal):
        return value.as_integer_ratio()
    found = _DECIMALS.get(value)
    if found is None:
        if len(_DECIMALS) > 65_536:
            _DECIMALS.clear()
        text = repr(value)
        if "e" in text:  # 1e-05, 1e+16: rare, and Decimal reads them right
            found = Decimal(text).as_integer_ratio()
        else:  # "123.4567": the digits over a power of ten, not reduced
            whole, _, decimals = text.partition(".")
            found = (int(whole + decimals), 10 ** len(decimals))
        _DECIMALS[value] = found
    return found


def _tenths(value: Ratio) -> int:
    """floor(|value| × 1000 + 10⁻⁹): the tenths of a percent `wording.percent` prints."""
    num, den = value
    return (abs(num) * 10**12 + den) // (den * 10**9)


def percent_text(value: Ratio) -> str:
    """`wording.percent` of the ratio, without building a Fraction."""
    sign = "-" if value[0] < 0 else ""
    return percent_from_tenths(_tenths(value), sign)


def percent_from_tenths(count: int, sign: str = "") -> str:
    return f"{sign}{count // 10:,}.{count % 10} %"


def as_float(value: Ratio) -> float:
    return value[0] / value[1]


def ranks_below(x: tuple[float, Ratio], y: tuple[float, Ratio]) -> bool | None:
    """Whether x < y, given each with its float: None when they are equal exactly."""
    if x[0] != y[0]:
        return x[0] < y[0]
    left, right = x[1][0] * y[1][1], y[1][0] * x[1][1]
    return None if left == right else left < right


class Printed:
    """Percentages and sums of money as the sentences print them, each written once: cells
    share most of them (coverage to 0.1 %, shortfalls in whole granules)."""

    def __init__(self) -> None:
        self._percents: dict[int, str] = {}
        self._pounds: dict[int, str] = {}

    def percent(self, tenths: int) -> str:
        text = self._percents.get(tenths)
        if text is None:
            text = self._percents[tenths] = percent_from_tenths(tenths)
        return text

    def pounds(self, pence: int) -> str:
        text = self._pounds.get(pence)
        if text is None:
            text = self._pounds[pence] = pounds(pence)
        return text


class Granule:
    """A service's granule: its size as a ratio, its cost, and its words."""

    def __init__(self, service: Service):
        self.num, self.den = service.granularity.as_integer_ratio()
        self.cost = service.granule_cost_pence
        self.unit = service.unit
        self.words = amount(service.granularity, service.unit)


class Short(NamedTuple):
    """How far a cell is from benchmark: its coverage, the units and granules short."""

    coverage: Ratio
    units: Ratio
    granules: int
    pence: int


def shortage(target: Ratio, total: Ratio, granularity: Ratio, granule_cost: int) -> Short:
    """Coverage and shortfall of a cell with `total` units against `target`, exactly."""
    tn, td = target
    num, den = total
    units = (max(0, tn * den - num * td), td * den)
    # ceil(units ÷ granularity), at least one granule
    count = max(1, -((-units[0] * granularity[1]) // (units[1] * granularity[0])))
    return Short((num * td, den * tn), units, count, count * granule_cost)


class CellFigures:
    """Granules, coverage and fairness levels of a run's cells, a list per fact indexed by cell
    number (`cell`): every cell's coverage in one pass over arrays, levels when asked for.

    Coverage is (existing + granule × n) ÷ target with each float read as its decimal. Where
    those whole numbers are small (as with targets and provision written to a few decimals)
    numpy works them out exactly in int64: the float of a ratio of two ints below 2^53 is the
    correctly rounded quotient, the same float Python's int division gives. Any cell whose
    numbers could not be held exactly is worked out in Python ints instead.
    """

    def __init__(
        self,
        data: AllocationData,
        granules: dict[tuple[int, str], int],
        scored: Iterable[ScoredCell] | None,
    ):
        slots, years = data.slots, data.years
        self.rule = data.scenario.policy.fairness_rule
        self.width = len(years)
        self.column = {y: j for j, y in enumerate(years)}
        # The fairness rule's level functions: the caller's (placed by cell number when first
        # needed), or scored on demand per slot.
        self._given = scored
        self._by_cell: list[ScoredCell | None] | None = None
        self.shapes: dict[int, SlotShape] = {}
        self.targets: list[Ratio] = [ratio(s.target) for s in slots]
        sizes: dict[Decimal, Ratio] = {}
        self.steps: list[Ratio] = [
            sizes.get(s.granule_units) or sizes.setdefault(s.granule_units, ratio(s.granule_units))
            for s in slots
        ]
        arrays = self.arrays = CellArrays(data, granules)
        n = arrays.granules
        self.n: list[int] = n.ravel().tolist()  # granules delivered
        # Short of benchmark, by the same float test as the coverage table and the checks.
        below = arrays.existing + arrays.size[:, None] * n < arrays.target[:, None] - TOLERANCE
        self.below: list[bool] = (below & arrays.benchmarked[:, None]).ravel().tolist()
        self.benchmarked: list[bool] = arrays.benchmarked.tolist()  # by slot
        # at its cap this year (the benchmark cap or an area limit, Slot.cap_in)
        self.at_cap: list[bool] = (arrays.capped & (n >= arrays.cap)).ravel().tolist()
        # Existing (and bid) units per cell, as decimals.
        values, where = np.unique(arrays.existing, return_inverse=True)
        decimals = [ratio(v) for v in values.tolist()]
        self.existing: list[Ratio] = [decimals[k] for k in where.ravel().tolist()]
        self.long_cells = 0  # benchmarked cells whose numbers were too long for int64
        self.tenths, self.coverage_ratio = self._coverage(arrays, decimals, where.reshape(n.shape))
        self.levels: list[tuple[float, Ratio] | None] = [None] * (len(slots) * len(years))
        self._slots = slots
        self._floats: np.ndarray | None = None

    def cell(self, slot: Slot, year: str) -> int:
        return slot.index * self.width + self.column[year]

    def total(self, c: int) -> Ratio:
        """Existing, bid and funded units of the cell numbered c, exactly."""
        en, ed = self.existing[c]
        gn, gd = self.steps[c // self.width]
        return (en * gd + gn * self.n[c] * ed, ed * gd)

    def _coverage(
        self, arrays: CellArrays, decimals: list[Ratio], where: np.ndarray
    ) -> tuple[list[int], list[float]]:
        """Every cell's coverage as printed (tenths of a percent) and as a float; a slot with
        no benchmark is at 0."""
        big = 2**62
        fits = np.array([d < big and 0 <= n < big for n, d in decimals], dtype=bool)
        en = np.array([n if ok else 0 for (n, _), ok in zip(decimals, fits, strict=True)])
        ed = np.array([d if ok else 1 for (_, d), ok in zip(decimals, fits, strict=True)])
        parts = [
            (tn, td, gn, gd) if tn > 0 and max(tn, td) < big and max(gn, gd) < big else (0, 1, 0, 1)
            for (tn, td), (gn, gd) in zip(self.targets, self.steps, strict=True)
        ]
        tn, td, gn, gd = (np.array(p, dtype=np.int64)[:, None] for p in zip(*parts, strict=True))
        en, ed = en.astype(np.int64)[where], ed.astype(np.int64)[where]
        n = arrays.granules
        # Checked in floats (with room to spare) before the ints are multiplied, so no int64
        # product can wrap round.
        cn_size = (en * 1.0 * gd + gn * 1.0 * n * ed) * td
        cd_size = ed * 1.0 * gd * tn
        exact = fits[where] & (tn > 0) & (cn_size < 2.0**52) & (cd_size < 2.0**32)
        cn = np.where(exact, (en * gd + gn * n * ed) * td, 0)
        cd = np.where(exact, ed * gd * tn, 1)
        # floor(cn ÷ cd × 1000 + 10⁻⁹), as wording.percent: the tenths below, plus one when
        # the remainder is within 10⁻⁹ of a whole tenth
        whole, left = np.divmod(cn * 1000, cd)
        tenths = (whole + ((cd - left) * 10**9 <= cd)).ravel().tolist()
        shares = (cn / cd).ravel().tolist()
        benchmarked = np.repeat(arrays.benchmarked, self.width).tolist()
        for c in np.flatnonzero(~exact.ravel()).tolist():
            if benchmarked[c]:  # numbers too long for int64: Python's ints
                self.long_cells += 1
                num, den = self.total(c)
                tn_, td_ = self.targets[c // self.width]
                value = (num * td_, den * tn_)
                tenths[c], shares[c] = _tenths(value), value[0] / value[1]
            else:
                tenths[c], shares[c] = 0, 0.0
        return tenths, shares

    def level(self, slot: Slot, year: str, c: int | None = None) -> tuple[float, Ratio]:
        """The fairness rule's level of a cell with its delivered granules, as a float and
        exactly (a cell the rule does not score is at the top of every ranking); c: the
        cell's number, if the caller has it."""
        if c is None:
            c = self.cell(slot, year)
        found = self.levels[c]
        if found is None:
            scored = self._scored(slot, year)
            value = UNSCORED if scored is None else _level(scored, self.n[c])
            found = self.levels[c] = (value[0] / value[1], value)
        return found

    def level_floats(self) -> np.ndarray:
        """Every cell's level as a float (slot × year), a hair from exact: for rankings that
        settle near-ties with `level` (the float of a + b·k can be an ulp or two off)."""
        if self._floats is None:
            # a cell the rule does not score: level UNSCORED whatever its granules
            unscored = float(UNSCORED[0])
            a = [unscored] * len(self.levels)
            b = [0.0] * len(self.levels)
            top = [unscored] * len(self.levels)
            # A slot's years usually share their Fractions (fairness.SlotShape): each is turned
            # into a float once, when it differs from the previous cell's.
            last: ScoredCell | None = None
            fa = fb = ft = 0.0
            for c, cell in enumerate(self._cells()):
                if cell is None:
                    continue
                if last is None or not (
                    cell.a is last.a and cell.b is last.b and cell.top is last.top
                ):
                    fa = cell.a.numerator / cell.a.denominator
                    fb = cell.b.numerator / cell.b.denominator
                    ft = cell.top.numerator / cell.top.denominator
                    last = cell
                a[c], b[c], top[c] = fa, fb, ft
            n = np.array(self.n, dtype=np.float64)
            level = np.minimum(np.array(top), np.array(a) + np.array(b) * n)
            self._floats = level.reshape(-1, self.width)
        return self._floats

    def _cells(self) -> list[ScoredCell | None]:
        """The scored cell (or None) of every cell number."""
        if self._by_cell is None:
            if self._given is None:
                self._by_cell = [self._shape_cell(s, y) for s in self._slots for y in self.column]
            else:
                self._by_cell = [None] * len(self.levels)
                width, column = self.width, self.column
                for cell in self._given:
                    self._by_cell[cell.slot.index * width + column[cell.year]] = cell
        return self._by_cell

    def _scored(self, slot: Slot, year: str) -> ScoredCell | None:
        return self._cells()[self.cell(slot, year)]

    def _shape_cell(self, slot: Slot, year: str) -> ScoredCell | None:
        if not slot.benchmarked:
            return None
        shape = self.shapes.get(slot.index)
        if shape is None:
            shape = self.shapes[slot.index] = SlotShape(slot, self.rule)
        return shape.cell(year)


def _level(cell: ScoredCell, k: int) -> Ratio:
    """`cell.level(k)` = min(top, a + b·k), in ints."""
    a, b, top = cell.a, cell.b, cell.top
    an, ad, bn, bd = a.numerator, a.denominator, b.numerator, b.denominator
    value = (an * bd + bn * k * ad, ad * bd)
    tn, td = top.numerator, top.denominator
    return value if value[0] * td <= tn * value[1] else (tn, td)


__all__ = [
    "UNSCORED",
    "CellFigures",
    "Granule",
    "Printed",
    "Ratio",
    "Short",
    "as_float",
    "percent_text",
    "ranks_below",
    "ratio",
    "shortage",
]
