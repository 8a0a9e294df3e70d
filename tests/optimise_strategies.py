"""Hypothesis strategies for small random allocation scenarios, built as plain dicts.

The dicts follow the scenario file format (areas inline), so a test can change them (more money,
a different rule) before validating them with `Scenario.model_validate`. Every draw is a valid
scenario; whether its rules can all hold is for the solver to say (`solve_or_reject`).
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st

from commissioning.errors import InfeasibleScenario
from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.results import RunResult

FAIRNESS_RULES = ("leximin", "proportional_to_benchmark_cost", "equal_shortfall")
AREA_CODES = tuple(f"E09{n:06d}" for n in range(2, 34))
YEARS = ("2019/20", "2020/21", "2021/22")

Data = dict[str, Any]


def _subset(draw: st.DrawFn, items: list[str], *, allow_all: bool = True) -> list[str] | None:
    """None (everything) or a non-empty sorted subset of `items`."""
    if allow_all and draw(st.booleans()):
        return None
    return sorted(draw(st.lists(st.sampled_from(items), min_size=1, unique=True)))


def _areas(draw: st.DrawFn, count: int, population: tuple[int, int]) -> list[Data]:
    codes = AREA_CODES[:count]
    low, high = population
    return [
        {
            "code": code,
            "name": f"Area {i + 1}",
            "indicators": {
                "female_16_plus": float(draw(st.integers(low, high)) * 1000),
                "deprivation": float(draw(st.integers(5, 45))),
            },
        }
        for i, code in enumerate(codes)
    ]


def _need_weights(draw: st.DrawFn) -> list[Data]:
    if draw(st.booleans()):
        return [{"indicator": "female_16_plus", "weight": "1"}]
    return [
        {"indicator": "female_16_plus", "weight": "0.5"},
        {"indicator": "deprivation", "weight": "0.5"},
    ]


def _services(
    draw: st.DrawFn, count: int, *, all_benchmarked: bool
) -> tuple[list[Data], list[Data]]:
    services, benchmarks = [], []
    for s in range(count):
        sid = f"service_{s + 1}"
        services.append(
            {
                "id": sid,
                "name": f"Service {s + 1}",
                "unit": "FTE",
                # whole pounds, so half a unit is always a whole number of pence
                "unit_cost_pence": draw(st.integers(20, 60)) * 100_000,
                "granularity": draw(st.sampled_from(["0.5", "1"])),
            }
        )
        if all_benchmarked or draw(st.integers(0, 3)) > 0:
            benchmarks.append(
                {
                    "service": sid,
                    "units": draw(st.sampled_from(["1", "2", "4"])),
                    "per": 100_000,
                    "basis": "female_16_plus",
                    "source": "test",
                    "edition": "test",
                }
            )
    return services, benchmarks


def targets(data: Data) -> dict[tuple[str, str], float]:
    """Benchmark target units per (area, service), worked out from the dict."""
    return {
        (a["code"], b["service"]): a["indicators"][b["basis"]] * float(b["units"]) / b["per"]
        for b in data["benchmarks"]
        for a in data["areas"]
    }


def _existing(draw: st.DrawFn, data: Data) -> list[Data]:
    rows = []
    granularity = {s["id"]: Decimal(s["granularity"]) for s in data["services"]}
    for (area, service), target in sorted(targets(data).items()):
        share = draw(st.sampled_from([0.0, 0.0, 0.3, 0.6, 0.9, 1.2]))
        if share == 0:
            continue
        g = granularity[service]
        units = (Decimal(str(target * share)) / g).to_integral_value() * g
        rows.append({"area": area, "service": service, "units": str(units)})
    return rows


def _gap_cost(data: Data) -> int:
    """What closing every benchmark gap would cost in a year, in pence."""
    cost = {s["id"]: s["unit_cost_pence"] for s in data["services"]}
    have = {(e["area"], e["service"]): float(e["units"]) for e in data["existing_provision"]}
    return int(sum(max(0.0, t - have.get(k, 0.0)) * cost[k[1]] for k, t in targets(data).items()))


@st.composite
def scenario_data(
    draw: st.DrawFn,
    *,
    areas: tuple[int, int] = (2, 5),
    services: tuple[int, int] = (1, 3),
    pots: tuple[int, int] = (1, 3),
    years: tuple[int, int] = (1, 3),
    commitments: bool = True,
    ring_fences: bool = True,
    rules: tuple[str, ...] = FAIRNESS_RULES,
) -> Data:
    """A small random scenario: pots with random eligibility, optional commitments and fences.

    Budgets are drawn as a share of what closing every benchmark gap would cost, from well short
    to more than enough. Commitments and ring-fences are sized to fit inside their pot.
    """
    n_areas = draw(st.integers(*areas))
    n_services = draw(st.integers(*services))
    year_names = list(YEARS[: draw(st.integers(*years))])
    service_rows, benchmark_rows = _services(draw, n_services, all_benchmarked=False)
    data: Data = {
        "name": "random small scenario",
        "financial_years": year_names,
        "areas": _areas(draw, n_areas, (20, 200)),
        "services": service_rows,
        "benchmarks": benchmark_rows,
        "existing_provision": [],
        "policy": {
            "fairness_rule": draw(st.sampled_from(rules)),
            "need_weights": _need_weights(draw),
            "solver": {"time_limit_seconds": 30, "relative_gap": 0.005, "threads": 1},
        },
    }
    data["existing_provision"] = _existing(draw, data)
    service_ids = [s["id"] for s in service_rows]
    area_codes = [a["code"] for a in data["areas"]]
    dearest = max(int(Decimal(s["granularity"]) * s["unit_cost_pence"]) for s in service_rows)
    gap = max(_gap_cost(data), 4 * dearest)

    n_pots = draw(st.integers(*pots))
    pot_rows = []
    for p in range(n_pots):
        pot_rows.append(
            {
                "id": f"pot_{p + 1}",
                "name": f"Pot {p + 1}",
                "kind": "commissioned_services",
                "amounts": [
                    {
                        "year": y,
                        "amount_pence": max(
                            2 * dearest,
                            int(gap * draw(st.integers(5, 120)) / 100 / n_pots),
                        )
                        + draw(st.integers(0, 99)),
                    }
                    for y in year_names
                ],
                "eligible_services": _subset(draw, service_ids),
                "eligible_areas": _subset(draw, area_codes),
            }
        )
    data["pots"] = pot_rows

    committed = {(p["id"], a["year"]): 0 for p in pot_rows for a in p["amounts"]}
    data["commitments"] = []
    if commitments:
        for c in range(draw(st.integers(0, 2))):
            pot = draw(st.sampled_from(pot_rows))
            smallest = min(a["amount_pence"] for a in pot["amounts"])
            runs = _subset(draw, year_names)
            amount = draw(st.integers(0, int(smallest * 0.4)))
            data["commitments"].append(
                {
                    "id": f"contract_{c + 1}",
                    "name": f"Contract {c + 1}",
                    "pot": pot["id"],
                    "amount_pence": amount,
                    "years": runs,
                    "service": draw(st.none() | st.sampled_from(service_ids)),
                    "area": draw(st.none() | st.sampled_from(area_codes)),
                }
            )
            for y in runs or year_names:
                committed[(pot["id"], y)] += amount

    data["ring_fences"] = []
    if ring_fences:
        for r in range(draw(st.integers(0, 2))):
            pot = draw(st.sampled_from(pot_rows))
            fundable = pot["eligible_services"] or service_ids
            reach = pot["eligible_areas"] or area_codes
            free = min(
                a["amount_pence"] - committed[(pot["id"], a["year"])] for a in pot["amounts"]
            )
            data["ring_fences"].append(
                {
                    "id": f"fence_{r + 1}",
                    "name": f"Fence {r + 1}",
                    "pot": pot["id"],
                    # two fences on one pot together take at most 60% of what it has left
                    "min_amount_pence": draw(st.integers(0, max(0, int(free * 0.3)))),
                    "services": sorted(
                        draw(st.lists(st.sampled_from(fundable), min_size=1, unique=True))
                    ),
                    "areas": _subset(draw, reach),
                    "years": _subset(draw, year_names),
                }
            )
    return data


@st.composite
def tiny_scenario_data(draw: st.DrawFn, rules: tuple[str, ...] = FAIRNESS_RULES) -> Data:
    """One year, 2–3 areas, 1–2 benchmarked services, 1–2 pots with eligibility, no ring-fences,
    and budgets that buy only a few granules: small enough to enumerate every allocation."""
    n_areas = draw(st.integers(2, 3))
    service_rows, benchmark_rows = _services(draw, draw(st.integers(1, 2)), all_benchmarked=True)
    data: Data = {
        "name": "tiny scenario for brute force",
        "financial_years": [YEARS[0]],
        "areas": _areas(draw, n_areas, (10, 80)),
        "services": service_rows,
        "benchmarks": benchmark_rows,
        "existing_provision": [],
        "commitments": [],
        "ring_fences": [],
        "policy": {
            "fairness_rule": draw(st.sampled_from(rules)),
            "need_weights": _need_weights(draw),
            "solver": {"time_limit_seconds": 30, "relative_gap": 0.005, "threads": 1},
        },
    }
    data["existing_provision"] = _existing(draw, data)
    service_ids = [s["id"] for s in service_rows]
    area_codes = [a["code"] for a in data["areas"]]
    cheapest = min(int(Decimal(s["granularity"]) * s["unit_cost_pence"]) for s in service_rows)
    n_pots = draw(st.integers(1, 2))
    data["pots"] = [
        {
            "id": f"pot_{p + 1}",
            "name": f"Pot {p + 1}",
            "kind": "commissioned_services",
            "amounts": [
                {
                    "year": YEARS[0],
                    # from half to ten of the cheapest granules per pot, with odd pence
                    "amount_pence": draw(st.integers(cheapest // 2, 10 * cheapest)),
                }
            ],
            "eligible_services": _subset(draw, service_ids),
            "eligible_areas": _subset(draw, area_codes),
        }
        for p in range(n_pots)
    ]
    return data


def more_money(data: Data, percent: int, extra_pence: int) -> Data:
    """The same scenario with every pot's amount in every year raised."""
    bigger = copy.deepcopy(data)
    for pot in bigger["pots"]:
        for amount in pot["amounts"]:
            amount["amount_pence"] = amount["amount_pence"] * (100 + percent) // 100 + extra_pence
    return bigger


def solve_or_reject(data: Data) -> RunResult:
    """Solve the scenario; a draw whose rules cannot all hold must say so in plain words."""
    scenario = Scenario.model_validate(data)
    try:
        return solve(scenario)
    except InfeasibleScenario as exc:
        assert exc.reasons and all(isinstance(r, str) and r.strip() for r in exc.reasons)
        reject()
