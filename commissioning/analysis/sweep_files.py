"""A sweep's folder: sweep.csv (a row per step), sweep.json (settings and knees), the curve.

The folder must be new, empty, or a previous sweep's (holding only these files): nothing else
is overwritten. Each file is written beside its final name and moved into place, so a crash
leaves each file whole, old or new. Every byte is the same on a rerun of the same sweep.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from commissioning.analysis.sweep import Sweep, SweepError, flatten
from commissioning.formula_text import neutralise

FILES = ("sweep.csv", "sweep.json", "sweep.xlsx", "curve.png", "curve.svg")
STAGING_PREFIX = ".sweep.staging-"  # left by a crashed write; the next write reuses it


def check_sweep_folder(out_dir: Path) -> None:
    """Refuse a folder that holds anything but a previous sweep's files (before solving)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise SweepError(f"--out {out_dir}: is a file, not a folder")
    if out_dir.is_dir():
        foreign = sorted(
            p.name
            for p in out_dir.iterdir()
            if p.name not in FILES and not p.name.startswith(STAGING_PREFIX)
        )
        if foreign:
            raise SweepError(
                f"--out {out_dir}: holds files a sweep did not write ({', '.join(foreign[:5])}); "
                "choose a new or empty folder"
            )


def exact_text(value: Any) -> Any:
    """A swept value as an exact CSV cell: a decimal when it ends, else 'p/q'."""
    if isinstance(value, Fraction):
        denominator = value.denominator
        for prime in (2, 5):
            while denominator % prime == 0:
                denominator //= prime
        if denominator != 1:
            return f"{value.numerator}/{value.denominator}"
        text = f"{Decimal(value.numerator) / Decimal(value.denominator):f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, Decimal):
        return f"{value:f}"
    return value


def rows(sweep: Sweep) -> tuple[list[str], list[dict[str, Any]]]:
    """The CSV's columns (in first-seen order, the same for every step) and its rows."""
    table: list[dict[str, Any]] = []
    for step in sweep.steps:
        row: dict[str, Any] = {"step": step.index + 1}
        for axis, point in zip(sweep.axes, step.point, strict=True):
            row[f"{axis.path} factor" if axis.relative else f"{axis.path} value"] = exact_text(
                point
            )
        row |= {k: exact_text(v) for k, v in step.figures.items()}
        row |= {
            "status": step.status,
            "reason": step.reason,
            "every_borough_at_benchmark": step.all_reachable_at_benchmark,
            "cells_short_of_money": step.cells_short_of_money,
        }
        if step.scorecard is not None:
            row |= {f"scorecard.{k}": v for k, v in flatten(step.scorecard)}
        table.append(row)
    columns = list(dict.fromkeys(k for row in table for k in row))
    return columns, table


def csv_text(sweep: Sweep) -> str:
    columns, table = rows(sweep)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in table:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return neutralise(value)
    return value


def summary(sweep: Sweep) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for step in sweep.steps:
        statuses[step.status] = statuses.get(step.status, 0) + 1
    return {
        "scenario": sweep.scenario_name,
        "scenario_hash": sweep.scenario_hash,
        "axes": [a.describe() for a in sweep.axes],
        "order": "row-major: the first axis outermost" if len(sweep.axes) > 1 else "one axis",
        "base": {k: exact_text(v) for k, v in sweep.base.items()},
        "steps": len(sweep.steps),
        "statuses": dict(sorted(statuses.items())),
        "every_borough_at_benchmark": (
            "no benchmarked cell below benchmark for want of money (reason code money or "
            "ring_fence); cells a named rule holds below benchmark do not count"
        ),
        "knee": sweep.knees
        if sweep.knees is not None
        else {"found": False, "why": "a knee is found for one money figure (a pot or unit cost)"},
        "files": list(FILES),
    }


def write_sweep(sweep: Sweep, out_dir: Path, *, charts: bool = True) -> list[Path]:
    """Write the sweep's files into out_dir (created if needed); returns their paths."""
    from commissioning.analysis.chart import draw_curve
    from commissioning.excel.sweep_sheet import write_sweep_workbook

    check_sweep_folder(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f"{STAGING_PREFIX}{os.getpid()}"
    staging.mkdir(exist_ok=True)
    try:
        (staging / "sweep.csv").write_text(csv_text(sweep), encoding="utf-8")
        (staging / "sweep.json").write_text(
            json.dumps(summary(sweep), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        write_sweep_workbook(sweep, staging / "sweep.xlsx")
        made = draw_curve(sweep, staging) if charts else []
        written = []
        for name in ["sweep.csv", "sweep.json", "sweep.xlsx", *(p.name for p in made)]:
            os.replace(staging / name, out_dir / name)
            written.append(out_dir / name)
    finally:
        for leftover in _files(staging):
            leftover.unlink()
        staging.rmdir()
    return written


def _files(folder: Path) -> Iterator[Path]:
    return (p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else iter(())
