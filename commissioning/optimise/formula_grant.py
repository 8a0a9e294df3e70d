"""Formula grants: need-based targets to the penny, then a transition policy solved as an LP.

For each formula grant, year by year in order (each year's damping is measured from the previous
year's final grants, or from `previous` for the first year):

1. **Pot.** The grant pot's money after fund splits, less fixed commitments charged to it. All of
   it is paid out to the areas the pot may fund.
2. **Target.** The pot shared by the need index (the grant's own need weights, else the
   scenario's), exactly, to the penny, by the *largest-remainder rule*: each area first gets the
   whole pence of its exact quota; the pence left over go one each to the areas with the largest
   fractional remainders, ties to the lower area code. With no transition policy the grant is
   this target.
3. **Policy bounds** per area in whole pence. Lower: the largest of the minimum grant, the loss
   floor ⌈previous × (1 − max_loss)⌉, the target floor ⌈target × (1 − max_below_target)⌉, and in
   the later years of a commitment period the grant of the period's first year. Upper: the gains
   cap ⌊previous × (1 + max_gain)⌋ for areas that had a grant last year, else none.
4. **Cheap checks** in exact arithmetic: an area whose floor is above its cap, floors adding up to
   more than the pot, caps adding up to less. Because every rule is a per-area bound and the pot
   is one total, these checks are complete: when they pass, the LP is feasible.
5. **LP** (PuLP + HiGHS), one continuous variable per area in pence. The distance minimised is the
   total absolute distance from target, Σ|grant − target|. Each area's *anchor* is its nearest
   policy-compliant grant (its target clamped to its bounds); the anchors sum to the pot plus or
   minus a residual. Every allocation that moves areas from their anchors only in the residual's
   direction has the least total distance, Σ|anchor − target| + |residual|, and no other does;
   there are usually many, so the LP picks the one that spreads the residual **in proportion to
   target**: it minimises z subject to |grant − anchor| ≤ z × target for every area (each area
   gives up, or receives, the same % of its target unless its bound stops it first). That
   allocation is unique. When the residual is zero the anchors are the answer and no LP is run.
6. **Rounding** to whole pence summing exactly to the pot: each area keeps the whole pence of its
   LP value, and the pence left over go to the largest fractional remainders (ties to the lower
   area code), never past an area's bounds.

Infeasible policies raise `InfeasibleScenario` whose reasons name the rules in words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

import polars as pl

from commissioning.errors import InfeasibleScenario
from commissioning.models import Area, FormulaGrant, NeedWeight, Scenario
from commissioning.models.grants import split_pot_amounts
from commissioning.money import pounds
from commissioning.optimise.grant_bounds import AreaBounds, area_bounds, infeasibilities
from commissioning.results import GRANTS_SCHEMA

__all__ = [
    "GrantYear",
    "allocate_formula_grant",
    "allocate_formula_grants",
    "effective_pot_amounts",
    "grants_table",
    "largest_remainder",
    "need_shares",
]

_Key = TypeVar("_Key", str, int)


# --- fund splits and pots -------------------------------------------------------------------


def effective_pot_amounts(scenario: Scenario) -> dict[str, dict[str, int]]:
    """Every pot's money per year (pence) after the scenario's fund splits, before commitments."""
    amounts, issues = split_pot_amounts(
        scenario.pots, scenario.fund_splits, scenario.financial_years
    )
    if issues:  # a validated scenario has none; kept so a bad call cannot go unnoticed
        raise InfeasibleScenario([issue.message for issue in issues])
    return amounts


# --- exact shares ---------------------------------------------------------------------------


def need_shares(areas: Sequence[Area], weights: Sequence[NeedWeight]) -> dict[str, Fraction]:
    """Exact need share per area (summing to 1): the weighted mean of each indicator's shares.

    The same formula as `commissioning.need.need_index`, in exact rational arithmetic so that
    targets are reproducible to the penny. Indicators with weight 0 or a zero total are left out
    and the remaining weights renormalised.
    """
    used = []
    for w in weights:
        total = sum((Fraction(a.indicators[w.indicator]) for a in areas), Fraction(0))
        if w.weight > 0 and total > 0:
            used.append((w.indicator, Fraction(w.weight), total))
    weight_sum = sum((w for _, w, _ in used), Fraction(0))
    if weight_sum == 0:
        raise InfeasibleScenario(["the need formula gives every area zero need"])
    return {
        a.code: sum(
            (w / weight_sum * Fraction(a.indicators[ind]) / total for ind, w, total in used),
            Fraction(0),
        )
        for a in areas
    }


def largest_remainder(total: int, shares: Mapping[_Key, Fraction]) -> dict[_Key, int]:
    """Share `total` pence in proportion to `shares`, exactly, by the largest-remainder rule.

    Each key gets the whole part of its quota total × share / Σ shares; the pence left over go one
    each to the largest fractional remainders, ties broken by the lower key.
    """
    share_sum = sum(shares.values(), Fraction(0))
    if share_sum <= 0:
        raise ValueError("shares must have a positive total")
    quotas = {k: Fraction(total) * s / share_sum for k, s in shares.items()}
    result = {k: math.floor(q) for k, q in quotas.items()}
    left = total - sum(result.values())
    for k in sorted(quotas, key=lambda k: (-(quotas[k] - result[k]), k))[:left]:
        result[k] += 1
    return result


# --- public API -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantYear:
    """One year of one formula grant: the pot, and per area its target, bounds and grant."""

    grant: str
    pot: str
    year: str
    pot_pence: int
    shares: dict[str, Fraction]
    targets: dict[str, int]
    allocations: dict[str, int]
    previous: dict[str, int] | None
    lower: dict[str, int]
    upper: dict[str, int]
    binding: dict[str, str | None]  # rule whose bound holds the grant away from target, if any


def allocate_formula_grant(scenario: Scenario, grant: FormulaGrant) -> list[GrantYear]:
    """Solve one formula grant for every scenario year, in order."""
    # The LP's module (and with it pulp and HiGHS) loads here, not at the top: `validate` imports
    # this module for effective_pot_amounts and must not load the solver.
    from commissioning.optimise.grant_lp import round_within, spread

    pot = scenario.pot(grant.pot)
    areas = sorted(
        (a for a in scenario.areas if pot.eligible_areas is None or a.code in pot.eligible_areas),
        key=lambda a: a.code,
    )
    weights = grant.need_weights or scenario.policy.need_weights
    shares = need_shares(areas, weights)
    amounts = effective_pot_amounts(scenario)[pot.id]
    period = grant.transition.commitment_years

    previous: dict[str, int] | None = None
    if grant.previous is not None:
        given = {a.area: a.amount_pence for a in grant.previous.amounts}
        previous = {a.code: given.get(a.code, 0) for a in areas}
    committed: dict[str, int] | None = None
    committed_in: str | None = None
    years: list[GrantYear] = []
    for k, year in enumerate(scenario.financial_years):
        label = f"{grant.name} {year}"
        charged = scenario.committed_pence(pot.id, year)
        available = amounts[year] - charged
        if available < 0:
            raise InfeasibleScenario(
                [
                    f"{label}: fixed commitments of {pounds(charged)} charged to pot {pot.id!r} "
                    f"exceed its {pounds(amounts[year])}"
                ]
            )
        if k % period == 0:
            committed, committed_in = None, None
        targets = largest_remainder(available, shares)
        bounds = {
            a.code: area_bounds(
                grant,
                targets[a.code],
                previous[a.code] if previous is not None else None,
                committed[a.code] if committed is not None else None,
                committed_in,
            )
            for a in areas
        }
        reasons = infeasibilities(label, grant, available, areas, bounds)
        if reasons:
            raise InfeasibleScenario(reasons)
        low = {c: b.low for c, b in bounds.items()}
        high = {c: b.high(available) for c, b in bounds.items()}
        anchors = {c: min(max(targets[c], low[c]), high[c]) for c in targets}
        if sum(anchors.values()) == available:
            allocation = dict(anchors)
        else:
            values = spread(label, available, anchors, targets, bounds, scenario.policy.solver)
            allocation = round_within(label, values, available, low, high)
        binding = {c: _sits_on(allocation[c], targets[c], b) for c, b in bounds.items()}
        years.append(
            GrantYear(
                grant=grant.id,
                pot=pot.id,
                year=year,
                pot_pence=available,
                shares=shares,
                targets=targets,
                allocations=allocation,
                previous=previous,
                lower=low,
                upper=high,
                binding=binding,
            )
        )
        if committed is None:
            committed, committed_in = allocation, year
        previous = allocation
    return years


def _sits_on(allocation: int, target: int, bounds: AreaBounds) -> str | None:
    """The rule whose bound an area's grant sits on, when the grant is not its target."""
    if allocation == target:
        return None
    if bounds.lower is not None and allocation == bounds.lower.pence:
        return bounds.lower.rule
    if bounds.upper is not None and allocation == bounds.upper.pence:
        return bounds.upper.rule
    return None


def grants_table(scenario: Scenario, years: Sequence[GrantYear]) -> pl.DataFrame:
    """Rows of GRANTS_SCHEMA for solved grant years."""
    names = {a.code: a.name for a in scenario.areas}
    rows = []
    for gy in years:
        for code in sorted(gy.allocations):
            allocated = gy.allocations[code]
            prev = gy.previous[code] if gy.previous is not None else None
            change = allocated - prev if prev is not None else None
            rows.append(
                {
                    "year": gy.year,
                    "pot": gy.pot,
                    "area_code": code,
                    "area_name": names[code],
                    "target_share": float(gy.shares[code]),
                    "target_pence": gy.targets[code],
                    "allocated_pence": allocated,
                    "distance_pence": allocated - gy.targets[code],
                    "previous_pence": prev,
                    "change_pence": change,
                    "change_pct": (change / prev * 100) if change is not None and prev else None,
                }
            )
    return pl.DataFrame(rows, schema=GRANTS_SCHEMA).sort(
        "year", "pot", "area_code", maintain_order=True
    )


def allocate_formula_grants(scenario: Scenario) -> pl.DataFrame:
    """Every formula grant of the scenario, every year: one GRANTS_SCHEMA row per area.

    distance_pence is allocated − target (negative: below target); previous/change are empty
    where no previous grant is known. Raises InfeasibleScenario (plain words) or SolverFailed.
    """
    years = [
        gy for grant in scenario.formula_grants for gy in allocate_formula_grant(scenario, grant)
    ]
    return grants_table(scenario, years)
