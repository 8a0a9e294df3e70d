"""The commissioner's policy choices: fairness rule, need weights, limits and solver settings."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from commissioning.models.base import AreaCode, ColumnName, Identifier, Pence, Record, Units

FairnessRule = Literal["leximin", "proportional_to_benchmark_cost", "equal_shortfall"]
Weight = Annotated[Decimal, Field(ge=0, le=10**6, max_digits=12, decimal_places=6)]


class NeedWeight(Record):
    """How much one indicator counts in the need index."""

    indicator: ColumnName
    weight: Weight


DEFAULT_NEED_WEIGHTS: tuple[NeedWeight, ...] = (
    NeedWeight(indicator="female_16_plus", weight=Decimal(1)),
)


class ServicePriority(Record):
    """Priority weight of a service in the fairness stage (coverage is divided by it)."""

    service: Identifier
    weight: Annotated[Decimal, Field(gt=0, le=1000, max_digits=10, decimal_places=4)]


class AreaLimit(Record):
    """Floor and/or cap for an area (optionally one service), in units or in pence a year."""

    area: AreaCode
    service: Identifier | None = Field(
        default=None, description="Omitted: the limit applies to the area's total across services."
    )
    min_units: Units | None = None
    max_units: Units | None = None
    min_pence: Pence | None = None
    max_pence: Pence | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AreaLimit:
        if all(v is None for v in (self.min_units, self.max_units, self.min_pence, self.max_pence)):
            raise ValueError("give at least one of min_units, max_units, min_pence, max_pence")
        if self.service is None and (self.min_units is not None or self.max_units is not None):
            raise ValueError("a limit in units needs a service; use min_pence/max_pence for totals")
        for low, high in ((self.min_units, self.max_units), (self.min_pence, self.max_pence)):
            if low is not None and high is not None and low > high:
                raise ValueError(f"minimum {low} is above maximum {high}")
        return self


class PreviousAllocation(Record):
    """Units an area had from these pots in the year before the scenario (for stability/pace)."""

    area: AreaCode
    service: Identifier
    units: Units


class SolverOptions(Record):
    """Which solver runs, and how long and how exactly."""

    solver: Literal["highs", "cbc"] = "highs"
    time_limit_seconds: Annotated[float, Field(gt=0, le=3600, strict=True)] = 60.0
    relative_gap: Annotated[float, Field(ge=0, le=0.5, strict=True)] = 0.005
    threads: Annotated[int, Field(ge=1, le=64, strict=True)] = 1


class Policy(Record):
    """Options a commissioner sets for one scenario."""

    fairness_rule: FairnessRule = Field(
        default="leximin",
        description=(
            "leximin: lift the lowest benchmark coverage first; proportional_to_benchmark_cost: "
            "share money in proportion to each cell's cost of reaching benchmark; "
            "equal_shortfall: equalise the shortfall in units, measured against need."
        ),
    )
    need_weights: list[NeedWeight] = Field(
        default_factory=lambda: list(DEFAULT_NEED_WEIGHTS),
        min_length=1,
        description="Indicators and weights of the need index (default: female_16_plus only).",
    )
    service_priorities: list[ServicePriority] = Field(default_factory=list)
    cap_at_benchmark_factor: Annotated[Decimal, Field(ge=1, le=100)] | None = Field(
        default=None, description="No area gets more than this multiple of its benchmark target."
    )
    area_limits: list[AreaLimit] = Field(default_factory=list)
    previous_allocation: list[PreviousAllocation] = Field(default_factory=list)
    max_change_pct: Annotated[Decimal, Field(ge=0, le=1000)] | None = Field(
        default=None,
        description="Pace of change: an area's funded total (in pence, across services) may "
        "move at most this percentage from the year before (the previous allocation, priced "
        "at unit cost, for the first year); areas with no previous allocation are not limited.",
    )
    award_years: Annotated[int, Field(ge=1, le=10, strict=True)] = Field(
        default=1, description="Length of an award: a unit funded in its first year stays funded."
    )
    solver: SolverOptions = Field(default_factory=SolverOptions)
