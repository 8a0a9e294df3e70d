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
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

import polars as pl
import pulp

from commissioning.errors import InfeasibleScenario, SolverFailed
from commissioning.models import Area, FormulaGrant, NeedWeight, Scenario, SolverOptions
from commissioning.models.grants import split_pot_amounts
from commissioning.money import pounds
from commissioning.optimise.solver import make_solver, run
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

_SNAP = 1e-6  # LP values this close to a whole penny are that penny
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


# --- bounds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bound:
    pence: int
    rule: str  # one of "min_grant", "max_loss", "max_below_target", "commitment", "max_gain"
    words: str


@dataclass(frozen=True)
class _AreaBounds:
    lower: _Bound | None
    upper: _Bound | None

    @property
    def low(self) -> int:
        return self.lower.pence if self.lower else 0

    def high(self, pot: int) -> int:
        return self.upper.pence if self.upper else pot


def _pct(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return f"{text}%"


def _bounds(
    grant: FormulaGrant,
    target: int,
    previous: int | None,
    committed: int | None,
    commitment_year: str | None,
) -> _AreaBounds:
    policy = grant.transition
    lows: list[_Bound] = []
    if committed is not None:
        lows.append(
            _Bound(
                committed,
                "commitment",
                f"the {policy.commitment_years}-year commitment made in {commitment_year}",
            )
        )
    if policy.max_loss_pct is not None and previous is not None:
        floor = math.ceil(Fraction(previous) * (100 - Fraction(policy.max_loss_pct)) / 100)
        lows.append(
            _Bound(
                floor,
                "max_loss",
                f"the floor of at most {_pct(policy.max_loss_pct)} below last year's "
                f"{pounds(previous)}",
            )
        )
    if policy.max_below_target_pct is not None:
        floor = math.ceil(Fraction(target) * (100 - Fraction(policy.max_below_target_pct)) / 100)
        lows.append(
            _Bound(
                floor,
                "max_below_target",
                f"at most {_pct(policy.max_below_target_pct)} below its target of {pounds(target)}",
            )
        )
    if policy.min_grant_pence is not None:
        lows.append(
            _Bound(
                policy.min_grant_pence,
                "min_grant",
                "the minimum grant",
            )
        )
    lower = max(lows, key=lambda b: b.pence) if lows else None  # first listed wins a tie
    upper = None
    if policy.max_gain_pct is not None and previous:
        cap = math.floor(Fraction(previous) * (100 + Fraction(policy.max_gain_pct)) / 100)
        upper = _Bound(
            cap,
            "max_gain",
            f"the gains cap of {_pct(policy.max_gain_pct)} above last year's {pounds(previous)}",
        )
    return _AreaBounds(lower, upper)


_RULE_NAMES = {
    "commitment": "commitments from the period's first year",
    "max_loss": "floors relative to last year",
    "max_below_target": "floors relative to target",
    "min_grant": "the minimum grant",
}


def _infeasibilities(
    label: str,
    grant: FormulaGrant,
    pot: int,
    areas: Sequence[Area],
    bounds: Mapping[str, _AreaBounds],
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


# --- solving --------------------------------------------------------------------------------


def _solve_lp(problem: pulp.LpProblem, options: SolverOptions, what: str) -> None:
    """Solve an LP to proven optimality, or raise SolverFailed saying what was being solved.
    The solver ladder retries errors and confirms an infeasible verdict before it is final."""
    report = run(problem, make_solver(options, mip=False))
    if report.state != "optimal":
        raise SolverFailed(
            f"{what}: the solver stopped without an optimal answer ({report.state}; tried: "
            f"{'; '.join(report.attempts)}); no grants are reported"
        )


def _spread(
    label: str,
    pot: int,
    anchors: Mapping[str, int],
    targets: Mapping[str, int],
    bounds: Mapping[str, _AreaBounds],
    options: SolverOptions,
) -> dict[str, float]:
    """The LP: move areas from their anchors, in one direction, by the same % of target."""
    residual = pot - sum(anchors.values())
    # z is measured in pence of the whole pot (an area moves by at most its target share of z),
    # which keeps the LP well scaled: with z as a fraction of each target the duals are ~1e-9,
    # below the solvers' optimality tolerances, and they stop early.
    scale = sum(max(t, 1) for t in targets.values())
    problem = pulp.LpProblem("formula_grant", pulp.LpMinimize)
    z = problem.add_variable("z", lowBound=0)
    grants: dict[str, pulp.LpVariable] = {}
    for n, (code, anchor) in enumerate(sorted(anchors.items())):
        b = bounds[code]
        if residual > 0:
            x = problem.add_variable(f"x{n}", lowBound=anchor, upBound=b.high(pot))
            move = pulp.LpAffineExpression({x: 1}, constant=-anchor)
        else:
            x = problem.add_variable(f"x{n}", lowBound=b.low, upBound=anchor)
            move = pulp.LpAffineExpression({x: -1}, constant=anchor)
        weight = max(targets[code], 1) / scale  # a zero target moves as if it were 1p
        problem += move - weight * z <= 0, f"pro_rata_{n}"
        grants[code] = x
    problem += pulp.LpAffineExpression({x: 1 for x in grants.values()}) == pot, "pot"
    problem += pulp.LpAffineExpression({z: 1})
    _solve_lp(problem, options, label)
    values = {}
    for code, x in grants.items():
        if x.varValue is None:
            raise SolverFailed(f"{label}: the solver gave no grant for {code}")
        values[code] = float(x.varValue)
    return values


def _round_within(
    label: str,
    values: Mapping[str, float],
    total: int,
    low: Mapping[str, int],
    high: Mapping[str, int],
) -> dict[str, int]:
    """Whole pence summing to `total`: largest remainder, never past an area's bounds."""
    snapped = {k: float(round(v)) if abs(v - round(v)) < _SNAP else v for k, v in values.items()}
    result = {k: min(max(math.floor(v), low[k]), high[k]) for k, v in snapped.items()}
    remainder = {k: round(v - math.floor(v), 6) for k, v in snapped.items()}
    left = total - sum(result.values())
    step = 1 if left > 0 else -1
    order = sorted(result, key=lambda k: (-step * remainder[k], k))
    while left:
        moved = False
        for k in order:
            if left == 0:
                break
            if (step > 0 and result[k] < high[k]) or (step < 0 and result[k] > low[k]):
                result[k] += step
                left -= step
                moved = True
        if not moved:
            raise SolverFailed(f"{label}: cannot round the grants to whole pence within bounds")
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
            a.code: _bounds(
                grant,
                targets[a.code],
                previous[a.code] if previous is not None else None,
                committed[a.code] if committed is not None else None,
                committed_in,
            )
            for a in areas
        }
        reasons = _infeasibilities(label, grant, available, areas, bounds)
        if reasons:
            raise InfeasibleScenario(reasons)
        low = {c: b.low for c, b in bounds.items()}
        high = {c: b.high(available) for c, b in bounds.items()}
        anchors = {c: min(max(targets[c], low[c]), high[c]) for c in targets}
        if sum(anchors.values()) == available:
            allocation = dict(anchors)
        else:
            values = _spread(label, available, anchors, targets, bounds, scenario.policy.solver)
            allocation = _round_within(label, values, available, low, high)
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


def _sits_on(allocation: int, target: int, bounds: _AreaBounds) -> str | None:
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
