"""Every fairness rule against its one-line definition, by enumerating every allocation.

Small instances (at most 6 cells: up to 3 areas × 2 services, one year) with 1–3 pots of
different eligibility, existing provision, per-service caps and floors, and service priorities.
Every granule vector within the cells' bounds that the pots can pay for is enumerated ("can
pay" is Hall's condition: for every set S of pots, the cells only pots in S may fund cost no
more than S has). The levels are worked out here from the README's definitions, independently
of the engine, as exact fractions; the best allocation is the one whose sorted level vector is
lexicographically largest, and among those the cheapest. The engine must deliver exactly that
sorted vector, and a cost within its stated gap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from itertools import combinations
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st

from commissioning.errors import InfeasibleScenario
from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.optimise.data import AllocationData, build_data

RULES = ("leximin", "proportional_to_benchmark_cost", "equal_shortfall")
CODES = ("E09000002", "E09000003", "E09000004")
YEAR = "2019/20"
Data = dict[str, Any]


def _frac(x: object) -> Fraction:
    return Fraction(repr(x)) if isinstance(x, float) else Fraction(str(x))


def reference_level(
    rule: str,
    target: Fraction,
    existing: Fraction,
    funded: Fraction,
    need: Fraction,
    weight: Fraction,
) -> Fraction | None:
    """The README's one-line definitions (None: the rule does not score the cell)."""
    if rule == "leximin":
        return min(Fraction(1), (existing + funded) / target) / weight
    if rule == "proportional_to_benchmark_cost":
        if existing >= target:
            return None
        return min(Fraction(1), funded / (target - existing)) / weight
    short = max(Fraction(0), target - existing - funded)
    return -need * weight * short / target


@st.composite
def tiny(draw: st.DrawFn, rule: str) -> Data:
    n_areas = draw(st.integers(1, 3))
    n_services = draw(st.integers(1, 2))
    areas = [
        {
            "code": CODES[i],
            "name": f"Area {i + 1}",
            "indicators": {
                "female_16_plus": float(draw(st.integers(5, 60)) * 1000),
                "deprivation": float(draw(st.integers(5, 45))),
            },
        }
        for i in range(n_areas)
    ]
    services, benchmarks = [], []
    for s in range(n_services):
        sid = f"service_{s + 1}"
        services.append(
            {
                "id": sid,
                "name": f"Service {s + 1}",
                "unit": "FTE",
                "unit_cost_pence": draw(st.integers(20, 60)) * 100_000,
                "granularity": draw(st.sampled_from(["0.5", "1"])),
            }
        )
        benchmarks.append(
            {
                "service": sid,
                "units": draw(st.sampled_from(["2", "4", "8"])),
                "per": 100_000,
                "basis": "female_16_plus",
                "source": "t",
                "edition": "t",
            }
        )
    data: Data = {
        "name": "brute force",
        "financial_years": [YEAR],
        "areas": areas,
        "services": services,
        "benchmarks": benchmarks,
        "existing_provision": [],
        "policy": {
            "fairness_rule": rule,
            "need_weights": draw(
                st.sampled_from(
                    [
                        [{"indicator": "female_16_plus", "weight": "1"}],
                        [
                            {"indicator": "female_16_plus", "weight": "0.5"},
                            {"indicator": "deprivation", "weight": "0.5"},
                        ],
                    ]
                )
            ),
            "solver": {"time_limit_seconds": 30, "relative_gap": 0.005, "threads": 1},
        },
    }
    for a in areas:
        for s in services:
            share = draw(st.sampled_from([0, 0, 0, 1, 2, 3]))
            if share:
                data["existing_provision"].append(
                    {"area": a["code"], "service": s["id"], "units": str(Decimal(share) / 2)}
                )
    limits = []
    for a in areas:
        for s in services:
            if draw(st.integers(0, 5)) == 0:
                limits.append(
                    {
                        "area": a["code"],
                        "service": s["id"],
                        "max_units": draw(st.sampled_from(["0.5", "1", "2"])),
                    }
                )
            elif draw(st.integers(0, 7)) == 0:
                limits.append({"area": a["code"], "service": s["id"], "min_units": "0.5"})
    data["policy"]["area_limits"] = limits
    if n_services > 1 and draw(st.booleans()):
        data["policy"]["service_priorities"] = [
            {"service": "service_1", "weight": draw(st.sampled_from(["0.5", "2", "3"]))}
        ]
    cheapest = min(int(Decimal(s["granularity"]) * s["unit_cost_pence"]) for s in services)
    n_pots = draw(st.integers(1, 3))
    sids = [s["id"] for s in services]
    codes = [a["code"] for a in areas]

    def subset(items: list[str]) -> list[str] | None:
        if draw(st.booleans()):
            return None
        return sorted(draw(st.lists(st.sampled_from(items), min_size=1, unique=True)))

    data["pots"] = [
        {
            "id": f"pot_{p + 1}",
            "name": f"Pot {p + 1}",
            "kind": "commissioned_services",
            "amounts": [{"year": YEAR, "amount_pence": draw(st.integers(0, 7 * cheapest))}],
            "eligible_services": subset(sids),
            "eligible_areas": subset(codes),
        }
        for p in range(n_pots)
    ]
    return data


def _affordable(data: AllocationData, cost: list[int]) -> bool:
    pots = data.pot_ids
    for size in range(1, len(pots) + 1):
        for chosen in combinations(pots, size):
            money = sum(data.free_budget[(p, YEAR)] for p in chosen)
            owed = sum(
                c for s, c in zip(data.slots, cost, strict=True) if set(s.pots) <= set(chosen)
            )
            if owed > money:
                return False
    return True


def _vectors(data: AllocationData) -> Iterator[tuple[int, ...]]:
    slots = data.slots
    money = sum(data.free_budget[(p, YEAR)] for p in data.pot_ids)

    def walk(i: int, spent: int, prefix: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
        if i == len(slots):
            yield prefix
            return
        slot = slots[i]
        reach = math.ceil(max(0.0, slot.target - slot.existing) / float(slot.granule_units))
        top = reach + 1 if slot.cap is None else slot.cap
        for k in range(slot.floor, top + 1):
            cost = spent + k * slot.granule_cost
            if cost > money:
                break
            yield from walk(i + 1, cost, (*prefix, k))

    yield from walk(0, 0, ())


def sorted_levels(data: AllocationData, rule: str, granules: dict[int, int]) -> list[Fraction]:
    weights = {p.service: Fraction(p.weight) for p in data.scenario.policy.service_priorities}
    levels = []
    for slot in data.slots:
        if slot.target <= 0:
            continue
        funded = Fraction(slot.granule_units) * granules.get(slot.index, 0)
        level = reference_level(
            rule,
            _frac(slot.target),
            _frac(slot.existing),
            funded,
            _frac(slot.need),
            weights.get(slot.service, Fraction(1)),
        )
        if level is not None:
            levels.append(level)
    return sorted(levels)


def brute_force(data: AllocationData, rule: str) -> tuple[list[Fraction], int]:
    best: tuple[list[Fraction], int] | None = None
    for vector in _vectors(data):
        cost = [k * s.granule_cost for k, s in zip(vector, data.slots, strict=True)]
        if not _affordable(data, cost):
            continue
        levels = sorted_levels(data, rule, dict(enumerate(vector)))
        total = sum(cost)
        if best is None or levels > best[0] or (levels == best[0] and total < best[1]):
            best = (levels, total)
    assert best is not None, "the floors alone fit (the strategy keeps them affordable)"
    return best


def delivered(data: AllocationData, scenario: Scenario, rule: str) -> tuple[list[Fraction], int]:
    run = solve(scenario)
    units = {
        (r["area_code"], r["service"]): Fraction(r["funded_cost_pence"])
        for r in run.table("coverage").iter_rows(named=True)
    }
    granules = {}
    for slot in data.slots:
        pence = units.get((slot.area, slot.service), Fraction(0))
        granules[slot.index] = int(pence / slot.granule_cost)
    cost = int(run.table("allocations")["cost_pence"].sum())
    return sorted_levels(data, rule, granules), cost


def compare(payload: Data) -> None:
    scenario = Scenario.model_validate(payload)
    data = build_data(scenario)
    rule = scenario.policy.fairness_rule
    try:
        best_levels, best_cost = brute_force(data, rule)
    except AssertionError:
        return  # floors the money cannot pay: the engine reports infeasible elsewhere
    try:
        levels, cost = delivered(data, scenario, rule)
    except InfeasibleScenario:
        reject()  # a floor on a cell no pot may fund: the engine refuses, rightly
    assert levels == best_levels, (levels, best_levels)
    assert cost <= best_cost * 1.005 + 1, (cost, best_cost)


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_matches_its_definition_by_enumeration(rule: str) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(tiny(rule))
    def check(payload: Data) -> None:
        note(json.dumps(payload))
        compare(payload)

    check()


def three_areas(spend_pence: int) -> Data:
    """Three areas, one service, targets of 10 units (granularity 1, £1 a unit); area A capped
    at 1 unit, B and C each with 2 existing units."""
    return {
        "name": "three areas",
        "financial_years": [YEAR],
        "areas": [
            {"code": code, "name": name, "indicators": {"female_16_plus": 250_000.0}}
            for code, name in zip(CODES, "ABC", strict=True)
        ],
        "services": [
            {
                "id": "idva",
                "name": "IDVA",
                "unit": "FTE",
                "unit_cost_pence": 100,
                "granularity": "1",
            }
        ],
        "benchmarks": [
            {
                "service": "idva",
                "units": "4",
                "per": 100_000,
                "basis": "female_16_plus",
                "source": "t",
                "edition": "t",
            }
        ],
        "existing_provision": [
            {"area": CODES[1], "service": "idva", "units": "2"},
            {"area": CODES[2], "service": "idva", "units": "2"},
        ],
        "policy": {"area_limits": [{"area": CODES[0], "service": "idva", "max_units": "1"}]},
        "pots": [
            {
                "id": "pot",
                "name": "Pot",
                "kind": "commissioned_services",
                "amounts": [{"year": YEAR, "amount_pence": spend_pence}],
            }
        ],
    }


@pytest.mark.parametrize("rule", RULES)
def test_three_area_example_lifts_b_and_c_together(rule: str) -> None:
    """0.1.0 gave B 7 units (90 %) and C 0 (20 %) once A was held by its cap."""
    payload = three_areas(800)
    payload["policy"]["fairness_rule"] = rule
    run = solve(Scenario.model_validate(payload))
    funded = {
        r["area_name"]: r["funded_units"] for r in run.table("coverage").iter_rows(named=True)
    }
    assert funded["A"] == 1
    assert sorted([funded["B"], funded["C"]]) == [3, 4]
    compare(payload)


def _add_marac(payload: Data) -> None:
    """A second benchmarked service with few units: 1 per 100,000 women, half-FTE granules."""
    payload["services"].append(
        {
            "id": "marac",
            "name": "MARAC",
            "unit": "FTE",
            "unit_cost_pence": 100,
            "granularity": "0.5",
        }
    )
    payload["benchmarks"].append(
        {
            "service": "marac",
            "units": "1",
            "per": 100_000,
            "basis": "female_16_plus",
            "source": "t",
            "edition": "t",
        }
    )


def test_equal_shortfall_does_not_starve_a_service_with_few_units() -> None:
    """With existing provision removed, 0.1.0's equal_shortfall funded no MARAC coordinators,
    because a gap of ~1 FTE always looked smaller than an IDVA gap of ~4. As a share of target,
    both services are lifted together."""
    payload = three_areas(2_000)
    payload["existing_provision"] = []
    payload["policy"] = {"fairness_rule": "equal_shortfall"}
    _add_marac(payload)
    run = solve(Scenario.model_validate(payload))
    by_service: dict[str, float] = {}
    for r in run.table("coverage").iter_rows(named=True):
        by_service[r["service"]] = by_service.get(r["service"], 0) + r["funded_units"]
    assert by_service["marac"] > 0
    lowest = min(r["coverage_ratio"] for r in run.table("coverage").iter_rows(named=True))
    assert lowest > 0.4
    compare(payload)


def test_listing_one_service_priority_changes_only_that_service() -> None:
    """Unlisted services weigh 1: giving MARAC weight 2 lifts MARAC first."""
    payload = three_areas(1_500)
    payload["existing_provision"] = []
    payload["policy"] = {"service_priorities": [{"service": "marac", "weight": "2"}]}
    _add_marac(payload)
    run = solve(Scenario.model_validate(payload))
    rows = list(run.table("coverage").iter_rows(named=True))
    marac = [r["coverage_ratio"] for r in rows if r["service"] == "marac"]
    idva = [r["coverage_ratio"] for r in rows if r["service"] == "idva"]
    assert min(marac) > max(idva)  # coverage ÷ 2 is what is lifted: MARAC gets about twice
    compare(payload)
