"""`commissioning worker` on a real PostgreSQL: what it refuses, and a job past the time limit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from commissioning.queue import jobs
from commissioning.queue.steps import EXIT_TIME_LIMIT
from commissioning.scenario_io import load_scenario, scenario_json
from commissioning.store.pg_cluster import free_port
from commissioning.store.postgres import PostgresStore

ROOT = Path(__file__).resolve().parents[1]
LONDON = ROOT / "fixtures" / "london-2019" / "scenario.json"


def _worker(*argv: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "commissioning", "worker", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--store", "runs.sqlite3"], {}, "needs a PostgreSQL store"),
        (["--store", "mysql://x/y"], {}, "unknown store mysql://"),
        (["--memory-mib", "10", "--store", "postgresql://u@h/d"], {}, "at least 256"),
        (
            ["--store", "postgresql://u@h/d"],
            {"COMMISSIONING_WORKER_HEARTBEAT_SECONDS": "40"},
            "heartbeat must be positive and shorter",
        ),
        (
            ["--store", "postgresql://u@h/d"],
            {"COMMISSIONING_WORKER_STALLED_SECONDS": "soon"},
            "COMMISSIONING_WORKER_STALLED_SECONDS must be a number",
        ),
    ],
)
def test_a_worker_refuses_what_it_cannot_run_on(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    process = _worker(*argv, **env)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2 and message in output, output


def test_a_job_past_the_time_limit_fails_its_run_and_ends_the_worker(
    postgres_url: str, tmp_path: Path
) -> None:
    store = PostgresStore(postgres_url, tmp_path)
    store.initialise()
    scenario = load_scenario(LONDON)
    stored = store.add_scenario(
        scenario.name, scenario_json(scenario), scenario.content_hash(), None
    )
    run = store.add_run(stored.id, None)
    app = jobs.connect(postgres_url)
    with app.open():
        jobs.defer_run(run.id)
    # London takes far longer than 50 ms to solve; the limit starts with the job, not the
    # worker's own start-up.
    process = _worker("--store", postgres_url, COMMISSIONING_RUN_TIME_LIMIT_SECONDS="0.05")
    output, _ = process.communicate(timeout=120)
    assert process.returncode == EXIT_TIME_LIMIT, output
    failed = store.get_run(run.id)
    assert failed is not None and failed.status == "failed"
    assert failed.reason is not None and failed.reason.startswith("time_limit:")
    assert "within the run time limit of 0.05 s" in failed.reason
    store.close()


@pytest.mark.parametrize(
    "command",
    [
        ["worker"],
        ["keys", "create", "--role", "finance"],
        ["serve", "--web-workers", "1"],
        ["serve", "--web-workers", "2"],
    ],
)
def test_an_unreachable_database_is_one_plain_error_without_the_password(
    command: list[str],
) -> None:
    url = f"postgresql://commissioning:hunter2@127.0.0.1:{free_port()}/nowhere"
    done = subprocess.run(
        [sys.executable, "-m", "commissioning", *command, "--store", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "error: cannot open the PostgreSQL store at postgresql://commissioning:***@" in (
        done.stderr
    )
    assert "hunter2" not in done.stderr + done.stdout and "Traceback" not in done.stderr
