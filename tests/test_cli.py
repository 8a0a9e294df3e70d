"""The `commissioning` command: validate (as a real subprocess and in-process), schema, solve."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from conftest import ScenarioCopy, copy_london

from commissioning.cli import main
from commissioning.errors import ScenarioError
from commissioning.models import Scenario
from commissioning.scenario_io import load_scenario

# Appended duplicates land after the fixture's own records, wherever the fixture grows.
_LONDON_FILE = json.loads(
    (Path(__file__).parents[1] / "fixtures/london-2019/scenario.json").read_text(encoding="utf-8")
)

POP = "london_population_mid2019.csv"
IMD = "london_imd2019_la_summary.csv"


# The installed console script; `python -m commissioning.cli` where it is not installed.
_SCRIPT = Path(sys.executable).with_name("commissioning")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "commissioning.cli"]


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- building malformed scenarios ------------------------------------------------------------


def _put(*path_and_value: Any) -> Callable[[ScenarioCopy], None]:
    """Set data[p0][p1]...[pn] = value in scenario.json."""
    *path, value = path_and_value

    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return lambda copy: copy.edit(change)


def _append_copy(field: str, index: int = 0) -> Callable[[ScenarioCopy], None]:
    """Append a copy of data[field][index] (so its id repeats)."""
    return lambda copy: copy.edit(lambda d: d[field].append(dict(d[field][index])))


def _cell(csv_name: str, code: str, column: str, value: str) -> Callable[[ScenarioCopy], None]:
    return lambda copy: copy.set_cell(csv_name, code, column, value)


def _duplicate_csv_row(copy: ScenarioCopy) -> None:
    rows = copy.rows(POP)
    copy.write_rows(POP, [*rows, rows[3]])  # E09000003 (row 4) again, as row 35


def _inline_then(change: Callable[[dict[str, Any]], object]) -> Callable[[ScenarioCopy], None]:
    def mutate(copy: ScenarioCopy) -> None:
        copy.make_inline()
        copy.edit(change)

    return mutate


def _both_area_sources(copy: ScenarioCopy) -> None:
    area_data = copy.data()["area_data"]
    copy.make_inline()
    copy.edit(lambda d: d.update(area_data=area_data))


def _text(text: str) -> Callable[[ScenarioCopy], None]:
    return lambda copy: copy.path.write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class Malformed:
    id: str
    mutate: Callable[[ScenarioCopy], object]
    field: str  # the field path one problem must name ("" when the whole file is at fault)
    says: tuple[str, ...]  # text that same problem must contain, e.g. the offending value


ALL_33 = [f"E09{n:06d}" for n in range(1, 34)]

MALFORMED = [
    Malformed(
        "unknown-area-code",
        _put("existing_provision", 0, "area", "E09000099"),
        "existing_provision[0].area",
        ("unknown area", "'E09000099'"),
    ),
    Malformed(
        "unknown-area-in-pot",
        _put("pots", 0, "eligible_areas", ["E09000002", "E09000066"]),
        "pots[0].eligible_areas[1]",
        ("unknown area", "'E09000066'"),
    ),
    Malformed(
        "malformed-area-code",
        _put("commitments", 0, "area", "E9"),
        "commitments[0].area",
        ("'E9'",),
    ),
    Malformed(
        "duplicate-area-inline",
        _inline_then(lambda d: d["areas"].append(d["areas"][3])),
        "areas[32].code",
        ("duplicate", "'E09000005'", "areas[3]"),
    ),
    Malformed(
        "duplicate-area-csv-row",
        _duplicate_csv_row,
        "area_data.tables[0].path",
        (POP, "row 35", "E09000003", "twice", "row 4"),
    ),
    Malformed(
        "negative-money-pot",
        _put("pots", 0, "amounts", 1, "amount_pence", -5),
        "pots[0].amounts[1].amount_pence",
        ("greater than or equal to 0", "-5"),
    ),
    Malformed(
        "negative-money-commitment",
        _put("commitments", 1, "amount_pence", -126000000),
        "commitments[1].amount_pence",
        ("-126000000",),
    ),
    Malformed(
        "non-numeric-money",
        _put("pots", 1, "amounts", 0, "amount_pence", "lots"),
        "pots[1].amounts[0].amount_pence",
        ("valid integer", "'lots'"),
    ),
    Malformed(
        "fractional-money",
        _put("ring_fences", 0, "min_amount_pence", 150.5),
        "ring_fences[0].min_amount_pence",
        ("valid integer", "150.5"),
    ),
    Malformed(
        "money-as-text",
        _put("commitments", 0, "amount_pence", "216500000"),
        "commitments[0].amount_pence",
        ("valid integer", "'216500000'"),
    ),
    Malformed(
        "benchmark-missing-column",
        _put("benchmarks", 1, "basis", "women_16_plus"),
        "benchmarks[1].basis",
        ("'women_16_plus'", "32 of 32 areas"),
    ),
    Malformed(
        "benchmark-unknown-service",
        _put("benchmarks", 0, "service", "isva"),
        "benchmarks[0].service",
        ("unknown service", "'isva'"),
    ),
    Malformed(
        "pot-eligible-unknown-service",
        _put("pots", 1, "eligible_services", 0, "idvaa"),
        "pots[1].eligible_services[0]",
        ("unknown service", "'idvaa'"),
    ),
    Malformed(
        "commitment-unknown-pot",
        _put("commitments", 2, "pot", "mopac"),
        "commitments[2].pot",
        ("unknown pot", "'mopac'"),
    ),
    Malformed(
        "ring-fence-unknown-pot",
        _put("ring_fences", 0, "pot", "victim_fund"),
        "ring_fences[0].pot",
        ("unknown pot", "'victim_fund'"),
    ),
    Malformed(
        "empty-area-set-include",
        _put("area_data", "include", []),
        "area_data",
        ("no areas left", "include=[]"),
    ),
    Malformed(
        "empty-area-set-exclude-all",
        _put("area_data", "exclude", ALL_33),
        "area_data",
        ("no areas left", "33 excluded"),
    ),
    Malformed(
        "empty-area-set-inline",
        _inline_then(lambda d: d.update(areas=[])),
        "areas",
        ("at least 1 item",),
    ),
    Malformed(
        "zero-basis-population",
        _cell(POP, "E09000007", "female_16_plus", "0"),
        "benchmarks[0].basis",
        ("E09000007", "basis population 0", "'female_16_plus'"),
    ),
    Malformed(
        "negative-need-indicator",
        _cell(IMD, "E09000007", "imd_average_score", "-3.5"),
        "policy.need_weights[1].indicator",
        ("E09000007", "negative", "-3.5"),
    ),
    Malformed(
        "bad-financial-year",
        _put("financial_years", 1, "2019/21"),
        "financial_years[1]",
        ("'2019/21'",),
    ),
    Malformed(
        "financial-year-format",
        _put("financial_years", 0, "2019-20"),
        "financial_years[0]",
        ("'2019-20'",),
    ),
    Malformed(
        "non-consecutive-years",
        _put("financial_years", ["2019/20", "2020/21", "2022/23"]),
        "financial_years",
        ("consecutive", "2022/23"),
    ),
    Malformed(
        "pot-amount-year-not-in-scenario",
        _put("pots", 2, "amounts", 0, "year", "2018/19"),
        "pots[2].amounts[0].year",
        ("2018/19", "financial_years"),
    ),
    Malformed(
        "commitment-year-not-in-scenario",
        _put("commitments", 0, "years", ["2019/20", "2023/24"]),
        "commitments[0].years[1]",
        ("2023/24",),
    ),
    Malformed(
        "duplicate-service-id",
        _append_copy("services"),
        f"services[{len(_LONDON_FILE['services'])}].id",
        ("duplicate", "'idva'", "services[0]"),
    ),
    Malformed(
        "duplicate-pot-id",
        _append_copy("pots", 1),
        f"pots[{len(_LONDON_FILE['pots'])}].id",
        ("duplicate", "'victims_fund'", "pots[1]"),
    ),
    Malformed(
        "duplicate-commitment-id",
        _append_copy("commitments"),
        "commitments[3].id",
        ("duplicate", "'havens'"),
    ),
    Malformed(
        "duplicate-ring-fence-id",
        _append_copy("ring_fences"),
        "ring_fences[1].id",
        ("duplicate", "'harmful_practices'"),
    ),
    Malformed(
        "duplicate-benchmark",
        _append_copy("benchmarks"),
        "benchmarks[2].service",
        ("duplicate", "'idva'"),
    ),
    Malformed(
        "missing-csv-file",
        _put("area_data", "tables", 1, "path", "no_such_table.csv"),
        "area_data.tables[1].path",
        ("not found", "no_such_table.csv"),
    ),
    Malformed(
        "non-numeric-csv-cell",
        _cell(POP, "E09000002", "female_16_plus", "79,0l3"),
        "area_data.tables[0].path",
        (POP, "row 3", "column 'female_16_plus'", "'79,0l3'"),
    ),
    Malformed(
        "nan-csv-cell",
        _cell(POP, "E09000010", "female_16_to_64", "NaN"),
        "area_data.tables[0].path",
        (POP, "row 11", "column 'female_16_to_64'", "'NaN'"),
    ),
    Malformed(
        "bad-area-code-in-csv",
        _cell(POP, "E09000004", "ons_code", "E0900004"),
        "area_data.tables[0].path",
        (POP, "row 5", "'E0900004'"),
    ),
    Malformed(
        "csv-missing-code-column",
        _put("area_data", "tables", 2, "code_column", "gss_code"),
        "area_data.tables[2].path",
        ("no column", "'gss_code'"),
    ),
    Malformed(
        "unknown-group-column",
        _put("area_data", "group_column", "bcu"),
        "area_data.group_column",
        ("'bcu'",),
    ),
    Malformed(
        "invalid-json",
        _text('{"name": "x",\n  "financial_years": [2019/20]}\n'),
        "",
        ("not valid JSON", "line 2"),
    ),
    Malformed(
        "json-not-an-object",
        _text("[1, 2]\n"),
        "",
        ("valid dictionary",),
    ),
    Malformed(
        "include-unknown-area",
        _put("area_data", "include", ["E09000002", "E09000077"]),
        "area_data.include[1]",
        ("unknown area", "'E09000077'"),
    ),
    Malformed(
        "exclude-unknown-area",
        _put("area_data", "exclude", ["E09000001", "E09000088"]),
        "area_data.exclude[1]",
        ("unknown area", "'E09000088'"),
    ),
    Malformed(
        "areas-inline-and-area-data",
        _both_area_sources,
        "area_data",
        ("inline (areas)", "got both"),
    ),
    Malformed(
        "misspelt-field",
        _put("pots", 0, "eligable_services", ["idva"]),
        "pots[0].eligable_services",
        ("Extra inputs are not permitted",),
    ),
]


# Cases beyond the issue's list run in-process only, to keep the suite fast; the issue's cases
# also run through the installed command as a real subprocess.
NOT_IN_ISSUE = {
    "unknown-area-in-pot",
    "malformed-area-code",
    "negative-money-commitment",
    "money-as-text",
    "benchmark-unknown-service",
    "empty-area-set-exclude-all",
    "negative-need-indicator",
    "financial-year-format",
    "commitment-year-not-in-scenario",
    "duplicate-commitment-id",
    "duplicate-ring-fence-id",
    "duplicate-benchmark",
    "nan-csv-cell",
    "bad-area-code-in-csv",
    "csv-missing-code-column",
    "unknown-group-column",
    "json-not-an-object",
    "misspelt-field",
}
ISSUE_CASES = [c for c in MALFORMED if c.id not in NOT_IN_ISSUE]


@pytest.fixture(scope="module")
def malformed_copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ScenarioCopy]:
    """Every malformed scenario, built in its own copy of the London folder."""
    copies = {}
    for case in MALFORMED:
        copies[case.id] = copy_london(tmp_path_factory.mktemp(case.id))
        case.mutate(copies[case.id])
    return copies


@pytest.fixture(scope="module")
def subprocess_runs(
    malformed_copies: dict[str, ScenarioCopy],
) -> dict[str, subprocess.CompletedProcess[str]]:
    """`commissioning validate` on each of the issue's cases, run side by side (independent)."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        runs = pool.map(lambda c: run_cli("validate", malformed_copies[c.id].path), ISSUE_CASES)
        return {case.id: run for case, run in zip(ISSUE_CASES, runs, strict=True)}


def check_report(case: Malformed, copy: ScenarioCopy, code: int, out: str, err: str) -> None:
    """Exit 2, no traceback, and exactly one line per problem naming field path and value."""
    with pytest.raises(ScenarioError) as caught:
        load_scenario(copy.path)
    problems = caught.value.problems
    matching = [p for p in problems if p.field == case.field]
    assert matching, f"no problem at {case.field!r}: {[str(p) for p in problems]}"
    assert any(all(text in p.message for text in case.says) for p in matching), [
        str(p) for p in matching
    ]

    assert code == 2, out + err
    assert "Traceback" not in out + err
    assert out == ""
    assert err.splitlines() == [f"error: {copy.path}: {p}" for p in problems]
    prefix = f"error: {copy.path}: " + (f"{case.field}: " if case.field else "")
    assert any(
        line.startswith(prefix) and all(text in line for text in case.says)
        for line in err.splitlines()
    ), err


@pytest.mark.parametrize("case", ISSUE_CASES, ids=[c.id for c in ISSUE_CASES])
def test_validate_command_reports_each_problem_on_one_line(
    case: Malformed,
    malformed_copies: dict[str, ScenarioCopy],
    subprocess_runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    run = subprocess_runs[case.id]
    check_report(case, malformed_copies[case.id], run.returncode, run.stdout, run.stderr)


@pytest.mark.parametrize("case", MALFORMED, ids=[c.id for c in MALFORMED])
def test_validate_reports_each_problem_on_one_line_in_process(
    case: Malformed,
    malformed_copies: dict[str, ScenarioCopy],
    capsys: pytest.CaptureFixture[str],
) -> None:
    copy = malformed_copies[case.id]
    code = main(["validate", str(copy.path)])
    captured = capsys.readouterr()
    check_report(case, copy, code, captured.out, captured.err)


def test_solve_refuses_a_malformed_scenario(london_copy: ScenarioCopy, tmp_path: Path) -> None:
    _put("ring_fences", 0, "pot", "victim_fund")(london_copy)
    result = run_cli("solve", london_copy.path, "--out", tmp_path / "run")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "ring_fences[0].pot" in result.stderr and "'victim_fund'" in result.stderr
    assert not (tmp_path / "run").exists()


def test_validate_missing_file(tmp_path: Path) -> None:
    result = run_cli("validate", tmp_path / "absent.json")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "not found" in result.stderr and "absent.json" in result.stderr


def test_validate_good_fixture(london_scenario_path: Path, london_scenario: Scenario) -> None:
    result = run_cli("validate", london_scenario_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    first, summary = result.stdout.splitlines()[:2]
    assert first == f"ok: {london_scenario.name}"
    s = london_scenario
    for count, what in (
        (len(s.areas), "areas"),
        (len(s.services), "services"),
        (len(s.benchmarks), "benchmarks"),
        (len(s.pots), "pots"),
    ):
        assert f"{count} {what}" in summary
    assert all(year in summary for year in s.financial_years)


def test_schema_is_valid_json_schema_for_scenario_files(london_scenario_path: Path) -> None:
    result = run_cli("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    jsonschema_rs.meta.validate(schema)  # raises unless it is a valid JSON Schema
    assert {"area_data", "pots", "areas", "services"} <= set(schema["properties"])

    validator = jsonschema_rs.validator_for(schema)
    good = json.loads(london_scenario_path.read_text(encoding="utf-8"))
    assert validator.is_valid(good)
    bad = json.loads(london_scenario_path.read_text(encoding="utf-8"))
    bad["pots"][0]["amounts"][0]["amount_pence"] = -1
    assert not validator.is_valid(bad)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_solve_writes_targets_and_summary(
    london_scenario_path: Path, london_scenario: Scenario, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = run_cli("solve", london_scenario_path, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr

    rows = _read_csv(out / "targets.csv")
    assert {"area_code", "area_name", "service", "basis_population", "target_units"} <= set(rows[0])
    s = london_scenario
    expected_cells = {(a.code, b.service) for a in s.areas for b in s.benchmarks}
    assert {(r["area_code"], r["service"]) for r in rows} == expected_cells
    assert len(rows) == len(expected_cells)
    for row in rows:
        area = s.area(row["area_code"])
        bench = next(b for b in s.benchmarks if b.service == row["service"])
        population = area.indicators[bench.basis]
        assert row["area_name"] == area.name
        assert float(row["basis_population"]) == pytest.approx(population)
        assert float(row["target_units"]) == pytest.approx(
            population * float(bench.units) / bench.per, abs=1e-6
        )
    idva = sum(float(r["target_units"]) for r in rows if r["service"] == "idva")
    assert round(idva, 1) == 143.3

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert isinstance(summary, dict)


def test_solve_to_unwritable_place_is_a_clean_error(
    london_scenario_path: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    result = run_cli("solve", london_scenario_path, "--out", blocker / "run")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")


def test_python_dash_m_runs_the_same_command_line() -> None:
    from commissioning import __version__

    done = subprocess.run(
        [sys.executable, "-m", "commissioning", "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"commissioning {__version__}"
