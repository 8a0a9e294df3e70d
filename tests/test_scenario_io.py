"""Scenario files: JSON plus CSV area tables in, canonical JSON out."""

from __future__ import annotations

import csv
import json
import string
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURE_DIR, ScenarioCopy, small_scenario_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissioning.errors import ScenarioError
from commissioning.models import (
    Area,
    AreaDataSource,
    AreaTable,
    Scenario,
    ScenarioFile,
)
from commissioning.scenario_io import (
    load_scenario,
    read_areas,
    save_scenario,
    scenario_from_data,
    scenario_json,
)

MODEST = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
POP = "london_population_mid2019.csv"


def csv_rows(name: str) -> list[dict[str, str]]:
    with (FIXTURE_DIR / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def problems_of(call: Any, *args: Any) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        call(*args)
    return [str(p) for p in caught.value.problems]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


# --- the London fixture, read back against its own CSVs ----------------------------------------


def test_london_areas_are_the_32_mps_boroughs(london_scenario: Scenario) -> None:
    population = csv_rows(POP)
    assert [a.code for a in london_scenario.areas] == [
        r["ons_code"] for r in population if r["ons_code"] != "E09000001"
    ]
    names = {r["ons_code"]: r["name"] for r in population}
    assert all(a.name == names[a.code] for a in london_scenario.areas)


def test_london_indicators_match_every_csv_cell(london_scenario: Scenario) -> None:
    data = json.loads((FIXTURE_DIR / "scenario.json").read_text(encoding="utf-8"))
    text_columns = {"ons_code", "name", data["area_data"]["group_column"]}
    checked = 0
    for table in data["area_data"]["tables"]:
        for row in csv_rows(table["path"]):
            if row["ons_code"] == "E09000001":
                continue
            indicators = london_scenario.area(row["ons_code"]).indicators
            for column, cell in row.items():
                if column in text_columns:
                    continue
                if cell.strip():
                    assert indicators[column] == float(cell), (row["ons_code"], column)
                    checked += 1
                else:
                    assert column not in indicators  # blank is missing, never zero
    assert checked > 32 * 20


def test_london_groups_come_from_the_command_unit_table(london_scenario: Scenario) -> None:
    units = {r["ons_code"]: r["mps_command_unit"] for r in csv_rows("mps_command_units_2019.csv")}
    assert {a.code: a.group for a in london_scenario.areas} == units


def test_blank_cell_is_missing_not_zero(london_copy: ScenarioCopy) -> None:
    london_copy.set_cell(POP, "E09000007", "male_all_ages", "")
    camden = load_scenario(london_copy.path).area("E09000007")
    assert "male_all_ages" not in camden.indicators
    assert "female_all_ages" in camden.indicators


# --- reading area tables ----------------------------------------------------------------------


def test_include_and_exclude_choose_areas_in_table_order() -> None:
    tables = [AreaTable(path=POP)]
    source = AreaDataSource(tables=tables, include=["E09000019", "E09000007", "E09000001"])
    assert [a.code for a in read_areas(source, FIXTURE_DIR)] == [
        "E09000001",
        "E09000007",
        "E09000019",
    ]
    source = AreaDataSource(
        tables=tables, include=["E09000019", "E09000007"], exclude=["E09000019"]
    )
    assert [a.code for a in read_areas(source, FIXTURE_DIR)] == ["E09000007"]
    everything = read_areas(AreaDataSource(tables=tables), FIXTURE_DIR)
    assert len(everything) == len(csv_rows(POP))


def test_tables_join_on_code_and_names_may_come_from_another_table(tmp_path: Path) -> None:
    write_csv(tmp_path / "names.csv", ["code", "borough"], [["E09000002", "Barking"]])
    write_csv(tmp_path / "counts.csv", ["code", "women"], [["E09000002", "79,013"]])
    source = AreaDataSource(
        tables=[
            AreaTable(path="names.csv", code_column="code", name_column="borough"),
            AreaTable(path="counts.csv", code_column="code", name_column=None),
        ]
    )
    (area,) = read_areas(source, tmp_path)
    assert area == Area(code="E09000002", name="Barking", indicators={"women": 79013.0})


@pytest.mark.parametrize("cell", ["3,5", "1,23", "12,3456", "£5", "1e", "inf", "-nan"])
def test_cells_that_are_not_plain_numbers_are_refused(tmp_path: Path, cell: str) -> None:
    write_csv(tmp_path / "t.csv", ["ons_code", "name", "x"], [["E09000002", "B", cell]])
    source = AreaDataSource(tables=[AreaTable(path="t.csv")])
    (problem,) = problems_of(read_areas, source, tmp_path)
    assert problem.startswith("area_data.tables[0].path: t.csv row 2 column 'x'")
    assert repr(cell) in problem


def test_an_area_without_a_name_is_reported(tmp_path: Path) -> None:
    write_csv(tmp_path / "t.csv", ["ons_code", "name", "x"], [["E09000002", "", "1"]])
    source = AreaDataSource(tables=[AreaTable(path="t.csv")])
    assert problems_of(read_areas, source, tmp_path) == [
        "area_data.tables: area E09000002 has no name in any table"
    ]


def test_bad_rows_are_summarised_per_column(tmp_path: Path) -> None:
    rows = [[f"E09{n:06d}", f"Area {n}", "n/a"] for n in range(2, 12)]
    write_csv(tmp_path / "t.csv", ["ons_code", "name", "x"], rows)
    source = AreaDataSource(tables=[AreaTable(path="t.csv")])
    (problem,) = problems_of(read_areas, source, tmp_path)
    assert "row 2 column 'x': 'n/a' is not a number (and 9 more rows)" in problem


@MODEST
@given(
    st.dictionaries(
        st.integers(min_value=1, max_value=99_999_999).map(lambda n: f"E{n:08d}"),
        st.tuples(
            st.text(string.ascii_letters + string.digits + " ,'\"&-().", min_size=1).filter(
                lambda s: s.strip() != ""
            ),
            st.dictionaries(
                st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).filter(
                    lambda c: c not in ("ons_code", "name")
                ),
                st.floats(min_value=-1e12, max_value=1e12),  # larger values are refused
                max_size=4,
            ),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_csv_values_are_read_back_exactly(
    tmp_path: Path, areas: dict[str, tuple[str, dict[str, float]]]
) -> None:
    columns = sorted({c for _, indicators in areas.values() for c in indicators})
    rows = [
        [code, name, *(repr(ind[c]) if c in ind else "" for c in columns)]
        for code, (name, ind) in areas.items()
    ]
    write_csv(tmp_path / "t.csv", ["ons_code", "name", *columns], rows)
    read = read_areas(AreaDataSource(tables=[AreaTable(path="t.csv")]), tmp_path)
    assert read == [
        Area(code=code, name=name.strip(), indicators=ind) for code, (name, ind) in areas.items()
    ]


# --- loading ------------------------------------------------------------------------------------


def test_inline_areas_need_no_files() -> None:
    scenario = scenario_from_data(small_scenario_data())
    assert [a.code for a in scenario.areas] == ["E09000002", "E09000003"]


def test_area_tables_need_a_folder_to_read_from(london_scenario_path: Path) -> None:
    data = json.loads(london_scenario_path.read_text(encoding="utf-8"))
    problems = problems_of(scenario_from_data, data)
    assert len(problems) == 1 and problems[0].startswith("area_data: ")


def test_unreadable_scenario_files(tmp_path: Path) -> None:
    assert "not found" in problems_of(load_scenario, tmp_path / "absent.json")[0]
    assert "cannot read" in problems_of(load_scenario, tmp_path)[0]
    (tmp_path / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    assert "is not UTF-8 text" in problems_of(load_scenario, tmp_path / "latin1.json")[0]


def test_all_problems_are_reported_together(london_copy: ScenarioCopy) -> None:
    def break_three(data: dict[str, Any]) -> None:
        data["commitments"][0]["pot"] = "nope"
        data["ring_fences"][0]["pot"] = "nada"
        data["pots"][0]["eligible_services"][0] = "zilch"

    london_copy.edit(break_three)
    problems = problems_of(load_scenario, london_copy.path)
    assert len(problems) == 3
    assert [p.split(":")[0] for p in problems] == [
        "pots[0].eligible_services[0]",
        "commitments[0].pot",
        "ring_fences[0].pot",
    ]


# --- round trips ------------------------------------------------------------------------------


def test_london_round_trips_through_a_file(london_scenario: Scenario, tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    save_scenario(london_scenario, path)
    again = load_scenario(path)
    assert again == london_scenario
    assert again.content_hash() == london_scenario.content_hash()
    written = json.loads(path.read_text(encoding="utf-8"))
    assert len(written["areas"]) == 32 and written.get("area_data") is None


years = st.integers(min_value=2000, max_value=2090).flatmap(
    lambda start: st.integers(min_value=1, max_value=4).map(
        lambda n: [f"{y}/{(y + 1) % 100:02d}" for y in range(start, start + n)]
    )
)
identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
# Control characters are refused in names and notes (test_bad_input covers that).
printable = st.characters(exclude_categories=("Cc", "Cs"))
names = st.text(printable, min_size=1, max_size=30).filter(lambda s: s.strip() != "")
money = st.integers(min_value=0, max_value=10**12)
decimals = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(500), places=2)
maybe = st.booleans()


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Valid scenarios using most of the model: pots, commitments, ring-fences, policy."""
    fy = draw(years)
    codes = draw(
        st.lists(
            st.from_regex(r"[EWSN][0-9]{8}", fullmatch=True), min_size=1, max_size=5, unique=True
        )
    )
    areas = [
        {
            "code": code,
            "name": draw(names),
            "group": draw(st.none() | names),
            "indicators": {
                "female_16_plus": draw(st.floats(min_value=1, max_value=1e6)),
                **draw(
                    st.dictionaries(
                        identifiers, st.floats(min_value=-1e12, max_value=1e12), max_size=3
                    )
                ),
            },
        }
        for code in codes
    ]
    service_ids = draw(st.lists(identifiers, min_size=1, max_size=4, unique=True))
    services = [
        {
            "id": sid,
            "name": draw(names),
            "unit": draw(st.sampled_from(["FTE", "bed-space", "contract"])),
            "unit_cost_pence": 4 * draw(st.integers(min_value=1, max_value=10**9)),
            "granularity": draw(st.sampled_from(["0.25", "0.5", "1", "2"])),
            "cost_source": draw(st.text(printable, max_size=20)),
            "cost_is_assumption": draw(maybe),
        }
        for sid in service_ids
    ]
    benchmarks = [
        {
            "service": sid,
            "units": str(draw(decimals)),
            # Targets stay below the 10,000 units a real area could need.
            "per": draw(st.integers(min_value=10**5, max_value=10**6)),
            "basis": "female_16_plus",
            "source": draw(names),
            "edition": draw(names),
        }
        for sid in draw(st.lists(st.sampled_from(service_ids), unique=True))
    ]
    subsets = st.none() | st.lists(st.sampled_from(service_ids), unique=True)
    pot_ids = draw(st.lists(identifiers, max_size=3, unique=True))
    pots = [
        {
            "id": pid,
            "name": draw(names),
            "kind": draw(st.sampled_from(["area_grant", "commissioned_services"])),
            "amounts": [{"year": y, "amount_pence": draw(money)} for y in fy],
            "eligible_services": draw(subsets),
            "eligible_areas": draw(st.none() | st.lists(st.sampled_from(codes), unique=True)),
            "is_assumption": draw(maybe),
        }
        for pid in pot_ids
    ]
    commitments = [
        {
            "id": f"c{i}",
            "name": draw(names),
            "pot": draw(st.sampled_from(pot_ids)),
            "amount_pence": draw(money),
            "years": draw(st.none() | st.lists(st.sampled_from(fy), min_size=1, unique=True)),
            "service": draw(st.none() | st.sampled_from(service_ids)),
            "area": draw(st.none() | st.sampled_from(codes)),
        }
        for i in range(draw(st.integers(0, 2) if pot_ids else st.just(0)))
    ]
    ring_fences = [
        {
            "id": f"r{i}",
            "name": draw(names),
            "pot": draw(st.sampled_from(pot_ids)),
            "min_amount_pence": draw(money),
            "services": draw(st.lists(st.sampled_from(service_ids), min_size=1, unique=True)),
        }
        for i in range(draw(st.integers(0, 2) if pot_ids else st.just(0)))
    ]
    cells = draw(
        st.lists(
            st.tuples(st.sampled_from(codes), st.sampled_from(service_ids)),
            unique=True,
            max_size=4,
        )
    )
    existing = [
        {"area": a, "service": s, "units": str(draw(decimals)), "is_assumption": draw(maybe)}
        for a, s in cells
    ]
    previous = [{"area": a, "service": s, "units": str(draw(decimals))} for a, s in cells]
    policy = {
        "fairness_rule": draw(
            st.sampled_from(["leximin", "proportional_to_benchmark_cost", "equal_shortfall"])
        ),
        "cap_at_benchmark_factor": draw(st.none() | st.sampled_from(["1", "1.5", "3"])),
        "previous_allocation": previous,
        "max_change_pct": str(draw(decimals)) if previous else None,
        "area_limits": [{"area": codes[0], "min_pence": draw(money)}] if draw(maybe) else [],
        "award_years": draw(st.integers(1, 3)),
    }
    return Scenario.model_validate(
        {
            "name": draw(names),
            "description": draw(st.text(printable, max_size=40)),
            "financial_years": fy,
            "areas": areas,
            "services": services,
            "benchmarks": benchmarks,
            "pots": pots,
            "commitments": commitments,
            "ring_fences": ring_fences,
            "existing_provision": existing,
            "policy": policy,
        }
    )


@MODEST
@given(scenarios())
def test_scenario_round_trips_through_scenario_json(tmp_path: Path, scenario: Scenario) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(scenario_json(scenario), encoding="utf-8")
    again = load_scenario(path)
    assert again == scenario
    assert again.content_hash() == scenario.content_hash()


area_tables = st.builds(
    AreaTable,
    path=st.from_regex(r"[a-z0-9_]{1,12}\.csv", fullmatch=True),
    code_column=identifiers,
    name_column=st.none() | identifiers,
)


@MODEST
@given(
    scenarios(),
    st.builds(
        AreaDataSource,
        tables=st.lists(area_tables, min_size=1, max_size=3),
        include=st.none() | st.lists(st.from_regex(r"E09[0-9]{6}", fullmatch=True), max_size=3),
        exclude=st.lists(st.from_regex(r"E09[0-9]{6}", fullmatch=True), max_size=3),
        group_column=st.none() | identifiers,
    ),
)
def test_scenario_file_with_area_data_round_trips(
    scenario: Scenario, area_data: AreaDataSource
) -> None:
    fields = scenario.model_dump(exclude={"areas"})
    file = ScenarioFile.model_validate({**fields, "area_data": area_data.model_dump()})
    assert ScenarioFile.model_validate_json(scenario_json(file)) == file
