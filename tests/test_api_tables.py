"""Tables an integrator can query: filters, cursor pages, unknown parameters, borough scope,
CSV pages, typed row schemas in the spec, and a client generated from that spec used against a
live server."""

from __future__ import annotations

import csv
import importlib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import polars as pl
import pytest
from postgres_support import open_test_store, world_store
from test_api_support import CAMDEN, ISLINGTON, World, api_world, london_data, wait_for_run
from test_api_uvicorn import live_server, poll

from commissioning.api.table_rows import ROW_MODELS
from commissioning.results import SORT_KEYS, TABLE_SCHEMAS

TYPES = {pl.String: "string", pl.Int64: "integer", pl.Float64: "number", pl.Boolean: "boolean"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with api_world(tmp_path_factory.mktemp("tables")) as w:
        yield w


def get(world: World, path: str, who: str = "commissioner", **params: Any) -> httpx.Response:
    response: httpx.Response = world.client.get(path, params=params, headers=world.keys.header(who))
    return response


def table_path(world: World, table: str) -> str:
    return f"/api/v1/runs/{world.published}/results/{table}"


def whole(world: World, table: str, who: str = "commissioner") -> list[dict[str, Any]]:
    response = get(world, table_path(world, table), who)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next"] is None and body["total"] == len(body["rows"])
    rows: list[dict[str, Any]] = body["rows"]
    return rows


def walk(world: World, path: str, who: str = "commissioner", **params: Any) -> list[Any]:
    """Every page from the first, following `next`; checks total on each page."""
    pages = []
    response = get(world, path, who, **params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        if body["next"] is None:
            return pages
        assert body["next"].startswith(path + "?")
        response = world.client.get(body["next"], headers=world.keys.header(who))


def errors_of(response: httpx.Response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


# -- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "values"),
    [
        ("coverage", "area_code", [CAMDEN]),
        ("allocations", "service", ["idva"]),
        ("allocations", "year", ["2020/21"]),
        ("allocations", "pot", ["victims_fund"]),
        ("grants", "year", ["2021/22"]),
        ("coverage", "service", ["idva", "havens"]),  # repeated: rows of either
        ("coverage", "area_code", [CAMDEN, ISLINGTON]),
    ],
)
def test_each_filter_keeps_exactly_the_matching_rows(
    world: World, table: str, column: str, values: list[str]
) -> None:
    everything = whole(world, table)
    expected = [r for r in everything if r[column] in values]
    assert expected and len(expected) < len(everything)  # the filter has something to do
    response = get(world, table_path(world, table), **{column: values})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows"] == expected
    assert body["total"] == len(expected) and body["next"] is None


def test_filters_combine(world: World) -> None:
    everything = whole(world, "coverage")
    expected = [
        r
        for r in everything
        if r["area_code"] in (CAMDEN, ISLINGTON)
        and r["year"] == "2019/20"
        and r["service"] in ("idva", "marac_coordinator")
    ]
    assert len(expected) == 4  # every area x service x year has a coverage row
    response = get(
        world,
        table_path(world, "coverage"),
        area_code=[CAMDEN, ISLINGTON],
        year="2019/20",
        service=["idva", "marac_coordinator"],
    )
    assert response.json()["rows"] == expected and response.json()["total"] == 4
    allocations = whole(world, "allocations")
    pot = allocations[0]["pot"]
    expected = [r for r in allocations if r["pot"] == pot and r["year"] == "2020/21"]
    combined = get(world, table_path(world, "allocations"), pot=pot, year="2020/21")
    assert expected and combined.json()["rows"] == expected
    nothing = get(world, table_path(world, "allocations"), area_code=CAMDEN, service="nonesuch")
    assert nothing.status_code == 200
    assert nothing.json()["rows"] == [] and nothing.json()["total"] == 0


def test_a_filter_on_a_column_the_table_lacks_names_the_tables_that_have_it(world: World) -> None:
    response = get(world, table_path(world, "pots"), area_code=CAMDEN)
    assert response.status_code == 400
    message = errors_of(response)["area_code"]
    assert "'pots' has no area_code" in message
    assert "allocations" in message and "coverage" in message and "pots," not in message
    response = get(world, table_path(world, "need"), year="2019/20")
    assert response.status_code == 400 and "coverage" in errors_of(response)["year"]


@pytest.mark.parametrize(
    ("param", "value"),
    [("area_code", "camden"), ("year", "2019"), ("service", "IDVA!"), ("pot", "")],
)
def test_a_malformed_filter_value_is_400_naming_it(world: World, param: str, value: str) -> None:
    response = get(world, table_path(world, "allocations"), **{param: value})
    assert response.status_code == 400, response.text
    assert param in errors_of(response)


# -- pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "limit", "filters"),
    [
        ("allocations", 37, {}),
        ("coverage", 100, {"year": "2021/22"}),
        ("coverage", 1, {"area_code": CAMDEN, "year": "2019/20"}),
        ("allocations", 10_000, {}),
    ],
)
def test_a_walk_through_the_pages_collects_every_row_once_in_order(
    world: World, table: str, limit: int, filters: dict[str, str]
) -> None:
    everything = whole(world, table)
    expected = [r for r in everything if all(r[k] == v for k, v in filters.items())]
    pages = walk(world, table_path(world, table), limit=limit, **filters)
    rows = [row for page in pages for row in page["rows"]]
    assert rows == expected  # every row, no duplicates, none skipped, the same order
    assert all(page["total"] == len(expected) for page in pages)
    assert all(len(page["rows"]) == limit for page in pages[:-1])
    assert len(pages) == max(1, -(-len(expected) // limit))
    assert pages[-1]["next"] is None
    keys = [tuple(r[k] for k in SORT_KEYS[table]) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)  # the table's key order


def test_next_keeps_the_filters_and_format(world: World) -> None:
    body = get(world, table_path(world, "coverage"), limit=5, area_code=CAMDEN).json()
    query = parse_qs(urlparse(body["next"]).query)
    assert query["area_code"] == [CAMDEN] and query["limit"] == ["5"] and query["cursor"]


@pytest.mark.parametrize("cursor", ["nonsense", "MTAwMDAwMDAwMDAw", "", "%%%", "a" * 150])
def test_a_bad_cursor_is_400(world: World, cursor: str) -> None:
    response = get(world, table_path(world, "coverage"), limit=5, cursor=cursor)
    assert response.status_code == 400, response.text
    assert "cursor" in errors_of(response)


def test_a_cursor_is_bound_to_its_filters_and_table(world: World) -> None:
    first = get(world, table_path(world, "coverage"), limit=5, area_code=CAMDEN).json()
    cursor = parse_qs(urlparse(first["next"]).query)["cursor"][0]
    widened = get(world, table_path(world, "coverage"), limit=5, cursor=cursor)
    assert widened.status_code == 400 and "cursor" in errors_of(widened)
    elsewhere = get(world, table_path(world, "allocations"), area_code=CAMDEN, cursor=cursor)
    assert elsewhere.status_code == 400
    other_run = f"/api/v1/runs/{world.other}/results/coverage"
    assert get(world, other_run, area_code=CAMDEN, cursor=cursor).status_code == 400


@pytest.mark.parametrize("limit", ["0", "-1", "10001", "ten"])
def test_a_limit_out_of_range_is_400(world: World, limit: str) -> None:
    response = get(world, table_path(world, "coverage"), limit=limit)
    assert response.status_code == 400, response.text
    assert "limit" in errors_of(response)


def test_the_run_list_has_a_total_and_a_next_link(world: World) -> None:
    body = get(world, "/api/v1/runs", limit=2).json()
    assert body["total"] == 3 and len(body["runs"]) == 2
    assert parse_qs(urlparse(body["next"]).query) == {"limit": ["2"], "offset": ["2"]}
    last = world.client.get(body["next"], headers=world.keys.header("commissioner")).json()
    assert len(last["runs"]) == 1 and last["next"] is None and last["total"] == 3
    ids = [r["id"] for r in body["runs"] + last["runs"]]
    assert sorted(ids) == sorted([world.published, world.other, world.draft])
    finance = get(world, "/api/v1/runs", "finance").json()  # drafts are not counted for them
    assert finance["total"] == 2 and finance["next"] is None


def test_the_scenario_list_has_a_total_and_a_next_link(world: World) -> None:
    whole = get(world, "/api/v1/scenarios").json()
    assert whole["total"] == len(whole["scenarios"]) >= 2 and whole["next"] is None
    first = get(world, "/api/v1/scenarios", limit=1).json()
    assert first["total"] == whole["total"] and len(first["scenarios"]) == 1
    assert parse_qs(urlparse(first["next"]).query) == {"limit": ["1"], "offset": ["1"]}
    rest = world.client.get(
        f"/api/v1/scenarios?limit={whole['total']}&offset=1",
        headers=world.keys.header("commissioner"),
    ).json()
    assert rest["next"] is None
    assert first["scenarios"] + rest["scenarios"] == whole["scenarios"]


# -- unknown parameters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "unknown"),
    [
        ("/api/v1/runs/{published}/results/coverage", "areacode=E09000007", "areacode"),
        ("/api/v1/runs/{published}/results/coverage", "limit=5&page=2", "page"),
        ("/api/v1/runs/{published}", "limit=5", "limit"),
        ("/api/v1/runs/{published}/results", "area_code=E09000007", "area_code"),
        ("/api/v1/runs/{published}/scorecard", "area_code=E09000007", "area_code"),
        ("/api/v1/runs", "cursor=abc", "cursor"),
        ("/api/v1/scenarios", "area_code=E09000007", "area_code"),
        ("/api/v1/reference/areas", "limit=5", "limit"),
        ("/api/v1/analyses/{published}/tables/sweep", "bogus=1", "bogus"),
    ],
)
def test_an_unknown_query_parameter_is_400_naming_it(
    world: World, path: str, query: str, unknown: str
) -> None:
    url = path.format(published=world.published) + "?" + query
    response = world.client.get(url, headers=world.keys.header("commissioner"))
    assert response.status_code == 400, response.text
    assert unknown in errors_of(response)
    assert "takes" in errors_of(response)[unknown]


def test_a_post_with_an_unknown_query_parameter_is_400(world: World) -> None:
    response = world.client.post(
        f"/api/v1/runs/{world.published}/publish?force=1",
        headers=world.keys.header("commissioner"),
    )
    assert response.status_code == 400 and "force" in errors_of(response)


# -- borough leads ----------------------------------------------------------------------------


def test_a_borough_leads_filters_never_widen_its_scope(world: World) -> None:
    own = whole(world, "coverage", "camden")
    assert own and {r["area_code"] for r in own} == {CAMDEN}
    same = get(world, table_path(world, "coverage"), "camden", area_code=CAMDEN).json()
    assert same["rows"] == own and same["area_code"] == CAMDEN
    for asked in ([ISLINGTON], [CAMDEN, ISLINGTON]):
        response = get(world, table_path(world, "coverage"), "camden", area_code=asked)
        assert response.status_code == 403, response.text
        assert ISLINGTON in errors_of(response)["area_code"]
        csv_response = get(
            world, table_path(world, "coverage"), "camden", area_code=asked, format="csv"
        )
        assert csv_response.status_code == 403
    pages = walk(world, table_path(world, "allocations"), "camden", limit=7, year="2020/21")
    rows = [row for page in pages for row in page["rows"]]
    assert rows and {r["area_code"] for r in rows} == {CAMDEN}
    assert pages[0]["total"] == len(rows)
    assert get(world, table_path(world, "pots"), "camden", pot="lcpf").status_code == 403


# -- CSV ------------------------------------------------------------------------------------


def test_csv_pages_carry_total_and_a_link_header(world: World) -> None:
    expected = [r for r in whole(world, "coverage") if r["area_code"] == CAMDEN]
    response = get(world, table_path(world, "coverage"), area_code=CAMDEN, limit=10, format="csv")
    collected: list[dict[str, str]] = []
    while True:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["x-total-count"] == str(len(expected))
        collected += list(csv.DictReader(io.StringIO(response.text)))
        link = response.headers.get("link")
        if link is None:
            break
        target, rel = link.split("; ")
        assert rel == 'rel="next"' and "format=csv" in target
        response = world.client.get(target.strip("<>"), headers=world.keys.header("commissioner"))
    assert [(r["year"], r["service"]) for r in collected] == [
        (r["year"], r["service"]) for r in expected
    ]
    assert {r["area_code"] for r in collected} == {CAMDEN}
    accept = world.client.get(
        table_path(world, "pots") + "?year=2019/20",
        headers={**world.keys.header("finance"), "Accept": "text/csv"},
    )
    assert accept.status_code == 200 and "link" not in accept.headers
    pots = list(csv.DictReader(io.StringIO(accept.text)))
    assert pots and {r["year"] for r in pots} == {"2019/20"}
    assert accept.headers["x-total-count"] == str(len(pots))


# -- analysis tables ------------------------------------------------------------------------


def test_analysis_tables_filter_and_page_the_same_way(world: World) -> None:
    commissioner = world.keys.header("commissioner")
    settings = {"draws": 2, "seed": 3, "vary": ["services.*.unit_cost=±10%"]}
    started = world.client.post(
        "/api/v1/analyses",
        json={"kind": "uncertainty", "scenario_id": world.scenario_id, "uncertainty": settings},
        headers=commissioner,
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert wait_for_run(world.client, run_id, commissioner, timeout=180)["status"] == "succeeded"
    path = f"/api/v1/analyses/{run_id}/tables/uncertainty"
    everything = get(world, path).json()
    assert everything["total"] == len(everything["rows"]) and everything["next"] is None
    expected = [r for r in everything["rows"] if r["area_code"] == CAMDEN]
    pages = walk(world, path, area_code=CAMDEN, limit=5)
    assert [row for page in pages for row in page["rows"]] == expected
    assert len(pages) > 1 and pages[0]["total"] == len(expected)
    wrong = get(world, path, pot="lcpf")
    assert wrong.status_code == 400 and "no pot column" in errors_of(wrong)["pot"]
    draws = get(world, f"/api/v1/analyses/{run_id}/tables/uncertainty_draws", area_code=CAMDEN)
    assert draws.status_code == 400 and "uncertainty" in errors_of(draws)["area_code"]
    assert world.client.post(f"/api/v1/runs/{run_id}/publish", headers=commissioner).is_success
    lead = get(world, path, "camden", area_code=ISLINGTON)
    assert lead.status_code == 403 and "area_code" in errors_of(lead)
    own = get(world, path, "camden", year="2019/20", format="csv")
    assert own.status_code == 200
    rows = list(csv.DictReader(io.StringIO(own.text)))
    assert rows and {(r["area_code"], r["year"]) for r in rows} == {(CAMDEN, "2019/20")}
    assert own.headers["x-total-count"] == str(len(rows))


# -- typed schemas --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec(world: World) -> dict[str, Any]:
    document: dict[str, Any] = world.client.get("/schema/openapi.json").json()
    return document


def test_the_spec_has_a_typed_row_schema_for_every_table(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    ok = spec["paths"]["/api/v1/runs/{run_id}/results/{table}"]["get"]["responses"]["200"]
    union = ok["content"]["application/json"]["schema"]
    assert union["discriminator"]["propertyName"] == "table"
    assert set(union["discriminator"]["mapping"]) == set(TABLE_SCHEMAS)
    for name, schema in TABLE_SCHEMAS.items():
        camel = "".join(p.capitalize() for p in name.split("_"))
        assert {"$ref": f"#/components/schemas/{camel}Table"} in union["oneOf"]
        table = schemas[f"{camel}Table"]
        assert table["properties"]["table"]["const"] == name
        assert table["properties"]["rows"]["items"] == {"$ref": f"#/components/schemas/{camel}Row"}
        row = schemas[f"{camel}Row"]
        assert list(row["properties"]) == schema.names()  # the CSV's columns, in order
        assert set(row["required"]) == set(schema.names())
        for column, dtype in schema.items():
            types = [t["type"] for t in row["properties"][column]["oneOf"]]
            assert types == [TYPES[type(dtype)], "null"], (name, column)
            if column.endswith("_pence"):
                assert types[0] == "integer"
                assert "pence" in row["properties"][column]["description"]
    assert "AllocationsRow" in schemas and "CoverageRow" in schemas


def test_every_row_served_fits_its_typed_model(world: World) -> None:
    body = get(world, f"/api/v1/runs/{world.published}/results").json()
    assert set(body["tables"]) <= set(ROW_MODELS)
    for name, rows in body["tables"].items():
        model = ROW_MODELS[name]
        for row in rows:
            assert model.model_validate(row).model_dump() == row, name
        page = get(world, table_path(world, name), limit=3).json()
        assert all(model.model_validate(r).model_dump() == r for r in page["rows"])


def test_the_spec_carries_the_financial_year_pattern(spec: dict[str, Any]) -> None:
    years = spec["components"]["schemas"]["Scenario"]["properties"]["financial_years"]
    assert years["items"]["pattern"] == r"^[0-9]{4}/[0-9]{2}$"


def test_the_table_parameters_are_documented(spec: dict[str, Any]) -> None:
    for path in (
        "/api/v1/runs/{run_id}/results/{table}",
        "/api/v1/analyses/{run_id}/tables/{table}",
    ):
        params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert {"area_code", "service", "year", "pot", "limit", "cursor"} <= set(params)
        assert params["limit"]["schema"]["maximum"] == 10_000
        assert "Repeat" in params["service"]["description"]
        years = params["year"]["schema"]["oneOf"][0]
        assert years["type"] == "array" and years["items"]["pattern"] == r"^[0-9]{4}/[0-9]{2}$"
        assert params["area_code"]["schema"]["oneOf"][0]["items"]["pattern"]


# -- a generated client against a live server -------------------------------------------------


def generate_client(spec_text: str, folder: Path) -> Any:
    """openapi-python-client on the served spec, imported as `commissioning_client`."""
    spec_path = folder / "openapi.json"
    spec_path.write_text(spec_text, encoding="utf-8")
    package = folder / "commissioning_client"
    generator = Path(sys.executable).with_name("openapi-python-client")
    argv = [str(generator), "generate", "--path", str(spec_path), "--meta", "none"]
    argv += ["--output-path", str(package)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=folder, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    # Only the workbook downloads (xlsx) are beyond the generator; every JSON route parses.
    for warning in done.stdout.split("WARNING parsing ")[1:]:
        assert "/workbooks/" in warning.splitlines()[0], warning
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("commissioning_client")
    finally:
        sys.path.remove(str(folder))


def test_a_generated_client_reads_typed_pages_from_a_live_server(tmp_path: Path) -> None:
    location = world_store(tmp_path, "commissioning")
    store = open_test_store(location)
    commissioner = store.create_key("commissioner")[1]
    camden = store.create_key("borough_lead", CAMDEN)[1]
    with live_server(tmp_path, location) as server:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": commissioner}) as http:
            created = http.post("/api/v1/scenarios", json=london_data())
            run_id = http.post("/api/v1/runs", json={"scenario_id": created.json()["id"]})
            run_id = run_id.json()["id"]
            assert poll(http, run_id)["status"] == "succeeded"
            assert http.post(f"/api/v1/runs/{run_id}/publish").status_code == 200
            expected = http.get(f"/api/v1/runs/{run_id}/results/allocations").json()["rows"]
            spec_text = http.get("/schema/openapi.json").text

        client_package = generate_client(spec_text, tmp_path)
        get_table = importlib.import_module(
            "commissioning_client.api.runs.api_v1_runs_run_id_results_table_get_table"
        )
        models = importlib.import_module("commissioning_client.models")
        client = client_package.AuthenticatedClient(
            base_url=server.url, token=commissioner, prefix="", auth_header_name="X-API-Key"
        )
        table_enum = get_table.ApiV1RunsRunIdResultsTableGetTableTable
        filters = {"year": ["2019/20", "2020/21"], "pot": ["mopac_direct", "victims_fund"]}
        rows: list[Any] = []
        cursor: Any = client_package.types.UNSET
        totals = set()
        with client as c:
            while True:
                page = get_table.sync(
                    client=c,
                    run_id=run_id,
                    table=table_enum.ALLOCATIONS,
                    limit=20,
                    cursor=cursor,
                    **filters,
                )
                assert isinstance(page, models.AllocationsTable), page
                totals.add(page.total)
                rows += page.rows
                if not isinstance(page.next_, str):
                    break
                cursor = parse_qs(urlparse(page.next_).query)["cursor"][0]
        want = [r for r in expected if r["year"] != "2021/22"]
        assert totals == {len(want)} and len(rows) > 40  # three pages or more
        assert all(isinstance(r, models.AllocationsRow) for r in rows)
        assert all(isinstance(r.cost_pence, int) and isinstance(r.units, float) for r in rows)
        assert [r.to_dict() for r in rows] == want

        coverage = get_table.sync(
            client=client_package.AuthenticatedClient(
                base_url=server.url, token=camden, prefix="", auth_header_name="X-API-Key"
            ),
            run_id=run_id,
            table=table_enum.COVERAGE,
            service=["idva"],
        )
        assert isinstance(coverage, models.CoverageTable)
        assert {r.area_code for r in coverage.rows} == {CAMDEN} and coverage.next_ is None
        assert all(isinstance(r.funded_cost_pence, int) for r in coverage.rows)
        assert server.stop() == 0, server.log.read_text()
