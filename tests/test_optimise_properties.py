"""Properties of the optimiser on random small scenarios, solved for real (HiGHS through PuLP).

Each draw is 2–5 areas, 1–3 services (granularity 0.5 or 1), 1–3 pots with random service and
area eligibility, 1–3 years, and optional fixed commitments and ring-fences sized to fit. A draw
whose rules cannot all hold must raise InfeasibleScenario (and is then set aside); any other
exception fails the test.
"""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from optimise_strategies import AREA_CODES, Data, more_money, scenario_data, solve_or_reject

from commissioning.models import Scenario
from commissioning.results import RunResult

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _scenario(data: Data) -> Scenario:
    return Scenario.model_validate(data)


@PROPERTY
@given(scenario_data())
def test_no_pot_is_overspent_and_pots_reconcile_to_the_penny(data: Data) -> None:
    run = solve_or_reject(data)
    scenario = _scenario(data)
    pots = run.table("pots")
    allocations = run.table("allocations")
    commitments = run.table("commitments")

    assert pots.height == len(scenario.pots) * len(scenario.financial_years)
    spent: dict[tuple[str, str], int] = defaultdict(int)
    for row in allocations.iter_rows(named=True):
        spent[(row["pot"], row["year"])] += row["cost_pence"]
    promised: dict[tuple[str, str], int] = defaultdict(int)
    for row in commitments.iter_rows(named=True):
        promised[(row["pot"], row["year"])] += row["amount_pence"]
    for row in pots.iter_rows(named=True):
        key = (row["pot"], row["year"])
        assert row["budget_pence"] == scenario.pot(row["pot"]).amount_in(row["year"])
        assert row["committed_pence"] == promised[key]
        assert row["allocated_pence"] == spent[key]
        assert row["committed_pence"] + row["allocated_pence"] <= row["budget_pence"]
        assert row["unspent_pence"] >= 0
        assert row["unspent_pence"] == (
            row["budget_pence"] - row["committed_pence"] - row["allocated_pence"]
        )
    # nothing is paid by a pot the scenario does not have, or in a year it does not run
    assert set(spent) <= {(r["pot"], r["year"]) for r in pots.iter_rows(named=True)}
    totals = run.summary["totals_pence"]
    assert totals["allocated"] == int(allocations["cost_pence"].sum())
    assert totals["budget"] == totals["committed"] + totals["allocated"] + totals["unspent"]


@PROPERTY
@given(scenario_data())
def test_every_allocation_is_paid_by_a_pot_that_may_fund_it(data: Data) -> None:
    run = solve_or_reject(data)
    scenario = _scenario(data)
    for row in run.table("allocations").iter_rows(named=True):
        pot = scenario.pot(row["pot"])
        assert pot.may_fund(row["service"], row["area_code"]), row
        assert row["cost_pence"] > 0
        assert row["year"] in scenario.financial_years


@PROPERTY
@given(scenario_data())
def test_ring_fences_hold_counting_commitments_toward_them(data: Data) -> None:
    run = solve_or_reject(data)
    scenario = _scenario(data)
    allocations = run.table("allocations")
    for fence in scenario.ring_fences:
        for year in fence.years or scenario.financial_years:
            fenced = allocations.filter(
                (pl.col("year") == year)
                & (pl.col("pot") == fence.pot)
                & pl.col("service").is_in(fence.services)
                & (pl.lit(fence.areas is None) | pl.col("area_code").is_in(fence.areas or []))
            )
            counted = sum(
                c.amount_pence
                for c in scenario.commitments
                if c.pot == fence.pot
                and (c.years is None or year in c.years)
                and c.service in fence.services
                and (fence.areas is None or c.area in fence.areas)
            )
            spend = int(fenced["cost_pence"].sum()) + counted
            assert spend >= fence.min_amount_pence, (fence.id, year, spend)


@PROPERTY
@given(scenario_data())
def test_units_are_whole_granules_and_cost_is_units_times_unit_cost(data: Data) -> None:
    run = solve_or_reject(data)
    scenario = _scenario(data)
    coverage = run.table("coverage")
    cells = {(r["year"], r["area_code"], r["service"]): r for r in coverage.iter_rows(named=True)}
    paid = (
        run.table("allocations")
        .group_by("year", "area_code", "service")
        .agg(pl.col("cost_pence").sum(), pl.col("units").sum())
    )
    for row in paid.iter_rows(named=True):
        # every funded cell is reported in the coverage table
        assert (row["year"], row["area_code"], row["service"]) in cells, row
    paid_by_cell = {
        (r["year"], r["area_code"], r["service"]): r for r in paid.iter_rows(named=True)
    }
    for key, cell in cells.items():
        service = scenario.service(cell["service"])
        granules = Decimal(str(cell["funded_units"])) / service.granularity
        assert granules == granules.to_integral_value(), cell
        cost = int(granules) * service.granule_cost_pence
        assert cell["funded_cost_pence"] == cost, cell
        paid_row = paid_by_cell.get(key)
        assert (paid_row["cost_pence"] if paid_row else 0) == cost, (cell, paid_row)
        if paid_row:
            assert math.isclose(paid_row["units"], cell["funded_units"], abs_tol=1e-9)
    for row in run.table("allocations").iter_rows(named=True):
        unit_cost = scenario.service(row["service"]).unit_cost_pence
        assert math.isclose(row["units"] * unit_cost, row["cost_pence"], abs_tol=1e-6)


@PROPERTY
@given(scenario_data())
def test_coverage_and_shortfall_arithmetic_agree(data: Data) -> None:
    run = solve_or_reject(data)
    scenario = _scenario(data)
    targets = {
        (r["area_code"], r["service"]): r["target_units"]
        for r in run.table("targets").iter_rows(named=True)
    }
    existing = {(e.area, e.service): float(e.units) for e in scenario.existing_provision}
    coverage = run.table("coverage")
    for row in coverage.iter_rows(named=True):
        key = (row["area_code"], row["service"])
        target = targets.get(key, 0.0)
        assert math.isclose(row["target_units"], target, abs_tol=1e-12)
        assert math.isclose(row["existing_units"], existing.get(key, 0.0), abs_tol=1e-12)
        total = row["existing_units"] + row["funded_units"]
        assert math.isclose(row["total_units"], total, abs_tol=1e-9)
        if target > 0:
            assert math.isclose(row["coverage_ratio"], total / target, rel_tol=1e-9)
            assert math.isclose(row["shortfall_units"], max(0.0, target - total), abs_tol=1e-9)
        else:
            assert row["coverage_ratio"] is None
            assert row["shortfall_units"] == 0.0
        assert row["explanation"]
    # every benchmarked area × service is reported in every year, once
    expected = {(y, a, s) for (a, s) in targets for y in scenario.financial_years}
    reported = [
        (r["year"], r["area_code"], r["service"])
        for r in coverage.iter_rows(named=True)
        if r["target_units"] > 0
    ]
    assert len(reported) == len(set(reported))
    assert set(reported) == expected


@PROPERTY
@given(
    scenario_data(),
    st.integers(0, 200),
    st.integers(0, 5_000_000),
)
def test_more_money_never_lowers_the_fairness_level(data: Data, percent: int, extra: int) -> None:
    before = solve_or_reject(data)
    after = solve_or_reject(more_money(data, percent, extra))
    low, high = before.summary["fairness_level"], after.summary["fairness_level"]
    assert (low is None) == (high is None)
    if low is not None:
        assert high >= low, (low, high)


@settings(PROPERTY, max_examples=30)
@given(scenario_data())
def test_reruns_are_identical(data: Data) -> None:
    first = solve_or_reject(data)
    second = solve_or_reject(data)
    _assert_same_run(first, second)


def _assert_same_run(first: RunResult, second: RunResult) -> None:
    assert first.tables.keys() == second.tables.keys()
    for name, frame in first.tables.items():
        assert frame.equals(second.tables[name], null_equal=True), name
        assert frame.schema == second.tables[name].schema, name
    assert first.summary == second.summary


# --- draws these properties once failed on, kept as plain tests --------------------------------


def _regression(
    areas: int, services: list[tuple[str, bool]], pots: list[tuple[Any, Any]], amount: int
) -> Data:
    """20,000 women per area; services (granularity, benchmarked at 1 per 100,000) at £20,000 a
    unit; pots (eligible services, eligible areas) each with `amount` pence in 2019/20."""
    return {
        "name": "regression",
        "financial_years": ["2019/20"],
        "areas": [
            {"code": code, "name": f"Area {i + 1}", "indicators": {"female_16_plus": 20_000.0}}
            for i, code in enumerate(AREA_CODES[:areas])
        ],
        "services": [
            {
                "id": f"service_{i + 1}",
                "name": f"Service {i + 1}",
                "unit": "FTE",
                "unit_cost_pence": 2_000_000,
                "granularity": granularity,
            }
            for i, (granularity, _) in enumerate(services)
        ],
        "benchmarks": [
            {
                "service": f"service_{i + 1}",
                "units": "1",
                "per": 100_000,
                "basis": "female_16_plus",
                "source": "test",
                "edition": "test",
            }
            for i, (_, benchmarked) in enumerate(services)
            if benchmarked
        ],
        "pots": [
            {
                "id": f"pot_{i + 1}",
                "name": f"Pot {i + 1}",
                "kind": "commissioned_services",
                "amounts": [{"year": "2019/20", "amount_pence": amount}],
                "eligible_services": eligible_services,
                "eligible_areas": eligible_areas,
            }
            for i, (eligible_services, eligible_areas) in enumerate(pots)
        ],
    }


def test_a_penny_ring_fence_does_not_let_rounded_units_overspend_a_pot() -> None:
    # HiGHS took 0.9999995 of a £20,000 unit as whole (its default integrality tolerance); the
    # rounded units then overspent pot_1 by a penny and the exact pot split failed.
    data = _regression(
        4,
        [("1", True), ("0.5", False), ("0.5", False)],
        [(["service_1"], None), (None, ["E09000002"]), (None, ["E09000002"])],
        4_000_000,
    )
    data["ring_fences"] = [
        {
            "id": "fence_1",
            "name": "Fence 1",
            "pot": "pot_1",
            "min_amount_pence": 1,
            "services": ["service_1"],
            "areas": ["E09000002"],
        }
    ]
    run = solve_or_reject(data)
    # pot_1 pays a penny in Area 1, which leaves room for one more whole unit elsewhere
    assert run.table("allocations")["cost_pence"].sum() == 4_000_000
    assert run.summary["stages"][-1]["name"] == "total cost (pence)"
    assert run.summary["stages"][-1]["objective"] == 4_000_000


def test_a_penny_commitment_leaves_one_unit_short() -> None:
    # £40,000 less a penny buys one £20,000 unit, not two: HiGHS gave up ("solve error").
    data = _regression(
        2, [("0.5", False), ("1", True)], [(["service_1", "service_2"], None)], 4_000_000
    )
    data["commitments"] = [
        {"id": "contract_1", "name": "Contract 1", "pot": "pot_1", "amount_pence": 1}
    ]
    run = solve_or_reject(data)
    assert run.table("allocations")["cost_pence"].to_list() == [2_000_000]
    assert run.table("pots")["unspent_pence"].to_list() == [1_999_999]
