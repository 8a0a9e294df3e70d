"""Benchmark targets and the need index, on the London data and on generated areas."""

from __future__ import annotations

import csv
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from conftest import FIXTURE_DIR, small_scenario_data
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from commissioning.models import Scenario
from commissioning.need import NEED_SCHEMA, TARGETS_SCHEMA, benchmark_targets, need_index

MODEST = settings(max_examples=50, deadline=None)

codes = st.integers(min_value=2, max_value=999).map(lambda n: f"E09{n:06d}")
populations = st.dictionaries(
    codes, st.floats(min_value=1.0, max_value=1e7), min_size=1, max_size=8
)


def scenario(populations: dict[str, float], **overrides: Any) -> Scenario:
    return Scenario.model_validate(small_scenario_data(populations, **overrides))


def targets_by_cell(s: Scenario) -> dict[tuple[str, str], float]:
    frame = benchmark_targets(s)
    return {
        (row["area_code"], row["service"]): row["target_units"]
        for row in frame.iter_rows(named=True)
    }


# --- the known answer from the real data ----------------------------------------------------


def test_london_women_16_plus_in_the_32_mps_boroughs(london_scenario: Scenario) -> None:
    codes_in = {a.code for a in london_scenario.areas}
    assert len(codes_in) == 32 and "E09000001" not in codes_in
    total = sum(a.indicators["female_16_plus"] for a in london_scenario.areas)
    assert total == 3_583_093

    # the same figure straight from the ONS CSV, without the engine
    with (FIXTURE_DIR / "london_population_mid2019.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["ons_code"] != "E09000001"]
    assert sum(int(r["female_16_plus"]) for r in rows) == 3_583_093


def test_london_safelives_targets(london_scenario: Scenario) -> None:
    targets = benchmark_targets(london_scenario)
    totals = {
        service: units
        for service, units in targets.group_by("service").agg(pl.col("target_units").sum()).rows()
    }
    assert round(totals["idva"], 1) == 143.3
    assert round(totals["marac_coordinator"], 1) == 35.8


def test_target_table_shape_and_order(london_scenario: Scenario) -> None:
    targets = benchmark_targets(london_scenario)
    assert targets.schema == TARGETS_SCHEMA
    assert targets.height == len(london_scenario.areas) * len(london_scenario.benchmarks)
    assert targets.equals(targets.sort("area_code", "service"))
    assert targets["basis_population"].null_count() == 0
    camden = targets.filter(pl.col("area_code") == "E09000007", pl.col("service") == "idva")
    assert camden["area_name"].item() == london_scenario.area("E09000007").name


def test_no_benchmarks_gives_an_empty_table_with_the_schema() -> None:
    s = scenario({"E09000002": 100.0}, benchmarks=[])
    targets = benchmark_targets(s)
    assert targets.height == 0 and targets.schema == TARGETS_SCHEMA


def test_exact_targets_stay_exact_among_other_areas() -> None:
    # 87,500 women × 4 / 100,000 is exactly 3.5 IDVAs (7 half-FTE granules, not 8)
    s = scenario({"E09000002": 87_500.0, "E09000003": 1_000.0, "E09000004": 30_000.0})
    cells = targets_by_cell(s)
    assert cells[("E09000002", "idva")] == 3.5
    assert cells[("E09000004", "idva")] == 1.2


# --- properties of targets -----------------------------------------------------------------


@MODEST
@given(
    populations,
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=2),
    st.integers(min_value=1, max_value=10**6),
)
def test_target_is_basis_times_rate(pops: dict[str, float], units: Decimal, per: int) -> None:
    # targets above 10,000 units in one area are refused at validation (tests/test_bad_input.py)
    assume(max(pops.values()) * float(units) / per <= 9_999)
    s = scenario(pops)
    bench = s.benchmarks[0].model_copy(update={"units": units, "per": per})
    s = Scenario.model_validate({**s.model_dump(), "benchmarks": [bench.model_dump()]})
    for (code, service), target in targets_by_cell(s).items():
        assert service == "idva"
        assert target == pytest.approx(pops[code] * float(units) / per, rel=1e-12)


@MODEST
@given(populations, st.floats(min_value=1e-3, max_value=1e3))
def test_targets_scale_linearly_with_the_basis(pops: dict[str, float], k: float) -> None:
    # populations above 100 million and targets above 10,000 units are refused at validation
    assume(max(pops.values()) * max(k, 1.0) * 4 / 100_000 <= 9_999)
    assume(max(pops.values()) * k <= 99_000_000)
    before = targets_by_cell(scenario(pops))
    after = targets_by_cell(scenario({code: pop * k for code, pop in pops.items()}))
    assert before.keys() == after.keys()
    for cell, target in before.items():
        assert after[cell] == pytest.approx(target * k, rel=1e-9)


@MODEST
@given(populations, populations)
def test_adding_areas_leaves_other_targets_alone(
    pops: dict[str, float], more: dict[str, float]
) -> None:
    extra = {code: pop for code, pop in more.items() if code not in pops}
    before = targets_by_cell(scenario(pops))
    after = targets_by_cell(scenario({**pops, **extra}))
    assert len(after) == len(pops) + len(extra)
    assert {cell: after[cell] for cell in before} == before


# --- need index ------------------------------------------------------------------------------

indicator_values = st.floats(min_value=0.0, max_value=1e6, allow_subnormal=False)


@st.composite
def need_scenarios(draw: st.DrawFn) -> Scenario:
    """Areas with three indicators and a random non-trivial weighting of them."""
    area_codes = draw(st.lists(codes, min_size=1, max_size=8, unique=True))
    names = ("female_16_plus", "deprivation", "offences")
    values = {
        name: draw(
            st.lists(indicator_values, min_size=len(area_codes), max_size=len(area_codes)).filter(
                lambda vs: sum(vs) > 0
            )
        )
        for name in names
    }
    values["female_16_plus"] = [v + 1.0 for v in values["female_16_plus"]]  # a basis is > 0
    weights = draw(
        st.lists(st.decimals(min_value=0, max_value=10, places=3), min_size=3, max_size=3).filter(
            lambda ws: sum(ws) > 0
        )
    )
    data = small_scenario_data(
        {c: values["female_16_plus"][i] for i, c in enumerate(area_codes)},
        policy={
            "need_weights": [
                {"indicator": n, "weight": str(w)} for n, w in zip(names, weights, strict=True)
            ]
        },
    )
    for i, area in enumerate(data["areas"]):
        area["indicators"] = {n: values[n][i] for n in names}
    return Scenario.model_validate(data)


@MODEST
@given(need_scenarios())
def test_need_shares_sum_to_one_and_index_averages_one(s: Scenario) -> None:
    need = need_index(s)
    assert need.schema == NEED_SCHEMA
    assert need.height == len(s.areas)
    assert need["need_share"].sum() == pytest.approx(1.0, rel=1e-9)
    assert need["need_index"].mean() == pytest.approx(1.0, rel=1e-9)
    assert (need["need_share"] >= 0).all()


@MODEST
@given(need_scenarios())
def test_need_share_is_the_weighted_mean_of_indicator_shares(s: Scenario) -> None:
    weights = {w.indicator: float(w.weight) for w in s.policy.need_weights}
    totals = {ind: sum(a.indicators[ind] for a in s.areas) for ind in weights}
    expected = {
        a.code: sum(w * (a.indicators[ind] / totals[ind]) for ind, w in weights.items())
        / sum(weights.values())
        for a in s.areas
    }
    got = dict(need_index(s).select("area_code", "need_share").iter_rows())
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-15)


@MODEST
@given(need_scenarios(), st.floats(min_value=1e-3, max_value=1e3))
def test_need_does_not_depend_on_the_units_of_an_indicator(s: Scenario, k: float) -> None:
    rescaled = Scenario.model_validate(
        {
            **s.model_dump(),
            "areas": [
                {
                    **a.model_dump(),
                    "indicators": {**a.indicators, "offences": a.indicators["offences"] * k},
                }
                for a in s.areas
            ],
        }
    )
    assert need_index(rescaled)["need_share"].to_list() == pytest.approx(
        need_index(s)["need_share"].to_list(), rel=1e-9, abs=1e-15
    )


@MODEST
@given(populations)
def test_default_need_weight_is_women_16_plus(pops: dict[str, float]) -> None:
    s = scenario(pops)  # no policy given
    assert [(w.indicator, w.weight) for w in s.policy.need_weights] == [
        ("female_16_plus", Decimal(1))
    ]
    total = sum(pops.values())
    got = dict(need_index(s).select("area_code", "need_share").iter_rows())
    assert got == pytest.approx({code: pop / total for code, pop in pops.items()}, rel=1e-9)


def test_london_need_index(london_scenario: Scenario) -> None:
    need = need_index(london_scenario)
    assert need.height == 32
    assert need["need_share"].sum() == pytest.approx(1.0)
    assert need["need_index"].mean() == pytest.approx(1.0)
    assert need.equals(need.sort("area_code"))
