"""Cheap arithmetic checks that catch impossible scenarios before any solver runs."""

from __future__ import annotations

from collections.abc import Iterator

from commissioning.money import pounds
from commissioning.optimise.data import AllocationData


def impossibilities(data: AllocationData) -> list[str]:
    return (
        list(_pots_overcommitted(data))
        + list(_fences_unfundable(data))
        + list(_floors_above_caps(data))
        + list(_floors_unfundable(data))
        + list(_floors_above_money(data))
    )


def _pots_overcommitted(data: AllocationData) -> Iterator[str]:
    """Commitments and ring-fences of a pot must fit inside it, year by year."""
    scenario = data.scenario
    for pot in scenario.pots:
        for year in data.years:
            budget = pot.amount_in(year)
            committed = data.committed[(pot.id, year)]
            fenced = sum(
                data.ring_fence_need.get((r.id, year), 0)
                for r in scenario.ring_fences
                if r.pot == pot.id
            )
            if committed + fenced > budget:
                fence = f" + ring-fence {pounds(fenced)}" if fenced else ""
                yield (
                    f"{pot.name} {year}: fixed commitments {pounds(committed)}{fence} exceed the "
                    f"pot of {pounds(budget)}"
                )


def _fences_unfundable(data: AllocationData) -> Iterator[str]:
    """A ring-fence needs at least one service and area its pot may fund."""
    scenario = data.scenario
    for fence in scenario.ring_fences:
        if not any(data.ring_fence_need.get((fence.id, y), 0) for y in data.years):
            continue
        if not any(fence.id in s.ring_fences and fence.pot in s.pots for s in data.slots):
            yield (
                f"{fence.name}: {scenario.pot(fence.pot).name} may not fund any of "
                f"{', '.join(fence.services)}"
                + (f" in {', '.join(fence.areas)}" if fence.areas else "")
                + f", so the ring-fence of {pounds(fence.min_amount_pence)} cannot be spent"
            )


def _floors_above_caps(data: AllocationData) -> Iterator[str]:
    for slot in data.slots:
        for year in data.years:
            cap = slot.cap_in(year)
            if cap is not None and slot.floor > cap:
                yield (
                    f"{slot.area_name} {slot.service} {year}: the floor of "
                    f"{slot.floor * slot.granule_units} units is above the "
                    f"{slot.cap_rule or 'benchmark cap'} ({cap * slot.granule_units} units)"
                )
                break


def _floors_unfundable(data: AllocationData) -> Iterator[str]:
    """A floor on a service in an area needs a pot that may fund that service there."""
    scenario = data.scenario
    fundable = {(s.area, s.service) for s in data.slots}
    for limit in scenario.policy.area_limits:
        if limit.service is None or (limit.area, limit.service) in fundable:
            continue
        floors = [
            f"{limit.min_units} units" if limit.min_units else "",
            f"{pounds(limit.min_pence)} a year" if limit.min_pence else "",
        ]
        if any(floors):
            yield (
                f"{scenario.area(limit.area).name} {limit.service}: no pot may fund it, so the "
                f"floor of {' and '.join(f for f in floors if f)} cannot be met"
            )


def _floors_above_money(data: AllocationData) -> Iterator[str]:
    """Unit floors cost money; together they cannot exceed what all pots have left."""
    for year in data.years:
        floors = sum(s.floor * s.granule_cost for s in data.slots)
        money = sum(max(0, data.free_budget[(p, year)]) for p in data.pot_ids)
        if floors > money:
            yield (
                f"{year}: area floors cost {pounds(floors)} but the pots have only "
                f"{pounds(money)} after fixed commitments"
            )
