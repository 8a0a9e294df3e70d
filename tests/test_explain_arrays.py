"""The explanation tables on arrays give what one cell at a time gave: sums added in row order,
granules to benchmark, the granules map read in bulk, and the binding table's rows evaluated on
only the variables they use."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl
import pytest
from conftest import small_scenario_data
from hypothesis import given
from hypothesis import strategies as st

from commissioning.models import Scenario
from commissioning.optimise.benchmark_lift import Cells, granules_to_benchmark
from commissioning.optimise.binding import binding_table
from commissioning.optimise.cell_arrays import granule_matrix
from commissioning.optimise.data import AllocationData, build_data
from commissioning.optimise.model import AllocationModel
from commissioning.optimise.split import split_by_pot
from commissioning.optimise.stages import solve_stages
from commissioning.synthetic import synthetic_scenario

Granules = dict[tuple[int, str], int]

_FLOATS = st.floats(min_value=0, max_value=1e4, allow_nan=False) | st.sampled_from(
    [0.0, 0.1, 0.2, 0.30000000000000004, 1e-7, 2.675]
)


@given(st.lists(st.tuples(st.integers(0, 6), _FLOATS), max_size=300))
def test_bincount_adds_each_group_in_row_order(rows: list[tuple[int, float]]) -> None:
    # The cost-to-benchmark sums rely on this: a left-to-right `sum` over each group's rows.
    by_python: dict[int, float] = {}
    for group, value in rows:
        by_python[group] = by_python.get(group, 0) + value
    groups = np.array([g for g, _ in rows], dtype=np.int64)
    weights = np.array([v for _, v in rows], dtype=np.float64)
    sums = np.bincount(groups, weights=weights, minlength=7).tolist()
    assert all(sums[g] == total for g, total in by_python.items())


def _solved(scenario: Scenario) -> tuple[AllocationData, Granules]:
    data = build_data(scenario)
    return data, solve_stages(data).granules


@given(
    st.lists(st.integers(1, 400), min_size=2, max_size=2),
    st.lists(st.sampled_from(["0", "0.5", "1", "1.5", "2.25", "3.9999"]), min_size=2, max_size=2),
)
def test_granules_to_benchmark_on_arrays_match_one_cell_at_a_time(
    thousands: list[int], existing: list[str]
) -> None:
    areas = {"E09000002": thousands[0] * 1000.0, "E09000003": thousands[1] * 12_500.0}
    data = small_scenario_data(areas)
    data["existing_provision"] = [
        {"area": code, "service": "idva", "units": units}
        for code, units in zip(areas, existing, strict=True)
    ]
    built = build_data(Scenario.model_validate(data))
    zero = {(s.index, y): 0 for s in built.slots for y in built.years}
    cells = Cells(built, zero)
    need = cells.to_benchmark()
    for slot in built.slots:
        for j, year in enumerate(built.years):
            if slot.benchmarked:
                assert need[slot.index, j] == granules_to_benchmark(slot, year)


def test_the_granules_map_is_read_in_bulk_in_any_order() -> None:
    data, granules = _solved(synthetic_scenario(32, seed=1))
    expected = [[granules[(s.index, y)] for y in data.years] for s in data.slots]
    backwards = dict(reversed(list(granules.items())))
    assert granule_matrix(data, backwards).tolist() == expected
    # cells of other years (a block of years' data) are left out
    block = replace(data, years=data.years[:1])
    assert granule_matrix(block, granules).tolist() == [row[:1] for row in expected]
    missing = dict(granules)
    del missing[(3, data.years[1])]
    with pytest.raises(KeyError):
        granule_matrix(data, missing)


def _rules_scenario() -> Scenario:
    data: dict[str, Any] = small_scenario_data()
    data["policy"] = {
        "area_limits": [
            {"area": "E09000003", "max_pence": 12_000_000},
            {"area": "E09000002", "service": "idva", "max_units": "3"},
        ],
        "previous_allocation": [{"area": "E09000002", "service": "idva", "units": "2"}],
        "max_change_pct": "50",
        "award_years": 2,
    }
    return Scenario.model_validate(data)


@pytest.mark.parametrize(
    "scenario", [_rules_scenario(), synthetic_scenario(32, seed=2)], ids=["rules", "synthetic"]
)
def test_binding_rows_are_the_full_model_s_rows(scenario: Scenario) -> None:
    data, granules = _solved(scenario)
    payments = split_by_pot(data, granules)
    table = binding_table(data, granules, payments).filter(
        ~pl.col("family").is_in(["cell_cap", "cell_floor"])
    )
    # every rule row of the full model (a variable for every cell), evaluated directly
    model = AllocationModel(data)
    for cell, var in model.units.items():
        var.varValue = granules[cell]
    class_of = {i: c.index for c in data.classes for i in c.slots}
    spent: dict[tuple[int, str, str], int] = {}
    for year, i, pot, pence in payments:
        key = (class_of[i], pot, year)
        spent[key] = spent.get(key, 0) + pence
    for key, var in model.spend.items():
        var.varValue = spent.get(key, 0)
    expected = {}
    for name in model.described:
        row = model.problem.get_constraint_by_name(name.translate(str.maketrans("-+[] ", "_____")))
        if row is not None and len(row) and not name.startswith("paid_by_eligible_pots"):
            expected[name] = -float(row.constant) + float(row.value() or 0.0)
    assert dict(zip(table["constraint"], table["value"], strict=True)) == expected
    assert table.height == len(expected)
