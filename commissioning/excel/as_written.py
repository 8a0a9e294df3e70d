"""A run exactly as its run directory holds it, so every route to a workbook gives the same file.

`solve` writes the workbook from the run in memory; `export` and the API write it from the run
directory read back. The CSV files keep floats to six decimals, so without this the two routes
would differ in the seventh decimal of a coverage ratio, and in the bytes of the file.

Only the float columns go through CSV text: the tables are put in their written order and types
(`conform`), and text, whole numbers and booleans read back exactly as they were written
(commissioning.outputs), so sending them through CSV too only cost time (a fifth of the
workbook at 320 areas).
"""

from __future__ import annotations

import io

import polars as pl

from commissioning.results import TABLE_SCHEMAS, RunResult, conform


def _floats_as_written(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with each float as the CSV files hold it (six decimals), read back."""
    floats = frame.select(pl.col(pl.Float32, pl.Float64))
    if not floats.width or not floats.height:
        return frame
    text = floats.write_csv(float_precision=6, line_terminator="\n")
    return frame.with_columns(pl.read_csv(io.StringIO(text), schema=floats.schema)).rechunk()


def as_written(run: RunResult) -> RunResult:
    """The run with each table as `RunResult.read` would see it after `RunResult.write`."""
    tables = {
        name: _floats_as_written(conform(name, frame)) if name in TABLE_SCHEMAS else frame
        for name, frame in run.tables.items()
    }
    return RunResult(run.scenario, tables, run.summary, run.timing)
