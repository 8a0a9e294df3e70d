"""Everything the optimiser needs, worked out once from a scenario, in plain arrays and maps.

A *slot* is one area × service that some pot may fund; a *cell* is a slot in one year. Slots whose
funding pots and ring-fences are the same form a *spending class*: pots are interchangeable money
within a class, so the model tracks pot money per class, not per cell, and the solver never has an
integer variable on the pot dimension.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from commissioning.models import AreaLimit, ExistingProvision, Scenario, Service
from commissioning.money import pounds
from commissioning.need import benchmark_targets, need_index


@dataclass(frozen=True)
class Slot:
    index: int
    area: str
    area_name: str
    service: str
    granule_units: Decimal
    granule_cost: int  # pence per granule per year
    unit_cost: int
    target: float  # benchmark target units; 0 when the service has no benchmark
    existing: float  # units funded elsewhere in every year
    need: float  # need index of the area (mean 1)
    priority: Decimal  # fairness weight of the service (1 unless listed)
    pots: tuple[str, ...]
    ring_fences: tuple[str, ...]
    floor: int  # granules, from area limits
    cap: int | None  # granules, from area limits and the benchmark cap
    cap_rule: str | None
    previous: float  # granules funded in the year before the scenario
    existing_by_year: tuple[tuple[str, float], ...] = ()  # extra units in some years (bids)
    benchmark_cap_factor: float | None = None

    @cached_property
    def _extra(self) -> dict[str, float]:
        return dict(self.existing_by_year)

    def existing_in(self, year: str) -> float:
        """Existing units in a year: provision funded elsewhere plus selected bids' units."""
        return self.existing + self._extra.get(year, 0.0)

    def cap_in(self, year: str) -> int | None:
        """Most granules the cell may have in a year (the benchmark cap uses that year's
        existing units)."""
        extra = self._extra.get(year, 0.0)
        if not extra or self.benchmark_cap_factor is None:
            return self.cap
        room = max(0.0, self.benchmark_cap_factor * self.target - self.existing_in(year))
        by_factor = math.floor(room / float(self.granule_units) + 1e-9)
        return by_factor if self.cap is None else min(self.cap, by_factor)

    @property
    def benchmarked(self) -> bool:
        return self.target > 0

    @property
    def class_key(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return self.pots, self.ring_fences


@dataclass(frozen=True)
class SpendingClass:
    index: int
    pots: tuple[str, ...]
    ring_fences: tuple[str, ...]
    slots: tuple[int, ...]

    @property
    def label(self) -> str:
        return "+".join(self.pots) + ("|" + "+".join(self.ring_fences) if self.ring_fences else "")


@dataclass(frozen=True)
class AllocationData:
    scenario: Scenario
    years: tuple[str, ...]
    slots: tuple[Slot, ...]
    # area, service, target, existing, extra existing by year
    unfundable: tuple[tuple[str, str, float, float, tuple[tuple[str, float], ...]], ...]
    classes: tuple[SpendingClass, ...]
    free_budget: dict[tuple[str, str], int]  # (pot, year) -> budget less fixed commitments
    committed: dict[tuple[str, str], int]
    ring_fence_need: dict[tuple[str, str], int]  # (ring-fence, year) -> spend still required

    @property
    def pot_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.scenario.pots)

    @cached_property
    def slots_by_area(self) -> dict[str, list[Slot]]:
        """Each area's slots, in slot order (rules per area look them up, not scan for them)."""
        by_area: dict[str, list[Slot]] = {}
        for slot in self.slots:
            by_area.setdefault(slot.area, []).append(slot)
        return by_area

    @cached_property
    def area_total_limits(self) -> dict[str, list[tuple[int, AreaLimit]]]:
        """Each area's limits on its total across services, with their place in the policy."""
        by_area: dict[str, list[tuple[int, AreaLimit]]] = {}
        for i, limit in enumerate(self.scenario.policy.area_limits):
            if limit.service is None:
                by_area.setdefault(limit.area, []).append((i, limit))
        return by_area

    @cached_property
    def area_names(self) -> dict[str, str]:
        return {a.code: a.name for a in self.scenario.areas}

    def fence_years(self, fence_id: str) -> list[str]:
        """This data's years in which the ring-fence applies."""
        return [y for y in self.years if (fence_id, y) in self.ring_fence_need]


def _granules(units: float | Decimal, granule: Decimal, rounding: str) -> int:
    value = Decimal(str(units)) / granule
    return int(math.ceil(value) if rounding == "up" else math.floor(value))


def build_data(
    scenario: Scenario, extra_provision: Mapping[str, Sequence[ExistingProvision]] | None = None
) -> AllocationData:
    """Slots, classes and budgets of a scenario; `extra_provision` adds units per year (the
    units of selected bids) to existing provision."""
    policy = scenario.policy
    years = tuple(scenario.financial_years)
    targets = {
        (r["area_code"], r["service"]): r["target_units"]
        for r in benchmark_targets(scenario).iter_rows(named=True)
    }
    needs = {r["area_code"]: r["need_index"] for r in need_index(scenario).iter_rows(named=True)}
    existing = {(e.area, e.service): float(e.units) for e in scenario.existing_provision}
    extra: dict[tuple[str, str], dict[str, float]] = {}
    for year, provisions in (extra_provision or {}).items():
        for e in provisions:
            by_year = extra.setdefault((e.area, e.service), {})
            by_year[year] = by_year.get(year, 0.0) + float(e.units)
    # Unlisted services weigh 1 and listed weights are relative to that, so listing one service
    # changes that service alone (normalising by the largest weight would move the others).
    priorities = {p.service: p.weight for p in policy.service_priorities}
    previous = {(p.area, p.service): p.units for p in policy.previous_allocation}

    # Area lists as sets and limits by cell, so that each cell costs the same however many
    # areas there are (a list's `in` made this quadratic: 1.7 s at 3,000 areas).
    pot_areas = [
        (p, None if p.eligible_areas is None else set(p.eligible_areas)) for p in scenario.pots
    ]
    fence_areas = [(r, None if r.areas is None else set(r.areas)) for r in scenario.ring_fences]
    limits_by_cell: dict[tuple[str, str | None], list[AreaLimit]] = {}
    for limit in policy.area_limits:
        limits_by_cell.setdefault((limit.area, limit.service), []).append(limit)

    slots: list[Slot] = []
    unfundable: list[tuple[str, str, float, float, tuple[tuple[str, float], ...]]] = []
    for area in scenario.areas:
        for service in scenario.services:
            key = (area.code, service.id)
            pots = tuple(
                p.id
                for p, areas in pot_areas
                if (p.eligible_services is None or service.id in p.eligible_services)
                and (areas is None or area.code in areas)
            )
            target = targets.get(key, 0.0)
            if not pots:
                if target > 0:
                    unfundable.append(
                        (
                            area.code,
                            service.id,
                            target,
                            existing.get(key, 0.0),
                            tuple(sorted(extra.get(key, {}).items())),
                        )
                    )
                continue
            fences = tuple(
                r.id
                for r, areas in fence_areas
                if service.id in r.services and (areas is None or area.code in areas)
            )
            floor, cap, cap_rule = _limits(
                scenario, service, target, existing.get(key, 0.0), limits_by_cell.get(key, [])
            )
            slots.append(
                Slot(
                    index=len(slots),
                    area=area.code,
                    area_name=area.name,
                    service=service.id,
                    granule_units=service.granularity,
                    granule_cost=service.granule_cost_pence,
                    unit_cost=service.unit_cost_pence,
                    target=target,
                    existing=existing.get(key, 0.0),
                    need=needs[area.code],
                    priority=priorities.get(service.id, Decimal(1)),
                    pots=pots,
                    ring_fences=fences,
                    floor=floor,
                    cap=cap,
                    cap_rule=cap_rule,
                    previous=float(previous.get(key, Decimal(0)) / service.granularity),
                    existing_by_year=tuple(sorted(extra.get(key, {}).items())),
                    benchmark_cap_factor=(
                        None
                        if policy.cap_at_benchmark_factor is None
                        else float(policy.cap_at_benchmark_factor)
                    ),
                )
            )

    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
    for slot in slots:
        groups.setdefault(slot.class_key, []).append(slot.index)
    classes = tuple(
        SpendingClass(i, key[0], key[1], tuple(members))
        for i, (key, members) in enumerate(sorted(groups.items()))
    )

    committed = {(p.id, y): scenario.committed_pence(p.id, y) for p in scenario.pots for y in years}
    free = {(p.id, y): p.amount_in(y) - committed[(p.id, y)] for p in scenario.pots for y in years}

    fence_need: dict[tuple[str, str], int] = {}
    for r in scenario.ring_fences:
        for y in r.years or years:
            counted = sum(
                c.amount_pence
                for c in scenario.commitments
                if c.pot == r.pot
                and c.runs_in(y)
                and c.service in r.services
                and (r.areas is None or c.area in r.areas)
            )
            fence_need[(r.id, y)] = max(0, r.min_amount_pence - counted)

    return AllocationData(
        scenario=scenario,
        years=years,
        slots=tuple(slots),
        unfundable=tuple(unfundable),
        classes=classes,
        free_budget=free,
        committed=committed,
        ring_fence_need=fence_need,
    )


def _limits(
    scenario: Scenario, service: Service, target: float, existing: float, limits: list[AreaLimit]
) -> tuple[int, int | None, str | None]:
    """Floor and cap in granules for one slot, with the rule that sets the cap; `limits`: the
    area limits written for this area and service."""
    granule = service.granularity
    floor, cap, cap_rule = 0, None, None
    factor = scenario.policy.cap_at_benchmark_factor
    if factor is not None and target > 0:
        room = max(0.0, float(factor) * target - existing)
        cap, cap_rule = _granules(room + 1e-9, granule, "down"), f"cap at {factor} × benchmark"
    for limit in limits:
        if limit.min_units is not None:
            floor = max(floor, _granules(limit.min_units, granule, "up"))
        if limit.max_units is not None:
            limit_cap = _granules(limit.max_units, granule, "down")
            if cap is None or limit_cap < cap:
                cap, cap_rule = limit_cap, f"area limit: at most {limit.max_units} units"
        granule_cost = service.granule_cost_pence
        if limit.min_pence is not None:
            floor = max(floor, -(-limit.min_pence // granule_cost))
        if limit.max_pence is not None:
            limit_cap = limit.max_pence // granule_cost
            if cap is None or limit_cap < cap:
                cap, cap_rule = limit_cap, f"area limit: at most {pounds(limit.max_pence)} a year"
    return floor, cap, cap_rule
