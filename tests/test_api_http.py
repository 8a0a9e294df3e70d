"""The API over real HTTP (Litestar's test client): scenarios, runs, results, exports, errors."""

from __future__ import annotations

import copy
import io
import json
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from litestar.testing import TestClient
from python_calamine import CalamineWorkbook
from test_api_support import (
    CAMDEN,
    ISLINGTON,
    XLSX,
    World,
    api_world,
    create_scenario,
    london_data,
    settings_for,
    start_run,
    wait_for_run,
    with_direct_budget,
)

from commissioning.api.app import create_app


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with api_world(tmp_path_factory.mktemp("http")) as w:
        yield w


def commissioner(world: World) -> dict[str, str]:
    return world.keys.header("commissioner")


# -- reference data -------------------------------------------------------------------------


def test_reference_data_is_the_london_fixture(world: World) -> None:
    headers = world.keys.header("camden")
    areas = world.client.get("/api/v1/reference/areas", headers=headers).json()
    codes = {a["code"] for a in areas["areas"]}
    assert len(codes) == 32 and CAMDEN in codes and "E09000001" not in codes
    camden = next(a for a in areas["areas"] if a["code"] == CAMDEN)
    assert camden["name"] == "Camden" and camden["indicators"]["female_16_plus"] > 0

    services = world.client.get("/api/v1/reference/services", headers=headers).json()
    idva = next(s for s in services["services"] if s["id"] == "idva")
    assert idva["granularity"] == "0.5" and idva["unit_cost_pence"] == 4_000_000

    benchmarks = world.client.get("/api/v1/reference/benchmarks", headers=headers).json()
    assert {(b["service"], b["units"], b["per"]) for b in benchmarks["benchmarks"]} >= {
        ("idva", "4", 100_000),
        ("marac_coordinator", "1", 100_000),
    }


# -- scenarios ------------------------------------------------------------------------------


def test_create_list_and_get_a_scenario(world: World) -> None:
    data = with_direct_budget(500_000_000, "London, MOPAC direct £5m")
    created = world.client.post("/api/v1/scenarios", json=data, headers=commissioner(world))
    assert created.status_code == 201
    summary = created.json()
    assert summary["name"] == "London, MOPAC direct £5m"
    assert summary["areas"] == 32 and summary["financial_years"] == [
        "2019/20",
        "2020/21",
        "2021/22",
    ]
    assert len(summary["content_hash"]) == 64

    listed = world.client.get("/api/v1/scenarios?limit=500", headers=commissioner(world)).json()
    assert summary["id"] in {s["id"] for s in listed["scenarios"]}

    detail = world.client.get(f"/api/v1/scenarios/{summary['id']}", headers=commissioner(world))
    assert detail.json()["scenario"]["name"] == data["name"]
    assert len(detail.json()["scenario"]["areas"]) == 32


def test_invalid_scenario_lists_every_problem_by_field(world: World) -> None:
    data = copy.deepcopy(london_data())
    data["financial_years"][0] = "2019-20"
    data["services"][0]["unit_cost_pence"] = -5
    data["benchmarks"][0]["service"] = "nonesuch"
    response = world.client.post("/api/v1/scenarios", json=data, headers=commissioner(world))
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("the scenario is not valid: ")
    fields = {e["field"] for e in body["errors"]}
    assert {"financial_years[0]", "services[0].unit_cost_pence"} <= fields


def test_cross_reference_problems_name_their_field(world: World) -> None:
    data = copy.deepcopy(london_data())
    data["benchmarks"][0]["service"] = "nonesuch"
    response = world.client.post("/api/v1/scenarios", json=data, headers=commissioner(world))
    assert response.status_code == 400
    assert any(
        e["field"] == "benchmarks[0].service" and "nonesuch" in e["message"]
        for e in response.json()["errors"]
    )


def test_area_tables_are_refused_with_a_reason(world: World) -> None:
    data = copy.deepcopy(london_data())
    del data["areas"]
    data["area_data"] = {"tables": [{"path": "/etc/passwd"}]}
    response = world.client.post("/api/v1/scenarios", json=data, headers=commissioner(world))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "area_data",
            "message": "CSV area tables are only read from files; send areas inline",
        }
    ]


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"", b"[1, 2, 3]", b'"text"', b"null", b'{"name": 5}', b"\xff\xfe"],
    ids=["broken", "empty", "list", "string", "null", "wrong-type", "not-utf8"],
)
def test_malformed_bodies_are_400_json(world: World, content: bytes) -> None:
    response = world.client.post(
        "/api/v1/scenarios",
        content=content,
        headers={**commissioner(world), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == 400 and body["errors"]
    assert all(e["field"] for e in body["errors"])


def test_request_bodies_have_a_size_limit(world: World) -> None:
    limit = world.client.app.state.settings.max_body_bytes
    response = world.client.post(
        "/api/v1/scenarios",
        content=b" " * (limit + 1),
        headers={**commissioner(world), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["status"] == 413


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/runs/not-a-run", "run_id"),
        ("/api/v1/scenarios/XYZ", "scenario_id"),
        ("/api/v1/runs?limit=0", "limit"),
        ("/api/v1/runs?scenario_id=nope", "scenario_id"),
        ("/api/v1/runs/{published}/results/nonesuch", "table"),
        ("/api/v1/runs/{published}/results/coverage?format=xml", "format"),
        ("/api/v1/runs/{published}/workbooks/boroughs/camden", "area_code"),
        ("/api/v1/runs/{published}/boroughs/camden/explanation", "area_code"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(world: World, path: str, field: str) -> None:
    response = world.client.get(path.format(published=world.published), headers=commissioner(world))
    assert response.status_code == 400, response.text
    assert field in {e["field"] for e in response.json()["errors"]}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/runs/" + "0" * 32,
        "/api/v1/scenarios/" + "0" * 32,
        "/api/v1/runs/{published}/compare/" + "0" * 32,
        "/api/v1/runs/{published}/workbooks/boroughs/E09000001",  # City of London: not in run
        "/api/v1/runs/{published}/boroughs/E09000001/explanation",
    ],
)
def test_unknown_ids_are_404(world: World, path: str) -> None:
    response = world.client.get(path.format(published=world.published), headers=commissioner(world))
    assert response.status_code == 404, response.text
    assert response.json()["errors"]


def test_starting_a_run_of_an_unknown_scenario_is_404(world: World) -> None:
    response = world.client.post(
        "/api/v1/runs", json={"scenario_id": "f" * 32}, headers=commissioner(world)
    )
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "scenario_id"


# -- explanations ---------------------------------------------------------------------------


def test_a_borough_explanation_has_its_paragraphs_and_every_reason(world: World) -> None:
    """The run with less MOPAC money leaves cells below benchmark: the endpoint gives the
    borough's paragraph for each year and the same reasons as its explanations table rows."""
    camden = world.keys.header("camden")
    table = world.client.get(
        f"/api/v1/runs/{world.other}/results/explanations", headers=commissioner(world)
    ).json()
    below = [r for r in table["rows"] if r["shortfall_units"] > 1e-9]
    assert below, "the smaller budget should leave some cells short"
    codes = {r["area_code"] for r in below}
    for area in [*sorted(codes)[:2], CAMDEN]:
        headers = camden if area == CAMDEN else commissioner(world)
        response = world.client.get(
            f"/api/v1/runs/{world.other}/boroughs/{area}/explanation", headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["run_id"] == world.other and body["area_code"] == area
        assert list(body["paragraphs"]) == ["2019/20", "2020/21", "2021/22"]
        for year, paragraph in body["paragraphs"].items():
            assert paragraph.startswith(f"{body['area_name']}, {year}. Coverage against benchmark:")
        expected = sorted(
            (r["year"], r["service"], r["reason_code"], r["reason"])
            for r in below
            if r["area_code"] == area
        )
        got = [
            (c["year"], c["service"], c["reason_code"], c["reason"])
            for c in body["below_benchmark"]
        ]
        assert got == expected
        for cell in body["below_benchmark"]:
            assert cell["shortfall_pence"] > 0
            assert f"{body['area_name']}: " in cell["reason"]
    # a borough lead sees its own explanation only
    islington = world.client.get(
        f"/api/v1/runs/{world.other}/boroughs/{ISLINGTON}/explanation", headers=camden
    )
    assert islington.status_code == 403
    assert islington.json()["errors"][0]["field"] == "area_code"


# -- runs -----------------------------------------------------------------------------------


def test_a_run_is_accepted_then_polled_to_success(world: World) -> None:
    response = world.client.post(
        "/api/v1/runs", json={"scenario_id": world.scenario_id}, headers=commissioner(world)
    )
    assert response.status_code == 202
    run = response.json()
    assert run["status"] in ("queued", "running")
    assert response.headers["location"] == f"/api/v1/runs/{run['id']}"
    finished = wait_for_run(world.client, run["id"], commissioner(world))
    assert finished["status"] == "succeeded" and finished["reason"] is None
    assert finished["started_at"] and finished["finished_at"]
    assert finished["summary"]["areas"] == 32
    assert finished["published"] is False
    # The run directory is complete on disk before the row says succeeded.
    run_dir = world.store.finished_run_dir(run["id"])  # PostgreSQL: fetched from the database
    assert {"scenario.json", "summary.json", "coverage.csv", "allocations.csv"} <= {
        p.name for p in run_dir.iterdir()
    }


def test_an_infeasible_run_is_recorded_with_its_reason(world: World) -> None:
    data = with_direct_budget(1_000, "London with a £10 MOPAC budget")
    run_id = start_run(world.client, world.keys, create_scenario(world.client, world.keys, data))
    run = wait_for_run(world.client, run_id, commissioner(world))
    assert run["status"] == "infeasible"
    assert "exceed the pot" in run["reason"]
    for path in (f"/api/v1/runs/{run_id}/results", f"/api/v1/runs/{run_id}/workbooks/london"):
        response = world.client.get(path, headers=commissioner(world))
        assert response.status_code == 409
        assert "infeasible" in response.json()["detail"]
    publish = world.client.post(f"/api/v1/runs/{run_id}/publish", headers=commissioner(world))
    assert publish.status_code == 409


def test_publishing_makes_a_run_visible_to_finance(world: World) -> None:
    run_id = start_run(world.client, world.keys, world.scenario_id)
    wait_for_run(world.client, run_id, commissioner(world))
    finance = world.keys.header("finance")
    assert world.client.get(f"/api/v1/runs/{run_id}", headers=finance).status_code == 403
    published = world.client.post(f"/api/v1/runs/{run_id}/publish", headers=commissioner(world))
    assert published.status_code == 200 and published.json()["published"] is True
    first = published.json()["published_at"]
    again = world.client.post(f"/api/v1/runs/{run_id}/publish", headers=commissioner(world))
    assert again.json()["published_at"] == first  # publishing twice changes nothing
    assert world.client.get(f"/api/v1/runs/{run_id}", headers=finance).json()["published"]


def test_runs_can_be_listed_by_scenario(world: World) -> None:
    response = world.client.get(
        f"/api/v1/runs?scenario_id={world.scenario_id}", headers=commissioner(world)
    )
    runs = response.json()["runs"]
    assert {world.published, world.draft} <= {r["id"] for r in runs}
    assert all(r["scenario_id"] == world.scenario_id for r in runs)
    assert world.other not in {r["id"] for r in runs}


# -- results --------------------------------------------------------------------------------


def test_results_as_json(world: World) -> None:
    results = world.client.get(
        f"/api/v1/runs/{world.published}/results", headers=world.keys.header("finance")
    ).json()
    assert results["area_code"] is None and results["hidden_tables"] == []
    assert {"targets", "need", "allocations", "coverage", "pots", "commitments"} <= set(
        results["tables"]
    )
    coverage = results["tables"]["coverage"]
    assert len({row["area_code"] for row in coverage}) == 32
    assert isinstance(coverage[0]["funded_cost_pence"], int)


def test_a_runs_timing_accounts_for_every_step_of_its_solve(world: World) -> None:
    timing = world.client.get(
        f"/api/v1/runs/{world.published}/timing", headers=world.keys.header("finance")
    ).json()
    steps = timing["step_seconds"]
    # The fairness search is a step of its own, and the steps add up to the whole solve.
    assert {"allocation data", "fairness", "cost", "reasons", "tables", "other"} <= set(steps)
    assert sum(steps.values()) == pytest.approx(timing["wall_time_seconds"], abs=0.01)
    assert 0 < timing["solver_seconds"] < timing["wall_time_seconds"]
    assert 0 < timing["model_seconds"] < timing["wall_time_seconds"]


def test_a_table_as_csv_by_query_or_accept(world: World) -> None:
    path = f"/api/v1/runs/{world.published}/results/allocations"
    headers = world.keys.header("finance")
    by_query = world.client.get(path + "?format=csv", headers=headers)
    by_accept = world.client.get(path, headers={**headers, "Accept": "text/csv"})
    as_json = world.client.get(path, headers=headers)
    assert by_query.headers["content-type"].startswith("text/csv")
    assert by_query.headers["content-disposition"] == (
        f'attachment; filename="run-{world.published[:8]}-allocations.csv"'
    )
    assert by_query.content == by_accept.content
    frame = pl.read_csv(io.BytesIO(by_query.content))
    rows = as_json.json()["rows"]
    assert frame.height == len(rows) > 0
    assert frame.columns == as_json.json()["columns"]
    assert frame["cost_pence"].sum() == sum(r["cost_pence"] for r in rows)
    # ?format wins over Accept
    forced = world.client.get(path + "?format=json", headers={**headers, "Accept": "text/csv"})
    assert forced.headers["content-type"].startswith("application/json")


def test_compare_two_runs(world: World) -> None:
    finance = world.keys.header("finance")
    path = f"/api/v1/runs/{world.published}/compare/{world.other}"
    comparison = world.client.get(path, headers=finance).json()
    assert comparison["base_run_id"] == world.published
    assert comparison["other_run_id"] == world.other
    rows = comparison["rows"]
    keys = {(r["year"], r["area_code"], r["service"]) for r in rows}
    assert len(keys) == len(rows)  # one row per year × area × service
    for row in rows:
        base = row["base_funded_cost_pence"] or 0
        other = row["other_funded_cost_pence"] or 0
        assert row["diff_funded_cost_pence"] == other - base
    totals = comparison["totals"]
    assert totals["diff_funded_cost_pence"] < 0  # the other run had less MOPAC money
    assert totals["diff_funded_cost_pence"] == sum(r["diff_funded_cost_pence"] for r in rows)

    csv_response = world.client.get(path + "?format=csv", headers=finance)
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert pl.read_csv(io.BytesIO(csv_response.content)).height == len(rows)

    same = world.client.get(
        f"/api/v1/runs/{world.published}/compare/{world.draft}", headers=commissioner(world)
    ).json()
    assert all(r["diff_funded_cost_pence"] == 0 for r in same["rows"])


def test_compare_gives_the_library_comparison(world: World) -> None:
    """The API's compare is commissioning.analysis.compare's content, to the last character."""
    from commissioning.analysis.compare import compare_runs
    from commissioning.results import RunResult

    path = f"/api/v1/runs/{world.published}/compare/{world.other}"
    served = world.client.get(path, headers=world.keys.header("finance")).json()
    base, other = (
        RunResult.read(world.store.finished_run_dir(r)) for r in (world.published, world.other)
    )
    expected = compare_runs(base, other).model_dump(mode="json")
    assert {k: v for k, v in served.items() if not k.endswith("_run_id")} == expected
    # Exact decimals as strings (no float noise), money as whole pence, both scorecards shown.
    assert all(isinstance(r["diff_funded_units"], str) for r in served["rows"])
    assert served["base_scorecard"]["budget_pence"] > served["other_scorecard"]["budget_pence"]
    mopac = [p for p in served["pots"] if p["pot"] == "mopac_direct"]
    assert served["totals"]["diff_budget_pence"] == sum(p["diff_budget_pence"] for p in mopac)
    assert served["crossings"] or served["totals"]["diff_cells_below"] == 0


# -- workbooks ------------------------------------------------------------------------------


def _sheets(content: bytes) -> list[str]:
    names: list[str] = CalamineWorkbook.from_filelike(io.BytesIO(content)).sheet_names
    return names


def test_london_workbook_download(world: World) -> None:
    response = world.client.get(
        f"/api/v1/runs/{world.published}/workbooks/london", headers=world.keys.header("finance")
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert response.headers["content-disposition"] == (
        f'attachment; filename="vawg-allocation-run-{world.published[:8]}-london.xlsx"'
    )
    assert response.content[:2] == b"PK" and _sheets(response.content)


def test_borough_workbook_download(world: World) -> None:
    response = world.client.get(
        f"/api/v1/runs/{world.published}/workbooks/boroughs/{CAMDEN}",
        headers=world.keys.header("camden"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert response.headers["content-disposition"] == (
        f'attachment; filename="vawg-allocation-run-{world.published[:8]}-{CAMDEN}-camden.xlsx"'
    )
    assert _sheets(response.content)
    # Made once, then served from the store's export folder.
    cached = world.store.data_dir / "exports" / world.published / f"borough-{CAMDEN}.xlsx"
    assert cached.read_bytes() == response.content


def test_download_errors_are_problem_json_not_xlsx(world: World) -> None:
    response = world.client.get(
        f"/api/v1/runs/{world.published}/workbooks/london", headers=world.keys.header("camden")
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


# -- the OpenAPI document -------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec(world: World) -> dict[str, Any]:
    response = world.client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_openapi_documents_every_operation_and_error(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "name": "X-API-Key",
        "in": "header",
        "description": "API key made with `commissioning keys create`.",
    }
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "delete") and path not in ("/health", "/ready")  # no key
    ]
    assert len(operations) == 30  # 22, and the lifecycle, audit and key routes
    for path, method, op in operations:
        assert path.startswith("/api/v1/")
        assert op["security"] == [{"ApiKey": []}], (path, method)
        assert {"401", "403"} <= set(op["responses"]), (path, method)
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert set(response["content"]) == {"application/problem+json"}, (path, status)
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ProblemDetails"}, (path, status)
        if op.get("parameters") or op.get("requestBody"):
            assert "400" in op["responses"], (path, method)
        assert "WWW-Authenticate" in op["responses"]["401"]["headers"], (path, method)
        assert op["summary"] and op["description"], (path, method)
    assert "413" in spec["paths"]["/api/v1/scenarios"]["post"]["responses"]
    busy = spec["paths"]["/api/v1/runs"]["post"]["responses"]["429"]
    assert busy["headers"]["Retry-After"]["schema"] == {"type": "integer"}


def test_openapi_documents_csv_and_xlsx(spec: dict[str, Any]) -> None:
    table = spec["paths"]["/api/v1/runs/{run_id}/results/{table}"]["get"]
    assert set(table["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    workbook = spec["paths"]["/api/v1/runs/{run_id}/workbooks/boroughs/{area_code}"]["get"]
    assert set(workbook["responses"]["200"]["content"]) == {XLSX}


def test_scenario_body_is_the_scenario_schema(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/api/v1/scenarios"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Scenario"}
    assert "areas" in spec["components"]["schemas"]["Scenario"]["required"]


def test_interactive_docs_are_served(world: World) -> None:
    response = world.client.get("/schema/swagger")
    assert response.status_code == 200 and "swagger" in response.text.lower()
    assert json.loads(world.client.get("/schema/openapi.json").text)["info"]["title"]


def test_the_table_parameter_lists_every_result_table() -> None:
    from typing import get_args

    from commissioning.api.controllers.params import TableName
    from commissioning.results import TABLE_SCHEMAS

    assert set(get_args(get_args(TableName)[0])) == set(TABLE_SCHEMAS)


def test_the_server_refuses_to_start_without_reference_data(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, reference_scenario=tmp_path / "missing.json")
    with pytest.raises(BaseException) as caught, TestClient(create_app(settings)):
        pass  # the lifespan fails (inside an exception group) before any request
    text = "".join(traceback.format_exception(caught.value))
    assert "cannot load the reference scenario" in text and "missing.json" in text
