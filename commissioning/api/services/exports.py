"""Excel workbooks of a run: London-wide, and one per borough.

Workbooks are made on first request and kept beside the run (`<data>/exports/<run id>/`), written
to a temporary name and renamed, so a download never sees half a file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from commissioning.api.services.access import (
    Forbidden,
    NotFound,
    Principal,
    require_area,
    visible_run,
)
from commissioning.api.services.runs import load_result
from commissioning.results import RunResult
from commissioning.store import Store

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Workbook:
    path: Path
    filename: str
    media_type: str = XLSX_MEDIA_TYPE


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "area"


def _cached(store: Store, run_id: str, name: str, make: Callable[[Path], Path]) -> Path:
    folder = store.data_dir / "exports" / run_id
    target = folder / name
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".xlsx", dir=folder)
    os.close(handle)
    try:
        written = Path(make(Path(temporary)))
        os.replace(written, target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return target


def london_workbook(store: Store, principal: Principal, run_id: str) -> Workbook:
    """The London workbook of a run: commissioners and finance only."""
    if principal.borough is not None:
        raise Forbidden(
            "the London workbook is for commissioners and finance; ask for your borough's workbook"
        )
    run = visible_run(store, principal, run_id)
    result = load_result(store, run)

    def make(path: Path) -> Path:
        from commissioning.excel import write_london_workbook

        return write_london_workbook(result, path)

    path = _cached(store, run_id, "london.xlsx", make)
    return Workbook(path, f"vawg-allocation-run-{run_id[:8]}-london.xlsx")


def borough_workbook(store: Store, principal: Principal, run_id: str, area_code: str) -> Workbook:
    """One borough's workbook; a borough lead may have only its own."""
    require_area(principal, area_code)
    run = visible_run(store, principal, run_id)
    result: RunResult = load_result(store, run)
    area = next((a for a in result.scenario.areas if a.code == area_code), None)
    if area is None:
        raise NotFound(f"area {area_code} is not in run {run_id}", field="area_code")

    def make(path: Path) -> Path:
        from commissioning.excel import write_borough_workbook

        return write_borough_workbook(result, area_code, path)

    path = _cached(store, run_id, f"borough-{area_code}.xlsx", make)
    return Workbook(path, f"vawg-allocation-run-{run_id[:8]}-{area_code}-{_slug(area.name)}.xlsx")
