"""A run exactly as its run directory holds it, so every route to a workbook gives the same file.

`solve` writes the workbook from the run in memory; `export` and the API write it from the run
directory read back. The CSV files keep floats to six decimals, so without this the two routes
would differ in the seventh decimal of a coverage ratio, and in the bytes of the file.

Only the float columns go through CSV text: the tables are put in their written order and types
(`conform`), and text, whole numbers and booleans read back exactly as they were written
(commissioning.outputs), so sending them through CSV too only cost time (a fifth of the
workbook at 320 areas).

Each float is rounded as the CSV files round it, in Python: `float(f"{x:.6f}")` is the value
polars writes with `float_precision=6` and reads back (both print the exactly rounded decimal
and parse it exactly; tests/test_excel_as_written.py checks the two agree on awkward values).
The fixture's few thousand floats take about 2 ms this way; written through one CSV column and
read back by polars they took 10-15 ms of a London workbook of 0.2 s. Many floats (a run of
hundreds of areas) still take that CSV round trip, which costs less per value.
"""

from __future__ import annotations

import io

import polars as pl

from commissioning.results import TABLE_SCHEMAS, RunResult, conform

_NULL = "null"  # how a missing float is written and read back (an empty line would be skipped)
# Up to this many floats in all they are rounded in Python (about 0.45 µs each); beyond, polars'
# CSV round trip (about 10 ms however few, a fraction of a µs each) is the faster.
PYTHON_FLOATS = 20_000


def six_decimals(value: float | None) -> float | None:
    """A float as a CSV file holds it (six decimals), read back; None stays None."""
    return None if value is None else float(f"{value:.6f}")


def _rounded(column: pl.Series) -> pl.Series:
    values = map(six_decimals, column.cast(pl.Float64).to_list())
    return pl.Series(column.name, list(values), dtype=pl.Float64).cast(column.dtype)


def _through_csv(columns: list[pl.Series]) -> list[pl.Series]:
    """The columns written to one CSV column with six decimals and read back, in one go."""
    together = pl.concat([column.cast(pl.Float64) for column in columns])
    text = together.to_frame("x").write_csv(
        float_precision=6, line_terminator="\n", null_value=_NULL
    )
    back = pl.read_csv(io.StringIO(text), schema={"x": pl.Float64}, null_values=_NULL)["x"]
    found, offset = [], 0
    for column in columns:
        found.append(back.slice(offset, column.len()).cast(column.dtype).alias(column.name))
        offset += column.len()
    return found


def _floats_as_written(
    frames: dict[str, pl.DataFrame], python_floats: int = PYTHON_FLOATS
) -> dict[str, pl.DataFrame]:
    """Each frame with each float as the CSV files hold it (six decimals), read back."""
    where = [
        (name, column)
        for name, frame in frames.items()
        for column, dtype in frame.schema.items()
        if dtype in (pl.Float32, pl.Float64) and frame.height
    ]
    if not where:
        return frames
    columns = [frames[name].get_column(column) for name, column in where]
    if sum(column.len() for column in columns) <= python_floats:
        rounded = [_rounded(column) for column in columns]
    else:
        rounded = _through_csv(columns)
    found = dict(frames)
    for (name, column), values in zip(where, rounded, strict=True):
        if found[name] is frames[name]:
            found[name] = frames[name].clone()
        frame = found[name]
        frame.replace_column(frame.get_column_index(column), values)
    return {name: frame.rechunk() for name, frame in found.items()}


def as_written(run: RunResult) -> RunResult:
    """The run with each table as `RunResult.read` would see it after `RunResult.write`."""
    conformed = {
        name: conform(name, frame) for name, frame in run.tables.items() if name in TABLE_SCHEMAS
    }
    written = _floats_as_written(conformed)
    tables = {name: written.get(name, frame) for name, frame in run.tables.items()}
    return RunResult(run.scenario, tables, run.summary, run.timing)
