"""excel.as_written rounds floats in Python for a small run and through polars' CSV for a large
one: both must give each float exactly as the run's CSV files hold it once read back."""

from __future__ import annotations

import io
import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commissioning.excel.as_written import _floats_as_written, six_decimals
from commissioning.outputs import csv_text, frame_from_csv
from commissioning.results import RunResult
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


@given(
    st.lists(
        st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(AWKWARD) | st.none(),
        min_size=1,
        max_size=50,
    )
)
def test_six_decimals_is_the_csv_round_trip(values: list[float | None]) -> None:
    back = _through_files(values, pl.Float64())
    assert all(_same(six_decimals(v), b) for v, b in zip(values, back, strict=True))


@pytest.mark.parametrize("dtype", [pl.Float64(), pl.Float32()])
def test_both_paths_give_what_the_files_give(dtype: pl.DataType) -> None:
    values: list[float | None] = [*AWKWARD, None, math.nan, math.inf, -math.inf, 1 / 3, -2 / 3]
    frames = {
        "t": pl.DataFrame(
            {"x": pl.Series(values, dtype=pl.Float64).cast(dtype), "n": range(len(values))}
        )
    }
    in_python = _floats_as_written(frames)["t"]
    through_csv = _floats_as_written(frames, python_floats=0)["t"]
    files = _through_files(values, dtype)
    for found in (in_python, through_csv):
        assert found.schema == frames["t"].schema
        assert found.get_column("n").to_list() == list(range(len(values)))
        assert all(_same(a, b) for a, b in zip(found.get_column("x").to_list(), files, strict=True))


def test_the_fixture_run_is_the_same_either_way(
    london_run_dir_tables: dict[str, pl.DataFrame],
) -> None:
    in_python = _floats_as_written(london_run_dir_tables)
    through_csv = _floats_as_written(london_run_dir_tables, python_floats=0)
    assert in_python.keys() == through_csv.keys()
    for name, frame in in_python.items():
        assert frame.equals(through_csv[name], null_equal=True), name


@pytest.fixture(scope="module")
def london_run_dir_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    """The London fixture's tables as solved (before any CSV rounding)."""
    run, _ = solve_to_directory(load_scenario(FIXTURE), tmp_path_factory.mktemp("run") / "run")
    assert isinstance(run, RunResult)
    floats = [c for frame in run.tables.values() for c, t in frame.schema.items() if t.is_float()]
    assert floats  # the comparison means something only if there are floats to round
    return dict(run.tables)
