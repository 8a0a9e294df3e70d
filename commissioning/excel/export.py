"""Workbooks from a solved run directory: the `commissioning export` command's one call."""

from __future__ import annotations

from pathlib import Path

from commissioning.area_lookup import find_area_code
from commissioning.excel.borough import write_borough_workbook
from commissioning.excel.london import write_london_workbook
from commissioning.results import RunResult


def export_workbook(run_dir: str | Path, out: str | Path, borough: str | None = None) -> Path:
    """Write the London workbook, or one borough's when `borough` (a name or an ONS code) is
    given, from a run directory. An unknown borough raises UnknownBorough before anything is
    written."""
    run = RunResult.read(run_dir)
    if borough is None:
        return write_london_workbook(run, out)
    return write_borough_workbook(run, find_area_code(run.scenario.areas, borough), out)
