"""Signing out ends the session on the server: a copy of the session cookie, taken before
sign-out, is refused on every page and form afterwards, by every web process of the store (two
apps on one store file here), and a store file from before signed-out sessions (schema 4)
gains their table in place."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from postgres_support import open_test_store, sqlite_only, world_store
from test_api_support import CAMDEN
from test_web_pages import sign_in, token
from test_web_support import WebStore, web_store

from commissioning.api.app import create_app
from commissioning.store import SqliteStore, open_store
from commissioning.store.sqlite_schema import SCHEMA, SCHEMA_VERSION
from commissioning.web import (
    pages_analyses,
    pages_auth,
    pages_lifecycle,
    pages_runs,
    pages_scenarios,
)
from commissioning.web.session import SESSION_COOKIE, SESSION_SECONDS


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    return web_store(tmp_path_factory.mktemp("sessions"))


@pytest.fixture(scope="module")
def two_apps(world: WebStore) -> Iterator[tuple[TestClient[Any], TestClient[Any]]]:
    """Two web apps on the same store file, each with its own store object and connections,
    as two web processes have."""
    first = create_app(world.settings(queue_size=8))
    second = create_app(world.settings(queue_size=8))
    with TestClient(first) as a, TestClient(second) as b:
        yield a, b


def every_web_route(world: WebStore) -> list[tuple[str, str]]:
    """(method, path) of every page and form a signed-in person can reach, from the routes
    themselves (so a page added later is covered), with real ids filled in."""
    values = {"run_id": world.draft_run, "scenario_id": world.base_scenario, "area_code": CAMDEN}
    found = []
    for module in (pages_auth, pages_scenarios, pages_runs, pages_analyses, pages_lifecycle):
        for handler in module.HANDLERS:
            if handler.opt.get("public"):
                continue
            for path in handler.paths:
                filled = re.sub(r"\{(\w+):\w+\}", lambda m: values.get(m.group(1), "x"), path)
                if "/workbooks/" in filled:
                    filled = filled.rsplit("/", 1)[0] + "/london.xlsx"
                elif "/tables/" in filled:
                    filled = filled.rsplit("/", 1)[0] + "/coverage.csv"
                elif filled.endswith("/workbook"):
                    filled += f"?area={CAMDEN}"
                for method in sorted(handler.http_methods):
                    found.append((method, filled))
    return found


def test_a_copied_cookie_dies_at_sign_out_on_every_page_and_form(
    two_apps: tuple[TestClient[Any], TestClient[Any]], world: WebStore
) -> None:
    first, second = two_apps
    sign_in(first, world.keys.commissioner)
    copied = first.cookies[SESSION_COOKIE]
    form_token = token(first)
    routes = every_web_route(world)
    assert len(routes) >= 20 and ("POST", "/sign-out") in routes
    # Before sign-out the copy works in the other web process too.
    second.cookies.set(SESSION_COOKIE, copied)
    assert second.get("/runs").status_code == 200

    runs_before = len(world.store.list_runs(limit=1000))
    audit_before = world.store.count_audit()
    out = first.post("/sign-out", data={"_csrf": form_token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/sign-in"
    assert first.get("/runs", follow_redirects=False).status_code == 303

    for client in (first, second):  # the process that signed out, and another one
        for method, path in routes:
            client.cookies.clear()
            client.cookies.set(SESSION_COOKIE, copied)
            if method == "GET":
                answer = client.get(path, follow_redirects=False)
                assert answer.status_code == 303, (path, answer.status_code)
                assert answer.headers["location"].startswith("/sign-in?next="), path
            else:
                answer = client.post(path, data={"_csrf": form_token}, follow_redirects=False)
                assert answer.status_code == 401, (path, answer.status_code)
                assert 'action="/sign-in"' in answer.text and "You are signed out" in answer.text
                assert f"{SESSION_COOKIE}=" in answer.headers.get("set-cookie", "")
            htmx = client.request(
                method,
                path,
                data={"_csrf": form_token} if method == "POST" else None,
                headers={"HX-Request": "true", "HX-Current-URL": "http://testserver.local/runs"},
                follow_redirects=False,
            )
            assert htmx.status_code == 401, (method, path, htmx.status_code)
            assert htmx.headers["HX-Redirect"] == "/sign-in?next=/runs"
    # Nothing any of those forms would have done was done.
    assert len(world.store.list_runs(limit=1000)) == runs_before
    assert world.store.count_audit() == audit_before
    draft = world.store.get_run(world.draft_run)
    assert draft is not None and not draft.published

    # The same key signs in again afresh, and the API key itself was never touched.
    sign_in(second, world.keys.commissioner)
    assert second.get("/runs").status_code == 200
    api = second.get("/api/v1/runs", headers={"X-API-Key": world.keys.commissioner})
    assert api.status_code == 200


def test_signing_out_one_session_leaves_the_keys_other_sessions(
    two_apps: tuple[TestClient[Any], TestClient[Any]], world: WebStore
) -> None:
    first, second = two_apps
    sign_in(first, world.keys.finance)
    sign_in(second, world.keys.finance)  # another browser, the same key
    first.post("/sign-out", data={"_csrf": token(first)}, follow_redirects=False)
    assert first.get("/runs", follow_redirects=False).status_code == 303
    assert second.get("/runs").status_code == 200


def test_a_form_sent_after_sign_out_returns_to_its_page_after_sign_in(
    two_apps: tuple[TestClient[Any], TestClient[Any]], world: WebStore
) -> None:
    client = two_apps[0]
    sign_in(client, world.keys.commissioner)
    page = f"/scenarios/{world.base_scenario}"
    form_token = token(client, page)
    copied = client.cookies[SESSION_COOKIE]
    client.post("/sign-out", data={"_csrf": form_token}, follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, copied)
    answer = client.post(
        f"{page}/runs",
        data={"_csrf": form_token},
        headers={"Referer": f"http://testserver.local{page}"},
        follow_redirects=False,
    )
    assert answer.status_code == 401
    assert f'name="next" value="{page}"' in answer.text
    elsewhere = client.post(  # a page on another site is never where sign-in leads
        f"{page}/runs",
        data={"_csrf": form_token},
        headers={"Referer": "https://evil.example/scenarios/x"},
        follow_redirects=False,
    )
    assert elsewhere.status_code == 401 and 'name="next" value="/"' in elsewhere.text


def test_ended_sessions_are_kept_as_long_as_a_session_lives(tmp_path: Path) -> None:
    store = open_test_store(world_store(tmp_path, "s"))
    lifetime = timedelta(seconds=SESSION_SECONDS)
    store.end_session("a" * 32, "key_1", lifetime)
    store.end_session("a" * 32, "key_1", lifetime)  # twice: no error
    assert store.session_ended("a" * 32) and not store.session_ended("b" * 32)
    time.sleep(0.01)
    store.end_session("b" * 32, "key_1", lifetime)
    assert store.session_ended("a" * 32)  # within the lifetime: still refused
    time.sleep(0.01)
    store.end_session("c" * 32, "key_1", timedelta(milliseconds=5))
    assert not store.session_ended("a" * 32) and not store.session_ended("b" * 32)
    assert store.session_ended("c" * 32)


@sqlite_only("upgrading a SQLite file of schema 4 in place")
def test_a_schema_4_store_file_gains_ended_sessions_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = SCHEMA.split("CREATE TABLE IF NOT EXISTS ended_sessions")[0]
    assert "ended_sessions" not in old
    conn = sqlite3.connect(path)
    conn.executescript(old)
    conn.execute("PRAGMA user_version = 4")
    conn.execute(
        "INSERT INTO api_keys (id, key_hash, role, created_at) VALUES "
        "('key_1', 'h', 'finance', '2026-01-01T00:00:00.000Z')"
    )
    conn.commit()
    conn.close()

    store = open_store(path)
    assert isinstance(store, SqliteStore)
    assert [k.id for k in store.list_keys()] == ["key_1"]
    store.end_session("d" * 32, "key_1", timedelta(hours=8))
    assert store.session_ended("d" * 32)
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        indexes = {r[1] for r in check.execute("PRAGMA index_list(ended_sessions)")}
        assert "ended_sessions_at" in indexes
    open_store(path)  # a second upgrade changes nothing
    assert open_store(path).session_ended("d" * 32)
