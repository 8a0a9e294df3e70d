"""Formula grants to areas with a transition policy, and splits of a fund into shares.

A formula grant pays the whole of an `area_grant` pot to areas each year: a need-based *target*
(the pot shared by the need index, to the penny) and then a *transition policy* that damps the
move from last year's grants (floors, gains caps, a minimum grant, commitments). A fund split
divides one pot's money between a direct-to-areas share and a co-commissioning share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Protocol

from pydantic import Field, model_validator

from commissioning.models.base import (
    MAX_AREAS,
    AreaCode,
    FinancialYear,
    Identifier,
    Note,
    Pence,
    Record,
    Text,
)
from commissioning.models.policy import NeedWeight
from commissioning.money import pounds

Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
GainPercent = Annotated[Decimal, Field(ge=0, le=1000, max_digits=8, decimal_places=4)]


class AreaAmount(Record):
    """An amount of money paid to one area."""

    area: AreaCode
    amount_pence: Pence


class PreviousGrant(Record):
    """What each area received from the grant in the year before the scenario's first year."""

    year: FinancialYear = Field(description="The year before the scenario's first year.")
    amounts: list[AreaAmount] = Field(
        min_length=1,
        max_length=MAX_AREAS,
        description="Grant per area; an area not listed had none (0). With max_loss_pct or "
        "max_gain_pct every area must be listed.",
    )
    source: Note = ""
    is_assumption: bool = False


class TransitionPolicy(Record):
    """Damping between last year's grants and this year's targets; every rule is optional."""

    min_grant_pence: Pence | None = Field(
        default=None, description="Every area receives at least this much each year."
    )
    max_loss_pct: Percent | None = Field(
        default=None,
        description="Floor: no area's grant falls more than this % below its previous year's "
        "(0 = no reductions at all).",
    )
    max_gain_pct: GainPercent | None = Field(
        default=None,
        description="Gains cap: no area's grant rises more than this % above its previous "
        "year's. Areas without a previous grant are not capped.",
    )
    max_below_target_pct: Percent | None = Field(
        default=None, description="No area's grant is more than this % below its target."
    )
    commitment_years: Annotated[int, Field(ge=1, le=10, strict=True)] = Field(
        default=1,
        description="Grants are committed for periods of this many years, counted from the "
        "scenario's first year: in the later years of a period each area receives at least its "
        "grant from the period's first year (exactly that when the pot is unchanged).",
    )

    @property
    def is_empty(self) -> bool:
        return (
            self.min_grant_pence is None
            and self.max_loss_pct is None
            and self.max_gain_pct is None
            and self.max_below_target_pct is None
            and self.commitment_years == 1
        )


class FormulaGrant(Record):
    """A pot of kind area_grant paid out to areas by a need formula and a transition policy."""

    id: Identifier
    name: Text
    pot: Identifier = Field(description="The area_grant pot paid out, all of it, every year.")
    need_weights: list[NeedWeight] | None = Field(
        default=None,
        min_length=1,
        description="Indicators and weights of this grant's need formula; omitted means the "
        "scenario policy's need_weights.",
    )
    transition: TransitionPolicy = Field(default_factory=TransitionPolicy)
    previous: PreviousGrant | None = Field(
        default=None,
        description="Last year's grant per area; needed by max_loss_pct and max_gain_pct.",
    )
    source: Note = ""


class FundSplit(Record):
    """Divide a fund between a direct-to-areas share and a co-commissioning share.

    The co-commissioning share moves to `co_commissioning_pot`. The direct share (the rest)
    stays in the fund, or moves to `direct_pot` when one is named. Splits apply in the order
    listed, each to the fund's amount after earlier splits.
    """

    id: Identifier
    fund: Identifier = Field(description="The pot being divided.")
    co_commissioning_pot: Identifier = Field(description="Receives the co-commissioning share.")
    direct_pot: Identifier | None = Field(
        default=None, description="Receives the direct share; omitted: it stays in the fund."
    )
    co_commissioning_pct: Percent | None = Field(
        default=None,
        description="Co-commissioning share as a % of the fund (rounded down to whole pence).",
    )
    co_commissioning_pence: Pence | None = Field(
        default=None, description="Co-commissioning share as a fixed amount each year."
    )
    years: list[FinancialYear] | None = Field(
        default=None, description="Years the split applies; omitted means every year."
    )
    source: Note = ""

    @model_validator(mode="after")
    def _one_share(self) -> FundSplit:
        if (self.co_commissioning_pct is None) == (self.co_commissioning_pence is None):
            raise ValueError("give the co-commissioning share as either a % or an amount in pence")
        return self

    def co_share(self, fund_pence: int) -> int:
        """The co-commissioning share, in whole pence, of a fund of `fund_pence`."""
        if self.co_commissioning_pence is not None:
            return self.co_commissioning_pence
        assert self.co_commissioning_pct is not None
        return int(fund_pence * self.co_commissioning_pct // 100)


class _PotLike(Protocol):
    @property
    def id(self) -> str: ...

    def amount_in(self, year: str) -> int: ...


@dataclass(frozen=True)
class SplitIssue:
    """A split that cannot be made: the share is larger than what is left in the fund."""

    index: int
    year: str
    message: str


def split_pot_amounts(
    pots: Iterable[_PotLike], splits: Iterable[FundSplit], years: Sequence[str]
) -> tuple[dict[str, dict[str, int]], list[SplitIssue]]:
    """Each pot's money per year after the fund splits, and the splits that could not be made.

    Unknown pot ids are skipped here (the scenario's cross-reference checks report them).
    """
    amounts = {p.id: {y: p.amount_in(y) for y in years} for p in pots}
    issues: list[SplitIssue] = []
    for i, split in enumerate(splits):
        involved = [split.fund, split.co_commissioning_pot, split.direct_pot or split.fund]
        if any(pot not in amounts for pot in involved):
            continue
        for year in split.years or years:
            if year not in amounts[split.fund]:
                continue
            fund = amounts[split.fund][year]
            share = split.co_share(fund)
            if share > fund:
                issues.append(
                    SplitIssue(
                        i,
                        year,
                        f"co-commissioning share of {pounds(share)} in {year} is more than the "
                        f"{pounds(fund)} in fund {split.fund!r}",
                    )
                )
                continue
            amounts[split.fund][year] -= share
            amounts[split.co_commissioning_pot][year] += share
            if split.direct_pot is not None:
                direct = fund - share
                amounts[split.fund][year] -= direct
                amounts[split.direct_pot][year] += direct
    return amounts, issues
