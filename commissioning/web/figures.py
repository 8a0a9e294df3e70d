"""Figures as people read and type them: pounds with pence, percentages, plain numbers.

The engine carries money as whole pence; people type pounds. `pence_from_text` takes what a
commissioner would write ("1,250,000", "£1250000.50") and converts it exactly with Decimal,
refusing anything that is not a whole number of pence, so no float ever touches a budget.
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

# Digits with optional thousands commas (in threes), then at most two decimals.
_POUNDS = re.compile(r"^(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]*))?$")


class FigureError(ValueError):
    """A typed figure that cannot be read; the message says why in plain words."""


def pence_from_text(text: str) -> int:
    """'1,250,000' -> 125000000; '1250000.50' -> 125000050; '£3' -> 300. Refuses negative
    amounts, fractions of a penny and anything that is not a number of pounds."""
    cleaned = text.strip().removeprefix("£").strip()
    if not cleaned:
        raise FigureError("enter an amount in pounds, e.g. 1,250,000")
    match = _POUNDS.match(cleaned)
    if match is None:
        raise FigureError(
            f"{text.strip()!r} is not an amount in pounds: use digits, optional thousands "
            "commas and at most two decimals, e.g. 1,250,000 or 1250000.50"
        )
    decimals = match.group(1)
    if decimals is not None and len(decimals) > 2:
        raise FigureError(f"{text.strip()!r} has more than two decimals: pounds go to the penny")
    if decimals == "":
        raise FigureError(f"{text.strip()!r} ends with a point: give the pence or leave it out")
    return int(Decimal(cleaned.replace(",", "")) * 100)


def decimal_from_text(text: str, what: str = "a number") -> Decimal:
    """A plain decimal (rates, percentages); the engine's models then check its range."""
    cleaned = text.strip().replace(",", "")
    if not re.match(r"^-?[0-9]+(?:\.[0-9]+)?$", cleaned):
        raise FigureError(f"{text.strip()!r} is not {what}")
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise FigureError(f"{text.strip()!r} is not {what}") from None


def whole_from_text(text: str, what: str = "a whole number") -> int:
    cleaned = text.strip().replace(",", "")
    if not re.match(r"^-?[0-9]+$", cleaned):
        raise FigureError(f"{text.strip()!r} is not {what}")
    return int(cleaned)


def pounds_text(pence: int) -> str:
    """Pence as pounds to the penny, as a form field shows them: 125000050 -> '1,250,000.50'."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}{whole:,}.{part:02d}"


def money(pence: int | None) -> str:
    """Pence shown to people: '£1,250,000.50' (always two decimals), '–' when there is none."""
    if pence is None:
        return "–"
    text = pounds_text(pence)
    return f"-£{text[1:]}" if text.startswith("-") else f"£{text}"


def signed_money(pence: int) -> str:
    return ("+" if pence > 0 else "") + money(pence)


def percent(ratio: float | Decimal | None) -> str:
    """A coverage ratio as a percentage rounded down to 0.1 % (99.96 % never shows as 100 %)."""
    if ratio is None:
        return "–"
    tenths = (Decimal(str(ratio)) * 1000).to_integral_value(rounding=ROUND_FLOOR)
    return f"{tenths / 10:.1f} %"


def number(value: float | Decimal | None) -> str:
    """Units as the CSV files hold them, without trailing zeros: 3.5, 12, 0.48."""
    if value is None:
        return "–"
    text = f"{Decimal(str(value)):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
