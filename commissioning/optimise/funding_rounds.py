"""The allocation mechanisms that run before the benchmark optimiser, in a documented order.

1. Fund splits divide a fund into its direct and co-commissioning shares.
2. Formula grants pay out each `area_grant` pot with a formula (need shares, then damping).
3. Bid rounds choose multi-borough bids within the co-commissioning budget.
4. The benchmark optimiser then tops up services with what is left: each formula grant and each
   selected bid becomes a fixed commitment on its pot (so pot totals reconcile), and the units
   of selected bids count as existing provision in the years they run.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import polars as pl

from commissioning.models import (
    ExistingProvision,
    FixedCommitment,
    FundingPot,
    Scenario,
    YearAmount,
)
from commissioning.optimise.bid_round import RoundResult
from commissioning.optimise.bid_selection import select_bids
from commissioning.optimise.formula_grant import allocate_formula_grants, effective_pot_amounts

T = TypeVar("T")


@dataclass
class _RoundMemory:
    key: Callable[[Scenario], str]
    limit: int
    answers: dict[tuple[str, str], Any] = field(default_factory=dict)

    def recall(self, name: str, compute: Callable[[Scenario], T], scenario: Scenario) -> T:
        key = (name, self.key(scenario))
        if key not in self.answers:
            if len(self.answers) >= self.limit:
                self.answers.pop(next(iter(self.answers)))  # the oldest input goes first
            self.answers[key] = compute(scenario)
        answer: T = self.answers[key]
        return answer


_MEMORY: contextvars.ContextVar[_RoundMemory | None] = contextvars.ContextVar(
    "commissioning_round_memory", default=None
)


@contextlib.contextmanager
def remembering_rounds(key: Callable[[Scenario], str], limit: int = 64) -> Iterator[None]:
    """Within the block, a formula grant or bid round whose input has the same `key` as one
    already run is answered from memory (the same result object), not run again. `key` must
    digest everything the rounds read; a sweep of a pot no round names then runs them once
    (commissioning.analysis.sweep_reuse)."""
    token = _MEMORY.set(_RoundMemory(key, limit))
    try:
        yield
    finally:
        _MEMORY.reset(token)


def _run_round(name: str, compute: Callable[[Scenario], T], scenario: Scenario) -> T:
    memory = _MEMORY.get()
    return compute(scenario) if memory is None else memory.recall(name, compute, scenario)


@dataclass(frozen=True)
class PreparedRound:
    """What the optimiser solves, plus the grant and bid outcomes for the run's tables."""

    scenario: Scenario
    grants: pl.DataFrame | None
    bids: pl.DataFrame | None
    bid_provision: dict[str, list[ExistingProvision]] = field(default_factory=dict)
    bid_rounds: list[RoundResult] = field(default_factory=list)  # with each bid's reason


def pots_with_amounts(scenario: Scenario, amounts: dict[str, dict[str, int]]) -> list[FundingPot]:
    """The scenario's pots with their yearly amounts replaced (as fund splits leave them)."""
    return [
        pot.model_copy(
            update={
                "amounts": [
                    YearAmount(year=y, amount_pence=amounts[pot.id][y])
                    for y in scenario.financial_years
                ]
            }
        )
        for pot in scenario.pots
    ]


def prepare(scenario: Scenario) -> PreparedRound:
    if not (scenario.fund_splits or scenario.formula_grants or scenario.bid_rounds):
        return PreparedRound(scenario, None, None)
    amounts = effective_pot_amounts(scenario)
    grants = (
        _run_round("formula_grants", allocate_formula_grants, scenario)
        if scenario.formula_grants
        else None
    )
    selection = _run_round("bids", select_bids, scenario) if scenario.bid_rounds else None

    commitments = list(scenario.commitments)
    if grants is not None:
        commitments += _grant_commitments(scenario, grants)
    if selection is not None:
        commitments += selection.commitments
    pots = pots_with_amounts(scenario, amounts)
    solved = scenario.model_copy(
        update={
            "pots": pots,
            "commitments": commitments,
            "fund_splits": [],
            "formula_grants": [],
            "bid_rounds": [],
        }
    )
    return PreparedRound(
        solved,
        grants,
        selection.table if selection is not None else None,
        selection.provision if selection is not None else {},
        selection.rounds if selection is not None else [],
    )


def _grant_commitments(scenario: Scenario, grants: pl.DataFrame) -> list[FixedCommitment]:
    """Each formula grant's yearly total, as a commitment on its pot paid before top-ups."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for row in grants.iter_rows(named=True):
        totals[(row["pot"], row["year"])] += row["allocated_pence"]
    names = {g.pot: g.name for g in scenario.formula_grants}
    return [
        FixedCommitment(
            id=f"formula_grant_{pot}_{year.replace('/', '_')}",
            name=f"{names[pot]} formula grant to areas",
            pot=pot,
            amount_pence=total,
            years=[year],
            source="paid to areas by the formula grant (see grants.csv)",
        )
        for (pot, year), total in sorted(totals.items())
    ]
