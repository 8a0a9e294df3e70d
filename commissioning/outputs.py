"""Write a run's tables to a directory all at once, so readers never see half a run.

Where the folder may be and how it is swapped in atomically is `commissioning.safe_output`'s job;
this module turns tables and documents into the files' bytes, and CSV text back into tables.
"""

from __future__ import annotations

import json
import os
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


# `--excel-csv`: copies of the run's tables for people who double-click a CSV in Excel.
EXCEL_CSV_FOLDER = "excel"
# Without a byte-order mark, Excel on Windows reads a CSV in the machine's ANSI code page and
# shows "£" as "Â£"; with it, Excel reads UTF-8.
UTF8_BOM = "\ufeff"


def excel_csv_bytes(frame: pl.DataFrame) -> bytes:
    """The table as `csv_text` writes it, with a UTF-8 byte-order mark and, right after each
    `*_pence` column, a `*_pounds` column of exact pounds ("1234.56", "-0.05")."""
    return (
        UTF8_BOM
        + with_pounds(neutralised(frame)).write_csv(float_precision=6, line_terminator="\n")
    ).encode("utf-8")


def with_pounds(frame: pl.DataFrame) -> pl.DataFrame:
    """Each integer `NAME_pence` column followed by `NAME_pounds`: the same money as text with
    exactly two decimals, worked out in whole pence (never through a float, which would turn
    some amounts into ...0.01 off), so it matches the pence column to the penny."""
    columns: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        columns.append(pl.col(name))
        if name.endswith("_pence") and dtype.is_integer():
            columns.append(pounds_text(name).alias(name.removesuffix("_pence") + "_pounds"))
    return frame.select(columns)


def pounds_text(pence_column: str) -> pl.Expr:
    """Whole pence as pounds text: 123456 -> "1234.56", -5 -> "-0.05", null stays null."""
    pence = pl.col(pence_column)
    size = pence.abs()
    return pl.concat_str(
        pl.when(pence < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (size // 100).cast(pl.String),
        pl.lit("."),
        (size % 100).cast(pl.String).str.zfill(2),
    )


def write_excel_csv_folder(folder: Path, tables: Mapping[str, pl.DataFrame]) -> None:
    """`folder/NAME.csv` per table in the Excel form, flushed to disk: the run folder's own
    flush before it is swapped in covers only the files at its top level."""
    folder.mkdir()
    for name, frame in tables.items():
        with (folder / f"{name}.csv").open("wb") as handle:
            handle.write(excel_csv_bytes(frame))
            handle.flush()
            os.fsync(handle.fileno())
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)  # the folder's list of names
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


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
