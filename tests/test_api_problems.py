"""Every error of the HTTP API is RFC 9457 problem details (application/problem+json).

Each kind of error, from the app's own checks and from Litestar's (unknown routes, wrong
methods, parameter validation, body limits), is asked of the real app under the test client,
and the body must carry every member with `status` equal to the HTTP status and `instance`
equal to the request path.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.params import FromQuery
from litestar.testing import TestClient
from postgres_support import open_test_store
from test_api_support import (
    Keys,
    create_scenario,
    london_data,
    make_keys,
    settings_for,
    wait_for_run,
)

from commissioning.api.app import create_app
from commissioning.api.errors import EXCEPTION_HANDLERS
from commissioning.api.problems import PROBLEM_TYPES, allowed_values, parameter_message

RUN = "0" * 32
MEMBERS = {"type", "title", "status", "detail", "instance", "errors"}
TITLES = {kind.uri: kind.title for kind in PROBLEM_TYPES}
TABLES = "targets, need, allocations, coverage, pots, commitments, grants, bids, explanations"


@dataclass
class Api:
    client: TestClient[Any]
    keys: Keys


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = settings_for(tmp_path_factory.mktemp("problems"))
    keys = make_keys(open_test_store(settings.store))
    with TestClient(create_app(settings)) as client:
        yield Api(client, keys)


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    """The problem details of `response`, checked member by member."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) == MEMBERS, body
    assert body["status"] == status
    assert body["type"] == kind
    assert body["title"] == TITLES[kind]
    assert body["instance"] == response.request.url.path
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    for error in body["errors"]:
        assert set(error) == {"field", "message"} and error["field"] and error["message"]
    return body


def fields(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in body["errors"]}


# -- 400 ----------------------------------------------------------------------------------------


def test_a_bad_body_field_is_invalid_input_naming_it(api: Api) -> None:
    response = api.client.post(
        "/api/v1/runs", json={"scenario_id": 5}, headers=api.keys.header("commissioner")
    )
    body = problem(response, 400, "/problems/invalid-input")
    assert "scenario_id" in fields(body)
    assert "scenario_id" in body["detail"]  # the detail names the field, not the route


def test_an_invalid_scenario_lists_each_field(api: Api) -> None:
    data = copy.deepcopy(london_data())
    data["financial_years"][0] = "2019-20"
    data["services"][0]["unit_cost_pence"] = -5
    response = api.client.post(
        "/api/v1/scenarios", json=data, headers=api.keys.header("commissioner")
    )
    body = problem(response, 400, "/problems/invalid-input")
    assert {"financial_years[0]", "services[0].unit_cost_pence"} <= set(fields(body))
    assert body["detail"].startswith("the scenario is not valid: ")


def test_malformed_json_is_its_own_type(api: Api) -> None:
    response = api.client.post(
        "/api/v1/scenarios",
        content=b"{not json",
        headers={**api.keys.header("commissioner"), "Content-Type": "application/json"},
    )
    body = problem(response, 400, "/problems/invalid-json")
    assert "not valid JSON" in fields(body)["body"]


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ("limit=0", "limit", "must be at least 1 (got '0')"),
        ("limit=501", "limit", "must be at most 500 (got '501')"),
        ("limit=abc", "limit", "must be an integer (got 'abc')"),
        ("offset=-1", "offset", "must be at least 0"),
        ("scenario_id=nope", "scenario_id", "must match the pattern ^[0-9a-f]{32}$"),
    ],
)
def test_a_bad_query_parameter_says_what_it_must_be(
    api: Api, query: str, field: str, says: str
) -> None:
    response = api.client.get(f"/api/v1/runs?{query}", headers=api.keys.header("finance"))
    body = problem(response, 400, "/problems/invalid-input")
    assert says in fields(body)[field]
    assert body["detail"] == f"{field}: {fields(body)[field]}"
    assert "?" not in body["instance"]  # the path, without the query


@pytest.mark.parametrize(
    ("path", "field", "allowed", "given"),
    [
        (f"/api/v1/runs/{RUN}/results/tables", "table", TABLES, "tables"),
        (f"/api/v1/runs/{RUN}/results/coverage?format=xml", "format", "json, csv", "xml"),
        (
            f"/api/v1/analyses/{RUN}/tables/sweeps",
            "table",
            "sweep, uncertainty, uncertainty_draws, uncertainty_factors",
            "sweeps",
        ),
    ],
)
def test_an_unknown_choice_in_a_parameter_lists_the_allowed_values(
    api: Api, path: str, field: str, allowed: str, given: str
) -> None:
    response = api.client.get(path, headers=api.keys.header("finance"))
    body = problem(response, 400, "/problems/invalid-input")
    message = fields(body)[field]
    assert message.startswith(f"must be one of: {allowed}"), message
    assert message.endswith(f"(got {given!r})")


def test_an_unknown_choice_in_a_body_lists_the_allowed_values(api: Api) -> None:
    response = api.client.post(
        "/api/v1/analyses",
        json={"kind": "bootstrap", "scenario_id": RUN},
        headers=api.keys.header("commissioner"),
    )
    body = problem(response, 400, "/problems/invalid-input")
    assert fields(body)["kind"] == "must be one of: sweep, uncertainty"


def test_an_unknown_fairness_rule_lists_the_rules(api: Api) -> None:
    data = copy.deepcopy(london_data())
    data["policy"]["fairness_rule"] = "maximin"
    response = api.client.post(
        "/api/v1/scenarios", json=data, headers=api.keys.header("commissioner")
    )
    body = problem(response, 400, "/problems/invalid-input")
    assert fields(body)["policy.fairness_rule"] == (
        "must be one of: leximin, proportional_to_benchmark_cost, equal_shortfall (got 'maximin')"
    )


def test_an_unknown_service_lists_the_known_ones(api: Api) -> None:
    data = copy.deepcopy(london_data())
    data["benchmarks"][0]["service"] = "nonesuch"
    response = api.client.post(
        "/api/v1/scenarios", json=data, headers=api.keys.header("commissioner")
    )
    body = problem(response, 400, "/problems/invalid-input")
    message = fields(body)["benchmarks[0].service"]
    assert "'nonesuch'" in message and "known:" in message and "idva" in message


# -- 401, 403 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["none", "wrong", "revoked"])
def test_no_or_a_bad_key_is_401_with_a_challenge(api: Api, who: str) -> None:
    response = api.client.get(f"/api/v1/runs/{RUN}", headers=api.keys.header(who))
    body = problem(response, 401, "/problems/unauthenticated")
    assert response.headers["www-authenticate"] == 'ApiKey header="X-API-Key"'
    assert "X-API-Key" in fields(body)


def test_a_role_without_the_right_is_403(api: Api) -> None:
    response = api.client.post(
        "/api/v1/scenarios", json=london_data(), headers=api.keys.header("finance")
    )
    body = problem(response, 403, "/problems/forbidden")
    assert "commissioner" in body["detail"]


# -- 404, 405 -----------------------------------------------------------------------------------


def test_an_unknown_route_is_404(api: Api) -> None:
    response = api.client.get("/api/v1/nothing-here", headers=api.keys.header("finance"))
    body = problem(response, 404, "/problems/not-found")
    assert body["errors"] == []


def test_an_unknown_route_outside_the_api_is_404_too(api: Api) -> None:
    problem(api.client.get("/nothing-here"), 404, "/problems/not-found")


def test_an_unknown_resource_is_404_naming_the_parameter(api: Api) -> None:
    response = api.client.get(f"/api/v1/runs/{RUN}", headers=api.keys.header("commissioner"))
    body = problem(response, 404, "/problems/not-found")
    assert fields(body) == {"run_id": f"no run {RUN}"}


def test_a_wrong_method_is_405_with_allow(api: Api) -> None:
    response = api.client.delete("/api/v1/scenarios", headers=api.keys.header("commissioner"))
    body = problem(response, 405, "/problems/method-not-allowed")
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" in body["detail"]


# -- 413, 415 -----------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413(api: Api) -> None:
    limit = api.client.app.state.settings.max_body_bytes
    response = api.client.post(
        "/api/v1/scenarios",
        content=b" " * (limit + 1),
        headers={**api.keys.header("commissioner"), "Content-Type": "application/json"},
    )
    body = problem(response, 413, "/problems/body-too-large")
    assert f"{limit:,} bytes" in fields(body)["body"]


def test_a_body_that_is_not_json_is_415(api: Api) -> None:
    response = api.client.post(
        "/api/v1/scenarios",
        content=b"name=x",
        headers={**api.keys.header("commissioner"), "Content-Type": "text/plain"},
    )
    body = problem(response, 415, "/problems/unsupported-media-type")
    assert "text/plain" in fields(body)["Content-Type"]


# -- 409, 429 (a real worker busy with a real solve) --------------------------------------------


def test_a_busy_queue_is_429_and_an_unfinished_run_409(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, workers=1, queue_size=0, retry_after_seconds=7)
    keys = make_keys(open_test_store(settings.store))
    headers = keys.header("commissioner")
    with TestClient(create_app(settings)) as client:
        scenario_id = create_scenario(client, keys, london_data())
        first = client.post("/api/v1/runs", json={"scenario_id": scenario_id}, headers=headers)
        assert first.status_code == 202
        run_id = first.json()["id"]
        # Starting the worker process alone takes longer than these two requests.
        unfinished = client.get(f"/api/v1/runs/{run_id}/results", headers=headers)
        body = problem(unfinished, 409, "/problems/conflict")
        assert "run_id" in fields(body)
        busy = client.post("/api/v1/runs", json={"scenario_id": scenario_id}, headers=headers)
        problem(busy, 429, "/problems/busy")
        assert busy.headers["retry-after"] == "7"
        assert wait_for_run(client, run_id, headers)["status"] == "succeeded"


# -- the OpenAPI document and the helpers -------------------------------------------------------


def test_the_spec_documents_problem_details(api: Api) -> None:
    spec = api.client.get("/schema/openapi.json").json()
    schema = spec["components"]["schemas"]["ProblemDetails"]
    assert set(schema["properties"]) >= MEMBERS
    assert MEMBERS - {"errors"} <= set(schema["required"])
    for item in spec["paths"].values():
        for op in item.values():
            for status, response in op.get("responses", {}).items():
                if int(status) >= 400:
                    assert set(response["content"]) == {"application/problem+json"}
    for kind in PROBLEM_TYPES:  # the description lists every problem type
        assert f"`{kind.uri}` ({kind.status}, *{kind.title}*)" in spec["info"]["description"]


def test_titles_are_unique_per_type() -> None:
    assert len({k.uri for k in PROBLEM_TYPES}) == len({k.title for k in PROBLEM_TYPES})


def test_allowed_values_see_through_optional_and_annotated() -> None:
    from typing import Annotated, Literal

    assert allowed_values(Annotated[Literal["a", "b"] | None, "doc"]) == ["a", "b"]
    assert allowed_values(int) == []


def test_an_unknown_message_is_passed_on_unchanged() -> None:
    assert parameter_message("something else", [], "x") == "something else"


def test_a_missing_required_parameter_is_named() -> None:
    """No route of the API has a required query parameter yet; one that does gets the same."""

    @get("/needs", sync_to_thread=False)
    def needs(year: FromQuery[int]) -> str:
        return str(year)

    app = Litestar([needs], exception_handlers=EXCEPTION_HANDLERS)
    with TestClient(app) as client:
        body = problem(client.get("/needs"), 400, "/problems/invalid-input")
        assert fields(body) == {"year": "is required"}
        assert body["detail"] == "the query parameter year is required"
        body = problem(client.get("/needs?year=soon"), 400, "/problems/invalid-input")
        assert fields(body) == {"year": "must be an integer (got 'soon')"}


def test_a_fault_is_500_about_blank_without_its_internals() -> None:
    @get("/broken", sync_to_thread=False)
    def broken() -> str:
        raise RuntimeError("secret internals")

    with TestClient(Litestar([broken], exception_handlers=EXCEPTION_HANDLERS)) as client:
        body = problem(client.get("/broken"), 500, "about:blank")
        assert body["title"] == "Internal Server Error"
        assert "secret" not in body["detail"]
