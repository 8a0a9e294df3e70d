"""Unpublish, cancel and delete from the web pages, through the real app (a real store, the real
run queue and solver): the same services as the API, audited as the API's are, with the form's
token required; finance and borough leads are neither shown these forms nor able to post them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from test_web_pages import sign_in, token
from test_web_support import WebStore, base_data, web_store

from commissioning.api.app import create_app
from commissioning.api.services import lifecycle, runs, scenarios
from commissioning.api.services.access import Principal
from commissioning.store.interface import AuditEntry

FORMS = ("unpublish", "cancel", "delete")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    return web_store(tmp_path_factory.mktemp("lifecycle"))


@pytest.fixture(scope="module")
def client(world: WebStore) -> Iterator[TestClient[Any]]:
    app = create_app(world.settings(queue_size=8))
    with TestClient(app) as test_client:
        yield test_client


def key_id(world: WebStore, secret: str) -> str:
    key = world.store.authenticate(secret)
    assert key is not None
    return key.id


def audit_since(world: WebStore, count: int) -> list[AuditEntry]:
    """Audit entries added after the first `count`, oldest first."""
    return list(reversed(world.store.list_audit(limit=1000)))[count:]


def solved_draft(world: WebStore, name: str) -> tuple[str, str]:
    """A scenario of its own and a finished draft run of it: (scenario id, run id)."""
    data = base_data()
    data["name"] = name
    system = Principal.system()
    stored = scenarios.create_scenario(world.store, system, data)
    run = runs.run_now(world.store, system, stored.id)
    assert run.status == "succeeded", run.reason
    return stored.id, run.id


def wait_until(world: WebStore, run_id: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (run := world.store.get_run(run_id)) is None or run.status != status:
        assert time.monotonic() < deadline, f"run {run_id} never {status}: {run}"
        time.sleep(0.05)


def test_unpublish_needs_a_reason_and_is_audited_as_the_apis(
    client: TestClient[Any], world: WebStore
) -> None:
    _, run_id = solved_draft(world, "To publish and withdraw")
    lifecycle.publish(world.store, Principal.system(), run_id, "for the web test")
    sign_in(client, world.keys.commissioner)
    page = client.get(f"/runs/{run_id}").text
    assert f'action="/runs/{run_id}/unpublish"' in page and 'id="unpublish-reason"' in page
    assert "required" in page.split('id="unpublish-reason"')[1].split(">")[0]
    assert f'action="/runs/{run_id}/delete"' not in page  # published: unpublish first
    form_token = token(client, f"/runs/{run_id}")
    count = world.store.count_audit()

    missing = client.post(f"/runs/{run_id}/unpublish", data={"_csrf": form_token, "reason": " "})
    assert missing.status_code == 400 and "give the reason" in missing.text
    assert "reason" in missing.text
    no_token = client.post(f"/runs/{run_id}/unpublish", data={"reason": "no token"})
    assert no_token.status_code == 403
    run = world.store.get_run(run_id)
    assert run is not None and run.published and world.store.count_audit() == count

    done = client.post(
        f"/runs/{run_id}/unpublish",
        data={"_csrf": form_token, "reason": "figures withdrawn: the Victims Fund changed"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/runs/{run_id}"
    run = world.store.get_run(run_id)
    assert run is not None and not run.published
    [entry] = audit_since(world, count)
    assert (entry.action, entry.target_kind, entry.target_id) == ("unpublish", "run", run_id)
    assert entry.key_id == key_id(world, world.keys.commissioner)
    assert entry.role == "commissioner"
    assert entry.reason == "figures withdrawn: the Victims Fund changed"
    # The API's unpublish of another run writes the same kind of entry.
    _, api_run = solved_draft(world, "Withdrawn through the API")
    lifecycle.publish(world.store, Principal.system(), api_run, "for the API")
    answer = client.post(
        f"/api/v1/runs/{api_run}/unpublish",
        json={"reason": "withdrawn by the API"},
        headers={"X-API-Key": world.keys.commissioner},
    )
    assert answer.status_code == 200, answer.text
    api_entry = world.store.list_audit(limit=1)[0]
    assert (api_entry.action, api_entry.target_kind, api_entry.key_id, api_entry.role) == (
        entry.action,
        entry.target_kind,
        entry.key_id,
        entry.role,
    )
    # Again: the run is a draft now, so the page offers delete, and a second unpublish is 409.
    page = client.get(f"/runs/{run_id}").text
    assert f'action="/runs/{run_id}/delete"' in page and 'id="publish"' in page
    again = client.post(f"/runs/{run_id}/unpublish", data={"_csrf": form_token, "reason": "x"})
    assert again.status_code == 409 and "this run is not published" in again.text
    assert run_id not in again.text  # told in words, not by id


def test_a_draft_run_and_then_its_scenario_are_deleted(
    client: TestClient[Any], world: WebStore
) -> None:
    scenario_id, run_id = solved_draft(world, "To delete")
    sign_in(client, world.keys.commissioner)
    form_token = token(client, f"/runs/{run_id}")
    count = world.store.count_audit()
    deleted = client.post(
        f"/runs/{run_id}/delete",
        data={"_csrf": form_token, "reason": "a trial run"},
        follow_redirects=False,
    )
    assert deleted.status_code == 303 and deleted.headers["location"] == f"/scenarios/{scenario_id}"
    assert world.store.get_run(run_id) is None
    assert not world.store.run_dir(run_id).exists()
    assert client.get(f"/runs/{run_id}").status_code == 404

    _, second = solved_draft(world, "To delete")  # the same scenario again (same content)
    page = client.get(f"/scenarios/{scenario_id}").text
    assert f'action="/scenarios/{scenario_id}/delete"' in page
    gone = client.post(
        f"/scenarios/{scenario_id}/delete",
        data={"_csrf": form_token, "reason": ""},
        follow_redirects=False,
    )
    assert gone.status_code == 303 and gone.headers["location"] == "/scenarios"
    assert world.store.get_scenario(scenario_id) is None and world.store.get_run(second) is None
    entries = audit_since(world, count)
    assert [(e.action, e.target_kind, e.target_id) for e in entries] == [
        ("delete", "run", run_id),
        ("delete", "scenario", scenario_id),
        ("delete", "run", second),
    ]
    assert entries[0].reason == "a trial run" and entries[1].reason is None
    commissioner = key_id(world, world.keys.commissioner)
    assert {e.key_id for e in entries} == {commissioner}


def test_published_runs_keep_their_run_and_scenario(
    client: TestClient[Any], world: WebStore
) -> None:
    sign_in(client, world.keys.commissioner)
    form_token = token(client)
    count = world.store.count_audit()
    run = client.post(f"/runs/{world.base_run}/delete", data={"_csrf": form_token})
    assert run.status_code == 409 and "only a finished draft run can be deleted" in run.text
    scenario = client.post(f"/scenarios/{world.base_scenario}/delete", data={"_csrf": form_token})
    assert scenario.status_code == 409
    assert "“London, MOPAC direct £4.4m a year” has a run that is published" in scenario.text
    assert world.store.get_run(world.base_run) is not None
    assert world.store.get_scenario(world.base_scenario) is not None
    assert world.store.count_audit() == count


def test_queued_and_running_runs_are_cancelled_from_their_pages(
    client: TestClient[Any], world: WebStore
) -> None:
    sign_in(client, world.keys.commissioner)
    scenario_page = f"/scenarios/{world.base_scenario}"
    form_token = token(client, scenario_page)
    count = world.store.count_audit()
    # A long sweep keeps the only worker busy, so a solve started after it waits in the queue.
    sweep = client.post(
        f"{scenario_page}/sweeps",
        data={"_csrf": form_token, "pot": "mopac_direct", "from": "10", "to": "110", "steps": "41"},
        follow_redirects=False,
    )
    assert sweep.status_code == 303, sweep.text
    sweep_id = sweep.headers["location"].rsplit("/", 1)[1]
    wait_until(world, sweep_id, "running")
    solve = client.post(f"{scenario_page}/runs", data={"_csrf": form_token}, follow_redirects=False)
    solve_id = solve.headers["location"].rsplit("/", 1)[1]
    queued = world.store.get_run(solve_id)
    assert queued is not None and queued.status == "queued"

    page = client.get(f"/runs/{solve_id}").text
    assert f'action="/runs/{solve_id}/cancel"' in page
    assert f'action="/runs/{solve_id}/delete"' not in page  # not finished: cancel first
    waiting = client.post(
        f"/runs/{solve_id}/cancel",
        data={"_csrf": form_token, "reason": "the wrong budget"},
        follow_redirects=False,
    )
    assert waiting.status_code == 303 and waiting.headers["location"] == f"/runs/{solve_id}"
    sweep_page = client.get(f"/sweeps/{sweep_id}").text
    assert f'action="/runs/{sweep_id}/cancel"' in sweep_page
    running = client.post(f"/runs/{sweep_id}/cancel", data={"_csrf": form_token, "reason": ""})
    assert running.status_code == 200  # followed to the sweep's page
    assert "Cancelled" in running.text and f'action="/runs/{sweep_id}/delete"' in running.text
    for run_id in (solve_id, sweep_id):
        cancelled = world.store.get_run(run_id)
        assert cancelled is not None and cancelled.status == "cancelled"
    entries = audit_since(world, count)
    assert [(e.action, e.target_id, e.reason) for e in entries] == [
        ("cancel", solve_id, "the wrong budget"),
        ("cancel", sweep_id, None),
    ]
    again = client.post(f"/runs/{sweep_id}/cancel", data={"_csrf": form_token})
    assert again.status_code == 409 and "already finished" in again.text
    # The worker came back: a new run solves.
    fresh = client.post(f"{scenario_page}/runs", data={"_csrf": form_token}, follow_redirects=False)
    wait_until(world, fresh.headers["location"].rsplit("/", 1)[1], "succeeded", timeout=120)


@pytest.mark.parametrize("who", ["finance", "camden"])
def test_finance_and_borough_leads_neither_see_nor_post_these_forms(
    client: TestClient[Any], world: WebStore, who: str
) -> None:
    _, draft = solved_draft(world, f"Not for {who}")
    queued = runs.create_run(world.store, Principal.system(), world.base_scenario)  # never runs
    sign_in(client, getattr(world.keys, who))
    page = client.get(f"/runs/{world.base_run}").text  # published: they may read it
    for form in (*FORMS, "publish"):
        assert f'action="/runs/{world.base_run}/{form}"' not in page, form
    assert "Unpublish" not in page and "Delete" not in page
    form_token = token(client)
    count = world.store.count_audit()
    attempts = [
        (f"/runs/{world.base_run}/unpublish", {"reason": "not mine to withdraw"}),
        (f"/runs/{world.base_run}/delete", {}),
        (f"/runs/{draft}/delete", {}),
        (f"/runs/{queued.id}/cancel", {}),
        (f"/scenarios/{world.base_scenario}/delete", {}),
    ]
    for path, data in attempts:
        answer = client.post(path, data={"_csrf": form_token, **data})
        assert answer.status_code in (403, 404), (who, path, answer.status_code)
    assert world.store.count_audit() == count
    base = world.store.get_run(world.base_run)
    assert base is not None and base.published
    assert world.store.get_run(draft) is not None
    still = world.store.get_run(queued.id)
    assert still is not None and still.status == "queued"
    assert world.store.get_scenario(world.base_scenario) is not None
    lifecycle.cancel(world.store, Principal.system(), queued.id, "tidy up after the test")
