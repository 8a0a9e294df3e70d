"""The web workspace's pages through the real app (Litestar's test client, a real store, runs
solved by the real optimiser): sessions, CSRF, the variant form, and above all that each role
sees what the API's services allow and a borough lead reaches no other borough's data through
any page, form or parameter."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from litestar.testing import TestClient
from test_api_support import CAMDEN, ISLINGTON, wait_for_run
from test_web_support import BASE_NAME, WebStore, csrf_of, web_store

from commissioning.api.app import create_app
from commissioning.web.session import SESSION_COOKIE, Session
from commissioning.web.variant_form import groups

BRENT = "E09000005"
# Names only: a refusal may repeat the code that was asked for, never another borough's data.
OTHER_BOROUGHS = ("Brent", "Islington", "Bromley", "Hackney", "Westminster")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    return web_store(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def app_client(world: WebStore) -> Iterator[TestClient[Any]]:
    app = create_app(world.settings(queue_size=8))
    with TestClient(app) as client:
        yield client


def sign_in(client: TestClient[Any], key: str) -> None:
    client.cookies.clear()
    token = csrf_of(client.get("/sign-in").text)
    answer = client.post("/sign-in", data={"api_key": key, "_csrf": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def token(client: TestClient[Any], path: str = "/runs") -> str:
    return csrf_of(client.get(path).text)


def refuses(answer: Any) -> bool:
    """A refusal that shows nothing of any other borough."""
    shown = answer.text
    return answer.status_code in (403, 404) and not any(b in shown for b in OTHER_BOROUGHS)


# -- sessions and CSRF ----------------------------------------------------------------------


def test_pages_need_sign_in_and_the_cookie_is_locked_down(
    app_client: TestClient[Any], world: WebStore
) -> None:
    app_client.cookies.clear()
    answer = app_client.get(f"/runs/{world.base_run}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/sign-in?next=/runs/{world.base_run}"
    form = app_client.get("/sign-in").text
    wrong = app_client.post("/sign-in", data={"api_key": "cmk_nobody", "_csrf": csrf_of(form)})
    assert wrong.status_code == 401 and "unknown or revoked API key" in wrong.text
    answer = app_client.post(
        "/sign-in",
        data={"api_key": world.keys.finance, "_csrf": csrf_of(form), "next": "//evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"  # no open redirect
    session = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in session and "SameSite=strict" in session and "Secure" not in session
    assert world.keys.finance not in session  # the key id, never the secret
    page = app_client.get("/runs")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "no-store" in page.headers["cache-control"]


def test_the_session_cookie_is_secure_over_tls(world: WebStore) -> None:
    app = create_app(world.settings())
    with TestClient(app, base_url="https://testserver.local") as client:
        form = client.get("/sign-in")
        assert "Secure" in form.headers["set-cookie"]
        answer = client.post(
            "/sign-in",
            data={"api_key": world.keys.commissioner, "_csrf": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert "Secure" in answer.headers["set-cookie"]


def test_forms_without_the_sessions_token_are_refused(
    app_client: TestClient[Any], world: WebStore
) -> None:
    sign_in(app_client, world.keys.commissioner)
    good = token(app_client)
    path = f"/runs/{world.draft_run}/publish"
    altered = good[:-1] + ("1" if good.endswith("0") else "0")  # one character wrong
    for sent in ({}, {"_csrf": "0" * 40}, {"_csrf": altered}):
        assert app_client.post(path, data=sent).status_code == 403
    assert app_client.get(f"/runs/{world.draft_run}").text.count("badge draft") >= 1
    # A token from before sign-in (or another session) is dead after it.
    old = good
    sign_in(app_client, world.keys.commissioner)
    assert app_client.post(path, data={"_csrf": old}).status_code == 403


def test_a_forged_or_revoked_session_signs_nobody_in(
    app_client: TestClient[Any], world: WebStore
) -> None:
    sign_in(app_client, world.keys.commissioner)
    value = app_client.cookies[SESSION_COOKIE]
    payload, _, signature = value.rpartition(".")
    forged = payload.replace("v1.", "v1.x", 1) + "." + signature
    app_client.cookies.set(SESSION_COOKIE, forged)
    assert app_client.get("/runs", follow_redirects=False).status_code == 303
    key, secret = world.store.create_key("finance", label="to revoke")
    sign_in(app_client, secret)
    assert app_client.get("/runs").status_code == 200
    world.store.revoke_key(key.id)
    assert app_client.get("/runs", follow_redirects=False).status_code == 303


def test_sessions_expire_and_tampering_is_caught() -> None:
    secret = b"k" * 32
    session = Session.new("key_1")
    value = session.cookie_value(secret)
    assert Session.read(value, secret) == session
    assert Session.read(value, b"other" * 8) is None
    assert Session.read(value.replace("key_1", "key_2"), secret) is None
    assert Session.read(value, secret, now=session.issued + 8 * 3600 + 1) is None


def test_the_json_api_still_takes_its_key_without_a_form_token(
    app_client: TestClient[Any], world: WebStore
) -> None:
    app_client.cookies.clear()
    answer = app_client.post(
        f"/api/v1/runs/{world.base_run}/publish", headers={"X-API-Key": world.keys.commissioner}
    )
    assert answer.status_code == 200, answer.text


# -- the variant form -----------------------------------------------------------------------


def _form_of(world: WebStore) -> dict[str, str]:
    stored = world.store.get_scenario(world.base_scenario)
    assert stored is not None
    return {f.path: f.value for g in groups(json.loads(stored.body)) for f in g.fields}


def test_a_variant_in_pounds_is_stored_in_exact_pence(
    app_client: TestClient[Any], world: WebStore
) -> None:
    sign_in(app_client, world.keys.commissioner)
    form = _form_of(world)
    form.update(
        {
            "name": "Victims Fund £210,000.50",
            "pots[1].amounts[0].amount_pence": "£210,000.50",
            "pots[1].amounts[1].amount_pence": "210000.5",
            "pots[1].amounts[2].amount_pence": "210,000",
            "policy.fairness_rule": "equal_shortfall",
        }
    )
    form["_csrf"] = token(app_client, f"/scenarios/{world.base_scenario}")
    answer = app_client.post(
        f"/scenarios/{world.base_scenario}/variants", data=form, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    new_id = answer.headers["location"].rsplit("/", 1)[1]
    stored = world.store.get_scenario(new_id)
    assert stored is not None
    body = json.loads(stored.body)
    victims = next(p for p in body["pots"] if p["id"] == "victims_fund")
    assert [a["amount_pence"] for a in victims["amounts"]] == [21_000_050, 21_000_050, 21_000_000]
    assert body["policy"]["fairness_rule"] == "equal_shortfall"
    page = app_client.get(answer.headers["location"]).text
    assert "£210,000.50" in page and "Victims Fund £210,000.50" in page


def test_the_engines_messages_land_beside_their_fields(
    app_client: TestClient[Any], world: WebStore
) -> None:
    sign_in(app_client, world.keys.commissioner)
    form = _form_of(world)
    form.update(
        {
            "pots[1].amounts[0].amount_pence": "210,000.123",
            "services[0].unit_cost_pence": "forty thousand",
            "benchmarks[0].per": "0",
            "policy.fairness_rule": "first come",
        }
    )
    form["_csrf"] = token(app_client, f"/scenarios/{world.base_scenario}")
    # Pounds are read first; the engine's models check what reads as money.
    checked = app_client.post(f"/scenarios/{world.base_scenario}/check", data=form)
    assert checked.status_code == 200
    errors = dict(
        re.findall(r'<p class="error" id="(f-[a-z0-9-]+)-error"[^>]*>([^<]*)</p>', checked.text)
    )
    assert "more than two decimals" in errors["f-pots-1-amounts-0-amount-pence"]
    assert "is not an amount in pounds" in errors["f-services-0-unit-cost-pence"]
    assert errors["f-benchmarks-0-per"] == ""  # not checked until the pounds read
    form["pots[1].amounts[0].amount_pence"] = "210,000.12"
    form["services[0].unit_cost_pence"] = "40,000"
    saved = app_client.post(f"/scenarios/{world.base_scenario}/variants", data=form)
    assert saved.status_code == 400
    html = saved.text
    assert re.search(r'id="f-benchmarks-0-per-error">[^<]*greater than 0', html)
    assert re.search(r'id="f-policy-fairness-rule-error">[^<]*must be one of: leximin', html)
    assert 'aria-invalid="true"' in html and "2 problems to put right" in html


# -- what each role reaches -----------------------------------------------------------------


def test_a_borough_lead_reaches_no_other_boroughs_data(
    app_client: TestClient[Any], world: WebStore
) -> None:
    sign_in(app_client, world.keys.camden)
    run = world.base_run
    page = app_client.get(f"/runs/{run}")
    assert page.status_code == 200
    assert "Camden" in page.text and not any(b in page.text for b in ("Brent", "Islington"))
    assert page.text.count('class="bar"') == 1 and "Scorecard" not in page.text
    # Query parameters a page does not take change nothing; ones it takes are checked.
    sneaky = app_client.get(f"/runs/{run}?area_code={BRENT}&area={BRENT}")
    assert sneaky.status_code == 200 and "Brent" not in sneaky.text
    assert app_client.get(f"/runs/{run}?service=idva&year=2019%2F20").status_code == 200
    assert app_client.get(f"/runs/{run}?service=brent").status_code == 400
    for path in (
        f"/runs/{run}/boroughs/{BRENT}",
        f"/runs/{run}/boroughs/{ISLINGTON}",
        f"/runs/{run}/workbooks/{BRENT}.xlsx",
        f"/runs/{run}/workbooks/london.xlsx",
        f"/runs/{run}/tables/pots.csv",
        f"/runs/{run}/sweep.csv",
        f"/runs/{world.draft_run}",
        f"/runs/{world.draft_run}/boroughs/{CAMDEN}",
        f"/runs/{world.draft_run}/tables/coverage.csv",
        f"/compare?base={run}&other={world.draft_run}",
        "/scenarios",
        f"/scenarios/{world.base_scenario}",
    ):
        assert refuses(app_client.get(path)), path
    chosen = app_client.get(f"/runs/{run}/workbook?area={BRENT}")  # the form, another borough
    assert refuses(chosen)
    form_token = token(app_client)
    for path in (
        f"/runs/{world.draft_run}/publish",
        f"/scenarios/{world.base_scenario}/runs",
        f"/scenarios/{world.base_scenario}/variants",
        f"/scenarios/{world.base_scenario}/check",
        f"/scenarios/{world.base_scenario}/sweeps",
    ):
        assert refuses(app_client.post(path, data={"_csrf": form_token})), path
    # What is theirs: Camden's rows only, and Camden's workbook.
    coverage = app_client.get(f"/runs/{run}/tables/coverage.csv")
    assert coverage.status_code == 200
    codes = {line.split(",")[1] for line in coverage.text.splitlines()[1:]}
    assert codes == {CAMDEN}
    book = app_client.get(f"/runs/{run}/workbooks/{CAMDEN}.xlsx")
    assert book.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(book.content), read_only=True)
    assert "Camden" in str(workbook.worksheets[0].cell(1, 1).value)
    drill = app_client.get(f"/runs/{run}/boroughs/{CAMDEN}")
    assert drill.status_code == 200 and "Camden" in drill.text
    compared = app_client.get(f"/compare?base={run}&other={run}")
    assert compared.status_code == 200 and "Scorecards side by side" not in compared.text


def test_finance_sees_published_runs_only_and_cannot_change_anything(
    app_client: TestClient[Any], world: WebStore
) -> None:
    sign_in(app_client, world.keys.finance)
    runs_page = app_client.get("/runs").text
    assert BASE_NAME in runs_page and world.draft_run[:8] not in runs_page
    page = app_client.get(f"/runs/{world.base_run}")
    assert page.status_code == 200 and "Scorecard" in page.text and "Publish" not in page.text
    assert app_client.get(f"/runs/{world.base_run}/workbooks/london.xlsx").status_code == 200
    assert app_client.get(f"/runs/{world.draft_run}").status_code == 403
    assert app_client.get("/scenarios").status_code == 403
    form_token = token(app_client)
    answer = app_client.post(f"/runs/{world.draft_run}/publish", data={"_csrf": form_token})
    assert answer.status_code == 403


def test_every_page_renders_for_a_commissioner(
    app_client: TestClient[Any], world: WebStore
) -> None:
    sign_in(app_client, world.keys.commissioner)
    run = world.base_run
    for path in (
        "/runs",
        "/scenarios",
        f"/scenarios/{world.base_scenario}",
        f"/runs/{run}",
        f"/runs/{run}?service=marac_coordinator&year=2021%2F22",
        f"/runs/{run}/boroughs/{BRENT}",
        "/compare",
        f"/compare?base={run}&other={world.draft_run}",
    ):
        answer = app_client.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        assert answer.headers["content-type"].startswith("text/html")
    assert app_client.get("/", follow_redirects=False).headers["location"] == "/scenarios"
    assert app_client.get("/static/htmx-2.0.11.min.js").status_code == 200
    london = app_client.get(f"/runs/{run}/workbooks/london.xlsx")
    assert london.status_code == 200 and london.content[:2] == b"PK"


# -- running from the browser: a solve and a sweep ------------------------------------------


def test_run_progress_then_results_and_a_sweep_with_its_knee(
    app_client: TestClient[Any], world: WebStore
) -> None:
    sign_in(app_client, world.keys.commissioner)
    form_token = token(app_client, f"/scenarios/{world.base_scenario}")
    bad = app_client.post(
        f"/scenarios/{world.base_scenario}/sweeps",
        data={
            "_csrf": form_token,
            "pot": "victims_fund",
            "from": "lots",
            "to": "110",
            "steps": "3",
        },
    )
    assert bad.status_code == 400 and "is not a percentage" in bad.text
    started = app_client.post(
        f"/scenarios/{world.base_scenario}/sweeps",
        data={"_csrf": form_token, "pot": "mopac_direct", "from": "90", "to": "110", "steps": "3"},
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    sweep_id = started.headers["location"].rsplit("/", 1)[1]
    progress = app_client.get(f"/runs/{sweep_id}/progress")
    assert progress.status_code == 200 and 'id="progress"' in progress.text
    commissioner = {"X-API-Key": world.keys.commissioner}
    assert wait_for_run(app_client, sweep_id, commissioner, timeout=120)["status"] == "succeeded"
    assert app_client.get(f"/runs/{sweep_id}/progress").headers.get("HX-Refresh") == "true"
    page = app_client.get(f"/sweeps/{sweep_id}").text
    assert 'class="knee"' in page and "every borough at benchmark from £" in page
    knee = world.store.get_run(sweep_id)
    assert knee is not None and knee.summary is not None
    from commissioning.web.figures import money

    assert money(knee.summary["knee"]["smallest_budget_pence"]) in page
    csv_file = app_client.get(f"/runs/{sweep_id}/sweep.csv")
    assert csv_file.status_code == 200 and csv_file.text.startswith("step,")
