"""A formula grant's policy bounds per area, and the plain-words reasons they cannot all hold.

Lower bound: the largest of the minimum grant, the loss floor ⌈previous × (1 − max_loss)⌉, the
target floor ⌈target × (1 − max_below_target)⌉ and, in the later years of a commitment period,
the grant of the period's first year. Upper bound: the gains cap ⌊previous × (1 + max_gain)⌋ for
areas that had a grant last year, else none. Because every rule is a per-area bound and the pot
is one total, the checks in `infeasibilities` are complete: when they pass, the LP is feasible.
(The whole method: commissioning.optimise.formula_grant.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from commissioning.models import Area, FormulaGrant
from commissioning.money import pounds

__all__ = ["AreaBounds", "Bound", "area_bounds", "infeasibilities"]


@dataclass(frozen=True)
class Bound:
    pence: int
    rule: str  # one of "min_grant", "max_loss", "max_below_target", "commitment", "max_gain"
    words: str


@dataclass(frozen=True)
class AreaBounds:
    lower: Bound | None
    upper: Bound | None

    @property
    def low(self) -> int:
        return self.lower.pence if self.lower else 0

    def high(self, pot: int) -> int:
        return self.upper.pence if self.upper else pot


def _pct(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return f"{text}%"


def area_bounds(
    grant: FormulaGrant,
    target: int,
    previous: int | None,
    committed: int | None,
    commitment_year: str | None,
) -> AreaBounds:
    policy = grant.transition
    lows: list[Bound] = []
    if committed is not None:
        lows.append(
            Bound(
                committed,
                "commitment",
                f"the {policy.commitment_years}-year commitment made in {commitment_year}",
            )
        )
    if policy.max_loss_pct is not None and previous is not None:
        floor = math.ceil(Fraction(previous) * (100 - Fraction(policy.max_loss_pct)) / 100)
        lows.append(
            Bound(
                floor,
                "max_loss",
                f"the floor of at most {_pct(policy.max_loss_pct)} below last year's "
                f"{pounds(previous)}",
            )
        )
    if policy.max_below_target_pct is not None:
        floor = math.ceil(Fraction(target) * (100 - Fraction(policy.max_below_target_pct)) / 100)
        lows.append(
            Bound(
                floor,
                "max_below_target",
                f"at most {_pct(policy.max_below_target_pct)} below its target of {pounds(target)}",
            )
        )
    if policy.min_grant_pence is not None:
        lows.append(
            Bound(
                policy.min_grant_pence,
                "min_grant",
                "the minimum grant",
            )
        )
    lower = max(lows, key=lambda b: b.pence) if lows else None  # first listed wins a tie
    upper = None
    if policy.max_gain_pct is not None and previous:
        cap = math.floor(Fraction(previous) * (100 + Fraction(policy.max_gain_pct)) / 100)
        upper = Bound(
            cap,
            "max_gain",
            f"the gains cap of {_pct(policy.max_gain_pct)} above last year's {pounds(previous)}",
        )
    return AreaBounds(lower, upper)


_RULE_NAMES = {
    "commitment": "commitments from the period's first year",
    "max_loss": "floors relative to last year",
    "max_below_target": "floors relative to target",
    "min_grant": "the minimum grant",
}


def infeasibilities(
    label: str,
    grant: FormulaGrant,
    pot: int,
    areas: Sequence[Area],
    bounds: Mapping[str, AreaBounds],
) -> list[str]:
    """Plain-words reasons the policy cannot hold this year (complete for per-area bounds)."""
    reasons = []
    for a in areas:
        b = bounds[a.code]
        if b.lower and b.upper and b.lower.pence > b.upper.pence:
            reasons.append(
                f"{label}: {a.name} ({a.code}) must get at least {pounds(b.lower.pence)} "
                f"({b.lower.words}) but at most {pounds(b.upper.pence)} ({b.upper.words})"
            )
    if reasons:
        return reasons
    floors = sum(bounds[a.code].low for a in areas)
    if floors > pot:
        rules = [bounds[a.code].lower for a in areas]
        minimum = grant.transition.min_grant_pence
        if minimum is not None and all(r is not None and r.rule == "min_grant" for r in rules):
            reasons.append(
                f"{label}: the minimum grant of {pounds(minimum)} × {len(areas)} areas = "
                f"{pounds(floors)} exceeds the pot of {pounds(pot)}"
            )
        else:
            parts = []
            for rule, name in _RULE_NAMES.items():
                held = [r.pence for r in rules if r is not None and r.rule == rule]
                if held:
                    areas_word = "area" if len(held) == 1 else "areas"
                    parts.append(f"{name} for {len(held)} {areas_word}, {pounds(sum(held))}")
            reasons.append(
                f"{label}: the areas' floors add up to {pounds(floors)} ({'; '.join(parts)}), "
                f"more than the pot of {pounds(pot)}"
            )
    if all(bounds[a.code].upper is not None for a in areas):
        caps = sum(bounds[a.code].high(pot) for a in areas)
        if caps < pot:
            gain = grant.transition.max_gain_pct
            assert gain is not None
            reasons.append(
                f"{label}: the gains cap of {_pct(gain)} above last year lets the areas receive "
                f"at most {pounds(caps)} in total, less than the pot of {pounds(pot)}, and all of "
                "the pot must be paid out"
            )
    return reasons
