"""Co-commissioning bid rounds: choose bids within the budget, exactly and deterministically.

Each round is one small MIP (PuLP + HiGHS) with a binary variable per eligible bid.

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

Selected bids become, for the main optimiser: units per area × service × year (to count toward
benchmark coverage beside existing provision; `bid_units` in coverage) and fixed commitments on
the budget pot. Every bid, selected or not, gets a reason, and the money a round leaves gets one
too (commissioning.optimise.bid_reasons).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
import pulp

from commissioning.errors import InfeasibleScenario, SolverFailed
from commissioning.models import (
    Bid,
    BidRound,
    ExistingProvision,
    FixedCommitment,
    Scenario,
    SolverOptions,
)
from commissioning.models.grant_checks import bid_commitment_id
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
from commissioning.optimise.solver import make_solver, run
from commissioning.results import BIDS_SCHEMA

__all__ = [
    "SCORE_SCALE",
    "BidSelection",
    "RoundResult",
    "bid_annual_cost",
    "bid_value",
    "bids_table",
    "round_budget",
    "select_bids",
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


# --- solving --------------------------------------------------------------------------------


def _solve_mip(problem: pulp.LpProblem, options: SolverOptions, what: str) -> bool:
    """True: solved to proven optimality. False: infeasible, confirmed by every attempt of the
    solver ladder (HiGHS once called a feasible round infeasible). Anything else raises
    SolverFailed."""
    # Integer tolerance 1e-9 first: a bid's cost is up to millions of pence, so a "binary"
    # of 1 - 1e-8 could hide pennies; the selection is re-checked in integers anyway.
    solver = make_solver(
        options, mip=True, relative_gap=0.0, absolute_gap=0.5, feasibility_tolerance=1e-9
    )  # objectives are whole numbers, so within 0.5 of the bound is optimal
    report = run(problem, solver, objective_tolerance=1e-9, confirm_infeasible="ladder")
    if report.state == "optimal":
        return True
    if report.state == "infeasible":
        return False
    raise SolverFailed(
        f"{what}: the solver stopped before proving the best selection of bids "
        f"({report.state}, time limit {options.time_limit_seconds:g} s; tried: "
        f"{'; '.join(report.attempts)}); no bids are reported"
    )


def _chosen(what: str, x: Mapping[str, pulp.LpVariable]) -> set[str]:
    chosen = set()
    for bid_id, var in x.items():
        value = var.varValue
        if value is None or min(abs(value), abs(value - 1)) > 1e-6:
            raise SolverFailed(f"{what}: bid {bid_id} came back as {value}, not 0 or 1")
        if value > 0.5:
            chosen.add(bid_id)
    return chosen


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
        selected = _optimise(what, bid_round, bids, eligible, costs, values, budget, cover, options)
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


def _optimise(
    what: str,
    bid_round: BidRound,
    bids: Mapping[str, Bid],
    eligible: Sequence[str],
    costs: Mapping[str, int],
    values: Mapping[str, int],
    budget: Mapping[str, int],
    cover: Sequence[str],
    options: SolverOptions,
) -> set[str]:
    problem = pulp.LpProblem("bid_round", pulp.LpMaximize)
    x = problem.add_variable_dict("x", (list(eligible),), cat=pulp.LpBinary)
    for n, year in enumerate(sorted(budget)):
        row = {x[b]: costs[b] for b in eligible if year in bids[b].years}
        if row:
            problem += pulp.LpAffineExpression(row) <= budget[year], f"budget_{n}"
    for n, area in enumerate(cover):
        row = {x[b]: 1 for b in eligible if area in bids[b].partner_areas}
        problem += pulp.LpAffineExpression(row) >= 1, f"cover_{n}"
    overlaps = False
    if not bid_round.allow_overlap:
        offering: dict[tuple[str, str], list[str]] = defaultdict(list)
        for b in eligible:
            for pair in sorted(deliveries(bids[b])):
                offering[pair].append(b)
        for n, pair in enumerate(sorted(offering)):
            if len(offering[pair]) > 1:
                row = {x[b]: 1 for b in offering[pair]}
                problem += pulp.LpAffineExpression(row) <= 1, f"overlap_{n}"
                overlaps = True

    # 1. the best objective
    value = pulp.LpAffineExpression({x[b]: values[b] for b in eligible})
    problem += value
    if not _solve_mip(problem, options, what):
        budgets = ", ".join(f"{y} {pounds(budget[y])}" for y in sorted(budget))
        rule = " without two bids for one service in one area" if overlaps else ""
        raise InfeasibleScenario(
            [f"{what}: no selection of bids within the budget ({budgets}) covers every area{rule}"]
        )
    best = sum(values[b] for b in _chosen(what, x))
    problem += value >= best - 0.5, "best_value"

    # 2. the least total cost among the best
    cost = pulp.LpAffineExpression({x[b]: costs[b] * len(set(bids[b].years)) for b in eligible})
    problem.sense = pulp.LpMinimize
    problem.setObjective(cost)
    if not _solve_mip(problem, options, what):
        raise SolverFailed(f"{what}: the best selection of bids could not be found again")
    incumbent = _chosen(what, x)
    cheapest = sum(costs[b] * len(set(bids[b].years)) for b in incumbent)
    problem += cost <= cheapest + 0.5, "least_cost"

    # 3. earlier bid ids first: keep a bid if some tied selection (with the bids kept so far)
    #    includes it, else leave it out
    for b in eligible:
        if b not in incumbent:
            x[b].lowBound = 1
            if _solve_mip(problem, options, what):
                incumbent = _chosen(what, x)
            else:
                x[b].lowBound = 0
                x[b].upBound = 0
                continue
        x[b].lowBound = 1
    return incumbent


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


# --- public API -----------------------------------------------------------------------------


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
