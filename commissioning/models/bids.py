"""Co-commissioning bid rounds: multi-area bids from providers, selected within a budget."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from commissioning.models.base import (
    MAX_AREAS,
    AreaCode,
    FinancialYear,
    Identifier,
    Note,
    Pence,
    Record,
    Text,
    Units,
)

BidId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,59}$"),
    Field(description="Short machine name, at most 60 characters (lower case, digits, _)."),
]
Score = Annotated[Decimal, Field(ge=0, le=1000, max_digits=8, decimal_places=4)]
BidObjective = Literal["score", "coverage_weighted_score"]


class BidService(Record):
    """One line of a bid: a service delivered in some of the partner areas each year."""

    service: Identifier
    areas: list[AreaCode] | None = Field(
        default=None,
        max_length=MAX_AREAS,
        description="Areas where it is delivered; omitted means every partner area.",
    )
    units_per_area: Units = Field(
        default=Decimal(0),
        description="Units delivered in each of those areas each year; they count toward "
        "benchmark coverage.",
    )
    annual_cost_pence: Pence | None = Field(
        default=None,
        description="Price of this line per year; omitted means units_per_area × the "
        "service's unit cost × the number of areas.",
    )

    @model_validator(mode="after")
    def _units_or_price(self) -> BidService:
        if self.units_per_area == 0 and self.annual_cost_pence is None:
            raise ValueError("give units_per_area above zero, an annual_cost_pence, or both")
        return self


class Bid(Record):
    """A provider's offer: services across partner areas for some years, with a quality score."""

    id: BidId
    provider: Text
    partner_areas: list[AreaCode] = Field(min_length=1, max_length=MAX_AREAS)
    years: list[FinancialYear] = Field(
        min_length=1,
        max_length=10,
        description="Years the bid runs; selecting it commits the money of every one of them.",
    )
    score: Score = Field(description="Quality score from the evaluation panel.")
    services: list[BidService] = Field(min_length=1, max_length=200)
    source: Note = ""
    is_illustrative: bool = Field(
        default=False, description="True when the bid is made up for illustration, not real."
    )


class BidRound(Record):
    """A round of bids paid from one pot: choose the best set within its budget each year."""

    id: Identifier
    name: Text
    budget_pot: Identifier = Field(
        description="Pot that pays the bids: its money each year (after fund splits and fixed "
        "commitments) is the round's budget."
    )
    objective: BidObjective = Field(
        default="score",
        description="score: maximise the total score of the selected bids; "
        "coverage_weighted_score: each bid counts its score × its number of partner areas.",
    )
    min_partner_areas: Annotated[int, Field(ge=1, le=MAX_AREAS, strict=True)] = Field(
        default=1, description="Bids with fewer partner areas are not eligible."
    )
    require_every_area_covered: bool = Field(
        default=False,
        description="Every area the budget pot may fund must be a partner area of at least one "
        "selected bid.",
    )
    allow_overlap: bool = Field(
        default=False,
        description="Allow two selected bids to deliver the same service in the same area.",
    )
    bids: list[Bid] = Field(min_length=1, max_length=500)
    source: Note = ""
