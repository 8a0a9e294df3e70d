"""The reasons' figures without `Fraction`: every printed percentage, float and ranking equals
what exact `Fraction` arithmetic gives, on both of `CellFigures`' paths (int64 arrays where the
numbers are short, Python ints where they are not), and the reasons read as a mapping in the
coverage table's order."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import polars as pl
import pytest
from conftest import small_scenario_data
from hypothesis import given
from hypothesis import strategies as st

from commissioning.models import Scenario
from commissioning.optimise.data import AllocationData, build_data
from commissioning.optimise.fairness import exact, scored_cells
from commissioning.optimise.funding_rounds import prepare
from commissioning.optimise.reason_figures import CellFigures, percent_text, ratio
from commissioning.optimise.reasons import CellReason, explain_cells
from commissioning.optimise.split import split_by_pot
from commissioning.optimise.stages import solve_stages
from commissioning.optimise.tables import coverage_table, explanations_table, pots_table
from commissioning.synthetic import synthetic_scenario
from commissioning.wording import percent

Granules = dict[tuple[int, str], int]


@given(
    st.floats(min_value=-1e30, max_value=1e30, allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 1e-5, 1e16, 1e22, 0.1, 0.30000000000000004, 5e-324])
)
def test_a_float_reads_as_the_decimal_it_was_written_as(value: float) -> None:
    assert Fraction(*ratio(value)) == Fraction(repr(value)) == exact(value)


@given(st.integers(-(10**30), 10**30), st.integers(1, 10**30))
def test_percent_text_is_wording_percent(numerator: int, denominator: int) -> None:
    assert percent_text((numerator, denominator)) == percent(Fraction(numerator, denominator))


@pytest.mark.parametrize("tenths", [0, 1, 999, 1000, 1001, 123456])
@pytest.mark.parametrize("nudge", [Fraction(0), Fraction(-1, 10**10), Fraction(1, 10**13)])
def test_percent_text_at_the_edge_of_a_tenth(tenths: int, nudge: Fraction) -> None:
    # within 10⁻⁹ below a whole tenth rounds up to it, as wording.percent does
    value = Fraction(tenths, 1000) + nudge
    assert percent_text((value.numerator, value.denominator)) == percent(value)


def _solved(data: dict[str, Any] | Scenario) -> tuple[AllocationData, Granules, list[Any]]:
    scenario = data if isinstance(data, Scenario) else Scenario.model_validate(data)
    prepared = prepare(scenario)
    built = build_data(prepared.scenario, prepared.bid_provision)
    solution = solve_stages(built)
    return built, solution.granules, solution.cells


def _short_and_long_targets() -> dict[str, Any]:
    """IDVA targets of a few decimals (4 per 100,000) and MARAC targets with a float tail
    (1 per 300,000 women: 79013 / 300000 = 0.26337666666666665): the first take numpy's
    int64 path, the second are too long for it and take Python's ints."""
    data = small_scenario_data(policy={"solver": {"relative_gap": 0.0}})
    data["benchmarks"].append(
        {
            "service": "marac",
            "units": "1",
            "per": 300_000,
            "basis": "female_16_plus",
            "source": "test",
            "edition": "test",
        }
    )
    data["existing_provision"] = [
        {"area": "E09000002", "service": "idva", "units": "1.5"},
        {"area": "E09000003", "service": "marac", "units": "0.3333"},
    ]
    return data


@pytest.mark.parametrize(
    "data",
    [
        _short_and_long_targets(),
        synthetic_scenario(32, seed=2),
    ],
    ids=["short and long targets", "synthetic"],
)
def test_every_cell_s_coverage_is_exact(data: dict[str, Any] | Scenario) -> None:
    built, granules, cells = _solved(data)
    figures = CellFigures(built, granules, cells)
    for slot in built.slots:
        for year in built.years:
            c = figures.cell(slot, year)
            if not slot.benchmarked:
                assert (figures.tenths[c], figures.coverage_ratio[c]) == (0, 0.0)
                continue
            units = (
                exact(slot.existing_in(year))
                + Fraction(slot.granule_units) * granules[(slot.index, year)]
            )
            coverage = units / exact(slot.target)
            assert figures.coverage_ratio[c] == float(coverage)
            assert percent(coverage) == percent(Fraction(figures.tenths[c], 1000))
            assert Fraction(*figures.total(c)) == units


def test_both_paths_are_taken() -> None:
    built, granules, cells = _solved(_short_and_long_targets())
    figures = CellFigures(built, granules, cells)
    benchmarked = sum(s.benchmarked for s in built.slots) * len(built.years)
    assert 0 < figures.long_cells < benchmarked


@pytest.mark.parametrize("rule", ["leximin", "proportional_to_benchmark_cost", "equal_shortfall"])
def test_level_floats_are_a_hair_from_the_exact_levels(rule: str) -> None:
    scenario = synthetic_scenario(32, seed=3)
    scenario = scenario.model_copy(
        update={"policy": scenario.policy.model_copy(update={"fairness_rule": rule})}
    )
    built, granules, _ = _solved(scenario)
    figures = CellFigures(built, granules, None)
    floats = figures.level_floats()
    exact_cells = {c.key: c for c in scored_cells(built.slots, built.years, rule)}
    for slot in built.slots:
        for j, year in enumerate(built.years):
            cell = exact_cells.get((slot.index, year))
            level = Fraction(10**9) if cell is None else cell.level(granules[(slot.index, year)])
            assert math.isclose(floats[slot.index, j], float(level), rel_tol=1e-12, abs_tol=1e-12)
            assert Fraction(*figures.level(slot, year)[1]) == level


def _reasons(data: dict[str, Any] | Scenario, with_cells: bool = True) -> tuple[Any, ...]:
    built, granules, cells = _solved(data)
    payments = split_by_pot(built, granules)
    unspent = {
        (r["pot"], r["year"]): r["unspent_pence"]
        for r in pots_table(built, payments).iter_rows(named=True)
    }
    reasons = explain_cells(built, granules, payments, unspent, cells if with_cells else None)
    return built, granules, payments, unspent, cells, reasons


def test_reasons_are_the_same_with_or_without_the_stages_scored_cells() -> None:
    built, granules, payments, unspent, _, reasons = _reasons(synthetic_scenario(32, seed=1))
    again = explain_cells(built, granules, payments, unspent, None)
    assert list(again.items()) == list(reasons.items())


def test_reasons_read_as_a_mapping_in_the_coverage_table_s_order() -> None:
    built, granules, _, _, _, reasons = _reasons(synthetic_scenario(32, seed=1))
    keys = list(reasons)
    shown = [
        (y, s.area, s.service)
        for s in built.slots
        if s.benchmarked or any(granules[(s.index, y)] for y in built.years)
        for y in built.years
    ]
    assert keys[: len(shown)] == shown
    assert len(reasons) == len(keys) == len(set(keys))
    one = reasons[keys[5]]
    assert isinstance(one, CellReason) and one.key == keys[5]
    assert dict(reasons) == {k: reasons[k] for k in keys}
    with pytest.raises(KeyError):
        reasons[("1999/00", "nowhere", "nothing")]


def test_tables_read_the_reasons_columns_or_look_each_cell_up_alike() -> None:
    built, granules, _, _, _, reasons = _reasons(synthetic_scenario(32, seed=2))
    as_dict = dict(reasons)
    # explain_cells' reasons: the columns as they are; a plain mapping: each cell by key
    assert coverage_table(built, granules, reasons).equals(
        coverage_table(built, granules, as_dict), null_equal=True
    )
    assert explanations_table(reasons).equals(explanations_table(as_dict), null_equal=True)
    shuffled = dict(reversed(list(as_dict.items())))
    coverage = coverage_table(built, granules, shuffled)
    assert coverage.equals(coverage_table(built, granules, reasons), null_equal=True)
    assert coverage.filter(pl.col("explanation").is_null()).is_empty()


def test_the_next_in_line_is_decided_exactly_between_levels_a_hair_apart() -> None:
    # Both areas have 0.5 FTE of a 1 FTE target, but Area 3's target is 2.5e-14 larger: its
    # level is lower by less than the floats can be trusted to tell, so it is settled exactly,
    # and Area 3 is next in line although Area 2 comes first by area code.
    data = small_scenario_data({"E09000002": 25_000.0, "E09000003": 25_000.000000000625})
    data["existing_provision"] = [
        {"area": code, "service": "idva", "units": "0.5"} for code in ("E09000002", "E09000003")
    ]
    for amount in data["pots"][0]["amounts"]:
        amount["amount_pence"] = 1_000_000  # £10,000: less than one FTE (£40,000)
    built, _, _, _, _, reasons = _reasons(data)
    targets = {s.area: Fraction(repr(s.target)) for s in built.slots if s.benchmarked}
    assert targets["E09000003"] > targets["E09000002"]
    assert math.isclose(float(targets["E09000003"]), float(targets["E09000002"]), rel_tol=1e-13)
    year = built.years[0]
    assert reasons[(year, "E09000003", "idva")].sentence.endswith(
        "It is next in line: the next £40,000 goes to it."
    )
    assert reasons[(year, "E09000002", "idva")].sentence.endswith(
        "the next £40,000 goes to IDVA in Area E09000003."
    )
