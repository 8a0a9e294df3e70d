"""Schemathesis against the live OpenAPI spec: every check, bounded examples, no server errors.

The server runs in a real uvicorn process (see test_api_uvicorn). Path ids are pinned to real
scenarios and runs so generated requests reach the results, CSV, compare and workbook code,
not only the 404 branch. One check is relaxed for three operations: a scenario's
cross-references (areas named by benchmarks, pots, limits...) cannot be written in JSON Schema,
so a schema-valid scenario may rightly be refused with 400 naming the field; nor can a table
filter on a column the path's table lacks, or a cursor no page gave (both 400 naming them).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
from postgres_support import open_test_store, world_store
from test_api_support import london_data, with_direct_budget
from test_api_uvicorn import live_server, poll

MAX_EXAMPLES = 20
SEED = 1


def test_schemathesis_finds_no_server_errors(tmp_path: Path) -> None:
    location = world_store(tmp_path, "commissioning")
    key = open_test_store(location).create_key("commissioner")[1]
    with live_server(tmp_path, location, workers=1, queue_size=4) as server:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}) as client:
            scenario_id = client.post("/api/v1/scenarios", json=london_data()).json()["id"]
            other = client.post(
                "/api/v1/scenarios", json=with_direct_budget(400_000_000, "smaller")
            ).json()["id"]
            run_ids = [
                client.post("/api/v1/runs", json={"scenario_id": sid}).json()["id"]
                for sid in (scenario_id, other)
            ]
            for run_id in run_ids:
                assert poll(client, run_id)["status"] == "succeeded"
            client.post(f"/api/v1/runs/{run_ids[0]}/publish").raise_for_status()
            # What the lifecycle routes (cancel, unpublish, delete) may use up: a scenario of
            # its own with a cancelled draft run, so that the runs above stay for the rest.
            throwaway = client.post(
                "/api/v1/scenarios", json=with_direct_budget(300_000_000, "throwaway")
            ).json()["id"]
            throwaway_run = client.post("/api/v1/runs", json={"scenario_id": throwaway}).json()[
                "id"
            ]
            client.post(f"/api/v1/runs/{throwaway_run}/cancel").raise_for_status()

        config = tmp_path / "schemathesis.toml"
        # Every check is on by default; naming them on the command line (--checks all) would
        # override the per-operation exception below.
        config.write_text(
            f"headers = {{ {json.dumps('X-API-Key')} = {json.dumps(key)} }}\n"
            "[checks]\n"
            "enabled = true\n"
            "[parameters]\n"
            f'"path.run_id" = "{run_ids[0]}"\n'
            f'"path.other_run_id" = "{run_ids[1]}"\n'
            f'"path.scenario_id" = "{scenario_id}"\n'
            "[[operations]]\n"
            'include-path = "/api/v1/scenarios"\n'
            'include-method = "POST"\n'
            "checks.positive_data_acceptance.enabled = false\n"
            # A table filter is a 400 on a table without that column (the path's table decides)
            # and a cursor is valid only as a previous page gave it: neither fits JSON Schema.
            "[[operations]]\n"
            'include-path-regex = "/tables?/|/results/"\n'
            "checks.positive_data_acceptance.enabled = false\n"
            # A key's expiry must be in the future and only a borough lead has a borough:
            # rules JSON Schema cannot state, answered 400 naming the field.
            "[[operations]]\n"
            'include-path = "/api/v1/keys"\n'
            'include-method = "POST"\n'
            "checks.positive_data_acceptance.enabled = false\n"
            "[[operations]]\n"
            'include-path-regex = "/(cancel|unpublish)$"\n'
            f'parameters = {{ "path.run_id" = "{throwaway_run}" }}\n'
            "[[operations]]\n"
            'include-method = "DELETE"\n'
            f'parameters = {{ "path.run_id" = "{throwaway_run}", '
            f'"path.scenario_id" = "{throwaway}" }}\n',
            encoding="utf-8",
        )
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(config),
                "run",
                f"{server.url}/schema/openapi.json",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--no-color",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        elapsed = time.monotonic() - started
        server_log = server.log.read_text(errors="replace")
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert "Internal Server Error" not in server_log, server_log[-5000:]
    assert elapsed < 240, f"schemathesis took {elapsed:.0f}s"
