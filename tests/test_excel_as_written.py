"""excel.as_written gives each table as the run's CSV files hold it once read back: floats
through polars' CSV round trip, and the tables in their written order and types, `conform`
being skipped for a table already so (skipping must give what `conform` gives)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import polars as pl
import pytest

from commissioning.excel.as_written import _conformed, _floats_as_written, as_written
from commissioning.outputs import csv_text, frame_from_csv
from commissioning.results import TABLE_SCHEMAS, RunResult, conform
from commissioning.runs import solve_to_directory
from commissioning.scenario_io import load_scenario

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019" / "scenario.json"

AWKWARD = [0.0, -0.0, 5e-7, -5e-7, 1.5e-6, 2.5e-6, 0.1234565, 1e300, -1e-300, 5e-324, 1e16]


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _through_files(values: list[float | None], dtype: pl.DataType) -> list[float | None]:
    """The values written by the run's CSV writer and read back by its reader."""
    frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.Float64).cast(dtype)})
    back = frame_from_csv(io.StringIO(csv_text(frame)), pl.Schema({"x": dtype}))
    return list(back.get_column("x").to_list())


@pytest.mark.parametrize("dtype", [pl.Float64(), pl.Float32()])
def test_floats_are_what_the_files_give(dtype: pl.DataType) -> None:
    values: list[float | None] = [*AWKWARD, None, math.nan, math.inf, -math.inf, 1 / 3, -2 / 3]
    frames = {
        "t": pl.DataFrame(
            {"x": pl.Series(values, dtype=pl.Float64).cast(dtype), "n": range(len(values))}
        )
    }
    found = _floats_as_written(frames)["t"]
    assert found.schema == frames["t"].schema
    assert found.get_column("n").to_list() == list(range(len(values)))
    files = _through_files(values, dtype)
    assert all(_same(a, b) for a, b in zip(found.get_column("x").to_list(), files, strict=True))


@pytest.fixture(scope="module")
def london_solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, RunResult]:
    """The London fixture's run as solved, and as read back from its run directory."""
    run, run_dir = solve_to_directory(load_scenario(FIXTURE), tmp_path_factory.mktemp("r") / "r")
    return run, RunResult.read(run_dir)


def test_conformed_is_conform(london_solved: tuple[RunResult, RunResult]) -> None:
    solved, read_back = london_solved
    for run in (solved, read_back):
        for name, frame in run.tables.items():
            if name in TABLE_SCHEMAS:
                assert _conformed(name, frame).equals(conform(name, frame), null_equal=True), name


def test_tables_out_of_order_are_put_in_order(london_solved: tuple[RunResult, RunResult]) -> None:
    _, read_back = london_solved
    shuffled = {
        name: frame.reverse().select(reversed(frame.columns))
        for name, frame in read_back.tables.items()
    }
    again = RunResult(read_back.scenario, shuffled, read_back.summary, read_back.timing)
    expected, found = as_written(read_back).tables, as_written(again).tables
    assert expected.keys() == found.keys()
    for name, frame in expected.items():
        assert found[name].equals(frame, null_equal=True), name
