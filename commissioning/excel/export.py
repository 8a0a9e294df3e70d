"""Workbooks from a solved run directory: the `commissioning export` command's one call."""

from __future__ import annotations

from pathlib import Path

from commissioning.excel.borough import write_borough_workbook
from commissioning.excel.london import write_london_workbook
from commissioning.results import RunResult


def export_workbook(run_dir: str | Path, out: str | Path, area_code: str | None = None) -> Path:
    """Write the London workbook, or one area's when `area_code` is given, from a run directory."""
    run = RunResult.read(run_dir)
    if area_code is None:
        return write_london_workbook(run, out)
    return write_borough_workbook(run, area_code, out)
