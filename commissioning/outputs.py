"""Write a run's tables to a directory all at once, so readers never see half a run."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import polars as pl


def csv_text(frame: pl.DataFrame) -> str:
    """CSV with a fixed float format, so the same numbers always give the same bytes."""
    return frame.write_csv(float_precision=6, line_terminator="\n")


def json_text(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_run_directory(
    out_dir: str | Path,
    tables: Mapping[str, pl.DataFrame],
    documents: Mapping[str, Mapping[str, Any]],
    extra_writers: Mapping[str, Callable[[Path], None]] | None = None,
) -> Path:
    """Write `name.csv` per table, `name.json` per document, and any extra files, atomically.

    Files are written into a sibling temporary directory that then replaces `out_dir`, so a crash
    leaves either the old outputs or the new ones, never a mixture.
    """
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, frame in tables.items():
            (staging / f"{name}.csv").write_text(csv_text(frame), encoding="utf-8")
        for name, doc in documents.items():
            (staging / f"{name}.json").write_text(json_text(doc), encoding="utf-8")
        for name, write in (extra_writers or {}).items():
            write(staging / name)
        os.chmod(staging, 0o755)
        if out.exists():
            retired = out.with_name(f".{out.name}.old")
            shutil.rmtree(retired, ignore_errors=True)
            out.rename(retired)
            staging.rename(out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
