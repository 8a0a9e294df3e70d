"""Sheets written as XML (excel.sheet_xml, excel.table_xml) hold exactly what openpyxl writes.

Every case writes the same values twice: once through `SheetWriter.table` (an openpyxl cell per
value, the way every long table was written before) saved by openpyxl alone, and once through
`SheetWriter.long_table` (a polars frame made into row XML) saved by `files.save_workbook`;
then it compares every part of the two files byte for byte: the sheet XML, the styles, the
tables and the widths. Only the file's dates differ (openpyxl stamps the time of saving).
Every case runs twice: with the table studied and written by polars, and by plain Python as
a small table is (excel.small_table).
"""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from openpyxl.comments import Comment

from commissioning.excel import small_table, styles
from commissioning.excel.files import add_sheet, new_workbook, save_workbook
from commissioning.excel.layout import Column, Formula, SheetWriter, Value, pounds

STAMP = datetime(2019, 4, 1)
ROWS = 24

TEXT = [
    "plain",
    "a & b < c > d",
    " odd & <escaped> ",
    "=a>b&c<d",
    " leading space",
    "trailing space ",
    "   ",
    "",
    "=SUM(A1:A3)",
    "+44 20",
    "-minus",
    "@mention",
    "\ttab first",
    "#N/A",
    "#n/a",
    "two\nlines",
    "carriage\r\nreturn",
    "control\x01character",
    "line\u2028separator",
    "\u3000ideographic space",
    "no-break space\u00a0",
    "＝full width",
    "'apostrophe",
    "emoji 😀 and ü",
    "x" * 33_000,
    None,
]
FLOATS = [
    0.1 + 0.2,
    9485.64,
    -0.0,
    0.0,
    float("nan"),
    float("inf"),
    -float("inf"),
    1e17,
    1e-7,
    123456789.123456,
    None,
    2.5,
    -1e-300,
    5e-324,
    0.9905058062500004,
    -1534.36,
]
WHOLE = [0, -5, 10**16, -(10**17), 2**53 + 1, None, 7, 123_456_789]
PENCE = [0, 1, -1, 5, 12_340, 948_564, -153_436, 10**15 + 3, 10**17 + 7, 2**53 + 1, None]


@pytest.fixture(autouse=True, params=["polars", "python"])
def way_of_writing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every table here is small: the polars way is taken when no table counts as small."""
    if request.param == "polars":
        monkeypatch.setattr(small_table, "SMALL_TABLE_CELLS", -1)
    return str(request.param)


def padded(values: list[Any]) -> list[Any]:
    """`values` repeated to ROWS rows, so every column of a case is as long as the others."""
    return [values[i % len(values)] for i in range(ROWS)]


def as_values(columns: list[Column], frame: pl.DataFrame) -> list[list[Value]]:
    """The frame's rows as the values `SheetWriter.table` takes: pence as exact pounds."""
    return [
        [pounds(v) if c.pence and v is not None else v for c, v in zip(columns, row, strict=True)]
        for row in frame.rows()
    ]


def both_ways(
    folder: Path, columns: list[Column], frame: pl.DataFrame, table_name: str | None = "tblTest"
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The parts of the workbook written cell by cell, and of the one written as XML.

    A second sheet follows with cells of its own, so the style ids after the table count too.
    """
    parts = []
    for way in ("cells", "xml"):
        wb = new_workbook("Test", "Long tables", STAMP)
        writer = SheetWriter(add_sheet(wb, "Table"))
        writer.title("A long table", "What one row means.")
        writer.skip()
        if way == "cells":
            writer.table(columns, as_values(columns, frame), table_name)
        else:
            writer.long_table(columns, frame, table_name)
        writer.finish(freeze="B5", title_rows="4:4")
        after = SheetWriter(add_sheet(wb, "After"))
        after.table(
            [Column("Share", "0.000%"), Column("Amount", styles.POUNDS), Column("Note", wrap=True)],
            [[0.25, pounds(12_345), "wrapped"], [None, None, " a < b & c "], [1e17, -0.0, ""]],
        )
        after.cell(after.row, 1, Formula("=SUM(B1:B2)"), styles.POUNDS)
        after.ws.row_dimensions[after.row].height = 30
        # Cells sheet_xml leaves to openpyxl: a date, a hyperlink, a comment, a boolean.
        after.ws.cell(row=after.row + 1, column=1, value=datetime(2020, 3, 31))
        link = after.ws.cell(row=after.row + 1, column=2, value="MOPAC")
        link.hyperlink = "https://www.london.gov.uk/mopac"
        after.ws.cell(row=after.row + 1, column=3, value="noted").comment = Comment("why", "me")
        after.ws.cell(row=after.row + 1, column=4, value=True)
        after.finish()
        path = folder / f"{way}.xlsx"
        if way == "cells":
            wb.save(path)  # openpyxl's own writer, cell by cell
        else:
            save_workbook(wb, path, STAMP)
        with zipfile.ZipFile(path) as archive:
            parts.append(
                {
                    name: archive.read(name)
                    for name in archive.namelist()
                    if name != "docProps/core.xml"
                }
            )
    return parts[0], parts[1]


def assert_same_workbook(cells: dict[str, bytes], xml: dict[str, bytes]) -> None:
    assert list(cells) == list(xml)
    for name in cells:
        assert cells[name] == xml[name], name


def test_every_kind_of_value_is_written_as_openpyxl_writes_it(tmp_path: Path) -> None:
    columns = [
        Column("Text"),
        Column("Wrapped text", width=40, wrap=True),
        Column("Units", styles.UNITS),
        Column("Share", styles.SHARE),
        Column("Plain number"),
        Column("Custom format", "0.000"),
        Column("Whole", styles.WHOLE),
        Column("Money", styles.POUNDS, pence=True),
        Column("Wrapped money", styles.POUNDS, wrap=True, pence=True),
        Column("Selected"),
        Column("Nothing"),
        Column("Nothing, wrapped", wrap=True),
    ]
    frame = pl.DataFrame(
        {
            "text": padded(TEXT),
            "wrapped": padded(list(reversed(TEXT))),
            "units": padded(FLOATS),
            "share": padded(list(reversed(FLOATS))),
            "plain": padded(FLOATS[3:] + FLOATS[:3]),
            "custom": padded(FLOATS[5:]),
            "whole": padded(WHOLE),
            "money": padded(PENCE),
            "wrapped money": padded(list(reversed(PENCE))),
            "selected": padded([True, False, None, True]),
            "nothing": [None] * ROWS,
            "nothing wrapped": [None] * ROWS,
        },
        schema_overrides={"units": pl.Float64, "whole": pl.Int64, "money": pl.Int64},
    )
    assert frame["nothing"].dtype == pl.Null
    assert_same_workbook(*both_ways(tmp_path, columns, frame))


def test_the_first_value_of_a_column_may_come_late(tmp_path: Path) -> None:
    """Styles are numbered as cells first use them, row by row, blank or not."""
    columns = [
        Column("Late money", styles.POUNDS, pence=True),
        Column("Late wrap", wrap=True),
        Column("Early share", styles.PERCENT),
    ]
    frame = pl.DataFrame(
        {
            "money": [None, None, None, 5],
            "wrap": [None, "x", None, None],
            "share": [0.5, None, float("nan"), 1.0],
        }
    )
    assert_same_workbook(*both_ways(tmp_path, columns, frame))


def test_columns_are_as_wide_as_their_widest_value(tmp_path: Path) -> None:
    """Short headings, no blanks: the values alone set each fitted width."""
    columns = [
        Column("P", styles.PERCENT),
        Column("N", styles.UNITS),
        Column("I"),
        Column("M", styles.POUNDS, pence=True),
        Column("T"),
        Column("B"),
        Column("W", wrap=True),
    ]
    frame = pl.DataFrame(
        {
            "p": [0.5, float("nan")],
            "n": [float("nan"), 1.0],
            "i": [5, -123_456],
            "m": [12_345_678_912, -5],
            "t": ["abc", "a much longer text, but\nin two lines"],
            "b": [True, False],
            "w": ["wrapped text sets no width", None],
        }
    )
    assert_same_workbook(*both_ways(tmp_path, columns, frame))


def test_whole_numbers_beyond_a_floats_precision(tmp_path: Path) -> None:
    """openpyxl writes an integer as "%.16g" of its float: 2**53 + 1 becomes ...992."""
    columns = [Column("Above 2**53"), Column("Lowest Int64", styles.WHOLE)]
    frame = pl.DataFrame({"above": [2**53 + 1, 5], "lowest": [-(2**63), None]})
    assert_same_workbook(*both_ways(tmp_path, columns, frame))


def test_a_table_without_rows_or_name(tmp_path: Path) -> None:
    columns = [Column("Year"), Column("Cost", styles.POUNDS, pence=True)]
    empty = pl.DataFrame({"year": [], "cost": []}, schema={"year": pl.String, "cost": pl.Int64})
    (tmp_path / "empty").mkdir()
    assert_same_workbook(*both_ways(tmp_path / "empty", columns, empty))
    (tmp_path / "unnamed").mkdir()
    one = pl.DataFrame({"year": ["2019/20"], "cost": [100]})
    assert_same_workbook(*both_ways(tmp_path / "unnamed", columns, one, table_name=None))


def test_pence_must_be_whole_numbers(tmp_path: Path) -> None:
    wb = new_workbook("Test", "Long tables", STAMP)
    writer = SheetWriter(add_sheet(wb, "Table"))
    with pytest.raises(TypeError, match="whole numbers"):
        writer.long_table([Column("Cost", pence=True)], pl.DataFrame({"cost": [1.5]}))


def test_a_sheet_holds_one_long_table(tmp_path: Path) -> None:
    wb = new_workbook("Test", "Long tables", STAMP)
    writer = SheetWriter(add_sheet(wb, "Table"))
    writer.long_table([Column("A")], pl.DataFrame({"a": ["x"]}))
    with pytest.raises(ValueError, match="already has a long table"):
        writer.long_table([Column("A")], pl.DataFrame({"a": ["y"]}))


KINDS = {
    "text": (st.text(max_size=12) | st.sampled_from([t for t in TEXT if t is not None]), None),
    "float": (st.floats(allow_nan=True, allow_infinity=True), pl.Float64),
    "whole": (st.integers(min_value=-(2**63), max_value=2**63 - 1), pl.Int64),
    "pence": (st.integers(min_value=-(10**18), max_value=10**18), pl.Int64),
    "yes/no": (st.booleans(), pl.Boolean),
}
FORMATS = [None, styles.UNITS, styles.PERCENT, styles.POUNDS, "0.0000", styles.WHOLE]


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[Column], pl.DataFrame]:
    rows = draw(st.integers(min_value=1, max_value=8))
    columns, data, schema = [], {}, {}
    for j in range(draw(st.integers(min_value=1, max_value=5))):
        kind = draw(st.sampled_from(sorted(KINDS)))
        values, dtype = KINDS[kind]
        cells = draw(st.lists(st.none() | values, min_size=rows, max_size=rows))
        columns.append(
            Column(
                f"Column {j}",
                draw(st.sampled_from(FORMATS)),
                wrap=draw(st.booleans()),
                pence=kind == "pence",
            )
        )
        data[f"c{j}"] = cells
        schema[f"c{j}"] = dtype or pl.String
    return columns, pl.DataFrame(data, schema=schema)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=tables())
def test_any_table_is_written_as_openpyxl_writes_it(
    tmp_path: Path, table: tuple[list[Column], pl.DataFrame]
) -> None:
    columns, frame = table
    note(f"{columns}\n{frame.to_dicts()}")
    for old in tmp_path.glob("*.xlsx"):
        old.unlink()
    assert_same_workbook(*both_ways(tmp_path, columns, frame))
