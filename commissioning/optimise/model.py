"""The allocation model: decision variables plus a list of named rules, one function per family.

Each rule's docstring states it in words. Every constraint is named after the scenario record
that caused it and described in the commissioner's terms in `AllocationModel.described`, so an
infeasibility or a dual value maps back to a pot, a borough, a service or a ring-fence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulp

from commissioning.money import pounds
from commissioning.optimise.clock import building_models
from commissioning.optimise.data import AllocationData, Slot
from commissioning.optimise.solver import Problem

Cell = tuple[int, str]  # (slot index, year)


@dataclass
class AllocationModel:
    data: AllocationData
    elastic: bool = False
    problem: pulp.LpProblem = field(init=False)
    units: dict[Cell, pulp.LpVariable] = field(init=False)
    spend: dict[tuple[int, str, str], pulp.LpVariable] = field(init=False)
    described: dict[str, str] = field(default_factory=dict)
    slack: dict[str, pulp.LpVariable] = field(default_factory=dict)

    def __post_init__(self) -> None:
        with building_models():
            self._build()

    def _build(self) -> None:
        self.problem = Problem("allocation", pulp.LpMinimize)
        self.units = {}
        for slot in self.data.slots:
            for year in self.data.years:
                self.units[(slot.index, year)] = self.problem.add_variable(
                    f"units[{slot.area}][{slot.service}][{year}]",
                    lowBound=0 if self.elastic else slot.floor,
                    upBound=slot.cap_in(year),
                    cat=pulp.LpInteger,
                )
        self.spend = {}
        for cls in self.data.classes:
            for pot in cls.pots:
                for year in self.data.years:
                    self.spend[(cls.index, pot, year)] = self.problem.add_variable(
                        f"spend[{pot}][class{cls.index}][{year}]", lowBound=0
                    )
        for rule in RULES:
            rule(self)

    def add(
        self,
        name: str,
        description: str,
        expr: pulp.LpAffineExpression,
        sense: str,
        rhs: float,
    ) -> None:
        """Add a named rule row `expr (>= or <=) rhs`.

        In elastic mode the row gets a non-negative slack ("give") that the diagnosis minimises,
        so an infeasible scenario still solves and reports which rules had to give way.
        """
        if self.elastic:
            give = self.problem.add_variable(f"give[{name}]", lowBound=0)
            self.slack[name] = give
            expr = expr + give if sense == ">=" else expr - give
        row = expr >= rhs if sense == ">=" else expr <= rhs
        self.problem.addConstraint(row, name=name)
        self.described[name] = description

    def cell_cost(self, slot: Slot, year: str) -> pulp.LpAffineExpression:
        return pulp.LpAffineExpression({self.units[(slot.index, year)]: slot.granule_cost})


def define_pot_budgets(m: AllocationModel) -> None:
    """No pot spends more in a year than its budget less the fixed commitments it pays first."""
    scenario = m.data.scenario
    for pot in scenario.pots:
        for year in m.data.years:
            terms = {v: 1 for (k, p, y), v in m.spend.items() if p == pot.id and y == year}
            free = m.data.free_budget[(pot.id, year)]
            m.add(
                f"pot_budget[{pot.id}][{year}]",
                f"{pot.name} {year}: budget {pounds(pot.amount_in(year))} less fixed commitments "
                f"{pounds(m.data.committed[(pot.id, year)])} leaves {pounds(free)}",
                pulp.LpAffineExpression(terms),
                "<=",
                free,
            )


def define_pot_eligibility(m: AllocationModel) -> None:
    """Every funded unit is paid in full, only by pots allowed to fund that service and area."""
    for cls in m.data.classes:
        for year in m.data.years:
            expr = pulp.LpAffineExpression({m.spend[(cls.index, p, year)]: 1 for p in cls.pots})
            for i in cls.slots:
                slot = m.data.slots[i]
                expr.addterm(m.units[(i, year)], -slot.granule_cost)
            m.problem.addConstraint(
                expr == 0, name=f"paid_by_eligible_pots[class{cls.index}][{year}]"
            )
            m.described[f"paid_by_eligible_pots[class{cls.index}][{year}]"] = (
                f"units eligible for {', '.join(cls.pots)} in {year} are paid by those pots"
            )


def define_fixed_commitments(m: AllocationModel) -> None:
    """Fixed commitments are paid first: they come off the pot's budget before any allocation.

    They need no row of their own (see `pot_budget`); the pre-checks report a pot whose
    commitments alone exceed it.
    """


def define_ring_fences(m: AllocationModel) -> None:
    """A ring-fenced pot spends at least its minimum each year on the named services and areas."""
    scenario = m.data.scenario
    for fence in scenario.ring_fences:
        for year in m.data.fence_years(fence.id):
            terms = {
                v: 1
                for (k, p, y), v in m.spend.items()
                if p == fence.pot and y == year and fence.id in m.data.classes[k].ring_fences
            }
            need = m.data.ring_fence_need[(fence.id, year)]
            m.add(
                f"ring_fence[{fence.id}][{year}]",
                f"{fence.name} {year}: at least {pounds(fence.min_amount_pence)} of "
                f"{scenario.pot(fence.pot).name} on {', '.join(fence.services)}",
                pulp.LpAffineExpression(terms),
                ">=",
                need,
            )


def define_area_floors_and_caps(m: AllocationModel) -> None:
    """An area's funding stays within its floor and cap: per service as bounds on its units,
    and for the area's total across services as a row per year."""
    # Limits on one service are bounds on that slot's units (build_data); these are totals.
    totals = sorted(pair for listed in m.data.area_total_limits.values() for pair in listed)
    for i, limit in totals:
        slots = m.data.slots_by_area.get(limit.area, [])
        name = m.data.area_names[limit.area]
        for year in m.data.years:
            total = pulp.LpAffineExpression(
                {m.units[(s.index, year)]: s.granule_cost for s in slots}
            )
            if limit.min_pence is not None:
                m.add(
                    f"area_floor[{limit.area}][{i}][{year}]",
                    f"{name} {year}: floor of {pounds(limit.min_pence)}",
                    total,
                    ">=",
                    limit.min_pence,
                )
            if limit.max_pence is not None:
                m.add(
                    f"area_cap[{limit.area}][{i}][{year}]",
                    f"{name} {year}: cap of {pounds(limit.max_pence)}",
                    total,
                    "<=",
                    limit.max_pence,
                )


def define_benchmark_caps(m: AllocationModel) -> None:
    """No cell is funded above the benchmark cap (cap_at_benchmark_factor × target, less
    existing provision); applied as upper bounds on its units in build_data."""


def define_pace_of_change(m: AllocationModel) -> None:
    """An area's funded total moves at most max_change_pct from one year to the next, starting
    from its previous allocation; areas with no previous allocation are not limited."""
    pct = m.data.scenario.policy.max_change_pct
    if pct is None:
        return
    share = float(pct) / 100
    for area in m.data.scenario.areas:
        slots = m.data.slots_by_area.get(area.code, [])
        before: pulp.LpAffineExpression | float = sum(s.previous * s.granule_cost for s in slots)
        if not before:
            continue
        for year in m.data.years:
            now = pulp.LpAffineExpression({m.units[(s.index, year)]: s.granule_cost for s in slots})
            m.add(
                f"pace_up[{area.code}][{year}]",
                f"{area.name} {year}: may rise at most {pct}% on the year before",
                now - (1 + share) * before,
                "<=",
                0,
            )
            m.add(
                f"pace_down[{area.code}][{year}]",
                f"{area.name} {year}: may fall at most {pct}% on the year before",
                now - (1 - share) * before,
                ">=",
                0,
            )
            before = now


def define_multi_year_awards(m: AllocationModel) -> None:
    """A unit funded in the first year of a multi-year award stays funded to the award's end."""
    length = m.data.scenario.policy.award_years
    if length <= 1:
        return
    years = m.data.years
    for slot in m.data.slots:
        for j in range(1, len(years)):
            if j % length == 0:
                continue  # a new award period starts: units may change
            name = f"award_kept[{slot.area}][{slot.service}][{years[j]}]"
            m.problem.addConstraint(
                m.units[(slot.index, years[j])] - m.units[(slot.index, years[j - 1])] >= 0,
                name=name,
            )
            m.described[name] = (
                f"{slot.area_name} {slot.service}: units awarded in {years[j - 1]} stay funded in "
                f"{years[j]} ({length}-year award)"
            )


def define_area_floors_in_elastic_mode(m: AllocationModel) -> None:
    """Per-slot floors are bounds normally; in a diagnosis they become rows that may give way."""
    if not m.elastic:
        return
    for slot in m.data.slots:
        if slot.floor <= 0:
            continue
        for year in m.data.years:
            m.add(
                f"unit_floor[{slot.area}][{slot.service}][{year}]",
                f"{slot.area_name} {year}: at least {slot.floor * slot.granule_units} "
                f"{slot.service} units (area floor)",
                pulp.LpAffineExpression({m.units[(slot.index, year)]: 1}),
                ">=",
                slot.floor,
            )


RULES: tuple[Callable[[AllocationModel], None], ...] = (
    define_pot_budgets,
    define_pot_eligibility,
    define_fixed_commitments,
    define_ring_fences,
    define_area_floors_and_caps,
    define_benchmark_caps,
    define_pace_of_change,
    define_multi_year_awards,
    define_area_floors_in_elastic_mode,
)
