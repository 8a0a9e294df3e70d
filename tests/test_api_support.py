"""Helpers shared by the API tests (this module holds no tests of its own).

`api_world` starts the real app (store on disk, worker-process pool) under Litestar's test
client, makes one key per role, stores the London scenario and solves three runs with the real
optimiser: two published, one draft. With COMMISSIONING_TEST_STORE=postgresql the store is a
PostgreSQL database and `commissioning worker` processes solve the runs (postgres_support.py).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from litestar.testing import TestClient
from postgres_support import open_test_store, worker_logs, world_store

from commissioning.api.app import create_app
from commissioning.api.settings import ApiSettings, with_store
from commissioning.scenario_io import load_scenario, scenario_json
from commissioning.store import Store, StoreLocation

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019" / "scenario.json"
CAMDEN = "E09000007"
ISLINGTON = "E09000019"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FINISHED = {"succeeded", "failed", "infeasible", "cancelled"}


@cache
def _london_text() -> str:
    return scenario_json(load_scenario(FIXTURE))


def london_data() -> dict[str, Any]:
    """The London 2019 scenario with its areas inline: the API's request body."""
    data: dict[str, Any] = json.loads(_london_text())
    return data


def with_direct_budget(pence: int, name: str) -> dict[str, Any]:
    """London with a different MOPAC direct budget each year (less money: lower coverage)."""
    data = copy.deepcopy(london_data())
    data["name"] = name
    pot = next(p for p in data["pots"] if p["id"] == "mopac_direct")
    for amount in pot["amounts"]:
        amount["amount_pence"] = pence
    return data


@dataclass(frozen=True)
class Keys:
    commissioner: str
    finance: str
    camden: str
    islington: str
    revoked: str

    def header(self, who: str) -> dict[str, str]:
        if who == "none":
            return {}
        if who == "wrong":
            return {"X-API-Key": "cmk_not-a-key-anyone-was-given"}
        return {"X-API-Key": getattr(self, who)}


def make_keys(store: Store) -> Keys:
    revoked_key, revoked = store.create_key("finance", label="revoked")
    store.revoke_key(revoked_key.id)
    return Keys(
        commissioner=store.create_key("commissioner")[1],
        finance=store.create_key("finance")[1],
        camden=store.create_key("borough_lead", CAMDEN)[1],
        islington=store.create_key("borough_lead", ISLINGTON)[1],
        revoked=revoked,
    )


def settings_at(location: StoreLocation, **changes: Any) -> ApiSettings:
    """Settings for an app on the store at `location` (a SQLite file or a PostgreSQL URL)."""
    return ApiSettings(**with_store(location), **{"workers": 1, **changes})  # type: ignore[arg-type]


def settings_for(folder: Path, **changes: Any) -> ApiSettings:
    """Settings for an app on the test store of `folder` (the same store each time). On
    PostgreSQL, `workers` (solver slots) is the number of worker processes started."""
    return settings_at(world_store(folder, "api", workers=changes.get("workers", 1)), **changes)


def wait_for_run(
    client: Any, run_id: str, headers: dict[str, str], timeout: float = 90.0
) -> dict[str, Any]:
    """Poll GET /runs/{id} until the run has finished."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/v1/runs/{run_id}", headers=headers)
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        if run["status"] in FINISHED:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(
                f"run {run_id} still {run['status']} after {timeout}s\n{_worker_logs(client)}"
            )
        time.sleep(0.1)


def _worker_logs(client: Any) -> str:
    settings = client.app.state.get("settings")
    return worker_logs(settings.store) if isinstance(settings, ApiSettings) else ""


def create_scenario(client: Any, keys: Keys, data: dict[str, Any]) -> str:
    response = client.post("/api/v1/scenarios", json=data, headers=keys.header("commissioner"))
    assert response.status_code == 201, response.text
    scenario_id: str = response.json()["id"]
    return scenario_id


def start_run(client: Any, keys: Keys, scenario_id: str) -> str:
    response = client.post(
        "/api/v1/runs", json={"scenario_id": scenario_id}, headers=keys.header("commissioner")
    )
    assert response.status_code == 202, response.text
    run_id: str = response.json()["id"]
    return run_id


@dataclass
class World:
    client: TestClient[Any]
    store: Store
    keys: Keys
    scenario_id: str
    published: str  # the London run, published
    other: str  # a run with a smaller MOPAC budget, published
    draft: str  # a run of the London scenario, never published
    folder: Path


@contextmanager
def api_world(folder: Path) -> Iterator[World]:
    settings = settings_at(world_store(folder, "api", workers=2), queue_size=32)
    store = open_test_store(settings.store)
    keys = make_keys(store)
    with TestClient(create_app(settings)) as client:
        commissioner = keys.header("commissioner")
        scenario_id = create_scenario(client, keys, london_data())
        other_scenario = create_scenario(
            client, keys, with_direct_budget(400_000_000, "London, MOPAC direct £4m")
        )
        runs = [
            start_run(client, keys, scenario_id),
            start_run(client, keys, other_scenario),
            start_run(client, keys, scenario_id),
        ]
        for run_id in runs:
            assert wait_for_run(client, run_id, commissioner)["status"] == "succeeded"
        for run_id in runs[:2]:
            assert client.post(f"/api/v1/runs/{run_id}/publish", headers=commissioner).is_success
        yield World(client, store, keys, scenario_id, runs[0], runs[1], runs[2], folder)
