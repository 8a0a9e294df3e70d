"""A run exactly as its run directory holds it, so every route to a workbook gives the same file.

`solve` writes the workbook from the run in memory; `export` and the API write it from the run
directory read back. The CSV files keep floats to six decimals, so without this the two routes
would differ in the seventh decimal of a coverage ratio, and in the bytes of the file.
"""

from __future__ import annotations

import io

from commissioning.outputs import csv_text, frame_from_csv
from commissioning.results import TABLE_SCHEMAS, RunResult, conform


def as_written(run: RunResult) -> RunResult:
    """The run with each table passed through its CSV form, as `RunResult.read` would see it."""
    tables = {}
    for name, frame in run.tables.items():
        if name not in TABLE_SCHEMAS:
            tables[name] = frame
            continue
        text = csv_text(conform(name, frame))
        tables[name] = frame_from_csv(io.StringIO(text), TABLE_SCHEMAS[name])
    return RunResult(run.scenario, tables, run.summary, run.timing)
