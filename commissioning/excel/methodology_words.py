"""The rules of a scenario in sentences, for the Methodology sheet and the Summary.

For a borough workbook, per-area rules (limits, existing provision, illustrative bids) are told
only for that borough, so no other borough's figures appear.
"""

from __future__ import annotations

from decimal import Decimal

from commissioning.models import Scenario
from commissioning.money import pounds as pounds_text

FAIRNESS_IN_WORDS = {
    "leximin": (
        "Leximin, worst-off first: the money raises the lowest coverage of benchmark as high as "
        "the pots allow, then the next lowest, and so on, over every borough and benchmarked "
        "service, in whole units; coverage stops counting at the benchmark."
    ),
    "proportional_to_benchmark_cost": (
        "Proportional to benchmark cost: the lowest share of a borough's gap to benchmark that is "
        "funded is raised first, then the next lowest, and so on, so money follows the cost of "
        "reaching benchmark."
    ),
    "equal_shortfall": (
        "Equal shortfall: the largest shortfall against benchmark, as a share of target and "
        "weighted by need, is made as small as possible first, then the next largest, and so on."
    ),
}


def units_text(value: Decimal | float) -> str:
    """A number of units to four significant figures: 2.5, 1,000."""
    return f"{float(value):,.4g}"


def eligible_services(ids: list[str] | None, services: dict[str, str]) -> str:
    if ids is None:
        return "every service"
    if not ids:
        return "none (a grant paid to areas)"
    return ", ".join(services.get(s, s) for s in ids)


def with_areas(source: str, eligible: list[str] | None, area_code: str | None) -> str:
    if eligible is None:
        return source
    if area_code is None:
        return f"{source} (restricted to {len(eligible)} areas)"
    verdict = "includes" if area_code in eligible else "does not include"
    return f"{source} (restricted to {len(eligible)} areas; {verdict} this borough)"


def transition_rules(
    scenario: Scenario, area_code: str | None, areas: dict[str, str], services: dict[str, str]
) -> list[str]:
    policy = scenario.policy
    rules = []
    if policy.cap_at_benchmark_factor is not None:
        rules.append(
            f"Cap: no area gets more than {policy.cap_at_benchmark_factor} × its benchmark target."
        )
    else:
        rules.append("Cap: none beyond the budgets (no multiple-of-benchmark cap).")
    if policy.max_change_pct is not None:
        rules.append(
            f"Pace of change: an area's funded units of a service may move at most "
            f"{policy.max_change_pct}% from the year before (the previous allocation for the "
            "first year)."
        )
    else:
        rules.append(
            "Pace of change: no limit on how far an area's funding may move between years."
        )
    if policy.award_years > 1:
        rules.append(
            f"Awards last {policy.award_years} years: a unit funded in its first year stays funded."
        )
    else:
        rules.append("Awards are made one year at a time.")
    previous = [p for p in policy.previous_allocation if area_code is None or p.area == area_code]
    if previous:
        rules.append(
            f"A previous allocation is given for {len(previous)} area × service pairs; it is the "
            "starting point for the pace of change."
        )
    limits = [lim for lim in policy.area_limits if area_code is None or lim.area == area_code]
    for lim in limits:
        bounds = []
        if lim.min_units is not None:
            bounds.append(f"at least {units_text(lim.min_units)} units")
        if lim.max_units is not None:
            bounds.append(f"at most {units_text(lim.max_units)} units")
        if lim.min_pence is not None:
            bounds.append(f"at least {pounds_text(lim.min_pence)} a year")
        if lim.max_pence is not None:
            bounds.append(f"at most {pounds_text(lim.max_pence)} a year")
        what = services.get(lim.service, lim.service) if lim.service else "all services together"
        rules.append(f"Limit for {areas.get(lim.area, lim.area)}, {what}: {' and '.join(bounds)}.")
    if not limits:
        rules.append(
            "Floors and caps per area: none set" + (" for this borough." if area_code else ".")
        )
    return rules


def grant_rules(scenario: Scenario) -> list[str]:
    """Formula grants with their transition policy, fund splits and bid rounds, in words."""
    rules = []
    for split in scenario.fund_splits:
        share = (
            f"{split.co_commissioning_pct}%"
            if split.co_commissioning_pct is not None
            else pounds_text(split.co_commissioning_pence or 0) + " a year"
        )
        direct = f"to {split.direct_pot}" if split.direct_pot else f"stays in {split.fund}"
        rules.append(
            f"Fund split: {share} of {split.fund} goes to co-commissioning "
            f"({split.co_commissioning_pot}); the rest {direct}."
            + (f" Source: {split.source}" if split.source else "")
        )
    for grant in scenario.formula_grants:
        t = grant.transition
        parts = [
            f"Formula grant '{grant.name}': all of pot {grant.pot} is paid to areas each year; "
            "each area's target is the pot shared by the need index"
            + (" of its own weights" if grant.need_weights else "")
            + ", to the penny."
        ]
        if t.is_empty:
            parts.append("No transition rules: grants equal targets.")
        if t.min_grant_pence is not None:
            parts.append(f"Minimum grant: {pounds_text(t.min_grant_pence)} a year per area.")
        if t.max_loss_pct is not None:
            parts.append(
                "Floor: no area's grant falls below its previous year's."
                if t.max_loss_pct == 0
                else f"Floor: no area's grant falls more than {t.max_loss_pct}% below its "
                "previous year's."
            )
        if t.max_gain_pct is not None:
            parts.append(f"Gains cap: no area's grant rises more than {t.max_gain_pct}% a year.")
        if t.max_below_target_pct is not None:
            parts.append(
                f"No area's grant is more than {t.max_below_target_pct}% below its target."
            )
        if t.commitment_years > 1:
            parts.append(f"Grants are committed for {t.commitment_years} years at a time.")
        if grant.previous is not None:
            parts.append(f"Previous grants are those of {grant.previous.year}.")
        if grant.source:
            parts.append(f"Source: {grant.source}")
        rules.append(" ".join(parts))
    for bid_round in scenario.bid_rounds:
        objective = (
            "the total score of the selected bids"
            if bid_round.objective == "score"
            else "each selected bid's score × its number of partner boroughs"
        )
        rule = (
            f"Bid round '{bid_round.name}': bids are paid from {bid_round.budget_pot}; the "
            f"selection maximises {objective} within the pot's money each year; bids need at "
            f"least {bid_round.min_partner_areas} partner borough(s)"
        )
        if bid_round.require_every_area_covered:
            rule += "; every eligible borough must be a partner of a selected bid"
        rule += "; overlapping services are allowed." if bid_round.allow_overlap else "."
        rules.append(rule)
    return rules


def assumptions(scenario: Scenario, area_code: str | None) -> list[str]:
    found: list[str] = []
    for s in scenario.services:
        if s.cost_is_assumption:
            found.append(f"Unit cost of {s.name}: {s.cost_source or 'no source given'}")
    for p in scenario.pots:
        if p.is_assumption:
            found.append(f"Budget of {p.name}: {p.source or 'no source given'}")
    sources = sorted(
        {
            e.source or "no source given"
            for e in scenario.existing_provision
            if e.is_assumption and (area_code is None or e.area == area_code)
        }
    )
    found += [f"Existing provision: {source}" for source in sources]
    for grant in scenario.formula_grants:
        if grant.previous is not None and grant.previous.is_assumption:
            found.append(
                f"Previous grants of {grant.name}: {grant.previous.source or 'no source given'}"
            )
    for bid_round in scenario.bid_rounds:
        for bid in bid_round.bids:
            if bid.is_illustrative and (area_code is None or area_code in bid.partner_areas):
                found.append(f"Bid {bid.id} from {bid.provider} is illustrative, not a real bid.")
    return found
