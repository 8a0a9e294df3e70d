"""The API in a real uvicorn process on 127.0.0.1, started as `commissioning serve` does."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from postgres_support import open_test_store, sqlite_only, world_store
from python_calamine import CalamineWorkbook
from test_api_support import CAMDEN, XLSX, london_data

from commissioning.store import StoreLocation, open_store

# `commissioning serve ...` through the same register() the CLI uses.
SERVE = (
    "import argparse, sys\n"
    "from commissioning.api.cli_commands import register\n"
    "parser = argparse.ArgumentParser(prog='commissioning')\n"
    "register(parser.add_subparsers(dest='command', required=True))\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.run(args))\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)  # the server and its worker processes
        return self.process.wait(timeout=30)


@contextmanager
def live_server(
    folder: Path, store: StoreLocation, workers: int = 1, queue_size: int = 8
) -> Iterator[LiveServer]:
    """`commissioning serve` on `store` (its log in `folder`), stopped at the end."""
    port = free_port()
    log = folder / f"server.{port}.log"
    argv = ["serve", "--host", "127.0.0.1", "--port", str(port), "--store", str(store)]
    argv += ["--workers", str(workers), "--queue-size", str(queue_size), "--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{server.url}/schema/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start:\n" + log.read_text()
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            server.stop(signal.SIGKILL)


def poll(client: httpx.Client, run_id: str, timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, object] = client.get(f"/api/v1/runs/{run_id}").raise_for_status().json()
        if run["status"] not in ("queued", "running"):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.2)


def test_the_readme_session_against_uvicorn(tmp_path: Path) -> None:
    location = world_store(tmp_path, "commissioning")
    store = open_test_store(location)
    commissioner = store.create_key("commissioner")[1]
    camden = store.create_key("borough_lead", CAMDEN)[1]
    with live_server(tmp_path, location) as server:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": commissioner}) as client:
            created = client.post("/api/v1/scenarios", json=london_data())
            assert created.status_code == 201, created.text
            started = client.post("/api/v1/runs", json={"scenario_id": created.json()["id"]})
            assert started.status_code == 202
            run_id = started.json()["id"]
            assert poll(client, run_id)["status"] == "succeeded"
            assert client.post(f"/api/v1/runs/{run_id}/publish").status_code == 200

        with httpx.Client(base_url=server.url, headers={"X-API-Key": camden}) as lead:
            workbook = lead.get(f"/api/v1/runs/{run_id}/workbooks/boroughs/{CAMDEN}")
            assert workbook.status_code == 200
            assert workbook.headers["content-type"] == XLSX
            assert CAMDEN in workbook.headers["content-disposition"]
            assert CalamineWorkbook.from_filelike(io.BytesIO(workbook.content)).sheet_names
            assert lead.get(f"/api/v1/runs/{run_id}/workbooks/london").status_code == 403
        assert httpx.get(f"{server.url}/api/v1/runs").status_code == 401
        assert server.stop() == 0, server.log.read_text()
    finished = store.get_run(run_id)
    assert finished is not None and finished.status == "succeeded" and finished.published


@sqlite_only(
    "the server solves runs in its own processes; on PostgreSQL a worker solves them and goes on "
    "while the server restarts (tests/test_queue_postgres.py kills a worker mid-step instead)"
)
def test_a_server_killed_mid_solve_marks_the_run_failed_at_restart(tmp_path: Path) -> None:
    store_path = tmp_path / "commissioning.sqlite3"
    store = open_store(store_path)
    key = store.create_key("commissioner")[1]
    with live_server(tmp_path, store_path) as server:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}) as client:
            scenario_id = client.post("/api/v1/scenarios", json=london_data()).json()["id"]
            run_id = client.post("/api/v1/runs", json={"scenario_id": scenario_id}).json()["id"]
        server.stop(signal.SIGKILL)  # no shutdown: the server and its workers just vanish
    killed = store.get_run(run_id)
    assert killed is not None and killed.status in ("queued", "running")

    with live_server(tmp_path, store_path) as server:
        run = httpx.get(f"{server.url}/api/v1/runs/{run_id}", headers={"X-API-Key": key}).json()
        assert run["status"] == "failed"
        assert run["reason"].startswith("interrupted")
        server.stop()
