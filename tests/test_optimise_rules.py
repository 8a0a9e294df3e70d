"""The optimiser's rules hold in its answers, and broken scenarios are reported in plain words.

Rules: the benchmark cap, area limits (per service in units or pence, per area in pence), pace of
change from a previous allocation, and multi-year awards; each on a small scenario worked by
hand and on random ones. Infeasible scenarios: a pot overcommitted (caught by the pre-checks) and
floors that only the elastic diagnosis can explain.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from conftest import FIXTURE_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from optimise_strategies import Data, scenario_data, solve_or_reject

from commissioning.errors import InfeasibleScenario
from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.optimise.data import build_data
from commissioning.optimise.prechecks import impossibilities
from commissioning.results import RunResult
from commissioning.scenario_io import scenario_from_data

A, B, C = "E09000002", "E09000003", "E09000004"
YEARS3 = ["2019/20", "2020/21", "2021/22"]


def hand_worked(
    years: list[str] | None = None,
    budgets: list[int] | None = None,
    services: tuple[str, ...] = ("idva", "marac"),
    **policy: Any,
) -> Data:
    """Three areas of 100,000, 50,000 and 25,000 women; IDVAs (4 per 100,000: targets 4, 2, 1)
    and MARAC coordinators (1 per 100,000: targets 1, 0.5, 0.25), both £40,000 in half FTEs;
    one pot with `budgets` per year (£1m by default)."""
    years = years or ["2019/20"]
    budgets = budgets or [100_000_000] * len(years)
    rates = {"idva": "4", "marac": "1"}
    return {
        "name": "hand-worked rules scenario",
        "financial_years": years,
        "areas": [
            {"code": code, "name": name, "indicators": {"female_16_plus": women}}
            for code, name, women in (
                (A, "Area A", 100_000.0),
                (B, "Area B", 50_000.0),
                (C, "Area C", 25_000.0),
            )
        ],
        "services": [
            {
                "id": sid,
                "name": sid.upper(),
                "unit": "FTE",
                "unit_cost_pence": 4_000_000,
                "granularity": "0.5",
            }
            for sid in services
        ],
        "benchmarks": [
            {
                "service": sid,
                "units": rates[sid],
                "per": 100_000,
                "basis": "female_16_plus",
                "source": "SafeLives",
                "edition": "test",
            }
            for sid in services
        ],
        "pots": [
            {
                "id": "pot",
                "name": "The pot",
                "kind": "commissioned_services",
                "amounts": [
                    {"year": y, "amount_pence": b} for y, b in zip(years, budgets, strict=True)
                ],
            }
        ],
        "policy": policy,
    }


def _funded(run: RunResult) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Coverage rows by (year, area, service)."""
    return {
        (r["year"], r["area_code"], r["service"]): r
        for r in run.table("coverage").iter_rows(named=True)
    }


def _reasons(run: RunResult) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Explanation rows by (year, area, service)."""
    return {
        (r["year"], r["area_code"], r["service"]): r
        for r in run.table("explanations").iter_rows(named=True)
    }


def _area_totals(run: RunResult) -> dict[tuple[str, str], int]:
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for r in run.table("coverage").iter_rows(named=True):
        totals[(r["area_code"], r["year"])] += r["funded_cost_pence"]
    return totals


# --- checks shared by the hand-worked and the random scenarios ----------------------------------


def check_benchmark_cap(scenario: Scenario, run: RunResult) -> None:
    factor = scenario.policy.cap_at_benchmark_factor
    if factor is None:
        return
    for row in run.table("coverage").iter_rows(named=True):
        if row["target_units"] > 0 and row["funded_units"] > 0:
            assert row["total_units"] <= float(factor) * row["target_units"] + 1e-9, row


def check_area_limits(scenario: Scenario, run: RunResult) -> None:
    cells = _funded(run)
    totals = _area_totals(run)
    for limit in scenario.policy.area_limits:
        for year in scenario.financial_years:
            if limit.service is None:
                total = totals.get((limit.area, year), 0)
                assert limit.min_pence is None or total >= limit.min_pence, (limit, total)
                assert limit.max_pence is None or total <= limit.max_pence, (limit, total)
                continue
            row = cells.get((year, limit.area, limit.service))
            units = Decimal(str(row["funded_units"])) if row else Decimal(0)
            cost = row["funded_cost_pence"] if row else 0
            assert limit.min_units is None or units >= limit.min_units, (limit, units)
            assert limit.max_units is None or units <= limit.max_units, (limit, units)
            assert limit.min_pence is None or cost >= limit.min_pence, (limit, cost)
            assert limit.max_pence is None or cost <= limit.max_pence, (limit, cost)


def check_pace_of_change(scenario: Scenario, run: RunResult) -> None:
    """An area's funded total (pence) moves at most max_change_pct a year, from its previous
    allocation; areas without one are not limited."""
    pct = scenario.policy.max_change_pct
    if pct is None:
        return
    share = float(pct) / 100
    totals = _area_totals(run)
    before_of: dict[str, float] = defaultdict(float)
    for prev in scenario.policy.previous_allocation:
        if any(p.may_fund(prev.service, prev.area) for p in scenario.pots):
            before_of[prev.area] += (
                float(prev.units) * scenario.service(prev.service).unit_cost_pence
            )
    for area, first in before_of.items():
        if first <= 0:
            continue
        before = first
        for year in scenario.financial_years:
            now = totals.get((area, year), 0)
            slack = 1 + 1e-9 * before
            assert now <= (1 + share) * before + slack, (area, year, now, before)
            assert now >= (1 - share) * before - slack, (area, year, now, before)
            before = now


def check_awards(scenario: Scenario, run: RunResult) -> None:
    """Units funded in one year of an award stay funded to the award's end."""
    length = scenario.policy.award_years
    years = scenario.financial_years
    cells = _funded(run)
    keys = {(a, s) for (_, a, s) in cells}
    for area, service in keys:
        for j in range(1, len(years)):
            if j % length == 0:
                continue
            now = cells.get((years[j], area, service))
            then = cells.get((years[j - 1], area, service))
            assert (now["funded_units"] if now else 0) >= (then["funded_units"] if then else 0), (
                area,
                service,
                years[j],
            )


def check_all(scenario: Scenario, run: RunResult) -> None:
    check_benchmark_cap(scenario, run)
    check_area_limits(scenario, run)
    check_pace_of_change(scenario, run)
    check_awards(scenario, run)
    for row in run.table("pots").iter_rows(named=True):
        assert row["unspent_pence"] >= 0
        assert (
            row["unspent_pence"]
            == row["budget_pence"] - row["committed_pence"] - row["allocated_pence"]
        )


# --- the benchmark cap ---------------------------------------------------------------------------


def test_benchmark_cap_holds_when_a_ring_fence_pushes_spend_past_benchmark() -> None:
    # Closing every IDVA gap costs £280,000; the ring-fence makes the pot spend £400,000 on
    # IDVAs, so some areas go above benchmark, but never above 1.5 × it (room: 10.5 FTE).
    data = hand_worked(services=("idva",), cap_at_benchmark_factor="1.5")
    data["ring_fences"] = [
        {
            "id": "idva_fence",
            "name": "IDVA fence",
            "pot": "pot",
            "min_amount_pence": 40_000_000,
            "services": ["idva"],
        }
    ]
    scenario = Scenario.model_validate(data)
    run = solve(scenario)
    check_all(scenario, run)
    rows = run.table("coverage").to_dicts()
    assert sum(r["funded_cost_pence"] for r in rows) >= 40_000_000
    assert any(r["total_units"] > r["target_units"] + 1e-9 for r in rows)


def test_a_cap_of_one_benchmark_holds_a_part_granule_target_below_it() -> None:
    # Area C's MARAC target is 0.25 FTE: with the cap at 1 × benchmark no half FTE fits under it.
    scenario = Scenario.model_validate(hand_worked(cap_at_benchmark_factor="1"))
    run = solve(scenario)
    check_all(scenario, run)
    cell = _funded(run)[("2019/20", C, "marac")]
    assert cell["funded_units"] == 0
    why = _reasons(run)[("2019/20", C, "marac")]
    assert why["reason_code"] == "benchmark_cap"
    assert why["reason"] == cell["explanation"]
    assert "over the cap at 1 × benchmark (0.25 FTE)" in why["reason"]


# --- area limits -----------------------------------------------------------------------------


def test_area_limits_hold_per_service_and_per_area_total() -> None:
    limits = [
        {"area": A, "service": "idva", "max_units": "2.5"},  # target 4: held below it
        {"area": B, "service": "idva", "min_units": "3"},  # target 2: pushed above it
        {"area": A, "service": "marac", "min_pence": 5_000_000},  # at least 3 half FTEs
        {"area": C, "max_pence": 3_000_000},  # C's gaps (1 + 0.25 FTE) need £60,000
        {"area": B, "min_pence": 20_000_000},  # more than B's gaps and floors
    ]
    scenario = Scenario.model_validate(hand_worked(area_limits=limits))
    run = solve(scenario)
    check_all(scenario, run)
    cells = _funded(run)
    assert cells[("2019/20", A, "idva")]["funded_units"] == 2.5
    why = _reasons(run)
    assert why[("2019/20", A, "idva")]["reason_code"] == "area_limit"
    assert "area limit of at most 2.5 FTE" in cells[("2019/20", A, "idva")]["explanation"]
    assert cells[("2019/20", B, "idva")]["funded_units"] >= 3
    assert cells[("2019/20", A, "marac")]["funded_units"] >= 1.5
    totals = _area_totals(run)
    assert totals[(C, "2019/20")] <= 3_000_000
    assert totals[(B, "2019/20")] >= 20_000_000
    below = [r for r in cells.values() if r["area_code"] == C and r["shortfall_units"] > 0]
    assert below
    for r in below:
        assert why[(r["year"], C, r["service"])]["reason_code"] == "area_cap"
        assert "would break the area cap of £30,000 a year" in r["explanation"]


def test_a_floor_on_a_service_no_pot_may_fund_is_reported_not_ignored() -> None:
    data = hand_worked(area_limits=[{"area": A, "service": "marac", "min_units": "2"}])
    data["pots"][0]["eligible_services"] = ["idva"]
    with pytest.raises(InfeasibleScenario) as caught:
        solve(Scenario.model_validate(data))
    assert caught.value.reasons == [
        "Area A marac: no pot may fund it, so the floor of 2 units cannot be met"
    ]


# --- pace of change --------------------------------------------------------------------------


def _paced(budget: int, pct: str | None = "10") -> Data:
    """A had 8 FTE (£320,000) though its target is 4; C had 1 FTE against a target of 2; B had
    nothing before, so the pace of change does not limit it."""
    data = hand_worked(
        years=YEARS3,
        budgets=[budget] * 3,
        services=("idva",),
        previous_allocation=[
            {"area": A, "service": "idva", "units": "8"},
            {"area": C, "service": "idva", "units": "1"},
        ],
    )
    if pct is not None:
        data["policy"]["max_change_pct"] = pct
    data["areas"][2]["indicators"]["female_16_plus"] = 50_000.0
    return data


def test_pace_of_change_holds_year_to_year() -> None:
    # £400,000 a year: closing every gap while A keeps its 8 FTE would cost £440,000. Without a
    # limit A gives up what C needs at once; with a 10% limit it may lose only £32,000 a year.
    scenario = Scenario.model_validate(_paced(40_000_000))
    run = solve(scenario)
    check_all(scenario, run)
    totals = _area_totals(run)
    assert totals[(A, "2019/20")] >= 28_800_000  # 90% of £320,000
    assert any(
        s["name"].startswith("change from previous allocation") for s in run.summary["stages"]
    )
    unlimited = solve(Scenario.model_validate(_paced(40_000_000, pct=None)))
    assert _area_totals(unlimited)[(A, "2019/20")] < 28_800_000


def test_pace_of_change_holds_a_small_area_below_benchmark_and_says_so() -> None:
    # C may move by £4,000 a year, less than a half FTE, so it stays at 1 FTE with money left.
    scenario = Scenario.model_validate(_paced(100_000_000))
    run = solve(scenario)
    check_all(scenario, run)
    cells = _funded(run)
    for year in YEARS3:
        cell = cells[(year, C, "idva")]
        assert cell["funded_units"] == 1
        assert _reasons(run)[(year, C, "idva")]["reason_code"] == "pace_of_change"
        assert "the pace-of-change limit of 10% a year" in cell["explanation"]


# --- multi-year awards -----------------------------------------------------------------------


def test_three_year_awards_never_let_units_fall() -> None:
    # The money dips in the middle year; units bought in the first year must stay funded, so the
    # first year buys only what the second can keep.
    data = hand_worked(
        years=YEARS3,
        budgets=[20_000_000, 10_000_000, 30_000_000],
        services=("idva",),
        award_years=3,
    )
    scenario = Scenario.model_validate(data)
    run = solve(scenario)
    check_all(scenario, run)
    totals = _area_totals(run)
    assert sum(totals[(a, "2019/20")] for a in (A, B, C)) <= 10_000_000
    first_year_short = [
        r for r in _funded(run).values() if r["year"] == "2019/20" and r["shortfall_units"] > 0
    ]
    assert first_year_short
    why = _reasons(run)
    for r in first_year_short:
        assert why[(r["year"], r["area_code"], r["service"])]["reason_code"] == "multi_year_award"
        assert "held by 3-year awards" in r["explanation"]

    # one-year awards let the units fall with the money
    data["policy"]["award_years"] = 1
    free = solve(Scenario.model_validate(data))
    assert sum(_area_totals(free)[(a, "2019/20")] for a in (A, B, C)) > 10_000_000


def test_a_new_award_period_may_change_units() -> None:
    data = hand_worked(
        years=YEARS3,
        budgets=[20_000_000, 30_000_000, 10_000_000],
        services=("idva",),
        award_years=2,
    )
    scenario = Scenario.model_validate(data)
    run = solve(scenario)
    check_all(scenario, run)
    totals = _area_totals(run)
    second = sum(totals[(a, "2020/21")] for a in (A, B, C))
    third = sum(totals[(a, "2021/22")] for a in (A, B, C))
    assert third <= 10_000_000 < second


# --- random scenarios with every rule --------------------------------------------------------


@st.composite
def ruled_scenario_data(draw: st.DrawFn) -> Data:
    """A random small scenario plus random caps, area limits, pace of change and awards."""
    data = draw(scenario_data(areas=(2, 4), services=(1, 2), pots=(1, 2)))
    policy = data["policy"]
    areas = [a["code"] for a in data["areas"]]
    services = [s["id"] for s in data["services"]]
    fundable = [
        (a, s)
        for a in areas
        for s in services
        if any(
            (p["eligible_services"] is None or s in p["eligible_services"])
            and (p["eligible_areas"] is None or a in p["eligible_areas"])
            for p in data["pots"]
        )
    ]
    policy["cap_at_benchmark_factor"] = draw(st.sampled_from([None, "1", "1.25", "2"]))
    limits = []
    for _ in range(draw(st.integers(0, 3))):
        area = draw(st.sampled_from(areas))
        if draw(st.booleans()):
            low, high = sorted(draw(st.lists(st.integers(0, 8), min_size=2, max_size=2)))
            kind = draw(st.sampled_from(["min", "max", "both"]))
            limits.append(
                {
                    "area": area,
                    "min_pence": low * 1_000_000 if kind != "max" else None,
                    "max_pence": high * 2_000_000 if kind != "min" else None,
                }
            )
        elif fundable:
            area, service = draw(st.sampled_from(fundable))
            low, high = sorted(draw(st.lists(st.integers(0, 8), min_size=2, max_size=2)))
            limits.append(
                {
                    "area": area,
                    "service": service,
                    "min_units": str(Decimal(low) / 2) if draw(st.booleans()) else None,
                    "max_units": str(Decimal(high) / 2) if draw(st.booleans()) else None,
                    "max_pence": draw(st.sampled_from([None, 3_000_000, 10_000_000])),
                }
            )
    policy["area_limits"] = [
        {k: v for k, v in lim.items() if v is not None}
        for lim in limits
        if any(lim.get(k) is not None for k in ("min_pence", "max_pence", "min_units", "max_units"))
    ]
    if fundable and draw(st.booleans()):
        previous = draw(st.lists(st.sampled_from(fundable), min_size=1, max_size=3, unique=True))
        policy["previous_allocation"] = [
            {"area": a, "service": s, "units": str(Decimal(draw(st.integers(1, 12))) / 2)}
            for a, s in previous
        ]
        policy["max_change_pct"] = draw(st.sampled_from([None, "20", "50", "100"]))
        if policy["max_change_pct"] is None:
            del policy["max_change_pct"]
    policy["award_years"] = draw(st.integers(1, 3))
    return data


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ruled_scenario_data())
def test_every_rule_holds_on_random_scenarios(data: Data) -> None:
    run = solve_or_reject(data)
    check_all(Scenario.model_validate(data), run)


# --- infeasible scenarios in plain words -------------------------------------------------------


def _london_data() -> Data:
    data: Data = json.loads((FIXTURE_DIR / "scenario.json").read_text(encoding="utf-8"))
    return data


def test_a_pot_whose_commitments_exceed_it_is_named_with_the_sums() -> None:
    data = _london_data()
    victims = next(p for p in data["pots"] if p["id"] == "victims_fund")
    for amount in victims["amounts"]:
        amount["amount_pence"] = 300_000_000
    for commitment in data["commitments"]:  # Havens, Rape Crisis and interpreters: £3,495,000
        commitment["pot"] = "victims_fund"
    scenario = scenario_from_data(data, base_dir=FIXTURE_DIR)
    with pytest.raises(InfeasibleScenario) as caught:
        solve(scenario)
    message = str(caught.value)
    for year in scenario.financial_years:
        assert (
            f"Victims Fund {year}: fixed commitments £3,495,000 + ring-fence £200,000 exceed "
            "the pot of £3,000,000"
        ) in message
    assert len(caught.value.reasons) == 3


def test_floors_only_a_small_pot_may_fund_are_explained_by_what_gave_way() -> None:
    # Harmful-practices training is only fundable from the Victims Fund (£300,000 a year). A
    # floor of one unit (£25,000) in each of the 32 boroughs costs £800,000: the pots together
    # have plenty, so no pre-check sees it, but this pot cannot pay.
    data = _london_data()
    codes = [f"E09{n:06d}" for n in range(2, 34)]
    data["policy"]["area_limits"] = [
        {"area": code, "service": "harmful_practices_training", "min_units": "1"} for code in codes
    ]
    scenario = scenario_from_data(data, base_dir=FIXTURE_DIR)
    assert impossibilities(build_data(scenario)) == []
    with pytest.raises(InfeasibleScenario) as caught:
        solve(scenario)
    error = caught.value
    assert any("MOPAC Victims Fund 2019/20" in r for r in error.reasons)
    # Every year is short, and every year is reported, each naming only the pot that gave way.
    assert error.gave_way == [
        f"MOPAC Victims Fund {year}: budget £300,000 less fixed commitments £0 leaves £300,000: "
        "had to give way by £500,000"
        for year in ("2019/20", "2020/21", "2021/22")
    ]
    assert "to make it solvable these rules had to give way" in str(error)


def test_an_infeasible_ring_fence_and_cap_is_diagnosed_in_plain_words() -> None:
    # The fence needs £500,000 of IDVAs but the benchmark cap leaves room for only 10.5 FTE.
    data = hand_worked(services=("idva",), cap_at_benchmark_factor="1.5")
    data["ring_fences"] = [
        {
            "id": "idva_fence",
            "name": "IDVA fence",
            "pot": "pot",
            "min_amount_pence": 50_000_000,
            "services": ["idva"],
        }
    ]
    with pytest.raises(InfeasibleScenario) as caught:
        solve(Scenario.model_validate(data))
    assert caught.value.gave_way == [
        "IDVA fence 2019/20: at least £500,000 of The pot on idva: had to give way by £80,000"
    ]


def test_a_count_on_cells_that_could_not_rise_leaves_no_trace() -> None:
    """Found by the random rules test: a count step in which no cell could rise was dropped, and
    the next count reused its gate numbers, so the full model tied the new count to the old
    cells' rows and left Area 2 a unit short with £10,364 unspent (pace of change, 3 years)."""
    data: Data = copy.deepcopy(CASE_GATE_REUSE)
    run = solve_or_reject(data)
    assert run.summary["affordability"]["unspent_usable_pence"] == 0
    check_all(Scenario.model_validate(data), run)


CASE_GATE_REUSE: Data = {
    "name": "random small scenario",
    "financial_years": ["2019/20", "2020/21", "2021/22"],
    "areas": [
        {
            "code": "E09000002",
            "name": "Area 1",
            "indicators": {"female_16_plus": 42000.0, "deprivation": 5.0},
        },
        {
            "code": "E09000003",
            "name": "Area 2",
            "indicators": {"female_16_plus": 41000.0, "deprivation": 5.0},
        },
        {
            "code": "E09000004",
            "name": "Area 3",
            "indicators": {"female_16_plus": 21000.0, "deprivation": 5.0},
        },
        {
            "code": "E09000005",
            "name": "Area 4",
            "indicators": {"female_16_plus": 134000.0, "deprivation": 5.0},
        },
    ],
    "services": [
        {
            "id": "service_1",
            "name": "Service 1",
            "unit": "FTE",
            "unit_cost_pence": 5600000,
            "granularity": "0.5",
        },
        {
            "id": "service_2",
            "name": "Service 2",
            "unit": "FTE",
            "unit_cost_pence": 2000000,
            "granularity": "0.5",
        },
    ],
    "benchmarks": [
        {
            "service": "service_2",
            "units": "4",
            "per": 100000,
            "basis": "female_16_plus",
            "source": "test",
            "edition": "test",
        }
    ],
    "existing_provision": [
        {"area": "E09000003", "service": "service_2", "units": "1.5"},
        {"area": "E09000004", "service": "service_2", "units": "1.0"},
    ],
    "policy": {
        "fairness_rule": "leximin",
        "need_weights": [
            {"indicator": "female_16_plus", "weight": "0.5"},
            {"indicator": "deprivation", "weight": "0.5"},
        ],
        "solver": {"time_limit_seconds": 30, "relative_gap": 0.005, "threads": 1},
        "cap_at_benchmark_factor": None,
        "area_limits": [],
        "previous_allocation": [
            {"area": "E09000005", "service": "service_2", "units": "1.5"},
            {"area": "E09000002", "service": "service_2", "units": "1.5"},
        ],
        "max_change_pct": "20",
        "award_years": 1,
    },
    "pots": [
        {
            "id": "pot_1",
            "name": "Pot 1",
            "kind": "commissioned_services",
            "amounts": [
                {"year": "2019/20", "amount_pence": 5600000},
                {"year": "2020/21", "amount_pence": 5600005},
                {"year": "2021/22", "amount_pence": 7036400},
            ],
            "eligible_services": None,
            "eligible_areas": None,
        }
    ],
    "commitments": [],
    "ring_fences": [],
}
