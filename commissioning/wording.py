"""Figures written for people: levels as percentages and amounts of a service in its own unit.
(Money has its own helper, commissioning.money.pounds.)"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction


def percent(ratio: float | Fraction | None) -> str:
    """A coverage ratio as a percentage rounded down to 0.1 %, so a cell short of benchmark
    never reads as 100 %: 0.8976 -> '89.7 %'."""
    if ratio is None:
        return "-"
    value = Fraction(ratio)
    sign = "-" if value < 0 else ""
    # towards zero, so a negative level (equal_shortfall's) is not made to look worse either;
    # floor(|value| × 1000 + 10⁻⁹) in whole numbers
    scale = value.denominator * 10**9
    tenths = (abs(value.numerator) * 1000 * 10**9 + value.denominator) // scale
    return f"{sign}{tenths // 10:,}.{tenths % 10} %"


def amount(units: float | Fraction | Decimal, unit: str) -> str:
    """Units to two decimal places, trailing zeros dropped: (1.5, 'FTE') -> '1.5 FTE'."""
    text = f"{float(units):,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}"
