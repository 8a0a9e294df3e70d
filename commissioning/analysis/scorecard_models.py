"""The scorecard's result types: what each figure is, for summary.json, the API and workbooks.

The definitions of the figures are in commissioning.analysis.scorecard, which computes them.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DECIMALS = 6  # the precision of unit columns in the run's CSV files
RULE_OBJECTIVE_LABEL = "rule objective"


def dp(value: Fraction) -> float:
    """An exact quantity as a float to six decimal places."""
    return round(float(value), DECIMALS)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Coverage(_Model):
    """A coverage of benchmark: the ratio, and a percentage that never rounds up to 100%."""

    ratio: float = Field(description="Coverage ÷ benchmark, capped at 1, to 6 decimal places.")
    percent: str = Field(description="The ratio as a percentage, rounded down to 0.1%.")

    @classmethod
    def of(cls, value: Fraction) -> Coverage:
        tenths = math.floor(value * 1000)
        return cls(ratio=dp(value), percent=f"{tenths // 10}.{tenths % 10}%")


class CellRef(_Model):
    year: str
    area_code: str
    area_name: str
    service: str
    below_benchmark: bool


class YearScore(_Model):
    year: str
    benchmarked_cells: int
    cells_below: int
    boroughs_below_count: int
    boroughs_below: list[str] = Field(description="Names of areas with a cell below benchmark.")
    lowest_coverage: Coverage | None


class ServiceYearScore(_Model):
    year: str
    benchmarked_cells: int
    cells_below: int
    units_funded: float
    units_from_bids: float = Field(description="Σ bid_units: units of selected bids.")
    allocated_pence: int
    units_short: float = Field(description="Σ max(0, target − total), to 6 decimal places.")
    granules_short: int = Field(description="Σ per cell ⌈units short ÷ granularity⌉.")
    units_short_at_granularity: float = Field(description="granules_short × granularity.")
    short_pence: int = Field(description="granules_short × granule cost: £ short of benchmark.")


class ServiceScore(ServiceYearScore):
    """A service over all years (year 'all'), with each year beside it."""

    service: str
    service_name: str
    granularity: str = Field(description="Smallest purchasable amount, as a decimal string.")
    unit_cost_pence: int
    granule_cost_pence: int
    by_year: list[ServiceYearScore]


class PotYearMoney(_Model):
    pot: str
    pot_name: str
    year: str
    budget_pence: int
    committed_pence: int
    allocated_pence: int
    unspent_pence: int


class HeldMoney(_Model):
    pot: str
    year: str
    pence: int
    rule: str = Field(description="The named rule that kept below-benchmark cells from it.")


class Affordability(_Model):
    unspent_usable_pence: int = Field(
        description="Unspent money a below-benchmark cell could have used, no rule holding it."
    )
    held: list[HeldMoney]
    source: Literal["optimiser", "scorecard estimate"]


class RuleObjective(_Model):
    label: str = RULE_OBJECTIVE_LABEL
    rule: str | None
    level: float | None = Field(description="The rule's own lowest level, in its own measure.")


class Scorecard(_Model):
    """The run's scorecard; every definition is in commissioning.analysis.scorecard."""

    rule_objective: RuleObjective
    benchmarked_cells: int
    lowest_coverage: Coverage | None = Field(description="Over all benchmarked cells.")
    lowest_coverage_fundable: Coverage | None = Field(
        description="Over benchmarked cells some pot may fund."
    )
    highest_coverage: Coverage | None
    highest_over_lowest: float | None = Field(description="None when the lowest coverage is 0.")
    gini: float = Field(description="Gini coefficient of capped coverage, 0 = all equal.")
    unfundable_cells: int = Field(description="Benchmarked cells no pot may fund.")
    unfundable: list[CellRef]
    cells_below: int
    boroughs_below_count: int
    boroughs_below: list[str]
    years: list[YearScore]
    services: list[ServiceScore]
    pots: list[PotYearMoney]
    budget_pence: int
    committed_pence: int
    allocated_pence: int
    unspent_pence: int
    affordability: Affordability

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only (ints, floats to 6 dp, strings), for summary.json and the API."""
        return self.model_dump(mode="json")

    @property
    def short_pence(self) -> int:
        return sum(s.short_pence for s in self.services)
