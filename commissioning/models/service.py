"""Services that can be bought, and the benchmarks that say how much of each an area needs."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from commissioning.models.base import ColumnName, Identifier, Note, Record, Text

ServiceUnit = Literal["FTE", "bed-space", "contract"]


class Service(Record):
    """A service bought in whole multiples of its granularity (e.g. IDVAs in half FTEs)."""

    id: Identifier
    name: Text
    unit: ServiceUnit
    unit_cost_pence: Annotated[int, Field(gt=0, le=10**11, strict=True)] = Field(
        description="Annual cost of one unit, in pence."
    )
    granularity: Annotated[Decimal, Field(gt=0, le=1000, max_digits=8, decimal_places=4)] = Field(
        default=Decimal(1), description="Smallest amount that can be bought, e.g. 0.5 FTE."
    )
    cost_source: Note = Field(default="", description="Where the unit cost comes from.")
    cost_is_assumption: bool = Field(
        default=False,
        description="True when the unit cost is an assumption, not a published figure.",
    )

    @model_validator(mode="after")
    def _granule_costs_whole_pence(self) -> Service:
        granule_cost = self.granularity * self.unit_cost_pence
        if granule_cost != granule_cost.to_integral_value():
            raise ValueError(
                f"unit_cost_pence {self.unit_cost_pence} × granularity {self.granularity} "
                "is not a whole number of pence"
            )
        return self

    @property
    def granule_cost_pence(self) -> int:
        """Annual cost of the smallest purchasable amount, in whole pence."""
        return int(self.granularity * self.unit_cost_pence)


class Benchmark(Record):
    """A rate of provision: `units` of a service per `per` people of the `basis` column."""

    service: Identifier
    units: Annotated[Decimal, Field(gt=0, le=10**6, max_digits=12, decimal_places=6)]
    per: Annotated[int, Field(gt=0, le=10**9, strict=True)] = Field(
        description="Population size the rate is per, usually 100000 (below 1,000 is warned "
        "about as a likely typo)."
    )
    basis: ColumnName = Field(
        description="Area indicator column holding the basis population, e.g. female_16_plus."
    )
    source: Text
    edition: Text

    @property
    def rate_per_person(self) -> Decimal:
        return self.units / self.per

    def target_units(self, basis_population: float) -> Decimal:
        """Units an area of this basis population needs, exactly: population × units / per."""
        return Decimal(basis_population) * self.units / self.per
