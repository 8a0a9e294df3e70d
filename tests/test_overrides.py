"""Overrides: change a scenario by path (`pots.mopac_direct.amount=£3.8m`) without editing JSON."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from commissioning.analysis.overrides import (
    OverrideError,
    apply_overrides,
    parse_fraction,
    parse_money,
    parse_value,
    scale_path,
    set_path,
)
from commissioning.models import Scenario
from commissioning.scenario_io import scenario_from_data, scenario_json
from commissioning.strict_json import parse_json

CAMDEN = "E09000007"


@pytest.mark.parametrize(
    ("text", "pence"),
    [
        ("£3,800,000", 380_000_000),
        ("£3800000", 380_000_000),
        ("£3.8m", 380_000_000),
        ("£3.8M", 380_000_000),
        ("£250k", 25_000_000),
        ("£1.25bn", 125_000_000_000),
        ("£45,000.50", 4_500_050),
        ("£0.01", 1),
        ("380000000p", 380_000_000),
        ("380,000,000p", 380_000_000),
        (" £ 12 ", 1200),
    ],
)
def test_parse_money_reads_pounds_and_pence(text: str, pence: int) -> None:
    assert parse_money(text) == pence


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("3800000", "has no unit: write pounds with £"),
        ("3.8", "has no unit"),
        ("£0.001", "not a whole number of pence"),
        ("£1.234567k", "not a whole number of pence"),
        ("38.5p", "not an amount of money"),
        ("£3,80", "commas may only separate thousands"),
        ("-£5", "not an amount of money"),
        ("lots", "not an amount of money"),
    ],
)
def test_parse_money_refuses_what_it_cannot_read_exactly(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_money(text)


def test_parse_fraction_and_values_by_path() -> None:
    assert parse_fraction("0.7") == Fraction(7, 10)
    assert parse_fraction("70%") == Fraction(7, 10)
    assert parse_fraction("3/4") == Fraction(3, 4)
    assert parse_value("pots.x.scale", "130%") == Fraction(13, 10)
    assert parse_value("services.idva.unit_cost", "£45,000") == 4_500_000
    assert parse_value("benchmarks.idva.units", "4.5") == Decimal("4.5")
    assert parse_value("areas.*.female_16_plus", "80000") == 80000.0
    assert parse_value("policy.fairness_rule", "equal_shortfall") == "equal_shortfall"
    assert parse_value("policy.solver.relative_gap", "0.1%") == 0.001
    assert parse_value("policy.max_change_pct", "10%") == Decimal(10)
    assert parse_value("policy.award_years", "3") == 3
    assert parse_value("policy.cap_at_benchmark_factor", "none") is None
    with pytest.raises(ValueError, match="not a number or percentage"):
        parse_fraction("seventy")


def test_every_kind_of_path(london_scenario: Scenario) -> None:
    s = london_scenario
    v = apply_overrides(
        s,
        [
            ("pots.mopac_direct.amount", "£3,800,000"),
            ("pots.lcpf.amount[2020/21]", "£5m"),
            ("pots.victims_fund.scale", "0.7"),
            ("services.idva.unit_cost", "£45,000"),
            ("services.harmful_practices_training.granularity", "0.5"),
            ("benchmarks.idva.units", "4.5"),
            (f"areas.{CAMDEN}.female_16_plus", "80000"),
            ("areas.*.imd_average_score.scale", "110%"),
            ("policy.fairness_rule", "equal_shortfall"),
            ("policy.solver.relative_gap", "0.001"),
            ("ring_fences.harmful_practices.min_amount", "£100k"),
            ("commitments.havens.amount", "£2.2m"),
        ],
    )
    assert [a.amount_pence for a in v.pot("mopac_direct").amounts] == [380_000_000] * 3
    assert [a.amount_pence for a in v.pot("lcpf").amounts] == [
        550_000_000,
        500_000_000,
        550_000_000,
    ]
    assert [a.amount_pence for a in v.pot("victims_fund").amounts] == [
        a.amount_pence * 7 // 10 for a in s.pot("victims_fund").amounts
    ]
    assert v.service("idva").unit_cost_pence == 4_500_000
    assert v.service("harmful_practices_training").granularity == Decimal("0.5")
    assert next(b for b in v.benchmarks if b.service == "idva").units == Decimal("4.5")
    assert v.area(CAMDEN).indicators["female_16_plus"] == 80000.0
    for before, after in zip(s.areas, v.areas, strict=True):
        assert after.indicators["imd_average_score"] == float(
            Fraction(before.indicators["imd_average_score"]) * Fraction(11, 10)
        )
    assert v.policy.fairness_rule == "equal_shortfall"
    assert v.policy.solver.relative_gap == 0.001
    assert next(r for r in v.ring_fences if r.id == "harmful_practices").min_amount_pence == (
        10_000_000
    )
    assert next(c for c in v.commitments if c.id == "havens").amount_pence == 220_000_000
    # Untouched figures stay as they were, and the input scenario is not changed.
    assert v.service("marac_coordinator") == s.service("marac_coordinator")
    assert s.service("idva").unit_cost_pence == 4_000_000


def test_same_inputs_give_the_same_scenario(london_scenario: Scenario) -> None:
    settings = [("pots.mopac_direct.scale", "80%"), ("services.*.unit_cost.scale", "1.1")]
    first = apply_overrides(london_scenario, settings)
    assert apply_overrides(london_scenario, settings).content_hash() == first.content_hash()
    assert apply_overrides(london_scenario, []) is london_scenario


def test_scaling_money_rounds_half_up_to_whole_pence(london_scenario: Scenario) -> None:
    # £300,000 × 1/3 = £100,000 exactly; × 0.0000005 = 15p; × 0.00000005 = 1.5p -> 2p.
    pot = "victims_fund"
    assert london_scenario.pot(pot).amounts[0].amount_pence == 30_000_000
    for factor, pence in ((Fraction(1, 3), 10_000_000), (Fraction(1, 20_000_000), 2)):
        scaled = scale_path(london_scenario, f"pots.{pot}", factor)
        assert {a.amount_pence for a in scaled.pot(pot).amounts} == {pence}
    below_half = scale_path(london_scenario, f"pots.{pot}", Fraction(1, 20_000_001))
    assert {a.amount_pence for a in below_half.pot(pot).amounts} == {1}


def test_scaled_unit_cost_keeps_granules_whole_pence(london_scenario: Scenario) -> None:
    # idva is bought in half FTEs, so its unit cost must stay even: £40,000 × 1.0000000125
    # = 4,000,000.05p, which rounds to 4,000,000; × 1.00000025 = 4,000,001p -> 4,000,002.
    assert london_scenario.service("idva").granularity == Decimal("0.5")
    up = scale_path(london_scenario, "services.idva.unit_cost", Fraction("1.00000025"))
    assert up.service("idva").unit_cost_pence == 4_000_002
    same = scale_path(london_scenario, "services.idva.unit_cost", Fraction("1.0000000125"))
    assert same.service("idva").unit_cost_pence == 4_000_000


def test_set_path_takes_parsed_values(london_scenario: Scenario) -> None:
    v = set_path(london_scenario, "pots.mopac_direct", 400_000_000)
    assert {a.amount_pence for a in v.pot("mopac_direct").amounts} == {400_000_000}
    v = set_path(london_scenario, "benchmarks.idva.units", Fraction(9, 2))
    assert next(b for b in v.benchmarks if b.service == "idva").units == Decimal("4.5")
    with pytest.raises(OverrideError, match="whole pence"):
        set_path(london_scenario, "pots.mopac_direct.amount", 1.5)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("pot.mopac_direct.amount", "£1", "unknown section 'pot' (known: areas, benchmarks"),
        ("pots.mopac_directt.amount", "£1", "unknown pot 'mopac_directt' (known: mopac_direct,"),
        ("pots.mopac_direct.amout", "£1", "unknown field 'amout' (known: amount, amount[<year>]"),
        ("pots.mopac_direct", "£1", "name a pot and a field, e.g. pots.mopac_direct.amount"),
        ("pots.mopac_direct.amount[2030/31]", "£1", "year '2030/31' is not in the scenario"),
        ("services.isva.unit_cost", "£1", "unknown service 'isva' (known: idva,"),
        ("benchmarks.havens.units", "4", "unknown benchmark 'havens' (known: idva, marac"),
        (f"areas.{CAMDEN}.women", "1", "has no indicator 'women' (indicators: crime_domain"),
        ("areas.E09999999.female_16_plus", "1", "unknown area 'E09999999'"),
        ("policy.fairness", "leximin", "policy has no field 'fairness' (known: fairness_rule"),
        ("policy.solver.gap", "0.1", "policy.solver has no field 'gap' (known: solver,"),
        ("policy.fairness_rule.scale", "2", "policy settings cannot be scaled"),
        ("ring_fences.nope.min_amount", "£1", "unknown ring-fence 'nope' (known: harmful"),
        ("commitments.nope.amount", "£1", "unknown commitment 'nope' (known: havens"),
        ("pots.mopac_direct.amount", "3800000", "has no unit: write pounds with £"),
        ("pots.mopac_direct.scale", "-1", "must not be negative"),
    ],
)
def test_unknown_paths_and_bad_values_say_what_exists(
    london_scenario: Scenario, path: str, value: str, message: str
) -> None:
    with pytest.raises(OverrideError) as caught:
        apply_overrides(london_scenario, [("pots.victims_fund.scale", "1"), (path, value)])
    assert caught.value.path == path
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("path", "value", "rule"),
    [
        ("services.idva.unit_cost", "£40,000.01", "× granularity 0.5 is not a whole number"),
        (
            "policy.fairness_rule",
            "maximin",
            "must be one of: leximin, proportional_to_benchmark_cost, equal_shortfall "
            "(got 'maximin')",
        ),
        ("benchmarks.idva.units", "0", "greater than 0"),
        ("pots.mopac_direct.amount", "£1,000,000,000,000", "less than or equal"),
        ("policy.max_change_pct", "10%", "pace of change needs a previous_allocation"),
        ("areas.*.female_16_plus", "0", "must be above zero"),
    ],
)
def test_a_broken_model_rule_is_named_by_path(
    london_scenario: Scenario, path: str, value: str, rule: str
) -> None:
    with pytest.raises(OverrideError) as caught:
        apply_overrides(london_scenario, [("pots.victims_fund.scale", "0.5"), (path, value)])
    assert caught.value.path == path
    assert "breaks a rule" in str(caught.value) and rule in str(caught.value)


def test_written_variant_reads_back_to_the_same_scenario(london_scenario: Scenario) -> None:
    """--set round-trips: the JSON a variant is written as validates to the same content hash."""
    v = apply_overrides(
        london_scenario,
        [
            ("pots.victims_fund.scale", "0.7"),
            ("benchmarks.idva.units", "4.25"),
            ("areas.*.female_16_plus.scale", "1.03"),
            ("policy.solver.relative_gap", "0.2%"),
        ],
    )
    again = scenario_from_data(parse_json(scenario_json(v).encode()))
    assert again.content_hash() == v.content_hash() != london_scenario.content_hash()


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        (("nope", "1"), "unknown section 'nope'"),
        (("services.idva.nope", "1"), "unknown field 'nope'"),
        (("pots.nope.scale", "abc"), "unknown pot 'nope'"),
    ],
)
def test_an_unknown_path_is_named_before_what_its_value_should_be(
    london_scenario: Scenario, setting: tuple[str, str], said: str
) -> None:
    with pytest.raises(OverrideError, match=said) as caught:
        apply_overrides(london_scenario, [setting])
    assert caught.value.path == setting[0]
