"""`solve --excel-csv`: the run's tables again for Excel users, in OUT/excel/, with a UTF-8
byte-order mark and exact pounds beside every pence column, while the plain CSVs that finance
systems read stay byte for byte what they were. Two real London solves, read back from disk."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from conftest import FIXTURE_DIR

from commissioning.cli import main
from commissioning.outputs import EXCEL_CSV_FOLDER, UTF8_BOM, excel_csv_bytes, pounds_text
from commissioning.results import TABLE_SCHEMAS

LONDON = FIXTURE_DIR / "scenario.json"
BOM = UTF8_BOM.encode("utf-8")


def solve(out: Path, *flags: str) -> Path:
    assert main(["solve", str(LONDON), "--out", str(out), *flags]) == 0
    return out


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return solve(tmp_path_factory.mktemp("plain") / "run")


@pytest.fixture(scope="module")
def with_excel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return solve(tmp_path_factory.mktemp("excel") / "run", "--excel-csv")


def rows(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8")
    return list(csv.DictReader(io.StringIO(text.removeprefix(UTF8_BOM))))


def test_without_the_flag_the_run_folder_is_as_before(plain: Path, with_excel: Path) -> None:
    assert not (plain / EXCEL_CSV_FOLDER).exists()
    own = sorted(p.name for p in plain.iterdir())
    assert sorted(p.name for p in with_excel.iterdir()) == sorted([*own, EXCEL_CSV_FOLDER])
    # timing.json holds wall-clock seconds; every other file is the same bytes either way.
    for name in own:
        if name not in ("timing.json", ".commissioning-run"):
            assert (plain / name).read_bytes() == (with_excel / name).read_bytes(), name
    for name in TABLE_SCHEMAS:
        if (plain / f"{name}.csv").exists():
            assert not (plain / f"{name}.csv").read_bytes().startswith(BOM), name


def test_every_table_has_an_excel_copy_with_a_byte_order_mark(with_excel: Path) -> None:
    tables = sorted(p.name for p in with_excel.glob("*.csv"))
    assert sorted(p.name for p in (with_excel / EXCEL_CSV_FOLDER).iterdir()) == tables
    assert len(tables) == len(TABLE_SCHEMAS)  # the London run has every optional table
    for name in tables:
        data = (with_excel / EXCEL_CSV_FOLDER / name).read_bytes()
        assert data.startswith(BOM) and not data.startswith(BOM + BOM), name
        data.decode("utf-8")  # strict: the whole file is UTF-8
    reasons = (with_excel / EXCEL_CSV_FOLDER / "bids.csv").read_bytes()
    assert "£".encode() in reasons  # the bids' reasons quote money, so the BOM matters


def test_pounds_sit_beside_pence_and_equal_them_to_the_penny_on_every_row(
    with_excel: Path,
) -> None:
    checked = 0
    for plain_path in sorted(with_excel.glob("*.csv")):
        plain_rows = rows(plain_path)
        excel_rows = rows(with_excel / EXCEL_CSV_FOLDER / plain_path.name)
        assert len(excel_rows) == len(plain_rows), plain_path.name
        header = list(excel_rows[0]) if excel_rows else []
        pence_columns = [c for c in plain_rows[0] if c.endswith("_pence")] if plain_rows else []
        # the plain columns in their order, each pence column followed by its pounds column
        expected: list[str] = []
        for column in plain_rows[0] if plain_rows else []:
            expected.append(column)
            if column in pence_columns:
                expected.append(column.removesuffix("_pence") + "_pounds")
        assert header == expected, plain_path.name
        for plain_row, excel_row in zip(plain_rows, excel_rows, strict=True):
            assert {k: excel_row[k] for k in plain_row} == plain_row
            for column in pence_columns:
                pounds = excel_row[column.removesuffix("_pence") + "_pounds"]
                if plain_row[column] == "":
                    assert pounds == ""
                    continue
                whole, point, part = pounds.lstrip("-").partition(".")
                assert point == "." and len(part) == 2 and whole.isdigit(), pounds
                assert Decimal(pounds) * 100 == int(plain_row[column])
                checked += 1
    assert checked > 1500  # allocations, coverage, grants, bids, explanations, ...


@pytest.mark.parametrize(
    ("pence", "text"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (-5, "-0.05"),
        (99, "0.99"),
        (100, "1.00"),
        (-100, "-1.00"),
        (123456, "1234.56"),
        (-1382702, "-13827.02"),
        # Through a float this comes out as 90071992547409.94, a penny out.
        (9007199254740993, "90071992547409.93"),
        (None, None),
    ],
)
def test_pounds_text_is_worked_in_whole_pence(pence: int | None, text: str | None) -> None:
    frame = pl.DataFrame({"cost_pence": [pence]}, schema={"cost_pence": pl.Int64})
    assert frame.select(pounds_text("cost_pence")).item() == text


def test_text_that_looks_like_a_formula_is_still_neutralised() -> None:
    frame = pl.DataFrame({"name": ["=HYPERLINK(1)"], "amount_pence": [-250]})
    text = excel_csv_bytes(frame).decode("utf-8")
    assert text == UTF8_BOM + "name,amount_pence,amount_pounds\n'=HYPERLINK(1),-250,-2.50\n"


def test_a_rerun_without_the_flag_removes_the_excel_copies(
    with_excel: Path, tmp_path: Path
) -> None:
    run = solve(tmp_path / "run", "--excel-csv")
    first = {p.name: p.read_bytes() for p in (run / EXCEL_CSV_FOLDER).iterdir()}
    assert first == {
        p.name: p.read_bytes() for p in (with_excel / EXCEL_CSV_FOLDER).iterdir()
    }  # the same inputs give the same bytes
    solve(run)
    assert not (run / EXCEL_CSV_FOLDER).exists()
