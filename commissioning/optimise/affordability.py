"""No silent give-back: after every solve, no below-benchmark cell may be left without a unit
that money which may fund it could still buy, unless a named rule holds it.

Definition, per cell c below benchmark in year y and not at its cap: if the unspent money of the
pots that may fund c in y adds up to at least one granule of c, then that money is *usable* by
c. Usable money is a bug when no rule ties c to anything else (its area, other years, a
ring-fence): leximin would have bought the unit, since it raises c and lowers no one. When a
rule that ties cells together is in force (an area's total cap, pace of change, a multi-year
award), the money is reported as held, with the rule named.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from commissioning.errors import SolverFailed
from commissioning.money import pounds
from commissioning.optimise.data import AllocationData, Slot


@dataclass(frozen=True)
class Held:
    pot: str
    year: str
    pence: int
    rule: str


@dataclass(frozen=True)
class Hold:
    """A rule holding a cell short of a unit its pots could pay for: its reason code (see
    commissioning.optimise.reasons) and its words, which follow "held by"."""

    code: str
    words: str


def holding_rule(data: AllocationData, slot: Slot, area_total: int | None = None) -> Hold | None:
    """The rule that may hold a below-benchmark cell short of a unit its pots could pay for, or
    None. With `area_total` (the area's funded pence that year) an area's total cap is named
    only when one more granule would break it."""
    policy = data.scenario.policy
    if policy.fairness_rule == "equal_shortfall" and slot.need == 0:
        return Hold(
            "no_need_weight", "equal_shortfall, which gives an area with need index 0 no weight"
        )
    for _, limit in data.area_total_limits.get(slot.area, []):
        if limit.max_pence is not None and (
            area_total is None or area_total + slot.granule_cost > limit.max_pence
        ):
            return Hold("area_cap", f"the area cap of {pounds(limit.max_pence)} a year")
    if policy.max_change_pct is not None and any(
        s.previous > 0 for s in data.slots_by_area[slot.area]
    ):
        return Hold(
            "pace_of_change", f"the pace-of-change limit of {policy.max_change_pct}% a year"
        )
    if policy.award_years > 1:
        return Hold(
            "multi_year_award",
            f"{policy.award_years}-year awards (units must stay funded across years)",
        )
    return None


def check(
    data: AllocationData, granules: dict[tuple[int, str], int], unspent: dict[tuple[str, str], int]
) -> dict[str, object]:
    """The affordability record for summary.json; raises SolverFailed on a violation."""
    held: dict[tuple[str, str, str], int] = defaultdict(int)
    for slot in data.slots:
        if not slot.benchmarked:
            continue
        for year in data.years:
            n = granules[(slot.index, year)]
            if slot.existing_in(year) + float(slot.granule_units) * n >= slot.target - 1e-9:
                continue
            cap = slot.cap_in(year)
            if cap is not None and n >= cap:
                continue
            money = {p: unspent[(p, year)] for p in slot.pots if unspent[(p, year)] > 0}
            if sum(money.values()) < slot.granule_cost:
                continue
            hold = holding_rule(data, slot)
            if hold is None:
                raise SolverFailed(
                    f"internal check failed: {slot.area_name} {slot.service} {year} is below "
                    f"benchmark while {pounds(sum(money.values()))} that may fund it is unspent "
                    f"and one more unit costs {pounds(slot.granule_cost)}; please report this"
                )
            rule = hold.words
            for pot, pence in money.items():
                held[(pot, year, rule)] = max(held[(pot, year, rule)], pence)
    return {
        "unspent_usable_pence": 0,
        "held": [
            {"pot": pot, "year": year, "pence": pence, "rule": rule}
            for (pot, year, rule), pence in sorted(held.items())
        ],
    }
