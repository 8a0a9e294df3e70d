"""Text in every CSV the project writes cannot run as a spreadsheet formula; numbers stay numbers.

Names come from scenario authors (areas, pots, commitments, bid providers). Text starting with
`=`, `+`, `-`, `@`, tab or carriage return is written with an apostrophe in front, in run folder
files and in the API's `?format=csv` downloads; reading a run folder back gives the names as
they were.
"""

from __future__ import annotations

import copy
import csv
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from litestar.testing import TestClient
from postgres_support import open_test_store
from test_api_support import (
    CAMDEN,
    create_scenario,
    london_data,
    make_keys,
    settings_for,
    start_run,
    wait_for_run,
)

from commissioning.api.app import create_app
from commissioning.outputs import csv_text, frame_from_csv
from commissioning.results import RunResult
from commissioning.runs import solve_scenario
from commissioning.scenario_io import scenario_from_data

AREA_NAME = '=HYPERLINK("http://example.invalid","Camden")'
POT_NAME = "+44 Victims Fund"
COMMITMENT_NAME = "-The Havens"
PROVIDER = "@SUM(A1:A9) partnership"
INTEGER = re.compile(r"-?\d+")


def _names_to_attack(data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["name"] = "London with formula-like names"
    next(a for a in data["areas"] if a["code"] == CAMDEN)["name"] = AREA_NAME
    next(p for p in data["pots"] if p["id"] == "victims_fund")["name"] = POT_NAME
    data["commitments"][0]["name"] = COMMITMENT_NAME
    data["bid_rounds"][0]["bids"][0]["provider"] = PROVIDER
    return data


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# -- the rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+44 20 7000 0000", "'+44 20 7000 0000"),
        ("-5", "'-5"),  # text that looks like a number is still text from a person
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("  =1+2", "'  =1+2"),  # spreadsheets skip leading spaces before a formula
        ("＝1+2", "'＝1+2"),  # full-width equals, a formula in some locales
        ("'=1+2", "''=1+2"),  # already quoted: one more, so reading it back is exact
        ("Camden", "Camden"),
        ("Tower Hamlets - East", "Tower Hamlets - East"),
        ("", ""),
    ],
)
def test_text_columns_are_neutralised_and_read_back_exactly(text: str, written: str) -> None:
    frame = pl.DataFrame(
        {"name": [text], "cost_pence": [-1234], "ratio": [-0.5], "selected": [True]},
        schema={
            "name": pl.String,
            "cost_pence": pl.Int64,
            "ratio": pl.Float64,
            "selected": pl.Boolean,
        },
    )
    out = csv_text(frame)
    [row] = list(csv.reader(io.StringIO(out)))[1:]
    assert row == [written, "-1234", "-0.500000", "true"]  # numbers are never prefixed
    assert frame_from_csv(io.StringIO(out), frame.schema).equals(frame)


def test_null_text_stays_null() -> None:
    frame = pl.DataFrame({"name": [None, "=x"]}, schema={"name": pl.String})
    assert frame_from_csv(io.StringIO(csv_text(frame)), frame.schema).equals(frame)


# -- run folders ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def attacked_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, Path]:
    run = solve_scenario(scenario_from_data(_names_to_attack(london_data())))
    return run, run.write(tmp_path_factory.mktemp("csv") / "run")


def test_run_folder_csvs_neutralise_names_and_keep_numbers(
    attacked_run: tuple[RunResult, Path],
) -> None:
    _, folder = attacked_run
    coverage = _rows((folder / "coverage.csv").read_text(encoding="utf-8"))
    camden = [r for r in coverage if r["area_code"] == CAMDEN]
    assert camden and all(r["area_name"] == "'" + AREA_NAME for r in camden)
    assert all(INTEGER.fullmatch(r["funded_cost_pence"]) for r in coverage)
    pots = _rows((folder / "pots.csv").read_text(encoding="utf-8"))
    assert {r["pot_name"] for r in pots if r["pot"] == "victims_fund"} == {"'" + POT_NAME}
    assert all(INTEGER.fullmatch(r[c]) for r in pots for c in ("budget_pence", "unspent_pence"))
    commitments = _rows((folder / "commitments.csv").read_text(encoding="utf-8"))
    assert "'" + COMMITMENT_NAME in {r["name"] for r in commitments}
    bids = _rows((folder / "bids.csv").read_text(encoding="utf-8"))
    assert "'" + PROVIDER in {r["provider"] for r in bids}
    for table in ("coverage", "pots", "commitments", "bids", "grants", "allocations", "targets"):
        text = (folder / f"{table}.csv").read_text(encoding="utf-8")
        for row in csv.reader(io.StringIO(text)):
            assert not any(cell[:1] in ("=", "+", "@") for cell in row), (table, row)


def test_reading_the_run_folder_back_gives_the_names_as_written(
    attacked_run: tuple[RunResult, Path],
) -> None:
    run, folder = attacked_run
    again = RunResult.read(folder)
    coverage = again.coverage.filter(pl.col("area_code") == CAMDEN)
    assert set(coverage["area_name"]) == {AREA_NAME}
    assert POT_NAME in set(again.pots["pot_name"])
    assert COMMITMENT_NAME in set(again.table("commitments")["name"])
    assert PROVIDER in set(again.table("bids")["provider"])
    for name, frame in run.tables.items():
        text_columns = [c for c, t in frame.schema.items() if t == pl.String]
        assert (
            again.table(name)
            .select(text_columns)
            .sort(text_columns)
            .equals(frame.select(text_columns).sort(text_columns))
        ), name


# -- the API's CSV downloads, and its leftovers at start ---------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient[Any], Any, str]]:
    folder = tmp_path_factory.mktemp("csv-api")
    settings = settings_for(folder)
    store = open_test_store(settings.store)
    keys = make_keys(store)
    store.data_dir.joinpath("runs").mkdir(parents=True, exist_ok=True)
    exports = store.data_dir / "exports" / "some-run"
    exports.mkdir(parents=True)
    killed = [
        store.data_dir / "runs" / ".0123.staging-abcdef012345",
        exports / ".london.xlsx.k2j3h4.xlsx",
        exports / ".camden.xlsx.staging-abcdef012345",
    ]
    killed[0].mkdir()
    (killed[0] / "coverage.csv").write_text("half a run", encoding="utf-8")
    for path in killed[1:]:
        path.write_bytes(b"half a workbook")
    (exports / "london.xlsx").write_bytes(b"a finished export")
    with TestClient(create_app(settings)) as client:
        assert [p for p in killed if os.path.lexists(p)] == []  # cleaned at server start
        assert (exports / "london.xlsx").read_bytes() == b"a finished export"
        scenario_id = create_scenario(client, keys, _names_to_attack(london_data()))
        run_id = start_run(client, keys, scenario_id)
        headers = keys.header("commissioner")
        assert wait_for_run(client, run_id, headers)["status"] == "succeeded"
        yield client, keys, run_id


def test_api_run_folders_are_marked(api: tuple[TestClient[Any], Any, str]) -> None:
    client, _, run_id = api
    run_dir = client.app.state["store"].finished_run_dir(run_id)
    assert (run_dir / ".commissioning-run").is_file()


def test_api_csv_downloads_neutralise_names_and_keep_numbers(
    api: tuple[TestClient[Any], Any, str],
) -> None:
    client, keys, run_id = api
    headers = keys.header("commissioner")
    path = f"/api/v1/runs/{run_id}/results/coverage"
    as_csv = client.get(path + "?format=csv", headers=headers)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = _rows(as_csv.text)
    assert {r["area_name"] for r in rows if r["area_code"] == CAMDEN} == {"'" + AREA_NAME}
    assert all(INTEGER.fullmatch(r["funded_cost_pence"]) for r in rows)
    # JSON carries the name as given: only spreadsheet formats need the apostrophe
    as_json = client.get(path, headers=headers).json()["rows"]
    assert {r["area_name"] for r in as_json if r["area_code"] == CAMDEN} == {AREA_NAME}

    pots = _rows(client.get(f"/api/v1/runs/{run_id}/results/pots?format=csv", headers=headers).text)
    assert "'" + POT_NAME in {r["pot_name"] for r in pots}
    compare = client.get(f"/api/v1/runs/{run_id}/compare/{run_id}?format=csv", headers=headers)
    assert compare.status_code == 200
    assert "'" + AREA_NAME in {r["area_name"] for r in _rows(compare.text)}
