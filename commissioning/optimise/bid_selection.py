"""Every bid round's outcome, as the bids table and as inputs for the main optimiser.

Selected bids become units per area × service × year (counted toward benchmark coverage beside
existing provision) and fixed commitments on their round's budget pot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from commissioning.models import ExistingProvision, FixedCommitment, Scenario
from commissioning.models.grant_checks import bid_commitment_id
from commissioning.optimise.bid_round import RoundResult, bid_annual_cost, select_round
from commissioning.results import BIDS_SCHEMA

__all__ = ["BidSelection", "bids_table", "select_bids"]


@dataclass(frozen=True)
class BidSelection:
    """Every round's outcome, as the bids table and as inputs for the main optimiser."""

    table: pl.DataFrame  # BIDS_SCHEMA: one row per bid × year of the bid
    rounds: list[RoundResult]
    provision: dict[str, list[ExistingProvision]]  # year → selected bids' units per area/service
    commitments: list[FixedCommitment]  # one per selected bid, on its round's budget pot


def bids_table(scenario: Scenario, results: Sequence[RoundResult]) -> pl.DataFrame:
    """Rows of BIDS_SCHEMA: every bid of every round, one row per year of the bid."""
    by_id = {r.id: r for r in scenario.bid_rounds}
    rows = []
    for result in results:
        for bid in by_id[result.round].bids:
            cost = bid_annual_cost(scenario, bid)
            for year in sorted(set(bid.years)):
                rows.append(
                    {
                        "bid": bid.id,
                        "provider": bid.provider,
                        "selected": bid.id in result.selected,
                        "score": float(bid.score),
                        "year": year,
                        "cost_pence": cost,
                        "partner_areas": ";".join(sorted(set(bid.partner_areas))),
                        "reason_code": result.reasons[bid.id].code,
                        "reason": result.reasons[bid.id].text,
                    }
                )
    return pl.DataFrame(rows, schema=BIDS_SCHEMA).sort("bid", "year", maintain_order=True)


def _provision(
    scenario: Scenario, results: Sequence[RoundResult]
) -> dict[str, list[ExistingProvision]]:
    by_id = {r.id: r for r in scenario.bid_rounds}
    units: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    sources: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    illustrative: dict[tuple[str, str, str], bool] = defaultdict(bool)
    for result in results:
        bids = {b.id: b for b in by_id[result.round].bids}
        for bid_id in result.selected:
            bid = bids[bid_id]
            for year in set(bid.years):
                for line in bid.services:
                    if line.units_per_area == 0:
                        continue
                    for area in line.areas if line.areas is not None else bid.partner_areas:
                        key = (year, area, line.service)
                        units[key] += line.units_per_area
                        if bid.id not in sources[key]:
                            sources[key].append(bid.id)
                        illustrative[key] |= bid.is_illustrative
    provision: dict[str, list[ExistingProvision]] = {y: [] for y in scenario.financial_years}
    for key in sorted(units):
        year, area, service = key
        provision[year].append(
            ExistingProvision(
                area=area,
                service=service,
                units=units[key],
                source="selected co-commissioning bids: " + ", ".join(sorted(sources[key])),
                is_assumption=illustrative[key],
            )
        )
    return provision


def _commitments(scenario: Scenario, results: Sequence[RoundResult]) -> list[FixedCommitment]:
    by_id = {r.id: r for r in scenario.bid_rounds}
    commitments = []
    for result in results:
        bid_round = by_id[result.round]
        bids = {b.id: b for b in bid_round.bids}
        for bid_id in result.selected:
            bid = bids[bid_id]
            services = sorted({line.service for line in bid.services})
            commitments.append(
                FixedCommitment(
                    id=bid_commitment_id(bid.id),
                    name=f"{bid.provider} (bid {bid.id})"[:500],
                    pot=bid_round.budget_pot,
                    amount_pence=bid_annual_cost(scenario, bid),
                    years=sorted(set(bid.years)),
                    service=services[0] if len(services) == 1 else None,
                    source=f"selected in bid round {bid_round.id!r} ({bid_round.name})"[:2000],
                )
            )
    return commitments


def select_bids(scenario: Scenario) -> BidSelection:
    """Run every bid round of the scenario (each on its own pot) and collect the outcome.

    Raises InfeasibleScenario (plain words) when a round's coverage requirement cannot be met,
    or SolverFailed when the solver cannot prove the best selection within its time limit.
    """
    results = [select_round(scenario, r) for r in scenario.bid_rounds]
    return BidSelection(
        table=bids_table(scenario, results),
        rounds=results,
        provision=_provision(scenario, results),
        commitments=_commitments(scenario, results),
    )
