"""Funding pots and what is already promised from them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from commissioning.models.base import (
    AreaCode,
    FinancialYear,
    Identifier,
    Note,
    Pence,
    Record,
    Text,
    Units,
)

PotKind = Literal["area_grant", "commissioned_services"]


class YearAmount(Record):
    """An amount of money for one financial year."""

    year: FinancialYear
    amount_pence: Pence


class FundingPot(Record):
    """Money available each year, restricted to some services and areas."""

    id: Identifier
    name: Text
    kind: PotKind = Field(
        description="area_grant: a grant paid to areas; commissioned_services: bought by MOPAC."
    )
    amounts: list[YearAmount] = Field(min_length=1, description="Budget per financial year.")
    eligible_services: list[Identifier] | None = Field(
        default=None, description="Services this pot may fund; omitted means every service."
    )
    eligible_areas: list[AreaCode] | None = Field(
        default=None, description="Areas this pot may fund; omitted means every area."
    )
    source: Note = ""
    is_assumption: bool = False

    def amount_in(self, year: str) -> int:
        return next((a.amount_pence for a in self.amounts if a.year == year), 0)

    def may_fund(self, service: str, area: str) -> bool:
        return (self.eligible_services is None or service in self.eligible_services) and (
            self.eligible_areas is None or area in self.eligible_areas
        )


class FixedCommitment(Record):
    """A contract a pot pays before anything else, e.g. the Havens at £2,165,000 a year."""

    id: Identifier
    name: Text
    pot: Identifier
    amount_pence: Pence = Field(description="Amount paid in each year the commitment runs.")
    years: list[FinancialYear] | None = Field(
        default=None, description="Years it runs; omitted means every year of the scenario."
    )
    service: Identifier | None = None
    area: AreaCode | None = Field(default=None, description="Omitted for pan-London contracts.")
    source: Note = ""

    def runs_in(self, year: str) -> bool:
        return self.years is None or year in self.years


class RingFence(Record):
    """A minimum a pot must spend each year on a set of services (and optionally areas)."""

    id: Identifier
    name: Text
    pot: Identifier
    min_amount_pence: Pence = Field(description="Minimum spend in each year it applies.")
    services: list[Identifier] = Field(min_length=1)
    areas: list[AreaCode] | None = None
    years: list[FinancialYear] | None = None
    source: Note = ""


class ExistingProvision(Record):
    """Units of a service in an area already funded from elsewhere; they count toward coverage."""

    area: AreaCode
    service: Identifier
    units: Units
    source: Note = ""
    is_assumption: bool = False
