"""Bad input through the real CLI and the real API: always exit 2 or a 4xx naming the field.

Every scenario case is sent both ways: written to a file and run through `commissioning
validate` (in-process, a few as a real subprocess), and posted to `POST /api/v1/scenarios` on
the app under Litestar's HTTP test client. Each must give no traceback, no 5xx, exit 2 or the
expected 4xx, and an error that names the field at fault.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import small_scenario_data
from litestar.testing import TestClient
from postgres_support import open_test_store
from pydantic import ValidationError
from test_api_support import Keys, make_keys, settings_for

from commissioning.api.app import create_app
from commissioning.cli import main
from commissioning.models import Scenario

PLACEHOLDER = "@@raw@@"

Data = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """A broken scenario and the field its error must name ("" = the whole document)."""

    id: str
    build: Callable[[], bytes]
    field: str
    says: str = ""  # a word the message must contain, when the field alone is not enough


def _data(change: Callable[[Data], object]) -> Callable[[], bytes]:
    def build() -> bytes:
        data = small_scenario_data()
        change(data)
        return json.dumps(data, ensure_ascii=False).encode()

    return build


def _put(*path_and_value: Any) -> Callable[[], bytes]:
    """The small scenario with data[p0]...[pn] = value."""
    *path, value = path_and_value

    def change(data: Data) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return _data(change)


def _raw(*path: Any, text: str | bytes) -> Callable[[], bytes]:
    """The small scenario with the JSON text at data[p0]...[pn] replaced by `text` verbatim."""
    put = _put(*path, PLACEHOLDER)
    raw = text.encode() if isinstance(text, str) else text
    return lambda: put().replace(json.dumps(PLACEHOLDER).encode(), raw)


def _bytes(content: bytes) -> Callable[[], bytes]:
    return lambda: content


def _with_commitment(**fields: Any) -> Callable[[], bytes]:
    commitment = {"id": "havens", "name": "The Havens", "pot": "pot", "amount_pence": 100}
    return _data(lambda d: d.update(commitments=[{**commitment, **fields}]))


def _with_fence(**fields: Any) -> Callable[[], bytes]:
    fence = {
        "id": "fence",
        "name": "IDVA fence",
        "pot": "pot",
        "min_amount_pence": 100,
        "services": ["idva"],
    }
    return _data(lambda d: d.update(ring_fences=[{**fence, **fields}]))


def _many_areas(n: int) -> Callable[[], bytes]:
    return _data(
        lambda d: d.update(
            areas=[
                {"code": f"E{i:08d}", "name": f"Area {i}", "indicators": {"female_16_plus": 1000}}
                for i in range(1, n + 1)
            ]
        )
    )


def _nested(depth: int) -> bytes:
    return b'{"name": "deep", "description": ' + b"[" * depth + b"]" * depth + b"}"


AMOUNT = ("pots", 0, "amounts", 0, "amount_pence")
POPULATION = ("areas", 0, "indicators", "female_16_plus")

SCENARIO_CASES = [
    # -- the holes -------------------------------------------------------------------
    Case("invalid-utf8", _bytes(b'{"name": "caf\xe9"}'), "", "UTF-8"),
    Case("invalid-utf8-inside", _raw("name", text=b'"Cam\xffden"'), "", "UTF-8"),
    Case("nested-1000-levels", _bytes(_nested(1000)), "", "nested"),
    Case("nested-40-levels", _bytes(_nested(40)), "description", "nested"),
    Case("5000-digit-integer-money", _raw(*AMOUNT, text="9" * 5000), "pots[0].amounts[0]"),
    Case("5000-digit-integer-name", _raw("name", text="1" * 5000), "name", "digits"),
    Case("5000-digit-float", _raw(*POPULATION, text="1" * 5000 + ".5"), "female_16_plus"),
    Case("duplicate-top-level-key", _bytes(b'{"name": "a", "name": "b"}'), "", "'name'"),
    Case(
        "duplicate-nested-key",
        _raw("areas", 0, "code", text='"E09000002", "code": "E09000003"'),
        "areas[0]",
        "'code'",
    ),
    Case("nan-literal", _raw(*POPULATION, text="NaN"), "areas[0].indicators.female_16_plus"),
    Case("infinity-literal", _raw(*POPULATION, text="-Infinity"), "female_16_plus"),
    Case("overflowing-float", _raw(*POPULATION, text="1e400"), "female_16_plus", "too large"),
    Case("indicator-as-string", _put(*POPULATION, "79013"), "areas[0].indicators.female_16_plus"),
    Case("indicator-as-bool", _put(*POPULATION, True), "areas[0].indicators.female_16_plus"),
    Case("per-as-string", _put("benchmarks", 0, "per", "100000"), "benchmarks[0].per"),
    Case("award-years-as-string", _put("policy", {"award_years": "2"}), "policy.award_years"),
    Case("threads-as-float", _put("policy", {"solver": {"threads": 1.5}}), "policy.solver.threads"),
    Case("fullwidth-digit-in-code", _put("areas", 0, "code", "E0900000７"), "areas[0].code"),
    Case("arabic-digits-in-code", _put("areas", 0, "code", "E٠٩٠٠٠٠٠٢"), "areas[0].code"),
    Case(
        "control-character-in-area-name",
        _put("areas", 0, "name", "Barking\x07"),
        "areas[0].name",
        "U+0007",
    ),
    Case("nul-in-scenario-name", _put("name", "London\x00"), "name", "U+0000"),
    Case("escape-in-service-name", _put("services", 0, "name", "\x1b[31mIDVA"), "services[0].name"),
    Case(
        "control-character-in-source",
        _put("benchmarks", 0, "source", "Safe\x0bLives"),
        "benchmarks[0].source",
    ),
    Case(
        "control-character-in-indicator-name",
        _put("areas", 0, "indicators", {"female_16_plus": 1.0, "crime\x08": 2.0}),
        "areas[0].indicators",
    ),
    Case("control-character-in-description", _put("description", "a\x1fb"), "description"),
    # -- sizes the optimiser must never see ---------------------------------------------------
    Case("population-1e300", _put(*POPULATION, 1e300), "areas[0].indicators.female_16_plus"),
    Case(
        "population-above-100-million",
        _put(*POPULATION, 2e8),
        "areas[0].indicators.female_16_plus",
        "100 million",
    ),
    Case("benchmark-per-1", _put("benchmarks", 0, "per", 1), "benchmarks[0]", "10,000"),
    Case(
        "benchmark-target-above-10000",
        _put("benchmarks", 0, "units", "10000"),
        "benchmarks[0]",
        "idva",
    ),
    Case("money-above-100bn", _put(*AMOUNT, 10**13 + 1), "pots[0].amounts[0].amount_pence"),
    Case(
        "unit-cost-above-1bn",
        _put("services", 0, "unit_cost_pence", 10**11 + 4),
        "services[0].unit_cost_pence",
    ),
    Case("too-many-areas", _many_areas(10_001), "areas"),
    Case(
        "too-many-years",
        _put("financial_years", [f"{y}/{(y + 1) % 100:02d}" for y in range(2010, 2021)]),
        "financial_years",
    ),
    Case("huge-name", _put("name", "x" * 100_000), "name"),
    Case("huge-description", _put("description", "x" * 100_000), "description"),
    Case(
        "huge-indicator-name",
        _put("areas", 0, "indicators", {"x" * 1000: 1.0}),
        "areas[0].indicators",
    ),
    Case("granularity-zero", _put("services", 0, "granularity", "0"), "services[0].granularity"),
    Case("units-too-precise", _put("benchmarks", 0, "units", "0.0000001"), "benchmarks[0].units"),
    Case("empty-areas", _put("areas", []), "areas"),
    Case("empty-services", _put("services", []), "services"),
    Case("empty-financial-years", _put("financial_years", []), "financial_years"),
    Case("empty-pot-amounts", _put("pots", 0, "amounts", []), "pots[0].amounts"),
    Case("empty-name", _put("name", "   "), "name"),
    # -- money --------------------------------------------------------------------------------
    Case("negative-money", _put(*AMOUNT, -1), "pots[0].amounts[0].amount_pence"),
    Case("money-as-float", _put(*AMOUNT, 100.5), "pots[0].amounts[0].amount_pence"),
    Case("money-as-whole-float", _put(*AMOUNT, 100.0), "pots[0].amounts[0].amount_pence"),
    Case("money-as-string", _put(*AMOUNT, "100"), "pots[0].amounts[0].amount_pence"),
    Case("money-as-bool", _put(*AMOUNT, True), "pots[0].amounts[0].amount_pence"),
    Case("money-as-null", _put(*AMOUNT, None), "pots[0].amounts[0].amount_pence"),
    Case(
        "unit-cost-zero", _put("services", 0, "unit_cost_pence", 0), "services[0].unit_cost_pence"
    ),
    Case(
        "unit-cost-fraction-of-penny",
        _data(lambda d: d["services"][0].update(unit_cost_pence=3, granularity="0.5")),
        "services[0]",
        "whole number of pence",
    ),
    Case("negative-commitment", _with_commitment(amount_pence=-5), "commitments[0].amount_pence"),
    Case(
        "ring-fence-money-as-string",
        _with_fence(min_amount_pence="100"),
        "ring_fences[0].min_amount_pence",
    ),
    # -- codes --------------------------------------------------------------------------------
    Case("lower-case-code", _put("areas", 0, "code", "e09000002"), "areas[0].code"),
    Case("short-code", _put("areas", 0, "code", "E0900002"), "areas[0].code"),
    Case("unknown-country-letter", _put("areas", 0, "code", "X09000002"), "areas[0].code"),
    Case("code-as-number", _put("areas", 0, "code", 9000002), "areas[0].code"),
    Case("duplicate-area-code", _put("areas", 1, "code", "E09000002"), "areas[1].code"),
    Case(
        "bad-code-in-eligible-areas",
        _put("pots", 0, "eligible_areas", ["E0900000７"]),
        "pots[0].eligible_areas[0]",
    ),
    Case("bad-identifier", _put("services", 0, "id", "IDVA"), "services[0].id"),
    # -- years --------------------------------------------------------------------------------
    Case("year-2019-21", _put("financial_years", ["2019/21", "2020/21"]), "financial_years[0]"),
    Case("year-with-dash", _put("financial_years", 0, "2019-20"), "financial_years[0]"),
    Case("year-two-digits", _put("financial_years", 0, "19/20"), "financial_years[0]"),
    Case("year-fullwidth-digits", _put("financial_years", 0, "２０19/20"), "financial_years[0]"),
    Case("year-twice", _put("financial_years", ["2019/20", "2019/20"]), "financial_years"),
    Case(
        "years-not-consecutive",
        _put("financial_years", ["2019/20", "2021/22"]),
        "financial_years",
        "consecutive",
    ),
    Case(
        "pot-year-not-in-scenario",
        _put("pots", 0, "amounts", 1, "year", "2030/31"),
        "pots[0].amounts[1].year",
    ),
    Case(
        "commitment-year-not-in-scenario",
        _with_commitment(years=["2018/19"]),
        "commitments[0].years[0]",
    ),
    # -- references ---------------------------------------------------------------------------
    Case(
        "benchmark-unknown-service",
        _put("benchmarks", 0, "service", "isva"),
        "benchmarks[0].service",
        "'isva'",
    ),
    Case(
        "benchmark-unknown-basis",
        _put("benchmarks", 0, "basis", "women"),
        "benchmarks[0].basis",
        "'women'",
    ),
    Case(
        "pot-unknown-service",
        _put("pots", 0, "eligible_services", ["isva"]),
        "pots[0].eligible_services[0]",
    ),
    Case(
        "pot-unknown-area",
        _put("pots", 0, "eligible_areas", ["E09000099"]),
        "pots[0].eligible_areas[0]",
    ),
    Case("commitment-unknown-pot", _with_commitment(pot="victim_fund"), "commitments[0].pot"),
    Case("commitment-unknown-area", _with_commitment(area="E09000099"), "commitments[0].area"),
    Case(
        "ring-fence-unknown-service", _with_fence(services=["isva"]), "ring_fences[0].services[0]"
    ),
    Case(
        "existing-unknown-area",
        _put("existing_provision", [{"area": "E09000099", "service": "idva", "units": "1"}]),
        "existing_provision[0].area",
    ),
    Case(
        "need-weight-unknown-indicator",
        _put("policy", {"need_weights": [{"indicator": "imd", "weight": "1"}]}),
        "policy.need_weights[0].indicator",
    ),
    Case(
        "priority-unknown-service",
        _put("policy", {"service_priorities": [{"service": "isva", "weight": "2"}]}),
        "policy.service_priorities[0].service",
    ),
    Case("duplicate-service-id", _put("services", 1, "id", "idva"), "services[1].id"),
    # -- shapes -------------------------------------------------------------------------------
    Case("unknown-top-level-field", _put("colour", "blue"), "colour"),
    Case(
        "misspelt-nested-field",
        _put("pots", 0, "eligable_services", ["idva"]),
        "pots[0].eligable_services",
    ),
    Case("services-not-a-list", _put("services", {"id": "idva"}), "services"),
    Case("document-is-a-list", _bytes(b"[1, 2]"), "", "dictionary"),
    Case("truncated-json", _bytes(b'{"name": "x", "financial_years": ['), "", "not valid JSON"),
    Case("missing-required-fields", _bytes(b'{"name": "x"}'), "financial_years"),
]


# -- the command line ---------------------------------------------------------------------------


def _write(folder: Path, case: Case) -> Path:
    path = folder / f"{case.id}.json"
    path.write_bytes(case.build())
    return path


def _check_cli(case: Case, path: Path, code: int, out: str, err: str) -> None:
    assert code == 2, out + err
    assert "Traceback" not in out + err
    assert out == ""
    lines = err.splitlines()
    assert lines and all(line.startswith(f"error: {path}: ") for line in lines), err
    # A problem with the whole file names the file; any other names its field path.
    named = [line for line in lines if case.field in line.removeprefix(f"error: {path}: ")]
    assert named, f"no line names {case.field!r}:\n{err}"
    assert any(case.says in line for line in named), err


@pytest.mark.parametrize("case", SCENARIO_CASES, ids=[c.id for c in SCENARIO_CASES])
def test_cli_validate_refuses(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, case)
    code = main(["validate", str(path)])
    captured = capsys.readouterr()
    _check_cli(case, path, code, captured.out, captured.err)


@pytest.mark.parametrize("command", ["solve", "resolve"])
def test_other_commands_refuse_the_same_way(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = next(c for c in SCENARIO_CASES if c.id == "duplicate-nested-key")
    path = _write(tmp_path, case)
    extra = ["--out", str(tmp_path / "run")] if command == "solve" else []
    code = main([command, str(path), *extra])
    captured = capsys.readouterr()
    _check_cli(case, path, code, captured.out, captured.err)
    assert not (tmp_path / "run").exists()


SUBPROCESS_CASES = [
    c for c in SCENARIO_CASES if c.id in {"invalid-utf8", "nested-1000-levels", "population-1e300"}
]
_SCRIPT = Path(sys.executable).with_name("commissioning")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "commissioning.cli"]


@pytest.fixture(scope="module")
def subprocess_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """The installed `commissioning validate` on a few cases, side by side."""
    folder = tmp_path_factory.mktemp("cli")
    paths = {c.id: _write(folder, c) for c in SUBPROCESS_CASES}

    def run(case: Case) -> subprocess.CompletedProcess[str]:
        argv = [*COMMAND, "validate", str(paths[case.id])]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return {
            c.id: (paths[c.id], r)
            for c, r in zip(SUBPROCESS_CASES, pool.map(run, SUBPROCESS_CASES), strict=True)
        }


@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=[c.id for c in SUBPROCESS_CASES])
def test_installed_command_refuses(
    case: Case, subprocess_runs: dict[str, tuple[Path, subprocess.CompletedProcess[str]]]
) -> None:
    path, result = subprocess_runs[case.id]
    _check_cli(case, path, result.returncode, result.stdout, result.stderr)


# -- the HTTP API -------------------------------------------------------------------------------


@dataclass
class Api:
    client: TestClient[Any]
    keys: Keys

    def post(self, path: str, content: bytes, content_type: str = "application/json") -> Any:
        headers = {**self.keys.header("commissioner"), "Content-Type": content_type}
        return self.client.post(path, content=content, headers=headers)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = settings_for(tmp_path_factory.mktemp("api"))
    keys = make_keys(open_test_store(settings.store))
    with TestClient(create_app(settings)) as client:
        yield Api(client, keys)


def _check_api(response: Any, field: str, says: str = "", status: int = 400) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["errors"], body
    fields = [e["field"] for e in body["errors"]]
    wanted = field or "body"
    named = [e for e in body["errors"] if wanted in e["field"]]
    assert named, f"no error names {wanted!r}: {fields}"
    assert any(says in e["message"] for e in named), body


@pytest.mark.parametrize("case", SCENARIO_CASES, ids=[c.id for c in SCENARIO_CASES])
def test_api_refuses_scenario(case: Case, api: Api) -> None:
    _check_api(api.post("/api/v1/scenarios", case.build()), case.field, case.says)


RUN = "0" * 32


@pytest.mark.parametrize(
    ("path", "content", "content_type", "field", "status"),
    [
        ("/api/v1/scenarios", b"hello", "text/plain", "Content-Type", 415),
        (
            "/api/v1/scenarios",
            b"name=x&financial_years=2019/20",
            "application/x-www-form-urlencoded",
            "Content-Type",
            415,
        ),
        (
            "/api/v1/scenarios",
            b"--b\r\n\r\nx\r\n--b--",
            "multipart/form-data; boundary=b",
            "Content-Type",
            415,
        ),
        (
            "/api/v1/scenarios",
            b'{"name": "caf\xe9"}',
            "application/json; charset=latin-1",
            "Content-Type",
            415,
        ),
        (
            "/api/v1/runs",
            b"scenario_id=" + RUN.encode(),
            "application/x-www-form-urlencoded",
            "Content-Type",
            415,
        ),
        ("/api/v1/runs", RUN.encode(), "text/plain", "Content-Type", 415),
    ],
    ids=[
        "scenario-text",
        "scenario-form",
        "scenario-multipart",
        "scenario-latin1",
        "run-form",
        "run-text",
    ],
)
def test_api_refuses_bodies_that_are_not_json(
    api: Api, path: str, content: bytes, content_type: str, field: str, status: int
) -> None:
    _check_api(api.post(path, content, content_type), field, "", status)


@pytest.mark.parametrize(
    ("content", "field", "says"),
    [
        (b'{"scenario_id": "' + RUN.encode() + b'", "colour": "blue"}', "colour", "Extra"),
        (
            b'{"scenario_id": "' + RUN.encode() + b'", "scenario_id": "' + RUN.encode() + b'"}',
            "body",
            "'scenario_id'",
        ),
        (b'{"scenario_id": 12345}', "scenario_id", ""),
        (b'{"scenario_id": "E0900000\xef\xbc\x97"}', "scenario_id", ""),
        (b'{"scenario_id": "' + b"f" * 31 + b'\xe2\x80\x8b"}', "scenario_id", ""),
        (b'{"scenario_id": ' + b"7" * 5000 + b"}", "scenario_id", "digits"),
        (b'{"scenario_id": "\xff"}', "body", "UTF-8"),
        (b"[" * 1000 + b"]" * 1000, "body", "nested"),
        (b"{}", "scenario_id", ""),
        (b'{"scenario_id": "' + RUN.encode() + b'"', "body", "not valid JSON"),
    ],
    ids=[
        "unknown-field",
        "duplicate-key",
        "id-as-number",
        "id-non-ascii",
        "id-zero-width",
        "id-5000-digits",
        "invalid-utf8",
        "nested-1000",
        "missing-id",
        "truncated",
    ],
)
def test_api_refuses_bad_run_requests(api: Api, content: bytes, field: str, says: str) -> None:
    _check_api(api.post("/api/v1/runs", content), field, says)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/api/v1/runs/{RUN}/workbooks/boroughs/E0900000７", "area_code"),
        (f"/api/v1/runs/{RUN}/workbooks/boroughs/E0900000%00", "area_code"),
        ("/api/v1/runs?limit=" + "9" * 5000, "limit"),
        ("/api/v1/runs?limit=-1", "limit"),
        ("/api/v1/runs?offset=1.5", "offset"),
        ("/api/v1/runs?scenario_id=" + "A" * 32, "scenario_id"),
        ("/api/v1/runs/" + "０" * 32, "run_id"),
    ],
    ids=[
        "area-fullwidth-digit",
        "area-nul",
        "limit-5000-digits",
        "limit-negative",
        "offset-float",
        "scenario-id-upper-case",
        "run-id-fullwidth",
    ],
)
def test_api_refuses_bad_parameters(api: Api, path: str, field: str) -> None:
    response = api.client.get(path, headers=api.keys.header("commissioner"))
    _check_api(response, field)


# -- what is accepted, and what is only warned about ---------------------------------------------


def test_a_byte_order_mark_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(small_scenario_data()).encode())
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_a_small_benchmark_base_is_a_warning_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], api: Api
) -> None:
    data = small_scenario_data()
    data["benchmarks"][0]["per"] = 999
    path = tmp_path / "per.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("ok: ")
    (warning,) = captured.err.splitlines()
    assert warning.startswith("warning: benchmarks[0].per: ") and "100,000" in warning

    response = api.post("/api/v1/scenarios", json.dumps(data).encode())
    assert response.status_code == 201, response.text
    assert [w.split(":")[0] for w in response.json()["warnings"]] == ["benchmarks[0].per"]
    clean = api.post("/api/v1/scenarios", json.dumps(small_scenario_data()).encode())
    assert clean.status_code == 201 and clean.json()["warnings"] == []


def test_solve_prints_the_warnings_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = small_scenario_data({"E09000002": 500.0, "E09000003": 900.0})
    data["benchmarks"][0]["per"] = 500
    path = tmp_path / "per.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["solve", str(path), "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: benchmarks[0].per: "), err


def _validate(tmp_path: Path, data: Data, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    code = main(["validate", str(path)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.err


def test_validate_runs_the_arithmetic_prechecks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = small_scenario_data()
    data["commitments"] = [
        {"id": "havens", "name": "The Havens", "pot": "pot", "amount_pence": 150_000_000}
    ]
    code, err = _validate(tmp_path, data, capsys)
    assert code == 2
    assert (
        "infeasible: - A pot 2019/20: fixed commitments £1,500,000 exceed the pot of £1,000,000"
        in err
    )

    data = small_scenario_data()
    data["ring_fences"] = [
        {
            "id": "fence",
            "name": "Fence",
            "pot": "pot",
            "min_amount_pence": 200_000_000,
            "services": ["idva"],
            "years": ["2020/21"],
        }
    ]
    code, err = _validate(tmp_path, data, capsys)
    assert code == 2 and "A pot 2020/21" in err and "ring-fence £2,000,000" in err

    data = small_scenario_data()
    data["policy"] = {"area_limits": [{"area": "E09000002", "service": "idva", "min_units": "30"}]}
    code, err = _validate(tmp_path, data, capsys)
    assert code == 2 and "area floors cost £1,200,000 but the pots have only £1,000,000" in err


def test_validate_warns_about_a_cap_no_granule_fits_under(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 5,000 women × 4 / 100,000 = 0.2 FTE: a cap at 1 × benchmark leaves no room for 0.5 FTE.
    data = small_scenario_data({"E09000002": 5000.0, "E09000003": 158228.0})
    data["services"][0]["granularity"] = "0.5"
    data["policy"] = {"cap_at_benchmark_factor": "1"}
    code, err = _validate(tmp_path, data, capsys)
    assert code == 0
    (warning,) = err.splitlines()
    assert warning.startswith("warning: policy.cap_at_benchmark_factor: ")
    assert "E09000002" in warning and "E09000003" not in warning and "'idva'" in warning

    data["policy"] = {"cap_at_benchmark_factor": "3"}  # room for 0.6 FTE: one granule fits
    assert _validate(tmp_path, data, capsys) == (0, "")


def test_validate_warns_about_a_benchmark_no_pot_may_fund(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = small_scenario_data()
    data["pots"][0]["eligible_services"] = ["marac"]
    code, err = _validate(tmp_path, data, capsys)
    assert code == 0
    assert err.splitlines() == [
        "warning: benchmarks[0]: no pot may fund 'idva' in any area, so its benchmark can be "
        "met there only by existing provision; check the pots' eligible_services and "
        "eligible_areas"
    ]
    data = copy.deepcopy(small_scenario_data())
    data["pots"][0]["eligible_areas"] = ["E09000003"]
    code, err = _validate(tmp_path, data, capsys)
    assert code == 0 and "in E09000002 (Area E09000002)" in err


def test_a_population_of_1e300_is_refused_within_a_second_of_cpu() -> None:
    """0.1.0 enumerated every granule up to each target: this took the machine's memory. It is
    now refused at validation, naming the field, before any solve (CPU time, not wall time, so a
    busy machine does not make the check flaky)."""
    data = small_scenario_data({"E09000002": 1e300, "E09000003": 900.0})
    started = time.process_time()
    with pytest.raises(ValidationError) as caught:
        Scenario.model_validate(data)
    assert time.process_time() - started < 1.0
    assert "areas.0.indicators.female_16_plus" in str(caught.value)
