"""Money is carried as whole pence (int); these helpers only format and parse it for people."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation


def pounds(pence: int) -> str:
    """Format pence as pounds for people: 216500000 -> '£2,165,000'; pence shown only if present."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    text = f"{sign}£{whole:,}"
    return f"{text}.{part:02d}" if part else text


def pence_from_pounds(text: str | int | float | Decimal) -> int:
    """Parse a pound amount exactly ('2,165,000.50' -> 216500050); reject fractions of a penny."""
    try:
        value = Decimal(str(text).replace(",", "").replace("£", "").strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of money: {text!r}") from exc
    pence = value * 100
    if pence != pence.to_integral_value(rounding=ROUND_HALF_EVEN):
        raise ValueError(f"{text!r} is not a whole number of pence")
    return int(pence)
