"""Domain models: field rules, cross-reference rules, and how errors are reported."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from conftest import small_scenario_data
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from commissioning.errors import Problem, field_path, problems_from
from commissioning.models import (
    Area,
    AreaLimit,
    Benchmark,
    FundingPot,
    Scenario,
    ScenarioFile,
    Service,
    YearAmount,
)
from commissioning.models.base import is_well_formed_year, year_start

AREA_CODE = re.compile(r"[EWSN][0-9]{8}")
MODEST = settings(max_examples=50, deadline=None)


def scenario_errors(data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        Scenario.model_validate(data)
    return caught.value.errors(include_url=False)


def locs(errors: list[dict[str, Any]]) -> list[tuple[str | int, ...]]:
    return [tuple(e["loc"]) for e in errors]


# --- money ------------------------------------------------------------------------------------


@MODEST
@given(st.integers(min_value=0, max_value=10**13))
def test_money_accepts_whole_pence(pence: int) -> None:
    assert YearAmount(year="2019/20", amount_pence=pence).amount_pence == pence


@MODEST
@given(
    st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=10**13 + 1),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
        st.booleans(),
        st.decimals(allow_nan=False, places=2),
        st.none(),
    )
)
def test_money_rejects_anything_but_non_negative_int_pence(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        YearAmount(year="2019/20", amount_pence=value)
    (error,) = caught.value.errors()
    assert error["loc"] == ("amount_pence",)
    (problem,) = problems_from(caught.value)
    assert problem.field == "amount_pence"


def test_money_error_names_the_value() -> None:
    with pytest.raises(ValidationError) as caught:
        YearAmount(year="2019/20", amount_pence=-250)
    (problem,) = problems_from(caught.value)
    assert problem.field == "amount_pence"
    assert "-250" in problem.message and ">= 0" not in problem.message


# --- identifiers, codes and years ---------------------------------------------------------------


@MODEST
@given(st.from_regex(r"[EWSN][0-9]{8}", fullmatch=True))
def test_area_codes_of_ons_form_are_accepted(code: str) -> None:
    assert Area(code=code, name="x").code == code


@MODEST
@given(st.text(max_size=12).filter(lambda s: not AREA_CODE.fullmatch(s.strip())))
def test_malformed_area_codes_are_rejected(code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Area(code=code, name="x")
    assert [e["loc"] for e in caught.value.errors()] == [("code",)]


@pytest.mark.parametrize("value", ["Idva", "2idva", "idva-plus", "", "x" * 65, "id va"])
def test_identifiers_are_short_lower_case_names(value: str) -> None:
    with pytest.raises(ValidationError):
        Service(id=value, name="x", unit="FTE", unit_cost_pence=100)


@MODEST
@given(st.integers(min_value=1000, max_value=9998), st.integers(min_value=0, max_value=99))
def test_financial_years_are_two_consecutive_years(start: int, second: int) -> None:
    year = f"{start}/{second:02d}"
    assert is_well_formed_year(year) == ((start + 1) % 100 == second)
    assert year_start(year) == start


@pytest.mark.parametrize("year", ["2019-20", "19/20", "2019/2020", "2019/2", ""])
def test_badly_written_years_are_not_years(year: str) -> None:
    assert not is_well_formed_year(year)
    with pytest.raises(ValueError):
        year_start(year)


def test_century_boundary_year() -> None:
    assert is_well_formed_year("1999/00")


# --- services, benchmarks, pots, limits ---------------------------------------------------------


@MODEST
@given(st.integers(min_value=1, max_value=10**9))
def test_half_unit_services_need_an_even_cost(cost: int) -> None:
    args = {"id": "idva", "name": "IDVA", "unit": "FTE", "unit_cost_pence": cost}
    if cost % 2 == 0:
        assert Service(**args, granularity=Decimal("0.5")).granule_cost_pence * 2 == cost
    else:
        with pytest.raises(ValidationError, match="whole number of pence"):
            Service(**args, granularity=Decimal("0.5"))


def test_benchmark_rate_per_person() -> None:
    bench = Benchmark(
        service="idva", units=Decimal(4), per=100_000, basis="f", source="s", edition="e"
    )
    assert bench.rate_per_person == Decimal("0.00004")


def test_pot_amounts_and_eligibility() -> None:
    pot = FundingPot(
        id="p",
        name="P",
        kind="area_grant",
        amounts=[YearAmount(year="2019/20", amount_pence=5)],
        eligible_services=["idva"],
    )
    assert pot.amount_in("2019/20") == 5
    assert pot.amount_in("2020/21") == 0
    assert pot.may_fund("idva", "E09000002")
    assert not pot.may_fund("marac", "E09000002")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "give at least one"),
        ({"min_units": 1}, "needs a service"),
        ({"service": "idva", "min_units": 3, "max_units": 2}, "minimum 3 is above maximum 2"),
        ({"min_pence": 10, "max_pence": 9}, "minimum 10 is above maximum 9"),
    ],
)
def test_area_limit_rules(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AreaLimit(area="E09000002", **fields)
    (problem,) = problems_from(caught.value)
    assert message in problem.message
    assert not problem.message.startswith("Value error")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_area_indicators_must_be_finite(value: float) -> None:
    with pytest.raises(ValidationError, match="finite"):
        Area(code="E09000002", name="x", indicators={"female_16_plus": value})


def test_records_are_frozen_and_strict_about_extra_fields() -> None:
    scenario = Scenario.model_validate(small_scenario_data())
    with pytest.raises(ValidationError):
        scenario.name = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError) as caught:
        Scenario.model_validate(small_scenario_data(nmae="typo"))
    assert locs(caught.value.errors()) == [("nmae",)]


# --- cross-references in a scenario -------------------------------------------------------------


def test_small_scenario_is_valid_and_has_lookups() -> None:
    scenario = Scenario.model_validate(small_scenario_data())
    assert scenario.service("idva").name == "IDVA"
    assert scenario.area("E09000003").indicators["female_16_plus"] == 158228.0
    assert scenario.pot("pot").amount_in("2020/21") == 100_000_000
    assert scenario.policy.need_weights[0].indicator == "female_16_plus"


def test_duplicates_are_reported_where_they_repeat() -> None:
    data = small_scenario_data()
    data["services"].append(dict(data["services"][0]))
    data["areas"].append(dict(data["areas"][1]))
    errors = scenario_errors(data)
    assert ("services", 2, "id") in locs(errors)
    assert ("areas", 2, "code") in locs(errors)
    assert all(e["type"] == "scenario_rule" for e in errors)


def test_missing_basis_column_is_one_problem_not_one_per_area() -> None:
    data = small_scenario_data({f"E09{n:06d}": 1000.0 for n in range(2, 12)})
    data["benchmarks"][0]["basis"] = "women"
    errors = scenario_errors(data)
    basis_errors = [e for e in errors if e["loc"] == ("benchmarks", 0, "basis")]
    assert len(basis_errors) == 1
    assert "'women'" in basis_errors[0]["msg"] and "10 of 10 areas" in basis_errors[0]["msg"]


@pytest.mark.parametrize("population", [0.0, -5.0])
def test_basis_population_must_be_positive(population: float) -> None:
    errors = scenario_errors(small_scenario_data({"E09000002": 10.0, "E09000003": population}))
    (error,) = [e for e in errors if e["loc"][0] == "benchmarks"]
    assert error["loc"] == ("benchmarks", 0, "basis")
    assert "E09000003" in error["msg"] and f"{population:g}" in error["msg"]


def test_need_indicator_that_is_zero_everywhere_is_rejected() -> None:
    data = small_scenario_data()
    for area in data["areas"]:
        area["indicators"]["offences"] = 0.0
    data["policy"] = {
        "need_weights": [
            {"indicator": "female_16_plus", "weight": "1"},
            {"indicator": "offences", "weight": "1"},
        ]
    }
    errors = scenario_errors(data)
    assert locs(errors) == [("policy", "need_weights", 1, "indicator")]
    data["policy"]["need_weights"][1]["weight"] = "0"
    Scenario.model_validate(data)  # weight 0: the indicator plays no part, so it is fine


def test_years_must_be_consecutive_and_the_message_shows_them() -> None:
    errors = scenario_errors(small_scenario_data(financial_years=["2020/21", "2019/20"]))
    (error,) = [e for e in errors if e["loc"] == ("financial_years",)]
    assert "2020/21, 2019/20" in error["msg"]


def test_a_malformed_year_is_not_also_called_non_consecutive() -> None:
    data = small_scenario_data(financial_years=["2019/20", "2019/21"])
    data["pots"][0]["amounts"].pop()
    assert locs(scenario_errors(data)) == [("financial_years", 1)]


def test_references_to_unknown_things_are_located() -> None:
    data = small_scenario_data(
        commitments=[
            {"id": "c", "name": "C", "pot": "nope", "amount_pence": 1, "area": "E09000009"}
        ],
        ring_fences=[
            {"id": "r", "name": "R", "pot": "pot", "min_amount_pence": 1, "services": ["isva"]}
        ],
        existing_provision=[{"area": "E09000002", "service": "refuge", "units": "1"}],
    )
    data["pots"][0]["eligible_services"] = ["idva", "nope"]
    assert set(locs(scenario_errors(data))) == {
        ("commitments", 0, "pot"),
        ("commitments", 0, "area"),
        ("ring_fences", 0, "services", 0),
        ("existing_provision", 0, "service"),
        ("pots", 0, "eligible_services", 1),
    }


def test_pace_of_change_needs_a_previous_allocation() -> None:
    errors = scenario_errors(small_scenario_data(policy={"max_change_pct": "10"}))
    assert locs(errors) == [("policy", "max_change_pct")]


def test_scenario_file_needs_exactly_one_area_source() -> None:
    data = small_scenario_data()
    data["area_data"] = {"tables": [{"path": "areas.csv"}]}
    with pytest.raises(ValidationError) as caught:
        ScenarioFile.model_validate(data)
    (problem,) = problems_from(caught.value)
    assert problem.field == "area_data" and "got both" in problem.message
    del data["areas"], data["area_data"]
    with pytest.raises(ValidationError, match="got neither"):
        ScenarioFile.model_validate(data)


def test_content_hash_follows_content() -> None:
    one = Scenario.model_validate(small_scenario_data())
    two = Scenario.model_validate(small_scenario_data())
    other = Scenario.model_validate(small_scenario_data(name="another"))
    assert one.content_hash() == two.content_hash() != other.content_hash()


# --- error reporting -----------------------------------------------------------------------------


def test_field_path_and_problem_text() -> None:
    assert field_path(("pots", 1, "eligible_services", 0)) == "pots[1].eligible_services[0]"
    assert field_path(("policy", "need_weights", 2, "indicator")) == (
        "policy.need_weights[2].indicator"
    )
    assert field_path(()) == ""
    assert str(Problem("pots[0].id", "bad")) == "pots[0].id: bad"
    assert str(Problem("", "bad file")) == "bad file"
