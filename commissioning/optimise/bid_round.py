"""Co-commissioning bid rounds: choose bids within the budget, exactly and deterministically.

Each round is one small MIP (PuLP + HiGHS) with a binary variable per eligible bid
(commissioning.optimise.bid_mip).

- **Budget.** The round's pot, after fund splits, less the fixed commitments charged to it,
  each year. A selected bid pays its annual cost in every one of its years (a multi-year bid
  commits every year's money), and in no year may the selected bids cost more than the budget.
- **Eligible bids** have at least `min_partner_areas` partner areas and cost no more than the
  budget in each of their years on their own.
- **Coverage.** With `require_every_area_covered`, every area the budget pot may fund is a
  partner area of at least one selected bid.
- **Overlap.** Unless `allow_overlap`, no two selected bids deliver the same service in the same
  area (a bid line delivers its service in its areas, or in all the bid's partner areas).
- **Objective.** `score`: the total score of the selected bids. `coverage_weighted_score`: each
  selected bid counts its score × its number of partner areas. Scores have at most 4 decimal
  places, so the objective is an exact integer (score × 10,000).
- **Exact, deterministic choice.** Solved to proven optimality (no gap), in three steps: the
  best objective; among selections reaching it, the least total cost over all years; among
  those, bids earlier in id order are preferred (the first bid id, in sorted order, on which
  two tied selections differ is selected in the one chosen). Every answer is re-checked in
  integer arithmetic before it is reported.

Selected bids become, for the main optimiser (commissioning.optimise.bid_selection): units per
area × service × year (to count toward benchmark coverage beside existing provision; `bid_units`
in coverage) and fixed commitments on the budget pot. Every bid, selected or not, gets a reason,
and the money a round leaves gets one too (commissioning.optimise.bid_reasons).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from commissioning.errors import InfeasibleScenario, SolverFailed
from commissioning.models import Bid, BidRound, Scenario
from commissioning.money import pounds
from commissioning.optimise.bid_reasons import (
    SCORE_SCALE,
    BidReason,
    deliveries,
    explain_round,
    ineligibility,
    money_left,
)
from commissioning.optimise.formula_grant import effective_pot_amounts

__all__ = [
    "SCORE_SCALE",
    "RoundResult",
    "bid_annual_cost",
    "bid_value",
    "round_budget",
    "select_round",
]

# --- the bids' numbers ----------------------------------------------------------------------


def bid_annual_cost(scenario: Scenario, bid: Bid) -> int:
    """What a bid costs in each of its years, in pence: the sum of its lines."""
    total = Decimal(0)
    for line in bid.services:
        if line.annual_cost_pence is not None:
            total += line.annual_cost_pence
        else:
            n = len(line.areas) if line.areas is not None else len(bid.partner_areas)
            total += line.units_per_area * scenario.service(line.service).unit_cost_pence * n
    if total != total.to_integral_value():
        raise ValueError(f"bid {bid.id!r} does not cost a whole number of pence: {total}")
    return int(total)


def bid_value(bid_round: BidRound, bid: Bid) -> int:
    """A bid's objective coefficient: score × 10,000, × partner areas when coverage-weighted."""
    value = int(bid.score * SCORE_SCALE)
    if bid_round.objective == "coverage_weighted_score":
        value *= len(set(bid.partner_areas))
    return value


def round_budget(scenario: Scenario, bid_round: BidRound) -> dict[str, int]:
    """The round's budget each year: the pot after fund splits, less its fixed commitments."""
    amounts = effective_pot_amounts(scenario)[bid_round.budget_pot]
    budget = {}
    for year in scenario.financial_years:
        charged = scenario.committed_pence(bid_round.budget_pot, year)
        if charged > amounts[year]:
            raise InfeasibleScenario(
                [
                    f"{bid_round.name} {year}: fixed commitments of {pounds(charged)} charged to "
                    f"pot {bid_round.budget_pot!r} exceed its {pounds(amounts[year])}"
                ]
            )
        budget[year] = amounts[year] - charged
    return budget


# --- one round ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundResult:
    """The outcome of one bid round."""

    round: str
    budget: dict[str, int]
    selected: list[str]  # bid ids, sorted
    objective: int  # Σ bid_value over the selected bids
    cost_by_year: dict[str, int]
    reasons: dict[str, BidReason] = field(default_factory=dict)  # every bid, selected or not
    money_left: list[dict[str, Any]] = field(default_factory=list)  # per year, with its reason

    @property
    def not_selected(self) -> dict[str, str]:
        """Bid id → why it was not selected, in words."""
        return {b: r.text for b, r in self.reasons.items() if r.code != "selected"}


def select_round(
    scenario: Scenario, bid_round: BidRound, budget: Mapping[str, int] | None = None
) -> RoundResult:
    """Choose the round's bids (see the module docstring for the rules and the tie-break)."""
    what = bid_round.name
    budget = dict(round_budget(scenario, bid_round) if budget is None else budget)
    options = scenario.policy.solver
    bids = {b.id: b for b in bid_round.bids}
    costs = {b.id: bid_annual_cost(scenario, b) for b in bid_round.bids}
    values = {b.id: bid_value(bid_round, b) for b in bid_round.bids}

    ineligible: dict[str, BidReason] = {}
    for b in bid_round.bids:
        reason = ineligibility(bid_round, b, costs[b.id], budget)
        if reason is not None:
            ineligible[b.id] = reason
    eligible = sorted(b for b in bids if b not in ineligible)

    cover: list[str] = []
    if bid_round.require_every_area_covered:
        pot = scenario.pot(bid_round.budget_pot)
        cover = sorted(
            a.code
            for a in scenario.areas
            if pot.eligible_areas is None or a.code in pot.eligible_areas
        )
        names = {a.code: a.name for a in scenario.areas}
        bare = [a for a in cover if not any(a in bids[b].partner_areas for b in eligible)]
        if bare:
            shown = ", ".join(f"{names[a]} ({a})" for a in bare[:6])
            more = f" and {len(bare) - 6} more" if len(bare) > 6 else ""
            raise InfeasibleScenario(
                [
                    f"{what}: every area must be covered by a selected bid, but no eligible bid "
                    f"(at least {bid_round.min_partner_areas} partner areas, affordable within "
                    f"the budget) includes {shown}{more}"
                ]
            )

    selected: set[str] = set()
    if eligible:
        # The MIP's module (and with it pulp and HiGHS) loads here, not at the top: `validate`
        # reaches this module through the funding rounds and must not load the solver.
        from commissioning.optimise.bid_mip import best_selection

        selected = best_selection(
            what, bid_round, bids, eligible, costs, values, budget, cover, options
        )
    _verify(what, bid_round, bids, selected, costs, budget, cover)
    reasons = explain_round(bid_round, costs, values, budget, selected, ineligible)
    cost_by_year = {
        y: sum(costs[b] for b in selected if y in bids[b].years) for y in scenario.financial_years
    }
    return RoundResult(
        round=bid_round.id,
        budget=budget,
        selected=sorted(selected),
        objective=sum(values[b] for b in selected),
        cost_by_year=cost_by_year,
        reasons=reasons,
        money_left=money_left(bid_round, costs, budget, selected, reasons),
    )


def _verify(
    what: str,
    bid_round: BidRound,
    bids: Mapping[str, Bid],
    selected: set[str],
    costs: Mapping[str, int],
    budget: Mapping[str, int],
    cover: Sequence[str],
) -> None:
    """Re-check the selection in integer arithmetic; never report one that breaks a rule."""
    for year, money in budget.items():
        spent = sum(costs[b] for b in selected if year in bids[b].years)
        if spent > money:
            raise SolverFailed(
                f"{what}: the selection costs {pounds(spent)} in {year}, over {pounds(money)}"
            )
    for area in cover:
        if not any(area in bids[b].partner_areas for b in selected):
            raise SolverFailed(f"{what}: selection leaves {area} uncovered")
    if not bid_round.allow_overlap:
        seen: set[tuple[str, str]] = set()
        for b in sorted(selected):
            pairs = deliveries(bids[b])
            if pairs & seen:
                raise SolverFailed(f"{what}: selected bids overlap on {sorted(pairs & seen)[0]}")
            seen |= pairs
    for b in selected:
        if len(set(bids[b].partner_areas)) < bid_round.min_partner_areas:
            raise SolverFailed(f"{what}: selected bid {b} has too few partner areas")
