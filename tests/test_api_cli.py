"""`commissioning serve` and `commissioning keys ...` as registered by `register(subparsers)`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from litestar import Litestar
from postgres_support import open_test_store, sqlite_only, world_store
from test_api_uvicorn import free_port

from commissioning.api import web_processes
from commissioning.api.cli_commands import register
from commissioning.api.web_workers import PARENT_ENV, SETTINGS_ENV, settings_from_env
from commissioning.store import open_store


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="commissioning")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.run(args))


def test_keys_create_prints_the_key_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(world_store(tmp_path, "store", workers=0))
    assert (
        run(["keys", "create", "--role", "borough_lead", "--area", "E09000007", "--store", db]) == 0
    )
    out, err = capsys.readouterr()
    secret = out.strip()
    assert secret.startswith("cmk_") and "\n" not in secret  # stdout is the key alone
    assert "borough_lead" in err and "E09000007" in err and "only now" in err
    key = open_test_store(db).authenticate(secret)
    assert key is not None and key.role == "borough_lead" and key.area_code == "E09000007"

    assert run(["keys", "list", "--store", db]) == 0
    listing = capsys.readouterr().out
    assert key.id in listing and secret not in listing

    assert run(["keys", "revoke", key.id, "--store", db]) == 0
    assert open_test_store(db).authenticate(secret) is None
    assert run(["keys", "revoke", key.id, "--store", db]) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--role", "borough_lead"], "needs --area"),
        (["--role", "borough_lead", "--area", "Camden"], "not an ONS area code"),
        (["--role", "finance", "--area", "E09000007"], "only for borough_lead"),
    ],
)
def test_keys_create_refuses_bad_scopes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run(["keys", "create", *argv, "--store", str(tmp_path / "s.sqlite3")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err


def test_keys_create_refuses_unknown_roles(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        run(["keys", "create", "--role", "admin"])
    assert stop.value.code == 2


def test_serve_starts_uvicorn_with_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    db = world_store(tmp_path, "served", workers=0)
    argv = ["serve", "--port", "8123", "--store", str(db), "--workers", "2", "--queue-size", "3"]
    assert run([*argv, "--web-workers", "1"]) == 0
    [(app, options)] = calls
    assert isinstance(app, Litestar)
    assert options == {"host": "127.0.0.1", "port": 8123, "log_level": "info"}
    settings = app.state.settings
    assert settings.store == db and settings.workers == 2 and settings.queue_size == 3
    assert "http://127.0.0.1:8123/api/v1" in capsys.readouterr().err


@sqlite_only(
    "`serve --web-workers` shares the server's own solver slots and recovers the store once "
    "(failing its unfinished runs), which PostgreSQL leaves to the workers"
)
def test_serve_with_web_workers_shares_one_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, str, int, str]] = []
    monkeypatch.setattr(web_processes, "run_web_processes", lambda *a: calls.append(a) or 0)
    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    monkeypatch.delenv(PARENT_ENV, raising=False)
    db = tmp_path / "served.sqlite3"
    store = open_store(db)
    run_id = store.add_run(store.add_scenario("s", "{}", "h", None).id, None).id
    port = free_port()
    argv = ["serve", "--port", str(port), "--store", str(db), "--workers", "1"]
    assert run([*argv, "--web-workers", "3"]) == 0
    assert calls == [(3, "127.0.0.1", port, "info")]
    assert web_processes.APP == "commissioning.api.web_workers:app_for_web_worker"
    settings = settings_from_env(os.environ[SETTINGS_ENV])
    assert settings.shared_queue and settings.store_path == db and settings.workers == 1
    assert os.environ[PARENT_ENV] == str(os.getpid())  # web processes die with this one
    left = store.get_run(run_id)  # recovered once, here, before the web processes start
    assert left is not None and left.status == "failed"


@pytest.mark.parametrize(
    "argv",
    [["--port", "0"], ["--workers", "0"], ["--queue-size", "-1"], ["--web-workers", "0"]],
    ids=str,
)
def test_serve_refuses_bad_settings(tmp_path: Path, argv: list[str]) -> None:
    assert run(["serve", *argv, "--store", str(tmp_path / "s.sqlite3")]) == 2


def test_serve_with_web_workers_on_a_port_in_use_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["serve", "--port", str(port), "--store", str(tmp_path / "s.sqlite3")]
        assert run([*argv, "--web-workers", "2"]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
