"""The words for cells a rule holds rather than money: a cap on the cell, a rule tying cells
together (an area's cap, pace of change, multi-year awards), or no pot that may fund it.

These cells are few (a rule that holds many cells usually holds them at or above benchmark), so
the figures here stay in `Fraction` where that reads most plainly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

from commissioning.models import Service
from commissioning.money import pounds
from commissioning.optimise.data import AllocationData, Slot
from commissioning.optimise.fairness import exact
from commissioning.optimise.reason_figures import (
    Granule,
    Printed,
    as_float,
    percent_text,
    ratio,
    shortage,
)
from commissioning.wording import amount

AT_OR_ABOVE = "at_or_above_benchmark"
NO_POT = "no_pot_may_fund"


def at_cap(data: AllocationData, slot: Slot, year: str, n: int, unit: str) -> tuple[str, str]:
    """A cell at its cap: the benchmark cap or an area limit, or a cap with room left for
    part of a granule only. Returns the reason code and the sentence's second half."""
    g = Fraction(slot.granule_units)
    funded = g * n
    total = exact(slot.existing_in(year)) + funded
    factor = data.scenario.policy.cap_at_benchmark_factor
    cap = slot.cap_in(year)
    # The benchmark cap binds when it set the slot's cap, or when selected bids' units
    # lowered it this year below the slot's cap (Slot.cap_in).
    if factor is not None and (
        (slot.cap_rule or "").startswith("cap at")
        or slot.cap is None
        or (cap is not None and cap < slot.cap)
    ):
        ceiling = Fraction(factor) * exact(slot.target)
        return "benchmark_cap", (
            f"One more {amount(g, unit)} would take it to {amount(total + g, unit)}, over "
            f"the cap at {factor} × benchmark ({amount(ceiling, unit)})."
        )
    for limit in data.scenario.policy.area_limits:
        if limit.area != slot.area or limit.service != slot.service:
            continue
        if limit.max_units is not None and math.floor(Fraction(limit.max_units) / g) == n:
            rule = f"the area limit of at most {amount(limit.max_units, unit)} of this service"
            if funded < Fraction(limit.max_units):
                return "next_unit_exceeds_cap", (
                    f"One more {amount(g, unit)} would take its funded units to "
                    f"{amount(funded + g, unit)}, over {rule}."
                )
            return "area_limit", f"Held by {rule}, which it has reached."
        if limit.max_pence is not None and limit.max_pence // slot.granule_cost == n:
            rule = f"the area limit of at most {pounds(limit.max_pence)} a year on this service"
            spent = n * slot.granule_cost
            if spent < limit.max_pence:
                return "next_unit_exceeds_cap", (
                    f"One more {amount(g, unit)} ({pounds(slot.granule_cost)}) would take it "
                    f"to {pounds(spent + slot.granule_cost)}, over {rule}."
                )
            return "area_limit", f"Held by {rule}, which it has reached."
    return "area_limit", f"Held by the {slot.cap_rule}."


class HeldWords:
    """The second half of a sentence for a cell that a rule tying cells together holds while
    money that may fund it is unspent."""

    def __init__(self, data: AllocationData, area_total: Callable[[str, str], int]):
        self.data = data
        self.area_total = area_total
        self._before: dict[str, int] | None = None

    def words(self, slot: Slot, year: str, code: str, left: int, rule: str, unit: str) -> str:
        unspent = f"{pounds(left)} that may fund it is unspent in {year}"
        if code == "area_cap":
            total = self.area_total(slot.area, year)
            return (
                f"{unspent}, but {slot.area_name} has {pounds(total)} funded and one more "
                f"{amount(slot.granule_units, unit)} "
                f"({pounds(slot.granule_cost)}) would break {rule}."
            )
        if code == "pace_of_change":
            return (
                f"{unspent}, but {rule} holds {slot.area_name}'s total near its previous "
                f"{pounds(self.previous_total(slot.area))} a year."
            )
        if code == "multi_year_award":
            return f"{unspent}, but it is held by {rule}: a later year could not keep it."
        return f"{unspent}, but it is held by {rule}."

    def previous_total(self, area: str) -> int:
        """An area's previous allocation in pence a year (summed once for every area)."""
        if self._before is None:
            self._before = {}
            for s in self.data.slots:
                self._before[s.area] = self._before.get(s.area, 0) + round(
                    s.previous * s.granule_cost
                )
        return self._before[area]


def unfundable(
    service: Service,
    granule: Granule,
    printed: Printed,
    area_name: str,
    target: float,
    existing: float,
) -> tuple[str, float, float, int, str]:
    """A benchmarked cell no pot may fund: its code, coverage, units and pence short, and the
    sentence."""
    name = f"{service.name} in {area_name}"
    tn, td = ratio(target)
    en, ed = ratio(existing)
    tol_n, tol_d = TOLERANCE_RATIO
    # existing >= target - tolerance, in whole numbers
    if en * td * tol_d >= (tn * tol_d - tol_n * td) * ed:
        coverage = (en * td, ed * tn)
        return (
            AT_OR_ABOVE,
            as_float(coverage),
            0.0,
            0,
            f"{name}: at or above benchmark ({percent_text(coverage)}).",
        )
    short = shortage((tn, td), (en, ed), (granule.num, granule.den), granule.cost)
    return (
        NO_POT,
        as_float(short.coverage),
        as_float(short.units),
        short.pence,
        f"{name}: {percent_text(short.coverage)} of benchmark, "
        f"{amount(as_float(short.units), granule.unit)} short ({short.granules} × "
        f"{granule.words}, {printed.pounds(short.pence)}). No pot may fund this service in "
        f"{area_name}.",
    )


# The tolerance of "at or above benchmark", as the exact binary value of the float (as
# `Fraction(1e-9)` reads it).
TOLERANCE_RATIO = (1e-9).as_integer_ratio()
