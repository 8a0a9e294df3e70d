"""Why each bid of a round was selected or not, and why round money is left, from its figures.

Every bid gets one code from a closed list and a sentence built from numbers a reader can check
against `bids.csv` and the scenario:

- `selected`: in the round's best selection.
- `too_few_partner_areas`: fewer partner areas than the round's minimum (never eligible).
- `overlaps_selected_bid`: delivers a service in an area where a selected bid already does,
  and the round allows no overlap.
- `lower_score_per_pound`: the money went to bids that score more per pound: its score (as the
  round's objective counts it) per pound of annual cost is below every selected bid's, or it
  scores nothing.
- `over_remaining_budget`: in some year it costs more than the money the selected bids leave
  (or more than the round's whole budget on its own).

The codes are tested in this order, so a bid that both overlaps and is too dear is reported as
overlapping: no price would have let it in. A bid that fits the money left, overlaps nothing and
scores above zero would have raised the objective, so the best selection cannot leave one out;
`explain_round` treats that as a bug.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from commissioning.models import Bid, BidRound, Scenario
from commissioning.money import pounds

BID_REASON_CODES: Final = (
    "selected",
    "too_few_partner_areas",
    "overlaps_selected_bid",
    "lower_score_per_pound",
    "over_remaining_budget",
)

# Why money of a round is left in a year after its bids are chosen.
MONEY_LEFT_CODES: Final = ("all_spent", "no_bids_left", "no_bid_fits", "remaining_bids_barred")

# What the benchmark top-ups then did with it (the pot's unspent money in pots.csv).
UNSPENT_CODES: Final = (
    "all_spent",
    "cells_at_benchmark",
    "less_than_one_granule",
    "held_by_rule",
)

SCORE_SCALE: Final = 10_000  # scores have at most 4 decimal places (objective = score × this)


@dataclass(frozen=True)
class BidReason:
    code: str
    text: str


def deliveries(bid: Bid) -> set[tuple[str, str]]:
    """(service, area) pairs a bid delivers."""
    return {
        (line.service, area)
        for line in bid.services
        for area in (line.areas if line.areas is not None else bid.partner_areas)
    }


def _score(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _points(bid_round: BidRound, bid: Bid, value: int) -> str:
    """The bid's objective value as the round counts it: 'score 78 × 11 partner areas = 858'."""
    if bid_round.objective == "coverage_weighted_score":
        n = len(set(bid.partner_areas))
        points = _score(Decimal(value) / SCORE_SCALE)
        return f"score {_score(bid.score)} × {n} partner areas = {points}"
    return f"score {_score(bid.score)}"


def _per_thousand(value: int, cost: int) -> str:
    """Objective points per £1,000 of annual cost, to 3 decimals (display only)."""
    if cost == 0:
        return "at no cost"
    return f"{value * 10 / cost:,.3f} per £1,000"


def ineligibility(
    bid_round: BidRound, bid: Bid, cost: int, budget: Mapping[str, int]
) -> BidReason | None:
    """Why a bid cannot be chosen whatever else is chosen, or None if it can be."""
    partners = len(set(bid.partner_areas))
    if partners < bid_round.min_partner_areas:
        return BidReason(
            "too_few_partner_areas",
            f"{partners} partner areas, fewer than the round's minimum of "
            f"{bid_round.min_partner_areas}",
        )
    too_dear = [y for y in sorted(set(bid.years)) if cost > budget.get(y, 0)]
    if too_dear:
        y = too_dear[0]
        return BidReason(
            "over_remaining_budget",
            f"costs {pounds(cost)} in {y}, more than the round's whole budget of "
            f"{pounds(budget.get(y, 0))}",
        )
    return None


def explain_round(
    bid_round: BidRound,
    costs: Mapping[str, int],
    values: Mapping[str, int],
    budget: Mapping[str, int],
    selected: Iterable[str],
    ineligible: Mapping[str, BidReason],
) -> dict[str, BidReason]:
    """A reason for every bid of the round (see the module docstring for the codes)."""
    bids = {b.id: b for b in bid_round.bids}
    chosen = sorted(set(selected))
    left = {
        y: money - sum(costs[s] for s in chosen if y in bids[s].years)
        for y, money in budget.items()
    }
    reasons: dict[str, BidReason] = {}
    for bid_id in sorted(bids):
        bid = bids[bid_id]
        value, cost = values[bid_id], costs[bid_id]
        points = _points(bid_round, bid, value)
        if bid_id in chosen:
            reasons[bid_id] = BidReason(
                "selected",
                f"selected: {points} for {pounds(cost)} a year, {_per_thousand(value, cost)}",
            )
        elif bid_id in ineligible:
            reasons[bid_id] = ineligible[bid_id]
        else:
            reasons[bid_id] = _not_chosen(bid_round, bids, bid, costs, values, chosen, left)
    return reasons


def _not_chosen(
    bid_round: BidRound,
    bids: Mapping[str, Bid],
    bid: Bid,
    costs: Mapping[str, int],
    values: Mapping[str, int],
    chosen: list[str],
    left: Mapping[str, int],
) -> BidReason:
    value, cost = values[bid.id], costs[bid.id]
    if not bid_round.allow_overlap:
        mine = deliveries(bid)
        clashes = [s for s in chosen if mine & deliveries(bids[s])]
        if clashes:
            shared = sorted(mine & set().union(*(deliveries(bids[s]) for s in clashes)))
            services = sorted({service for service, _ in shared})
            others = " and ".join(
                f"{s} ({_points(bid_round, bids[s], values[s])})" for s in clashes
            )
            return BidReason(
                "overlaps_selected_bid",
                f"delivers {', '.join(services)} in {len({a for _, a in shared})} partner areas "
                f"where the selected {'bid' if len(clashes) == 1 else 'bids'} {others} already "
                f"{'does' if len(clashes) == 1 else 'do'}; the round allows no two bids for one "
                "service in one area",
            )
    short = [y for y in sorted(set(bid.years)) if cost > left.get(y, 0)]
    money = (
        f"it costs {pounds(cost)} in {short[0]} and the selected bids leave "
        f"{pounds(left.get(short[0], 0))}"
        if short
        else ""
    )
    if value == 0:
        return BidReason(
            "lower_score_per_pound",
            "scores nothing under the round's objective, so it would add cost and no score"
            + (f"; {money}" if money else ""),
        )
    if not short:
        raise AssertionError(
            f"bid {bid.id} fits the money left, overlaps no selected bid and scores above "
            "zero, so the best selection must include it"
        )
    # Exact comparison of value/cost ratios: v_b × c_s < v_s × c_b for every selected bid s.
    lower = chosen and all(value * costs[s] < values[s] * cost for s in chosen)
    if lower:
        worst = min(chosen, key=lambda s: (values[s] * 10**12 // max(costs[s], 1), s))
        return BidReason(
            "lower_score_per_pound",
            f"{_points(bid_round, bid, value)} for {pounds(cost)} a year, "
            f"{_per_thousand(value, cost)}: less per pound than every selected bid (lowest: "
            f"{worst}, {_per_thousand(values[worst], costs[worst])}); {money}",
        )
    return BidReason("over_remaining_budget", money)


def money_left(
    bid_round: BidRound,
    costs: Mapping[str, int],
    budget: Mapping[str, int],
    selected: Iterable[str],
    reasons: Mapping[str, BidReason],
) -> list[dict[str, Any]]:
    """Per year: the round's budget, what its selected bids cost, what is left and why."""
    bids = {b.id: b for b in bid_round.bids}
    chosen = set(selected)
    rows = []
    for year in sorted(budget):
        spent = sum(costs[b] for b in chosen if year in bids[b].years)
        left = budget[year] - spent
        others = sorted(b for b in bids if b not in chosen and year in bids[b].years)
        fitting = [b for b in others if costs[b] <= left]
        dearer = sorted((b for b in others if costs[b] > left), key=lambda b: (costs[b], b))
        if left == 0:
            code, why = "all_spent", "the selected bids spend all of it"
        elif not others:
            code, why = "no_bids_left", f"every bid offered for {year} was selected"
        elif not fitting:
            cheapest = dearer[0]
            code = "no_bid_fits"
            why = (
                f"every bid not selected costs more (the cheapest, {cheapest}, costs "
                f"{pounds(costs[cheapest])} a year)"
            )
        else:
            code = "remaining_bids_barred"
            barred = "; ".join(f"{b} ({pounds(costs[b])}): {reasons[b].text}" for b in fitting)
            why = f"the bids not selected that would fit are barred: {barred}"
            if dearer:
                cheapest = dearer[0]
                why += (
                    f"; every other costs more (the cheapest, {cheapest}, costs "
                    f"{pounds(costs[cheapest])} a year)"
                )
        rows.append(
            {
                "year": year,
                "budget_pence": budget[year],
                "selected_pence": spent,
                "left_pence": left,
                "reason_code": code,
                "reason": f"{pounds(left)} of {pounds(budget[year])} left after the selected "
                f"bids in {year}: {why}",
            }
        )
    return rows


def bids_summary(
    scenario: Scenario,
    rounds: Iterable[Any],
    pots: Iterable[Mapping[str, Any]],
    coverage: Iterable[Mapping[str, Any]],
    affordability: Any = None,
) -> dict[str, Any]:
    """summary.json's "bids": each round's money left per year and what the top-ups then left
    unspent in its pot, with the reason (pots.csv's unspent_pence, explained)."""
    unspent = {(r["pot"], r["year"]): r["unspent_pence"] for r in pots}
    below = [r for r in coverage if (r["shortfall_units"] or 0) > 1e-9]
    held = (affordability or {}).get("held", [])
    held_by: dict[tuple[str, str], str] = {}
    for h in held:
        key = (h["pot"], h["year"])
        held_by[key] = f"{held_by[key]}; {h['rule']}" if key in held_by else h["rule"]
    granule = {s.id: s.granule_cost_pence for s in scenario.services}
    by_id = {r.id: r for r in scenario.bid_rounds}
    out = []
    for result in rounds:
        bid_round = by_id[result.round]
        pot = scenario.pot(bid_round.budget_pot)
        years = []
        for row in result.money_left:
            year = row["year"]
            left = unspent.get((pot.id, year), 0)
            cells = [
                r for r in below if r["year"] == year and pot.may_fund(r["service"], r["area_code"])
            ]
            if left == 0:
                code, why = "all_spent", "the benchmark top-ups spent what the bids left"
            elif not cells:
                code = "cells_at_benchmark"
                why = f"every cell the pot may fund is at or above benchmark in {year}"
            elif (pot.id, year) in held_by:
                code, why = "held_by_rule", f"held by {held_by[(pot.id, year)]}"
            else:
                cheapest = min(cells, key=lambda r: (granule[r["service"]], r["service"]))
                code = "less_than_one_granule"
                why = (
                    f"less than one more unit of any below-benchmark cell it may fund (the "
                    f"cheapest, {cheapest['service']}, costs "
                    f"{pounds(granule[cheapest['service']])})"
                )
            years.append(
                {
                    **row,
                    "unspent_pence": left,
                    "unspent_reason_code": code,
                    "unspent_reason": f"{pounds(left)} of pot {pot.id} unspent in {year}: {why}",
                }
            )
        out.append(
            {
                "round": bid_round.id,
                "name": bid_round.name,
                "budget_pot": pot.id,
                "years": years,
            }
        )
    return {"rounds": out}
