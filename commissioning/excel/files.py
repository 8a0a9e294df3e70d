"""Creating workbooks and saving them atomically and reproducibly."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from commissioning.excel.safe_text import safe_text, sheet_title
from commissioning.safe_output import staged_file

CREATOR = "commissioning"


def new_workbook(title: str, subject: str, stamp: datetime) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    props = wb.properties
    props.creator = props.lastModifiedBy = CREATOR
    props.title = safe_text(title)[:255]
    props.subject = safe_text(subject)[:255]
    props.created = props.modified = stamp
    return wb


def add_sheet(wb: Workbook, title: str) -> Worksheet:
    """A new sheet with a valid, unique tab name (Excel compares tab names ignoring case)."""
    base = sheet_title(title)
    taken = {name.lower() for name in wb.sheetnames}
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)] + suffix
    return wb.create_sheet(candidate)


class _PinnedZip(ZipFile):
    """A zip whose members all carry one fixed date, so the same workbook gives the same bytes."""

    def __init__(self, file: Any, date_time: tuple[int, int, int, int, int, int]):
        super().__init__(file, "w", ZIP_DEFLATED, allowZip64=True)
        self._date_time = date_time

    def writestr(  # type: ignore[override]
        self,
        zinfo_or_arcname: str | ZipInfo,
        data: bytes | str,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        if isinstance(zinfo_or_arcname, ZipInfo):
            info = zinfo_or_arcname
            info.date_time = self._date_time
        else:
            info = ZipInfo(zinfo_or_arcname, date_time=self._date_time)
            info.compress_type = ZIP_DEFLATED
            info.external_attr = 0o600 << 16
        super().writestr(info, data, compress_type, compresslevel)

    def write(  # type: ignore[override]
        self,
        filename: str | os.PathLike[str],
        arcname: str | None = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        # openpyxl streams each worksheet through a temporary file, whose mtime would leak in.
        data = Path(filename).read_bytes()
        self.writestr(arcname or Path(filename).name, data, compress_type, compresslevel)


def save_workbook(wb: Workbook, path: str | Path, stamp: datetime) -> Path:
    """Write to a staging file beside `path`, then rename over it: never a half-written file."""
    path = Path(path)
    wb.properties.created = wb.properties.modified = stamp
    with staged_file(path) as handle:
        archive = _PinnedZip(handle, stamp.timetuple()[:6])
        with archive:
            ExcelWriter(wb, archive).save()
    return path
