"""What it would cost to bring every cell to its benchmark, exactly, within every rule.

Starting from the delivered allocation, every cell below benchmark is *lifted* by the fewest
whole granules that reach it (a multi-year award then keeps each lifted unit to the award's
end, which can cost units in a later year). A cell is *unreachable*, reported with the rule
named and not costed, when no rule allows the lift:

- no pot may fund the service in that area;
- its own cap (benchmark cap or a per-service area limit) is below the benchmark;
- its area's total cap cannot hold the lifted cells of that area and year (all the area's
  below-benchmark cells in that year are then unreachable: they compete for the cap);
- the lifted totals would move the area by more than the pace of change allows.

A cell held by its own cap is lifted to that cap: with money enough for everyone, leximin
funds it to its cap before it tops anyone else up to benchmark, so that money is needed too.
Cells held by an area's total cap are raised within that cap the way leximin would (lowest
level first; exact when the area's cells cost the same per granule). Cells held by the pace of
change keep their delivered units: the figures then assume the area stays as delivered.

`cost_pence` is the price of the granules a lift buys (on an unreachable cell's row: to its
cap). `extra_money_pence` is what the pots must grow by: per year, the least total addition to
pot budgets for which the lifted allocation
can be paid within pot eligibility and ring-fences (money already unspent counts; a linear
programme over pots × spending classes, a transport problem whose integral data give an
integral answer; ties go to pots in the scenario's order). Adding the `pot` rows' amounts to
those pots makes the lifted allocation affordable, so a re-solve reaches
benchmark in every reachable cell (leximin takes any allocation with every cell at level 1
when one exists); one penny less in total and the lift cannot be paid.

One table, `cost_to_benchmark`, with a `level` column:

| level | one row per | keys set |
|---|---|---|
| `cell` | year × area × benchmarked service (`status`, see below) | area, service, pots |
| `borough` | year × area | area |
| `service` | year × service | service |
| `pots` | year × set of pots that may fund the cells (which pot(s) would have to grow) | pots |
| `pot` | year × pot whose budget must grow | pot |
| `london` | year | — |

A cell's `status` is `at benchmark`, `reachable` or `unreachable` (with `rule`). `cells` counts
cells short of benchmark (or lifted by an award). Aggregates sum only reachable cells'
`cost_pence`, `granules` and `units_to_buy`; they count `cells_unreachable` apart (their lift
to a cap is in `extra_money_pence`). `extra_money_pence` is set on `pot` and `london` rows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import cast

import polars as pl
import pulp

from commissioning.errors import SolverFailed
from commissioning.explain_schemas import COST_TO_BENCHMARK_SCHEMA
from commissioning.money import pounds
from commissioning.optimise.data import AllocationData, Slot
from commissioning.optimise.solver import make_solver, run

# The same tolerance as the coverage table's "at or above benchmark".
TOLERANCE = 1e-9

LEVELS = ("cell", "borough", "service", "pots", "pot", "london")


@dataclass(frozen=True)
class Lift:
    """The least allocation with every reachable cell at benchmark, and what holds the rest."""

    granules: dict[tuple[int, str], int]
    unreachable: dict[tuple[int, str], str]  # cell -> the rule that holds it


def granules_to_benchmark(slot: Slot, year: str) -> int:
    """Fewest granules that bring the cell to its benchmark (existing units count)."""
    gap = slot.target - slot.existing_in(year)
    if gap <= TOLERANCE:
        return 0
    size = float(slot.granule_units)
    n = max(0, math.ceil(gap / size - TOLERANCE))
    while slot.existing_in(year) + n * size < slot.target - TOLERANCE:
        n += 1
    while n > 0 and slot.existing_in(year) + (n - 1) * size >= slot.target - TOLERANCE:
        n -= 1
    return n


def lift_to_benchmark(data: AllocationData, granules: dict[tuple[int, str], int]) -> Lift:
    """Lift the delivered allocation to benchmark where the rules allow it."""
    held: dict[tuple[int, str], str] = {}
    for slot in data.slots:
        if not slot.benchmarked:
            continue
        for year in data.years:
            cap = slot.cap_in(year)
            if cap is not None and granules_to_benchmark(slot, year) > cap:
                held[(slot.index, year)] = f"the {slot.cap_rule}"
    while True:
        lifted = _lifted(data, granules, held)
        more = _area_caps(data, granules, lifted, held) or _pace(data, granules, lifted, held)
        if not more:
            return Lift(lifted, held)
        held.update(more)


def _lifted(
    data: AllocationData, granules: dict[tuple[int, str], int], held: dict[tuple[int, str], str]
) -> dict[tuple[int, str], int]:
    length = data.scenario.policy.award_years
    all_years = data.scenario.financial_years
    lifted = dict(granules)
    for slot in data.slots:
        if not slot.benchmarked:
            continue
        before: int | None = None
        for year in data.years:
            key = (slot.index, year)
            now = granules[key]
            cap = slot.cap_in(year)
            if key not in held:
                now = max(now, granules_to_benchmark(slot, year))
            elif cap is not None and held[key] == f"the {slot.cap_rule}":
                # Leximin funds a capped cell to its cap before it tops anyone up to benchmark,
                # so the money must pay for that too.
                now = max(now, cap)
            # A multi-year award keeps every unit bought to the award's end.
            j = all_years.index(year)
            if length > 1 and before is not None and j % length != 0:
                now = max(now, before)
            lifted[key] = now
            before = now
    _fill_area_caps(data, lifted, held)
    return lifted


def _fill_area_caps(
    data: AllocationData, lifted: dict[tuple[int, str], int], held: dict[tuple[int, str], str]
) -> None:
    """Within an area's total cap, money enough for all lets leximin raise the area's held
    cells too: lowest level first, one granule at a time, while the cap has room (exactly
    what leximin does when the area's cells cost the same per granule, as in London)."""
    for limit in data.scenario.policy.area_limits:
        if limit.service is not None or limit.max_pence is None:
            continue
        slots = [s for s in data.slots if s.area == limit.area]
        for year in data.years:
            room = limit.max_pence - sum(lifted[(s.index, year)] * s.granule_cost for s in slots)
            rising = [
                s
                for s in slots
                if (s.index, year) in held and held[(s.index, year)].startswith("the area cap")
            ]
            while rising:
                lowest = min(rising, key=lambda s: (_coverage(s, year, lifted), s.index))
                n = lifted[(lowest.index, year)]
                cap = lowest.cap_in(year)
                if (
                    lowest.granule_cost > room
                    or (cap is not None and n >= cap)
                    or n >= granules_to_benchmark(lowest, year)
                ):
                    rising.remove(lowest)
                    continue
                lifted[(lowest.index, year)] = n + 1
                room -= lowest.granule_cost


def _coverage(slot: Slot, year: str, lifted: dict[tuple[int, str], int]) -> float:
    units = slot.existing_in(year) + lifted[(slot.index, year)] * float(slot.granule_units)
    return min(1.0, units / slot.target) / float(slot.priority)


def _area_caps(
    data: AllocationData,
    granules: dict[tuple[int, str], int],
    lifted: dict[tuple[int, str], int],
    held: dict[tuple[int, str], str],
) -> dict[tuple[int, str], str]:
    more: dict[tuple[int, str], str] = {}
    for limit in data.scenario.policy.area_limits:
        if limit.service is not None or limit.max_pence is None:
            continue
        slots = [s for s in data.slots if s.area == limit.area]
        for year in data.years:
            total = sum(lifted[(s.index, year)] * s.granule_cost for s in slots)
            if total <= limit.max_pence:
                continue
            for s in slots:
                key = (s.index, year)
                if lifted[key] > granules[key] and key not in held:
                    more[key] = f"the area cap of {pounds(limit.max_pence)} a year"
    return more


def _pace(
    data: AllocationData,
    granules: dict[tuple[int, str], int],
    lifted: dict[tuple[int, str], int],
    held: dict[tuple[int, str], str],
) -> dict[tuple[int, str], str]:
    """Pin every lifted cell of an area whose lifted totals break the pace of change (the
    rows of model.define_pace_of_change, evaluated on the lifted allocation)."""
    pct = data.scenario.policy.max_change_pct
    if pct is None:
        return {}
    share = float(pct) / 100
    more: dict[tuple[int, str], str] = {}
    for area in data.scenario.areas:
        slots = [s for s in data.slots if s.area == area.code]
        before = sum(s.previous * s.granule_cost for s in slots)
        if not before:
            continue
        broken = False
        for year in data.years:
            now = sum(lifted[(s.index, year)] * s.granule_cost for s in slots)
            if now > (1 + share) * before + 1e-6 or now < (1 - share) * before - 1e-6:
                broken = True
            before = now
        if broken:
            for s in slots:
                for year in data.years:
                    key = (s.index, year)
                    if lifted[key] > granules[key] and key not in held:
                        more[key] = f"the pace-of-change limit of {pct}% a year"
    return more


def extra_money(
    data: AllocationData, lifted: dict[tuple[int, str], int], year: str
) -> dict[str, int]:
    """The least additions to pot budgets (pence) that pay for `lifted` in `year`, within pot
    eligibility and ring-fences; ties go to pots in the scenario's order."""
    totals = {
        cls.index: sum(lifted[(i, year)] * data.slots[i].granule_cost for i in cls.slots)
        for cls in data.classes
    }
    order = {p: i for i, p in enumerate(data.pot_ids)}
    problem = pulp.LpProblem(f"extra_money_{year}", pulp.LpMinimize)
    pays = {
        (cls.index, pot): problem.add_variable(f"pays[{pot}][class{cls.index}]", lowBound=0)
        for cls in data.classes
        if totals[cls.index] > 0
        for pot in cls.pots
    }
    if not pays:
        return {}
    grows = {
        pot: problem.add_variable(f"grows[{pot}]", lowBound=0)
        for pot in sorted({p for _, p in pays}, key=order.__getitem__)
    }
    for cls in data.classes:
        if totals[cls.index] > 0:
            problem.addConstraint(
                pulp.LpAffineExpression({pays[(cls.index, p)]: 1 for p in cls.pots})
                == totals[cls.index],
                name=f"class_paid[{cls.index}]",
            )
    for pot, grow in grows.items():
        terms = {v: 1 for (_, p), v in pays.items() if p == pot}
        terms[grow] = -1
        problem.addConstraint(
            pulp.LpAffineExpression(terms) <= data.free_budget[(pot, year)], name=f"budget[{pot}]"
        )
    for fence in data.scenario.ring_fences:
        need = data.ring_fence_need.get((fence.id, year), 0)
        terms = {
            v: 1
            for (k, p), v in pays.items()
            if p == fence.pot and fence.id in data.classes[k].ring_fences
        }
        if need > 0 and terms:
            problem.addConstraint(pulp.LpAffineExpression(terms) >= need, name=f"fence[{fence.id}]")
    options = data.scenario.policy.solver
    total = pulp.LpAffineExpression({g: 1 for g in grows.values()})
    least = _solve(problem, total, options, year)
    # Then, at that total, grow the pots the scenario lists first.
    problem.addConstraint(total <= least + 1e-6, name="least_total")
    _solve(problem, pulp.LpAffineExpression({g: order[p] for p, g in grows.items()}), options, year)
    # Integral data give an integral answer (a transport problem): a value within a hair of a
    # whole penny is that penny (the second solve may move up to 1e-6 between pots); anything
    # else is rounded up, never down.
    pence = {p: _whole_pence(g.varValue or 0.0) for p, g in grows.items()}
    return {p: v for p, v in pence.items() if v > 0}


def _whole_pence(value: float) -> int:
    nearest = round(value)
    return nearest if abs(value - nearest) <= 1e-4 else math.ceil(value)


def _solve(
    problem: pulp.LpProblem, objective: pulp.LpAffineExpression, options: object, year: str
) -> float:
    problem.setObjective(objective)
    report = run(problem, make_solver(options, mip=False))  # type: ignore[arg-type]
    if report.state != "optimal":
        raise SolverFailed(f"{year}: could not cost the lift to benchmark ({report.state})")
    return float(pulp.value(objective) or 0.0)


def cost_to_benchmark_table(
    data: AllocationData, granules: dict[tuple[int, str], int]
) -> pl.DataFrame:
    """The `cost_to_benchmark` table (see the module docstring for its levels)."""
    lift = lift_to_benchmark(data, granules)
    cells = _cell_rows(data, granules, lift)
    rows = list(cells)
    rows += _aggregate(cells, "borough", ("area_code", "area_name"))
    rows += _aggregate(cells, "service", ("service",))
    rows += _aggregate(cells, "pots", ("pots",))
    for year in data.years:
        needed = any(lift.granules[(s.index, year)] > granules[(s.index, year)] for s in data.slots)
        grows: dict[str, int] | None = {}
        if needed:
            try:
                grows = extra_money(data, lift.granules, year)
            except SolverFailed:
                # A provisional run near its time limit: left blank, never guessed.
                grows = None
        for pot, pence in (grows or {}).items():
            rows.append(_row("pot", year, pot=pot, extra_money_pence=pence))
        mine = [r for r in cells if r["year"] == year]
        total = None if grows is None else sum(grows.values())
        rows.append(_row("london", year, extra_money_pence=total, **_sums(mine)))
    return pl.DataFrame(rows, schema=COST_TO_BENCHMARK_SCHEMA)


def _cell_rows(
    data: AllocationData, granules: dict[tuple[int, str], int], lift: Lift
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    length = data.scenario.policy.award_years
    for slot in data.slots:
        if not slot.benchmarked:
            continue
        for year in data.years:
            key = (slot.index, year)
            now = granules[key]
            short = max(0.0, slot.target - slot.existing_in(year) - now * float(slot.granule_units))
            # Six decimals, as the CSV keeps them (a target's float tail is not a shortfall).
            short = round(short, 6) if short > TOLERANCE else 0.0
            buy = lift.granules[key] - now
            if key in lift.unreachable:
                rows.append(
                    _cell(
                        slot,
                        year,
                        "unreachable",
                        lift.unreachable[key],
                        short,
                        buy,
                        buy * slot.granule_cost,
                    )
                )
            elif buy > 0:
                rule = None if short > 0 else f"kept by the {length}-year award"
                rows.append(
                    _cell(slot, year, "reachable", rule, short, buy, buy * slot.granule_cost)
                )
            else:
                rows.append(_cell(slot, year, "at benchmark", None, 0.0, 0, 0))
    names = {a.code: a.name for a in data.scenario.areas}
    for area, service, target, base, extra in data.unfundable:
        for year in data.years:
            short = round(max(0.0, target - base - dict(extra).get(year, 0.0)), 6)
            held = short > TOLERANCE
            rows.append(
                _row(
                    "cell",
                    year,
                    area_code=area,
                    area_name=names[area],
                    service=service,
                    pots="",
                    status="unreachable" if held else "at benchmark",
                    rule=f"no pot may fund {service} in this area" if held else None,
                    units_short=short if held else 0.0,
                    units_to_buy=0.0,
                    granules=0,
                    cost_pence=0,
                    cells=int(held),
                    cells_unreachable=int(held),
                )
            )
    return rows


def _cell(
    slot: Slot, year: str, status: str, rule: str | None, short: float, buy: int, cost: int
) -> dict[str, object]:
    return _row(
        "cell",
        year,
        area_code=slot.area,
        area_name=slot.area_name,
        service=slot.service,
        pots="+".join(slot.pots),
        status=status,
        rule=rule,
        units_short=short,
        units_to_buy=buy * float(slot.granule_units),
        granules=buy,
        cost_pence=cost,
        cells=int(status != "at benchmark"),
        cells_unreachable=int(status == "unreachable"),
    )


def _row(level: str, year: str, **values: object) -> dict[str, object]:
    return {"level": level, "year": year, **values}


def _sums(rows: list[dict[str, object]]) -> dict[str, object]:
    reachable = [r for r in rows if r["status"] == "reachable"]
    unreachable = [r for r in rows if r["status"] == "unreachable"]

    def total(column: str, among: list[dict[str, object]]) -> float:
        return sum(cast(float, r[column]) for r in among)

    return {
        "units_short": round(total("units_short", rows), 6),
        "units_to_buy": total("units_to_buy", reachable),
        "granules": round(total("granules", reachable)),
        "cost_pence": round(total("cost_pence", reachable)),
        "cells": len(reachable) + len(unreachable),
        "cells_unreachable": len(unreachable),
    }


def _aggregate(
    cells: list[dict[str, object]], level: str, keys: tuple[str, ...]
) -> list[dict[str, object]]:
    groups: dict[tuple[object, ...], list[dict[str, object]]] = defaultdict(list)
    for r in cells:
        groups[(r["year"], *(r[k] for k in keys))].append(r)
    return [
        _row(level, str(key[0]), **dict(zip(keys, key[1:], strict=True)), **_sums(members))
        for key, members in groups.items()
    ]
