"""Role scoping on every endpoint: 401 without a valid key, 403 outside the key's scope.

Callers: no key, an unknown key, a revoked key, and one key per role (the borough lead is
Camden's). Runs: `published` and `other` are published, `draft` is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from test_api_support import CAMDEN, ISLINGTON, World, api_world, london_data

ROLES = ("commissioner", "finance", "camden")
UNAUTHENTICATED = ("none", "wrong", "revoked")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with api_world(tmp_path_factory.mktemp("roles")) as w:
        yield w


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: Callable[[World], str]
    expected: tuple[int, int, int]  # commissioner, finance, camden
    body: Callable[[World], Any] | None = None


ALL_OK = (200, 200, 200)
COMMISSIONER_ONLY = (200, 403, 403)
LONDON_READERS = (200, 200, 403)

CASES = [
    Case("reference areas", "GET", lambda w: "/api/v1/reference/areas", ALL_OK),
    Case("reference services", "GET", lambda w: "/api/v1/reference/services", ALL_OK),
    Case("reference benchmarks", "GET", lambda w: "/api/v1/reference/benchmarks", ALL_OK),
    Case(
        "create scenario",
        "POST",
        lambda w: "/api/v1/scenarios",
        (200, 403, 403),  # 200: the world stored London already, and it is not stored twice
        body=lambda w: london_data(),
    ),
    Case("list scenarios", "GET", lambda w: "/api/v1/scenarios", COMMISSIONER_ONLY),
    Case("get scenario", "GET", lambda w: f"/api/v1/scenarios/{w.scenario_id}", COMMISSIONER_ONLY),
    Case(
        "start run",
        "POST",
        lambda w: "/api/v1/runs",
        (202, 403, 403),
        body=lambda w: {"scenario_id": w.scenario_id},
    ),
    Case("list runs", "GET", lambda w: "/api/v1/runs", ALL_OK),
    Case("published run", "GET", lambda w: f"/api/v1/runs/{w.published}", ALL_OK),
    Case("draft run", "GET", lambda w: f"/api/v1/runs/{w.draft}", COMMISSIONER_ONLY),
    Case("published results", "GET", lambda w: f"/api/v1/runs/{w.published}/results", ALL_OK),
    Case("draft results", "GET", lambda w: f"/api/v1/runs/{w.draft}/results", COMMISSIONER_ONLY),
    Case(
        "published coverage table",
        "GET",
        lambda w: f"/api/v1/runs/{w.published}/results/coverage",
        ALL_OK,
    ),
    Case(
        "published coverage csv",
        "GET",
        lambda w: f"/api/v1/runs/{w.published}/results/coverage?format=csv",
        ALL_OK,
    ),
    Case(
        "draft coverage table",
        "GET",
        lambda w: f"/api/v1/runs/{w.draft}/results/coverage",
        COMMISSIONER_ONLY,
    ),
    Case(
        "published pots table (London-wide)",
        "GET",
        lambda w: f"/api/v1/runs/{w.published}/results/pots",
        LONDON_READERS,
    ),
    Case(
        "compare published runs",
        "GET",
        lambda w: f"/api/v1/runs/{w.published}/compare/{w.other}",
        ALL_OK,
    ),
    Case(
        "compare with a draft",
        "GET",
        lambda w: f"/api/v1/runs/{w.published}/compare/{w.draft}",
        COMMISSIONER_ONLY,
    ),
    Case(
        "published scorecard (London-wide)",
        "GET",
        lambda w: f"/api/v1/runs/{w.published}/scorecard",
        LONDON_READERS,
    ),
    Case(
        "draft scorecard", "GET", lambda w: f"/api/v1/runs/{w.draft}/scorecard", COMMISSIONER_ONLY
    ),
    Case("published timing", "GET", lambda w: f"/api/v1/runs/{w.published}/timing", ALL_OK),
    Case("draft timing", "GET", lambda w: f"/api/v1/runs/{w.draft}/timing", COMMISSIONER_ONLY),
    Case("publish", "POST", lambda w: f"/api/v1/runs/{w.published}/publish", COMMISSIONER_ONLY),
    Case(
        "London workbook",
        "GET",
        lambda w: f"/api/v1/runs/{w.published}/workbooks/london",
        LONDON_READERS,
    ),
    Case(
        "London workbook of a draft",
        "GET",
        lambda w: f"/api/v1/runs/{w.draft}/workbooks/london",
        COMMISSIONER_ONLY,
    ),
    Case(
        "own borough workbook",
        "GET",
        lambda w: f"/api/v1/runs/{w.published}/workbooks/boroughs/{CAMDEN}",
        ALL_OK,
    ),
    Case(
        "another borough's workbook",
        "GET",
        lambda w: f"/api/v1/runs/{w.published}/workbooks/boroughs/{ISLINGTON}",
        LONDON_READERS,
    ),
    Case(
        "own borough explanation",
        "GET",
        lambda w: f"/api/v1/runs/{w.published}/boroughs/{CAMDEN}/explanation",
        ALL_OK,
    ),
    Case(
        "another borough's explanation",
        "GET",
        lambda w: f"/api/v1/runs/{w.published}/boroughs/{ISLINGTON}/explanation",
        LONDON_READERS,
    ),
    Case(
        "own borough explanation of a draft",
        "GET",
        lambda w: f"/api/v1/runs/{w.draft}/boroughs/{CAMDEN}/explanation",
        COMMISSIONER_ONLY,
    ),
    Case(
        "own borough workbook of a draft",
        "GET",
        lambda w: f"/api/v1/runs/{w.draft}/workbooks/boroughs/{CAMDEN}",
        COMMISSIONER_ONLY,
    ),
    # lifecycle and audit (the routes that change things are in test_api_lifecycle)
    Case("audit log", "GET", lambda w: "/api/v1/audit", COMMISSIONER_ONLY),
    Case("list keys", "GET", lambda w: "/api/v1/keys", COMMISSIONER_ONLY),
]


def _call(world: World, case: Case, who: str) -> Any:
    body = case.body(world) if case.body else None
    return world.client.request(
        case.method, case.path(world), headers=world.keys.header(who), json=body
    )


def _expect_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()
    assert error["status"] == status
    assert error["detail"]
    assert error["errors"] and all(e["field"] for e in error["errors"]), error


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("who", UNAUTHENTICATED)
def test_every_endpoint_needs_a_valid_key(world: World, case: Case, who: str) -> None:
    response = _call(world, case, who)
    _expect_error(response, 401)
    assert response.headers["www-authenticate"] == 'ApiKey header="X-API-Key"'
    assert response.json()["errors"][0]["field"] == "X-API-Key"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("who", ROLES)
def test_every_endpoint_scopes_each_role(world: World, case: Case, who: str) -> None:
    expected = case.expected[ROLES.index(who)]
    response = _call(world, case, who)
    if expected == 403:
        _expect_error(response, 403)
    else:
        assert response.status_code == expected, response.text


def test_islington_lead_cannot_have_camdens_workbook(world: World) -> None:
    response = world.client.get(
        f"/api/v1/runs/{world.published}/workbooks/boroughs/{CAMDEN}",
        headers=world.keys.header("islington"),
    )
    _expect_error(response, 403)
    assert response.json()["errors"][0]["field"] == "area_code"


def test_draft_runs_are_listed_for_commissioners_only(world: World) -> None:
    def listed(who: str) -> set[str]:
        response = world.client.get("/api/v1/runs", headers=world.keys.header(who))
        return {run["id"] for run in response.json()["runs"]}

    assert {world.published, world.other, world.draft} <= listed("commissioner")
    for who in ("finance", "camden"):
        assert listed(who) == {world.published, world.other}


def test_borough_lead_sees_only_its_own_rows(world: World) -> None:
    camden = world.keys.header("camden")
    results = world.client.get(f"/api/v1/runs/{world.published}/results", headers=camden).json()
    assert results["area_code"] == CAMDEN
    assert results["run"]["summary"] is None  # London-wide figures are withheld
    assert set(results["hidden_tables"]) >= {"pots"}
    assert "pots" not in results["tables"]
    for name, rows in results["tables"].items():
        # London's fixed commitments are pan-London contracts: no area, so no Camden rows; no
        # rule of the London scenario names Camden, so no binding row does either.
        assert rows or name in ("commitments", "binding"), f"{name} has no Camden rows"
        assert {row["area_code"] for row in rows} <= {CAMDEN}, name

    csv_text = world.client.get(
        f"/api/v1/runs/{world.published}/results/allocations",
        headers={**camden, "Accept": "text/csv"},
    ).text
    lines = csv_text.strip().splitlines()
    code_column = lines[0].split(",").index("area_code")
    assert len(lines) > 1
    assert {line.split(",")[code_column] for line in lines[1:]} == {CAMDEN}

    compare = world.client.get(
        f"/api/v1/runs/{world.published}/compare/{world.other}", headers=camden
    ).json()
    assert compare["area_code"] == CAMDEN
    assert {row["area_code"] for row in compare["rows"]} == {CAMDEN}
    # London-wide sections are withheld, as the scorecard and pots endpoints withhold them.
    for section in ("scorecard", "base_scorecard", "other_scorecard", "pots", "bids"):
        assert compare[section] is None, section
    assert {g["area_code"] for g in compare["grants"]} <= {CAMDEN}
    assert {x["area_code"] for x in compare["crossings"]} <= {CAMDEN}
    assert compare["totals"]["base_budget_pence"] is None
    assert compare["totals"]["diff_funded_cost_pence"] == sum(
        r["diff_funded_cost_pence"] for r in compare["rows"]
    )


def test_finance_sees_every_borough(world: World) -> None:
    rows = world.client.get(
        f"/api/v1/runs/{world.published}/results/coverage", headers=world.keys.header("finance")
    ).json()["rows"]
    assert len({row["area_code"] for row in rows}) == 32


def test_unknown_paths_answer_json(world: World) -> None:
    response = world.client.get("/api/v1/nothing-here", headers=world.keys.header("finance"))
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_explanation_tables_are_served_and_scoped(world: World) -> None:
    """cost_to_benchmark, marginal and binding from a real worker run: a borough lead gets its
    own cost rows and no London-wide marginal table."""
    commissioner, camden = world.keys.header("commissioner"), world.keys.header("camden")
    base = f"/api/v1/runs/{world.other}/results"
    marginal = world.client.get(f"{base}/marginal", headers=commissioner)
    assert marginal.status_code == 200
    rows = marginal.json()["rows"]
    assert {r["pot"] for r in rows} >= {"mopac_direct", "victims_fund"}
    assert world.client.get(f"{base}/marginal", headers=camden).status_code == 403
    cost = world.client.get(f"{base}/cost_to_benchmark", headers=camden).json()["rows"]
    assert cost and {r["area_code"] for r in cost} == {CAMDEN}
    csv_text = world.client.get(
        f"{base}/binding", headers={**commissioner, "Accept": "text/csv"}
    ).text
    assert csv_text.splitlines()[0].startswith("year,family,constraint,description")
