"""Text typed by people outside MOPAC can never become a formula in a workbook cell.

Scenario, pot, service, area, bid and provider names are written into cells; the only formulas
a workbook may hold are the ones the package writes on purpose (subtotals, reconciliation
checks, worked targets).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from test_excel_london import solved_run_dir

from commissioning.excel import write_borough_workbook, write_london_workbook
from commissioning.excel.layout import Formula
from commissioning.excel.safe_text import MAX_CELL_TEXT, safe_text, sheet_title, workbook_name
from commissioning.models import Scenario
from commissioning.results import RunResult

CAMDEN = "E09000007"
HOSTILE = {
    "scenario": "=cmd|' /C calc'!A0",
    "pot": "+SUM(1,1)",
    "service": "-2+3",
    "area": "@Camden",
    "commitment": '=HYPERLINK("http://evil.example","Havens")',
    "provider": "=1+1 Providers\x07Ltd",
    "bid": "@bid",
    "explanation": "\t=2+2",
    "status": "=STATUS()",
}
# Every formula the package writes, by shape; anything else in a formula cell is an injection.
OUR_FORMULAS = [
    re.compile(r"=SUBTOTAL\(109,([A-Z]+)(\d+):\1\d+\)"),
    re.compile(r"=C(\d+)-D\1-E\1-F\1"),
    re.compile(r"=ROUND\(B(\d+)-C\1-D\1-E\1,2\)"),  # the London Summary's pot check
    re.compile(r"=D(\d+)/F\1\*E\1"),
]


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "  =1", "\n=1", "＝1+1", "－1", "=", "-"],
)
def test_formula_starters_are_neutralised(text: str) -> None:
    safe = safe_text(text)
    assert safe == "'" + text
    assert openpyxl.cell.Cell(openpyxl.Workbook().active, value=safe).data_type != "f"


@pytest.mark.parametrize(
    "text", ["Camden", "Women's Aid", "IDVA 1-2", "1+1", "", "£5", "O'Neill =1"]
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert safe_text(text) == text


def test_characters_excel_cannot_store_are_dropped_and_length_is_capped() -> None:
    assert safe_text("Bell\x07Ltd\x00") == "BellLtd"
    assert safe_text("=\x01x") == "'=x"
    long = safe_text("a" * (MAX_CELL_TEXT + 10))
    assert len(long) == MAX_CELL_TEXT and long.endswith("…")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Coverage by borough", "Coverage by borough"),
        ("Grants [2019/20]: *draft?*", "Grants -2019-20-- -draft--"),
        ("Kensington and Chelsea and Westminster", "Kensington and Chelsea and West"),
        ("'quoted'", "quoted"),
        ("History", "Sheet History"),
        ("///", "---"),
        ("   ", "Sheet"),
    ],
)
def test_sheet_titles_are_valid(given: str, expected: str) -> None:
    title = sheet_title(given)
    assert title == expected
    assert 0 < len(title) <= 31 and not set("[]:*?/\\") & set(title)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Total 2019/20", "Total_2019_20"),
        ("A1", "_A1"),
        ("R1C1", "_R1C1"),
        ("2019 total", "_2019_total"),
    ],
)
def test_workbook_names_are_valid(given: str, expected: str) -> None:
    assert workbook_name(given) == expected


def test_a_formula_must_be_written_as_one() -> None:
    with pytest.raises(ValueError, match="starts with '='"):
        Formula("SUM(A1:A3)")


def hostile_run(folder: Path, scenario: Scenario) -> RunResult:
    """The real London run with user-typed names replaced by formula-looking ones, via disk."""
    run = RunResult.read(solved_run_dir(folder, scenario))
    s = run.scenario
    hostile_scenario = s.model_copy(
        update={
            "name": HOSTILE["scenario"],
            "description": HOSTILE["scenario"],
            "pots": [p.model_copy(update={"name": HOSTILE["pot"]}) for p in s.pots],
            "services": [sv.model_copy(update={"name": HOSTILE["service"]}) for sv in s.services],
            "areas": [
                a.model_copy(update={"name": HOSTILE["area"]}) if a.code == CAMDEN else a
                for a in s.areas
            ],
            "commitments": [
                c.model_copy(update={"name": HOSTILE["commitment"]}) for c in s.commitments
            ],
        }
    )
    renamed = pl.when(pl.col("area_code") == CAMDEN).then(pl.lit(HOSTILE["area"]))
    tables = {}
    for name, frame in run.tables.items():
        if "area_name" in frame.columns:
            frame = frame.with_columns(area_name=renamed.otherwise(pl.col("area_name")))
        tables[name] = frame
    tables["pots"] = tables["pots"].with_columns(pot_name=pl.lit(HOSTILE["pot"]))
    tables["commitments"] = tables["commitments"].with_columns(name=pl.lit(HOSTILE["commitment"]))
    tables["coverage"] = tables["coverage"].with_columns(explanation=pl.lit(HOSTILE["explanation"]))
    tables["bids"] = tables["bids"].with_columns(
        provider=pl.lit(HOSTILE["provider"]), bid=pl.lit(HOSTILE["bid"])
    )
    summary = {**run.summary, "scenario": HOSTILE["scenario"], "status": HOSTILE["status"]}
    written = RunResult(hostile_scenario, tables, summary).write(folder / "hostile")
    return RunResult.read(written)


@pytest.fixture(scope="module")
def hostile_books(
    tmp_path_factory: pytest.TempPathFactory, london_scenario: Scenario
) -> list[Path]:
    folder = tmp_path_factory.mktemp("excel-hostile")
    run = hostile_run(folder, london_scenario)
    assert run.scenario.name == HOSTILE["scenario"]  # the names survived the trip through disk
    return [
        write_london_workbook(run, folder / "london.xlsx"),
        write_borough_workbook(run, CAMDEN, folder / "camden.xlsx"),
    ]


def test_user_text_never_becomes_a_formula(hostile_books: list[Path]) -> None:
    for path in hostile_books:
        book = openpyxl.load_workbook(path)
        texts = []
        for ws in book.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        assert any(f.fullmatch(str(cell.value)) for f in OUR_FORMULAS), (
                            path.name,
                            ws.title,
                            cell.coordinate,
                            cell.value,
                        )
                    elif isinstance(cell.value, str):
                        texts.append(cell.value)
                        assert cell.value.lstrip(" \n")[:1] not in set("=+-@\t\r"), (
                            ws.title,
                            cell.coordinate,
                            cell.value,
                        )
        # Each hostile name is there to read, with the apostrophe in front and nothing else lost.
        expected = {"'" + HOSTILE[k] for k in ("scenario", "area", "explanation", "status")}
        expected.add("'=1+1 ProvidersLtd")
        assert expected <= set(texts), path.name
        for ws in book.worksheets:
            for table in ws.tables.values():
                headings = [str(c.value).lower() for c in ws[table.ref][0]]
                assert all(headings) and len(set(headings)) == len(headings), (ws.title, headings)
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.startswith("xl/worksheets/"):
                    xml = archive.read(name).decode()
                    assert not re.search(r"<f>[^<]*(HYPERLINK|cmd|STATUS|Providers)", xml), name


def test_hostile_names_in_the_london_workbook_are_in_place(hostile_books: list[Path]) -> None:
    book = openpyxl.load_workbook(hostile_books[0])
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Scenario"] == "'" + HOSTILE["scenario"]
    assert summary["Solver status"] == "'" + HOSTILE["status"]
    providers = {row[1] for row in book["Bids"].iter_rows(min_row=6, values_only=True)}
    assert providers == {"'=1+1 ProvidersLtd"}
    assert book["Bids"]["A6"].value == "'" + HOSTILE["bid"]
