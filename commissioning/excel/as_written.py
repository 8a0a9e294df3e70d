"""A run exactly as its run directory holds it, so every route to a workbook gives the same file.

`solve` writes the workbook from the run in memory; `export` and the API write it from the run
directory read back. The CSV files keep floats to six decimals, so without this the two routes
would differ in the seventh decimal of a coverage ratio, and in the bytes of the file.

Only the float columns go through CSV text: the tables are put in their written order and types
(`conform`, skipped for a table in them already, as a run read back is), and text, whole
numbers and booleans read back exactly as they were written (commissioning.outputs), so
sending them through CSV too only cost time (a fifth of the workbook at 320 areas).

Every float of every table goes through one CSV column together, written and read back once:
the text of each value is the same as in its own table's file (`float_precision` formats value
by value), and a query per table was a tenth of the London fixture's workbook.
"""

from __future__ import annotations

import io
from itertools import pairwise

import polars as pl

from commissioning.results import SORT_KEYS, TABLE_SCHEMAS, RunResult, conform

_NULL = "null"  # how a missing float is written and read back (an empty line would be skipped)


def _floats_as_written(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Each frame with each float as the CSV files hold it (six decimals), read back."""
    columns = [
        (name, column)
        for name, frame in frames.items()
        for column, dtype in frame.schema.items()
        if dtype in (pl.Float32, pl.Float64) and frame.height
    ]
    if not columns:
        return frames
    together = pl.concat([frames[name][column].cast(pl.Float64) for name, column in columns])
    text = together.to_frame("x").write_csv(
        float_precision=6, line_terminator="\n", null_value=_NULL
    )
    back = pl.read_csv(io.StringIO(text), schema={"x": pl.Float64}, null_values=_NULL)["x"]
    found = dict(frames)
    offset = 0
    for name, column in columns:
        frame = found[name] = found[name].clone()
        values = back.slice(offset, frame.height).cast(frame.schema[column]).alias(column)
        frame.replace_column(frame.get_column_index(column), values)
        offset += frame.height
    return {name: frame.rechunk() for name, frame in found.items()}


def _in_order(frame: pl.DataFrame, keys: list[str]) -> bool:
    """Whether the rows are already in the order a stable sort by `keys` gives, judged in
    Python where that is the same order as polars' (text and whole numbers, no nulls)."""
    columns = [frame.get_column(key) for key in keys]
    if any(
        column.null_count() or not (column.dtype == pl.String or column.dtype.is_integer())
        for column in columns
    ):
        return False
    rows = list(zip(*(column.to_list() for column in columns), strict=True))
    return all(a <= b for a, b in pairwise(rows))


def _conformed(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """`conform`, without its query for a table that is conformed already (every table of a
    run read back from its directory: 12 queries, 3 % of the London fixture's workbook)."""
    if list(frame.schema.items()) == list(TABLE_SCHEMAS[name].items()) and _in_order(
        frame, SORT_KEYS[name]
    ):
        return frame
    return conform(name, frame)


def as_written(run: RunResult) -> RunResult:
    """The run with each table as `RunResult.read` would see it after `RunResult.write`."""
    conformed = {
        name: _conformed(name, frame) for name, frame in run.tables.items() if name in TABLE_SCHEMAS
    }
    written = _floats_as_written(conformed)
    tables = {name: written.get(name, frame) for name, frame in run.tables.items()}
    return RunResult(run.scenario, tables, run.summary, run.timing)
