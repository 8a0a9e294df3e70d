"""Sweeps and uncertainty runs over real HTTP: queued like runs, solved by the run workers,
with progress, scoped and published the same way; and API run folders equal CLI ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from postgres_support import open_test_store
from test_api_support import (
    CAMDEN,
    FIXTURE,
    Keys,
    create_scenario,
    london_data,
    make_keys,
    settings_for,
    start_run,
    wait_for_run,
)

from commissioning.api.app import create_app
from commissioning.store import Store

UNCERTAINTY: dict[str, Any] = {
    "draws": 3,
    "seed": 7,
    "vary": ["services.*.unit_cost=±10%", "areas.*.female_16_plus=±3%"],
    "jobs": 2,  # a pool of draw solvers inside the run's worker process
}
SWEEP: dict[str, Any] = {
    "axes": [{"path": "pots.mopac_direct", "from": "80%", "to": "100%", "steps": 2}]
}


class World:
    def __init__(self, client: TestClient[Any], store: Store, keys: Keys, scenario: str):
        self.client, self.store, self.keys, self.scenario_id = client, store, keys, scenario

    def headers(self, who: str = "commissioner") -> dict[str, str]:
        return self.keys.header(who)

    def start(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post("/api/v1/analyses", json=body, headers=self.headers())
        assert response.status_code == 202, response.text
        assert response.headers["location"] == f"/api/v1/analyses/{response.json()['id']}"
        started: dict[str, Any] = response.json()
        return started

    def finish(self, run_id: str) -> dict[str, Any]:
        wait_for_run(self.client, run_id, self.headers(), timeout=180)
        response = self.client.get(f"/api/v1/analyses/{run_id}", headers=self.headers())
        assert response.status_code == 200, response.text
        finished: dict[str, Any] = response.json()
        return finished


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("analyses")
    settings = settings_for(folder, queue_size=8)
    store = open_test_store(settings.store)
    keys = make_keys(store)
    with TestClient(create_app(settings)) as client:
        yield World(client, store, keys, create_scenario(client, keys, london_data()))


def test_an_uncertainty_run_is_a_run_with_progress_tables_and_files(
    world: World, tmp_path: Path
) -> None:
    started = world.start(
        {"kind": "uncertainty", "scenario_id": world.scenario_id, "uncertainty": UNCERTAINTY}
    )
    assert started["status"] == "queued" and started["kind"] == "uncertainty"
    assert started["settings"]["draws"] == 3
    assert started["progress"] == {
        "stage": "queued",
        "steps_done": 0,
        "steps_total": 2,
        "done": None,
        "total": None,
    }
    run = world.finish(started["id"])
    assert run["status"] == "succeeded", run["reason"]
    assert run["progress"] == {
        "stage": "finished",
        "steps_done": 2,
        "steps_total": 2,
        "done": 3,
        "total": 3,
    }
    assert run["summary"]["draws"] == 3 and run["summary"]["seed"] == 7
    run_id = run["id"]

    table = world.client.get(
        f"/api/v1/analyses/{run_id}/tables/uncertainty", headers=world.headers()
    ).json()
    assert len(table["rows"]) == 192 and "probability_below" in table["columns"]

    # The API's files are the library's, byte for byte: the same seed, the same draws.
    from commissioning.analysis.uncertainty import Settings, parse_range, run_uncertainty
    from commissioning.scenario_io import load_scenario

    local = run_uncertainty(
        load_scenario(FIXTURE),
        Settings(3, 7, tuple(parse_range(r) for r in UNCERTAINTY["vary"])),
        jobs=1,
    ).write(tmp_path / "local")
    for name in ("uncertainty.csv", "uncertainty_draws.csv", "uncertainty_factors.csv"):
        csv = world.client.get(
            f"/api/v1/analyses/{run_id}/tables/{name[:-4]}?format=csv", headers=world.headers()
        )
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert csv.content == (local / name).read_bytes(), name
    document = world.client.get(
        f"/api/v1/analyses/{run_id}/files/uncertainty.json", headers=world.headers()
    )
    assert document.status_code == 200
    assert document.content == (local / "uncertainty.json").read_bytes()

    # Scoped and published like any run: drafts are commissioners' only.
    assert (
        world.client.get(f"/api/v1/analyses/{run_id}", headers=world.headers("finance")).status_code
        == 403
    )
    publish = world.client.post(f"/api/v1/runs/{run_id}/publish", headers=world.headers())
    assert publish.status_code == 200 and publish.json()["published"]
    assert (
        world.client.get(f"/api/v1/analyses/{run_id}", headers=world.headers("finance")).status_code
        == 200
    )
    camden = world.client.get(
        f"/api/v1/analyses/{run_id}/tables/uncertainty", headers=world.headers("camden")
    )
    assert camden.status_code == 200
    assert {r["area_code"] for r in camden.json()["rows"]} == {CAMDEN}
    for path in ("tables/uncertainty_draws", "files/uncertainty.csv"):
        refused = world.client.get(
            f"/api/v1/analyses/{run_id}/{path}", headers=world.headers("camden")
        )
        assert refused.status_code == 403, path
    # It is listed among the runs, and the solve-only endpoints say where its tables are.
    listed = world.client.get("/api/v1/runs", headers=world.headers()).json()["runs"]
    assert run_id in {r["id"] for r in listed}
    results = world.client.get(f"/api/v1/runs/{run_id}/results", headers=world.headers())
    assert results.status_code == 409 and "/api/v1/analyses/" in results.json()["detail"]


def test_a_sweep_run_with_an_inline_scenario_has_its_table_and_chart(world: World) -> None:
    data = london_data()
    data["name"] = "London for a sweep"
    started = world.start({"kind": "sweep", "scenario": data, "sweep": {**SWEEP, "knee": False}})
    run = world.finish(started["id"])
    assert run["status"] == "succeeded", run["reason"]
    assert run["scenario_name"] == "London for a sweep"
    assert (run["progress"]["done"], run["progress"]["total"]) == (2, 2)
    assert run["progress"]["steps_done"] == run["progress"]["steps_total"] == 2
    table = world.client.get(
        f"/api/v1/analyses/{run['id']}/tables/sweep", headers=world.headers()
    ).json()
    assert len(table["rows"]) == 2
    svg = world.client.get(f"/api/v1/analyses/{run['id']}/files/curve.svg", headers=world.headers())
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content  # the bytes of the chart the sweep wrote
    wrong_kind = world.client.get(
        f"/api/v1/analyses/{run['id']}/tables/uncertainty", headers=world.headers()
    )
    assert wrong_kind.status_code == 404 and "its tables are sweep" in wrong_kind.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {
                "kind": "uncertainty",
                "uncertainty": {**UNCERTAINTY, "vary": ["services.*.kost=±5%"]},
            },
            "uncertainty.vary[0]",
            "unknown field 'kost'",
        ),
        (
            {
                "kind": "uncertainty",
                "uncertainty": {**UNCERTAINTY, "vary": ["services.*.unit_cost=5%"]},
            },
            "uncertainty.vary[0]",
            "PATH=±N%",
        ),
        (
            {"kind": "uncertainty", "uncertainty": {**UNCERTAINTY, "budget_pot": "nope"}},
            "uncertainty.budget_pot",
            "unknown pot 'nope'",
        ),
        ({"kind": "uncertainty"}, "uncertainty", "needs its settings"),
        (
            {"kind": "sweep", "sweep": {"axes": [{**SWEEP["axes"][0], "path": "pots.nope"}]}},
            "sweep.axes",
            "nope",
        ),
    ],
)
def test_bad_settings_are_400_naming_the_setting(
    world: World, body: dict[str, Any], field: str, words: str
) -> None:
    response = world.client.post(
        "/api/v1/analyses",
        json={"scenario_id": world.scenario_id, **body},
        headers=world.headers(),
    )
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert errors and errors[0]["field"] == field and words in errors[0]["message"], errors


def test_analyses_need_the_commissioner_role_and_valid_bodies(world: World) -> None:
    body = {"kind": "uncertainty", "scenario_id": world.scenario_id, "uncertainty": UNCERTAINTY}
    assert (
        world.client.post(
            "/api/v1/analyses", json=body, headers=world.headers("finance")
        ).status_code
        == 403
    )
    both = {**body, "scenario": london_data()}
    assert (
        world.client.post("/api/v1/analyses", json=both, headers=world.headers()).status_code == 400
    )
    typo = {**body, "uncertainty": {**UNCERTAINTY, "draw": 3}}
    assert (
        world.client.post("/api/v1/analyses", json=typo, headers=world.headers()).status_code == 400
    )
    missing = world.client.get(f"/api/v1/analyses/{'0' * 32}", headers=world.headers())
    assert missing.status_code == 404


def test_an_api_run_folder_holds_what_a_cli_run_holds(world: World, tmp_path: Path) -> None:
    from commissioning.runs import solve_to_directory
    from commissioning.scenario_io import load_scenario

    run_id = start_run(world.client, world.keys, world.scenario_id)
    assert wait_for_run(world.client, run_id, world.headers())["status"] == "succeeded"
    api_dir = world.store.finished_run_dir(run_id)  # on PostgreSQL: fetched from the database
    _, cli_dir = solve_to_directory(load_scenario(FIXTURE), tmp_path / "cli")
    api_files = sorted(p.name for p in api_dir.iterdir())
    assert "workbook.xlsx" in api_files and "marginal.csv" in api_files
    assert api_files == sorted(p.name for p in cli_dir.iterdir())
    for name in api_files:
        if name.endswith(".csv"):
            assert (api_dir / name).read_bytes() == (cli_dir / name).read_bytes(), name
    api_summary = json.loads((api_dir / "summary.json").read_text())
    cli_summary = json.loads((cli_dir / "summary.json").read_text())
    assert api_summary["scorecard"] == cli_summary["scorecard"]
    workbook = world.client.get(f"/api/v1/runs/{run_id}/workbooks/london", headers=world.headers())
    assert workbook.status_code == 200
