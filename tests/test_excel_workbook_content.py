"""The London and Camden workbooks hold what they held when every cell was an openpyxl cell.

tests/data/london_workbook_cells.json was dumped by `dump_workbook` below from the two
workbooks of the London 2019 fixture written by the cell-by-cell code, before the long tables
became XML (commissioning.excel.table_xml): every cell's value, type, number format, font,
fill and alignment, and each sheet's widths, heights, freeze panes, print titles, merged
cells, Excel tables, conditional formatting and charts, and the workbook's defined names.
Reading the new files back with openpyxl must give the same.

A change meant to alter a workbook's content is recorded by writing the file again, for one
workbook or both, and reviewing the diff:

    PYTHONPATH=. .venv/bin/python tests/test_excel_workbook_content.py london [camden]
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_excel_london import solved_run_dir

from commissioning.analysis import scorecard
from commissioning.excel import write_borough_workbook, write_london_workbook
from commissioning.models import Scenario
from commissioning.results import RunResult

EXPECTED = Path(__file__).parent / "data" / "london_workbook_cells.json"
CAMDEN = "E09000007"


def _colour(colour: Any) -> Any:
    if colour is None:
        return None
    return colour.rgb if isinstance(colour.rgb, str) else f"theme {colour.theme}"


def _style(cell: Any) -> list[Any]:
    font, fill, align = cell.font, cell.fill, cell.alignment
    return [
        cell.number_format,
        bool(font.b),
        bool(font.i),
        font.sz,
        _colour(font.color),
        fill.fill_type,
        _colour(fill.fgColor) if fill.fill_type else None,
        align.horizontal,
        align.vertical,
        bool(align.wrap_text),
    ]


def dump_workbook(path: Path) -> dict[str, Any]:
    """What a reader of the file sees, as plain data; cells as [where, type, value, style]."""
    wb = openpyxl.load_workbook(path)
    blank = _style(openpyxl.Workbook().active["A1"])  # type: ignore[index]
    styles: list[list[Any]] = []
    style_ids: dict[str, int] = {}
    sheets = {}
    for ws in wb.worksheets:
        cells = []
        for row in ws.iter_rows():
            for cell in row:
                style = _style(cell)
                if cell.value is None and style == blank:
                    continue
                key = json.dumps(style)
                if key not in style_ids:
                    style_ids[key] = len(styles)
                    styles.append(style)
                # Floats as repr, so the file holds them to the last bit.
                value = repr(cell.value) if isinstance(cell.value, float) else cell.value
                cells.append([cell.coordinate, cell.data_type, value, style_ids[key]])
        sheets[ws.title] = {
            "dimensions": ws.dimensions,
            "freeze_panes": ws.freeze_panes,
            "print_title_rows": ws.print_title_rows,
            "columns": {k: d.width for k, d in sorted(ws.column_dimensions.items()) if d.width},
            "row_heights": {
                str(k): d.height for k, d in sorted(ws.row_dimensions.items()) if d.height
            },
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "tables": dict(sorted(ws.tables.items())),
            "conditional_formatting": sorted(
                [str(cf.sqref), sorted(rule.type for rule in cf.rules)]
                for cf in ws.conditional_formatting
            ),
            "charts": len(ws._charts),
            "cells": cells,
        }
    return {
        "defined_names": {n: d.attr_text for n, d in sorted(wb.defined_names.items())},
        "styles": styles,
        "sheets": sheets,
    }


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory: pytest.TempPathFactory, london_scenario: Scenario) -> Path:
    folder = tmp_path_factory.mktemp("content")
    run = RunResult.read(solved_run_dir(folder, london_scenario))
    write_london_workbook(run, folder / "london.xlsx")
    write_borough_workbook(run, CAMDEN, folder / "camden.xlsx")
    return folder


@pytest.mark.parametrize("name", ["london", "camden"])
def test_workbook_content_is_unchanged(workbooks: Path, name: str) -> None:
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))[name]
    found = json.loads(json.dumps(dump_workbook(workbooks / f"{name}.xlsx")))
    assert found["defined_names"] == expected["defined_names"]
    assert found["styles"] == expected["styles"]
    assert list(found["sheets"]) == list(expected["sheets"])
    for title, sheet in expected["sheets"].items():
        got = found["sheets"][title]
        for key in sheet:
            if key != "cells":
                assert got[key] == sheet[key], f"{title}: {key}"
        cells = {c[0]: c for c in got["cells"]}
        for cell in sheet["cells"]:
            assert cells.pop(cell[0], None) == cell, f"{title}!{cell[0]}"
        assert not cells, f"{title}: cells that were not there before: {sorted(cells)[:5]}"


def _summary_value(path: Path, label: str) -> Any:
    ws = openpyxl.load_workbook(path)["Summary"]
    return next(row[1] for row in ws.iter_rows(values_only=True) if row[0] == label)


GINI = "Spread of coverage: Gini coefficient"


def test_the_summary_sheet_shows_the_scorecard_the_run_carries(
    workbooks: Path, tmp_path: Path
) -> None:
    """The scorecard in summary.json is the one shown (not worked out again); one written by
    another version, which no longer reads as a Scorecard, is worked out from the tables."""
    run = RunResult.read(workbooks / "run")
    card = scorecard(run)
    carried = {**card.to_json(), "gini": 0.123456}
    write_london_workbook(
        replace(run, summary={**run.summary, "scorecard": carried}), tmp_path / "a.xlsx"
    )
    assert _summary_value(tmp_path / "a.xlsx", GINI) == 0.123456
    unreadable = {"gini": "not a number"}
    write_london_workbook(
        replace(run, summary={**run.summary, "scorecard": unreadable}), tmp_path / "b.xlsx"
    )
    assert _summary_value(tmp_path / "b.xlsx", GINI) == card.gini


def _one_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _layout(value: Any, indent: int = 0) -> str:
    """The file's layout: indent 1; a list of plain values on one line; a list of lists one
    item a line (so a changed cell is a one-line diff)."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            f"{pad} {json.dumps(k, ensure_ascii=False)}: {_layout(v, indent + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value or all(not isinstance(v, dict | list) for v in value):
            return _one_line(value)
        items = [
            f"{pad} {_one_line(v) if isinstance(v, list) else _layout(v, indent + 1)}"
            for v in value
        ]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False)


def record(names: list[str]) -> None:
    """Write the expected content of the named workbooks (london, camden) again."""
    import tempfile

    from conftest import FIXTURE_DIR

    from commissioning.scenario_io import load_scenario

    data = json.loads(EXPECTED.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        run = RunResult.read(solved_run_dir(path, load_scenario(FIXTURE_DIR / "scenario.json")))
        if "london" in names:
            write_london_workbook(run, path / "london.xlsx")
        if "camden" in names:
            write_borough_workbook(run, CAMDEN, path / "camden.xlsx")
        for name in names:
            data[name] = json.loads(json.dumps(dump_workbook(path / f"{name}.xlsx")))
    EXPECTED.write_text(_layout(data) + "\n", encoding="utf-8")


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    record([name for name in sys.argv[1:] if name in ("london", "camden")])
