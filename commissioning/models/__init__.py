"""Domain models: validated once at the edge, immutable inside the engine."""

from commissioning.models.area import Area
from commissioning.models.bids import Bid, BidRound, BidService
from commissioning.models.funding import (
    ExistingProvision,
    FixedCommitment,
    FundingPot,
    RingFence,
    YearAmount,
)
from commissioning.models.grants import (
    AreaAmount,
    FormulaGrant,
    FundSplit,
    PreviousGrant,
    TransitionPolicy,
)
from commissioning.models.policy import (
    AreaLimit,
    NeedWeight,
    Policy,
    PreviousAllocation,
    ServicePriority,
    SolverOptions,
)
from commissioning.models.scenario import Scenario
from commissioning.models.scenario_file import AreaDataSource, AreaTable, ScenarioFile
from commissioning.models.service import Benchmark, Service

__all__ = [
    "Area",
    "AreaAmount",
    "AreaDataSource",
    "AreaLimit",
    "AreaTable",
    "Benchmark",
    "Bid",
    "BidRound",
    "BidService",
    "ExistingProvision",
    "FixedCommitment",
    "FormulaGrant",
    "FundSplit",
    "FundingPot",
    "NeedWeight",
    "Policy",
    "PreviousAllocation",
    "PreviousGrant",
    "RingFence",
    "Scenario",
    "ScenarioFile",
    "Service",
    "ServicePriority",
    "SolverOptions",
    "TransitionPolicy",
    "YearAmount",
]
