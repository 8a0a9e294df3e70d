"""End to end on the distributed queue: a real PostgreSQL (a throw-away cluster), the real API
server (`commissioning serve`, which only enqueues), two real `commissioning worker` processes
and the real solver. A 20-step sweep is solved with every step solved exactly once, by both
workers; a worker killed with SIGKILL mid-step loses nothing: its step is retried once on the
other worker and the run finishes, its result written once."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_api_support import london_data

from commissioning.store.pg_cluster import Cluster, free_port
from commissioning.store.postgres import PostgresStore

ROOT = Path(__file__).resolve().parents[1]
LONDON = ROOT / "fixtures" / "london-2019" / "scenario.json"
STALLED_SECONDS = 3.0
SWEEP_20 = {"axes": [{"path": "pots.mopac_direct", "from": "50%", "to": "145%", "steps": 20}]}


def _env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "COMMISSIONING_DATA_DIR": str(data_dir),
        "COMMISSIONING_WORKER_HEARTBEAT_SECONDS": "0.5",
        "COMMISSIONING_WORKER_STALLED_SECONDS": str(STALLED_SECONDS),
    }


@dataclass
class Deployment:
    url: str
    base: str
    key: str
    folder: Path
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}

    def start_worker(self, name: str) -> None:
        log = (self.folder / f"{name}.log").open("ab")
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "commissioning", "worker", "--store", self.url, "--name", name],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(self.folder / f"{name}-data"),
            cwd=ROOT,
        )

    def start_sweep(self, client: httpx.Client, scenario_id: str, sweep: dict[str, Any]) -> str:
        """POST a sweep of the scenario; its run id."""
        started = client.post(
            "/api/v1/analyses",
            json={"kind": "sweep", "scenario_id": scenario_id, "sweep": sweep},
            headers=self.headers,
        )
        assert started.status_code == 202, started.text
        return str(started.json()["id"])

    def sweep_rows(self, client: httpx.Client, run_id: str) -> str:
        """The sweep table of a run, as CSV text."""
        table = client.get(
            f"/api/v1/analyses/{run_id}/tables/sweep",
            headers={**self.headers, "Accept": "text/csv"},
        )
        assert table.status_code == 200, table.text
        return table.text

    def store(self) -> PostgresStore:
        return PostgresStore(self.url, self.folder / "reader")

    def wait(self, client: httpx.Client, path: str, timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = client.get(path, headers=self.headers).json()
            if body["status"] not in ("queued", "running"):
                return body
            if time.monotonic() > deadline:
                logs = {p.name: p.read_text()[-2000:] for p in self.folder.glob("*.log")}
                raise AssertionError(f"{path} still {body['status']}: {body}\n{logs}")
            time.sleep(0.2)


@pytest.fixture(scope="module")
def deployment(
    postgres_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("deployment")
    url = postgres_cluster.create_database("queue_end_to_end")
    made = subprocess.run(
        [sys.executable, "-m", "commissioning", "keys", "create", "--role", "commissioner",
         "--store", url],
        capture_output=True, text=True, check=True, env=_env(folder / "cli-data"), cwd=ROOT,
    )  # fmt: skip
    port = free_port()
    server_log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "commissioning", "serve", "--store", url, "--port", str(port),
         "--web-workers", "1", "--queue-size", "50"],
        stdout=server_log, stderr=subprocess.STDOUT, env=_env(folder / "server-data"), cwd=ROOT,
    )  # fmt: skip
    deployment = Deployment(url, f"http://127.0.0.1:{port}", made.stdout.strip(), folder)
    try:
        deployment.start_worker("worker-a")
        deployment.start_worker("worker-b")
        deadline = time.monotonic() + 90
        while True:
            try:
                if (
                    httpx.get(f"{deployment.base}/ready", timeout=2).json()["queue"][
                        "workers_total"
                    ]
                    == 2
                ):
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError((folder / "server.log").read_text())
            time.sleep(0.2)
        yield deployment
    finally:
        for process in [server, *deployment.workers.values()]:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in [server, *deployment.workers.values()]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def scenario_id(deployment: Deployment) -> str:
    response = httpx.post(
        f"{deployment.base}/api/v1/scenarios",
        json=london_data(),  # areas inline, as the API takes them
        headers=deployment.headers,
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


def test_a_solve_is_queued_by_the_server_and_solved_by_a_worker(
    deployment: Deployment, scenario_id: str
) -> None:
    with httpx.Client(base_url=deployment.base, timeout=30) as client:
        started = client.post(
            "/api/v1/runs", json={"scenario_id": scenario_id}, headers=deployment.headers
        )
        assert started.status_code == 202, started.text
        run = deployment.wait(client, f"/api/v1/runs/{started.json()['id']}")
        assert run["status"] == "succeeded", run
        # Solved in a worker's scratch folder; read here from the database's copy.
        table = client.get(
            f"/api/v1/runs/{run['id']}/results/allocations",
            headers={**deployment.headers, "Accept": "text/csv"},
        )
        assert table.status_code == 200 and table.text.startswith("year,")
        workbook = client.get(
            f"/api/v1/runs/{run['id']}/workbooks/london", headers=deployment.headers
        )
        assert workbook.status_code == 200 and workbook.content[:2] == b"PK"
    assert not list((deployment.folder / "worker-a-data").glob("*"))  # scratch is private


def test_a_20_step_sweep_solves_every_step_exactly_once_on_both_workers(
    deployment: Deployment, scenario_id: str, tmp_path: Path
) -> None:
    with httpx.Client(base_url=deployment.base, timeout=30) as client:
        run_id = deployment.start_sweep(client, scenario_id, SWEEP_20)
        run = deployment.wait(client, f"/api/v1/analyses/{run_id}")
        assert run["status"] == "succeeded", run
        table = deployment.sweep_rows(client, run_id)
    store = deployment.store()
    try:
        assert store.step_attempts(run["id"]) == {step: 1 for step in range(20)}
        with store._read() as conn:
            solvers = {
                row[0]
                for row in conn.execute(
                    "SELECT DISTINCT solved_by FROM run_steps WHERE run_id = %s", (run["id"],)
                )
            }
    finally:
        store.close()
    assert solvers == {"worker-a", "worker-b"}
    # The same steps as the in-process sweep of the same scenario, figure for figure.
    queued_rows = list(csv.DictReader(io.StringIO(table)))
    assert len(queued_rows) == 20
    subprocess.run(
        [sys.executable, "-m", "commissioning", "sweep", str(LONDON), "--vary",
         "pots.mopac_direct:50%:145%:20", "--out", str(tmp_path / "cli"), "--jobs", "1"],
        check=True, capture_output=True, env=_env(tmp_path), cwd=ROOT,
    )  # fmt: skip
    with (tmp_path / "cli" / "sweep.csv").open(encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == queued_rows


def test_a_worker_killed_mid_step_loses_nothing(deployment: Deployment, scenario_id: str) -> None:
    sweep = {
        "axes": [{"path": "pots.mopac_direct", "from": "60%", "to": "140%", "steps": 8}],
        "knee": False,
    }
    store = deployment.store()
    try:
        with httpx.Client(base_url=deployment.base, timeout=30) as client:
            run_id = deployment.start_sweep(client, scenario_id, sweep)
            victim, step = _a_worker_solving_a_step(deployment, store, run_id)
            os.kill(deployment.workers[victim].pid, signal.SIGKILL)
            deployment.workers[victim].wait()
            run = deployment.wait(client, f"/api/v1/analyses/{run_id}")
            assert run["status"] == "succeeded", run
            rows = deployment.sweep_rows(client, run_id).splitlines()
        assert len(rows) == 1 + 8
        attempts = store.step_attempts(run_id)
        assert attempts == {i: 2 if i == step else 1 for i in range(8)}
        with store._read() as conn:
            solved_by = conn.execute(
                "SELECT solved_by FROM run_steps WHERE run_id = %s AND step = %s", (run_id, step)
            ).fetchone()[0]
            doing = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
            ).fetchone()[0]
            files = conn.execute(
                "SELECT count(*) FROM run_files WHERE run_id = %s", (run_id,)
            ).fetchone()[0]
        assert solved_by != victim and doing == 0 and files > 0
    finally:
        store.close()
        deployment.start_worker("worker-a" if "worker-a" not in _alive(deployment) else "worker-c")


def _alive(deployment: Deployment) -> set[str]:
    return {name for name, p in deployment.workers.items() if p.poll() is None}


def _a_worker_solving_a_step(
    deployment: Deployment, store: PostgresStore, run_id: str
) -> tuple[str, int]:
    """The name of a worker in the middle of one of the run's steps, and the step."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with store._read() as conn:
            row = conn.execute(
                "SELECT solved_by, step FROM run_steps "
                "WHERE run_id = %s AND result IS NULL AND attempts = 1 LIMIT 1",
                (run_id,),
            ).fetchone()
        if row is not None:
            return str(row[0]), int(row[1])
        time.sleep(0.02)
    raise AssertionError("no worker took a step of the run")


def test_a_cancelled_sweep_stops_taking_steps_and_writes_nothing(
    deployment: Deployment, scenario_id: str
) -> None:
    sweep = {
        "axes": [{"path": "pots.mopac_direct", "from": "50%", "to": "150%", "steps": 30}],
        "knee": False,
    }
    store = deployment.store()
    try:
        with httpx.Client(base_url=deployment.base, timeout=30) as client:
            run_id = deployment.start_sweep(client, scenario_id, sweep)
            _a_worker_solving_a_step(deployment, store, run_id)
            cancelled = client.post(
                f"/api/v1/runs/{run_id}/cancel",
                json={"reason": "wrong pot"},
                headers=deployment.headers,
            )
            assert cancelled.status_code == 200, cancelled.text
            assert cancelled.json()["status"] == "cancelled"
            begun = len(store.step_attempts(run_id))
            # The steps queued behind it are taken and skipped: none is begun from now on.
            deadline = time.monotonic() + 60
            while _jobs_left(store, run_id) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _jobs_left(store, run_id) == 0
            assert len(store.step_attempts(run_id)) <= begun + 2  # those in workers' hands
            assert len(store.step_attempts(run_id)) < 30
            run = client.get(f"/api/v1/analyses/{run_id}", headers=deployment.headers).json()
        assert run["status"] == "cancelled" and run["reason"] == "cancelled: wrong pot"
        with store._read() as conn:
            files = conn.execute(
                "SELECT count(*) FROM run_files WHERE run_id = %s", (run_id,)
            ).fetchone()[0]
        assert files == 0
    finally:
        store.close()


def _jobs_left(store: PostgresStore, run_id: str) -> int:
    with store._read() as conn:
        left: int = conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE args->>'run_id' = %s "
            "AND status IN ('todo', 'doing')",
            (run_id,),
        ).fetchone()[0]
    return left
