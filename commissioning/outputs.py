"""Write a run's tables to a directory all at once, so readers never see half a run.

Where the folder may be and how it is swapped in atomically is `commissioning.safe_output`'s job;
this module turns tables and documents into the files' bytes, and CSV text back into tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import polars as pl

from commissioning.formula_text import NEEDS_NEUTRALISER, NEUTRALISER
from commissioning.safe_output import replace_run_folder


def csv_text(frame: pl.DataFrame) -> str:
    """CSV with a fixed float format, so the same numbers always give the same bytes.

    Text that a spreadsheet would run as a formula gets an apostrophe in front (see
    commissioning.formula_text); number columns are left as they are.
    """
    return neutralised(frame).write_csv(float_precision=6, line_terminator="\n")


def neutralised(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column with formula-like values prefixed by an apostrophe."""
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(NEEDS_NEUTRALISER))
        .then(pl.lit(NEUTRALISER) + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )


def restored(frame: pl.DataFrame) -> pl.DataFrame:
    """The inverse of `neutralised`: the text as the scenario gave it."""
    return frame.with_columns(
        pl.when(
            pl.col(name).str.starts_with(NEUTRALISER) & pl.col(name).str.contains(NEEDS_NEUTRALISER)
        )
        .then(pl.col(name).str.slice(1))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )


def frame_from_csv(source: Path | IO[str] | IO[bytes], schema: pl.Schema) -> pl.DataFrame:
    """A table written by `csv_text`, read back with its text exactly as it was before writing."""
    return restored(pl.read_csv(source, schema=schema))


def json_text(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_run_directory(
    out_dir: str | Path,
    tables: Mapping[str, pl.DataFrame],
    documents: Mapping[str, Mapping[str, Any]],
    extra_writers: Mapping[str, Callable[[Path], None]] | None = None,
) -> Path:
    """Write `name.csv` per table, `name.json` per document, and any extra files, atomically.

    `out_dir` must be new, empty or a previous run (else OutputRefused, nothing changed); it then
    holds the complete old run until the complete new one replaces it in one step.
    """

    def fill(staging: Path) -> None:
        for name, frame in tables.items():
            (staging / f"{name}.csv").write_text(csv_text(frame), encoding="utf-8")
        for name, doc in documents.items():
            (staging / f"{name}.json").write_text(json_text(doc), encoding="utf-8")
        for name, write in (extra_writers or {}).items():
            write(staging / name)

    return replace_run_folder(out_dir, fill)
