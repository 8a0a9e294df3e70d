"""When fairness may be checked on money alone.

When no rule ties an area's services or years together (no area totals in pence, no pace of
change, one-year awards), whether a set of levels is affordable depends only on how much each
spending class must spend and which pots may pay: a transportation problem with a handful of
variables (`leximin.MoneyModel`), instead of the full model with one variable per cell.
"""

from __future__ import annotations

from commissioning.optimise.data import AllocationData


def applies(data: AllocationData) -> bool:
    policy = data.scenario.policy
    return (
        policy.max_change_pct is None
        and policy.award_years == 1
        and all(limit.service is not None for limit in policy.area_limits)
    )
