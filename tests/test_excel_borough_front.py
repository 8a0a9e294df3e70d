"""The first sheet of a borough's workbook, read back from disk: the lead's four questions
answered with the borough's own figures, equal to the run's CSV files to the penny.

Two real runs: the London fixture (Camden at benchmark everywhere) and the same scenario with
the MOPAC direct pot cut by 30 % (Croydon below benchmark in both services, Camden in one).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from conftest import FIXTURE_DIR
from openpyxl.chart.bar_chart import BarChart
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook
from test_excel_london import calamine_rows, pence, solved_run_dir

from commissioning.analysis.borough_paragraph import borough_paragraph
from commissioning.excel import write_borough_workbook
from commissioning.models import Scenario
from commissioning.money import pounds as pounds_text
from commissioning.optimise import solve
from commissioning.results import RunResult
from commissioning.scenario_io import scenario_from_data

CAMDEN, CROYDON = "E09000007", "E09000008"
RED = "00F8CBAD"  # the below-benchmark fill (styles.BELOW_BENCHMARK_FILL)
AREA_CODE = re.compile(r"E09\d{6}")


@pytest.fixture(scope="module")
def london_dir(tmp_path_factory: pytest.TempPathFactory, london_scenario: Scenario) -> Path:
    return solved_run_dir(tmp_path_factory.mktemp("front-london"), london_scenario)


@pytest.fixture(scope="module")
def cut_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The London scenario with the MOPAC direct pot cut by 30 %, so boroughs fall short, and
    Croydon allowed no MARAC coordinator beyond what it has, so a rule holds it below."""
    data = json.loads((FIXTURE_DIR / "scenario.json").read_text(encoding="utf-8"))
    pot = next(p for p in data["pots"] if p["id"] == "mopac_direct")
    for amount in pot["amounts"]:
        amount["amount_pence"] = amount["amount_pence"] * 7 // 10
    data["policy"]["area_limits"].append(
        {"area": CROYDON, "service": "marac_coordinator", "max_units": "0"}
    )
    run = solve(scenario_from_data(data, base_dir=FIXTURE_DIR))
    return run.write(tmp_path_factory.mktemp("front-cut") / "run")


CASES = {
    "camden": ("london_dir", CAMDEN),
    "croydon-cut": ("cut_dir", CROYDON),
    "camden-cut": ("cut_dir", CAMDEN),
}


class Case:
    """One borough's workbook from one run, with the run's CSV tables beside it."""

    def __init__(self, run_dir: Path, code: str, out: Path):
        self.run_dir, self.code = run_dir, code
        self.run = RunResult.read(run_dir)
        self.path = write_borough_workbook(self.run, code, out)
        self.book = openpyxl.load_workbook(self.path)
        self.ws: Worksheet = self.book["Summary"]
        self.name = self.run.scenario.area(code).name

    def csv(self, table: str) -> pl.DataFrame:
        frame = pl.read_csv(self.run_dir / f"{table}.csv", infer_schema_length=None)
        return frame.filter(pl.col("area_code") == self.code) if "area_code" in frame else frame

    def rows(self) -> list[tuple[Any, ...]]:
        return list(self.ws.iter_rows(values_only=True))

    def table(self, first_heading: str, heading_b: str | None = None) -> tuple[int, list[int]]:
        """The header row of a table on the Summary (by its first headings) and its data rows:
        down to the first row with nothing in column B (a note, or the end)."""
        found = [
            r
            for r in range(1, self.ws.max_row + 1)
            if self.ws.cell(r, 1).value == first_heading
            and (heading_b is None or self.ws.cell(r, 2).value == heading_b)
        ]
        assert len(found) == 1, f"{first_heading!r}: {found}"
        header, rows = found[0], []
        r = header + 1
        while self.ws.cell(r, 2).value is not None:
            rows.append(r)
            r += 1
        return header, rows

    def headings(self, row: int) -> dict[str, int]:
        return {
            str(c.value): c.column for c in self.ws[row] if c.value is not None and c.column > 0
        }


@pytest.fixture(scope="module", params=list(CASES))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Case:
    fixture, code = CASES[request.param]
    run_dir = request.getfixturevalue(fixture)
    return Case(run_dir, code, tmp_path_factory.mktemp("front") / f"{request.param}.xlsx")


def shown(ratio: float) -> float:
    """A coverage ratio rounded down to 0.1 %, as the paragraph states it."""
    return float(Decimal(math.floor(ratio * 1000 + 1e-9)) / 1000)


# ---- the sheet, its words and its facts ----


def test_the_front_comes_first_and_the_solver_details_last(case: Case) -> None:
    sheets = case.book.sheetnames
    assert sheets[0] == "Summary" and sheets[-1] == "Run details"
    assert sheets[1:4] == ["Funding", "Targets", "Coverage"]
    top = [r[0] for r in case.rows()[:4]]
    assert top[0] == f"{case.name}: VAWG services, funding and benchmark coverage"
    assert top[1].startswith(f"Scenario: {case.run.scenario.name}, years 2019/20 to 2021/22.")
    # The solver's record is not on the first screen, and what was not recorded is not a
    # headline: it is said once, in the details at the end.
    first_screen = [c for r in case.rows()[:40] for c in r if isinstance(c, str)]
    assert not [c for c in first_screen if "hash" in c.lower() or "Stage 1" in c]
    assert "not recorded" not in " ".join(map(str, top))
    about = {r[0]: r[1] for r in case.rows() if r[0] in ("Run", "Run date", "Borough")}
    assert about == {
        "Borough": f"{case.name} (ONS code {case.code})",
        "Run": "not recorded",
        "Run date": "not recorded",
    }
    details = {r[0]: r[1] for r in case.book["Run details"].iter_rows(values_only=True)}
    assert details["Scenario hash"] == case.run.summary["scenario_hash"]


def test_the_paragraph_for_every_year_opens_the_sheet(case: Case) -> None:
    found = {r[0]: r[1] for r in case.rows()[:12] if r[0] in case.run.scenario.financial_years}
    assert found == {
        y: borough_paragraph(case.run, case.code, y) for y in case.run.scenario.financial_years
    }


def test_a_recorded_run_id_and_date_are_in_the_heading(london_dir: Path, tmp_path: Path) -> None:
    run = RunResult.read(london_dir)
    dated = RunResult(
        run.scenario,
        run.tables,
        {**run.summary, "run_id": "run-8f2c", "run_date": "2026-11-30T09:15:00Z"},
    )
    ws = openpyxl.load_workbook(write_borough_workbook(dated, CAMDEN, tmp_path / "c.xlsx"))[
        "Summary"
    ]
    assert ", run run-8f2c, solved 30 November 2026." in ws["A2"].value
    about = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r[0] in ("Run", "Run date")}
    assert about == {"Run": "run-8f2c", "Run date": "30 November 2026 09:15"}


# ---- are we at benchmark, and what would it cost ----


def test_the_service_table_is_the_coverage_csv_with_the_cost_to_benchmark(case: Case) -> None:
    header, rows = case.table("Service", "Year")
    columns = case.headings(header)
    coverage = case.csv("coverage").filter(pl.col("target_units") > 0)
    cost = case.csv("cost_to_benchmark").filter(pl.col("level") == "cell")
    costs = {(r["service"], r["year"]): r for r in cost.iter_rows(named=True)}
    notes = [r[0] for r in case.rows() if r[0] and r[1] is None]
    services = {s.id: s for s in case.run.scenario.services}
    order = [b.service for b in case.run.scenario.benchmarks]
    expected = sorted(
        coverage.iter_rows(named=True), key=lambda r: (order.index(r["service"]), r["year"])
    )
    assert len(rows) == len(expected) == 6
    for r, want in zip(rows, expected, strict=True):
        got = {heading: case.ws.cell(r, j).value for heading, j in columns.items()}
        service = services[want["service"]]
        below = want["shortfall_units"] > 1e-9
        assert got["Service"] == f"{service.name} ({service.unit})"
        assert got["Year"] == want["year"]
        # The units as the CSV holds them, exactly (the workbook is made from the same text).
        assert [
            got[h]
            for h in (
                "Benchmark target",
                "Existing units",
                "Bid-funded units",
                "Funded units",
                "Total units",
            )
        ] == [
            want[k]
            for k in ("target_units", "existing_units", "bid_units", "funded_units", "total_units")
        ]
        assert got["Coverage of benchmark"] == shown(want["coverage_ratio"])
        assert got["Status"] == ("Below benchmark" if below else "At or above benchmark")
        cell = costs[(want["service"], want["year"])]
        if cell["status"] == "unreachable":
            # No money lifts a cell a rule holds: the table says so, and the note names the rule.
            assert got["Cost to reach benchmark"] == "held by a rule (see note)"
            (note,) = [n for n in notes if n.startswith(f"{service.name}: below benchmark")]
            assert f"held there by {cell['rule']}" in note
            # and what lifting the rule would cost, the figure the paragraphs count
            price = case.csv("explanations").filter(
                pl.col("service") == want["service"], pl.col("year") == want["year"]
            )["shortfall_pence"]
            assert f"(were it lifted, {pounds_text(price.item())} a year" in note
        else:
            assert pence(got["Cost to reach benchmark"]) == (cell["cost_pence"] if below else 0)
    held = cost.filter(pl.col("status") == "unreachable")
    assert held.height == (3 if case.code == CROYDON and "cut" in str(case.run_dir) else 0)


def test_red_is_only_ever_below_benchmark(case: Case) -> None:
    header, rows = case.table("Service", "Year")
    status = case.headings(header)["Status"]
    red = [
        (ws.title, c.coordinate)
        for ws in case.book.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.fill.fill_type == "solid" and c.fill.fgColor.rgb == RED
    ]
    below = [
        ("Summary", case.ws.cell(r, status).coordinate)
        for r in rows
        if case.ws.cell(r, status).value == "Below benchmark"
    ]
    assert red == below
    expected_below = case.csv("coverage").filter(pl.col("shortfall_units") > 1e-9).height
    assert len(below) == expected_below
    # No figure on the first sheet is drawn red by its number format either (a change is
    # signed, not red), and the Coverage sheet's only red rule is the borough's own coverage.
    for row in case.ws.iter_rows():
        for c in row:
            if "[Red]" in c.number_format and isinstance(c.value, int | float):
                assert c.value >= 0, c.coordinate
    coverage = case.book["Coverage"]
    rules = {str(cf.sqref) for cf in coverage.conditional_formatting}
    assert rules == {f"I6:I{5 + case.csv('coverage').height}"}
    assert all("[Red]" not in c.number_format for c in coverage["K"])


def test_the_headline_says_where_the_borough_stands(case: Case) -> None:
    headline = case.ws["A4"].value
    below = case.csv("coverage").filter(pl.col("shortfall_units") > 1e-9)
    if below.is_empty():
        assert headline == (
            f"{case.name} is at or above benchmark in every benchmarked service, every year."
        )
        return
    assert headline.startswith(f"{case.name} is below benchmark in ")
    per_year = case.csv("cost_to_benchmark").filter(pl.col("level") == "borough")
    for r in per_year.filter(pl.col("cost_pence") > 0).iter_rows(named=True):
        whole, part = divmod(r["cost_pence"], 100)
        assert f"£{whole:,}{f'.{part:02d}' if part else ''} in {r['year']}" in headline


# ---- what do we get, and what changed ----


def _expected_sources(case: Case) -> dict[str, dict[str, int]]:
    """Label -> pence by year: each pot's services, grants, then commitments naming the
    borough, pots in the scenario's order."""
    found: dict[str, dict[str, int]] = {}
    for table, money, kind in (
        ("allocations", "cost_pence", "services"),
        ("grants", "allocated_pence", "grant"),
        ("commitments", "amount_pence", "fixed commitments"),
    ):
        rows = case.csv(table)
        for pot in case.run.scenario.pots:
            mine = rows.filter(pl.col("pot") == pot.id)
            if mine.height:
                by_year: dict[str, int] = defaultdict(int)
                for r in mine.iter_rows(named=True):
                    by_year[r["year"]] += r[money]
                found[f"{pot.name}: {kind}"] = by_year
    return found


def test_money_by_source_and_the_change_on_last_year_equal_the_csv(case: Case) -> None:
    years = case.run.scenario.financial_years
    header, rows = case.table(f"Paid to {case.name} from")
    columns = case.headings(header)
    assert list(columns) == [
        f"Paid to {case.name} from",
        "2018/19 (last year)",
        *years,
        "Change in 2019/20",
        "Change in 2020/21",
        "Change in 2021/22",
    ]
    expected = _expected_sources(case)
    grants = {r["year"]: r for r in case.csv("grants").iter_rows(named=True)}
    got = {case.ws.cell(r, 1).value: r for r in rows}
    assert list(got) == [*expected, "Total"]
    for label, by_year in expected.items():
        r = got[label]
        assert [pence(case.ws.cell(r, columns[y]).value) for y in years] == [
            by_year[y] for y in years
        ]
        changes = [case.ws.cell(r, j).value for j in range(columns[years[-1]] + 1, 3 + 2 * 3)]
        last_year = case.ws.cell(r, 2).value
        if label.endswith(": grant"):
            # Last year's grant and each change are the grants table's own figures.
            assert pence(last_year) == grants[years[0]]["previous_pence"]
            assert [pence(c) for c in changes] == [grants[y]["change_pence"] for y in years]
        else:
            assert last_year == "not recorded" and changes[0] == "not recorded"
            assert [pence(c) for c in changes[1:]] == [
                by_year[b] - by_year[a] for a, b in itertools.pairwise(years)
            ]
    total = got["Total"]
    assert [pence(case.ws.cell(total, columns[y]).value) for y in years] == [
        sum(v[y] for v in expected.values()) for y in years
    ]
    for y in years:
        ((sheet, ref),) = case.book.defined_names[
            f"Borough_Total_{y.replace('/', '_')}"
        ].destinations
        assert (sheet, ref) == (
            "Summary",
            f"${case.ws.cell(total, columns[y]).column_letter}${total}",
        )
    # Last year's total is known only when every source's last year is.
    if all(label.endswith(": grant") for label in expected):
        assert pence(case.ws.cell(total, 2).value) == grants[years[0]]["previous_pence"]
    else:
        assert case.ws.cell(total, 2).value == "not recorded"


def test_a_borough_given_only_a_grant_sees_only_its_grant(london_dir: Path, tmp_path: Path) -> None:
    run = RunResult.read(london_dir)
    funded = set(run.table("allocations")["area_code"])
    code = next(a.code for a in run.scenario.areas if a.code not in funded)
    case = Case(london_dir, code, tmp_path / "grant-only.xlsx")
    _, rows = case.table(f"Paid to {case.name} from")
    assert [case.ws.cell(r, 1).value for r in rows] == [
        "London Crime Prevention Fund (VAWG): grant",
        "Total",
    ]
    assert len(case.ws._charts) == 3


# ---- charts, drawn from cells on the sheet ----


def _cells(ws: Worksheet, ref: str) -> list[Any]:
    sheet, area = ref.rsplit("!", 1)
    assert sheet == "'Summary'"
    cells = ws[area.replace("$", "")]
    if not isinstance(cells, tuple):
        return [cells.value]
    flat = [c for row in cells for c in (row if isinstance(row, tuple) else (row,))]
    return [c.value for c in flat]


def test_charts_show_coverage_money_and_the_grant_from_the_sheets_cells(case: Case) -> None:
    ws, years = case.ws, case.run.scenario.financial_years
    charts = ws._charts
    assert [type(c) for c in charts] == [BarChart, BarChart, BarChart]
    coverage, money, grant = charts

    # Coverage: one bar series per year, a bar per service, the benchmark as a line at 100 %.
    assert [_cells(ws, s.tx.strRef.f)[0] for s in coverage.series] == years
    table = case.csv("coverage").filter(pl.col("target_units") > 0)
    for s, year in zip(coverage.series, years, strict=True):
        want = table.filter(pl.col("year") == year)["coverage_ratio"].to_list()
        assert _cells(ws, s.val.numRef.f) == [shown(r) for r in want]
    (line,) = coverage._charts[1].series
    assert _cells(ws, line.tx.strRef.f) == ["Benchmark"]
    assert _cells(ws, line.val.numRef.f) == [1, 1]
    assert coverage.y_axis.number_format.formatCode == "0%"
    assert coverage.y_axis.scaling.min == 0

    # Money: stacked, one series per source row of the table, the years as categories.
    _, rows = case.table(f"Paid to {case.name} from")
    assert money.grouping == "stacked"
    assert [s.tx.strRef.f for s in money.series] == [f"'Summary'!$A${r}" for r in rows[:-1]]
    expected = _expected_sources(case)
    for s in money.series:
        label = _cells(ws, s.tx.strRef.f)[0]
        assert [pence(v) for v in _cells(ws, s.val.numRef.f)] == [expected[label][y] for y in years]
        assert _cells(ws, s.cat.strRef.f) == years

    # The grant against its formula target and last year's grant, year by year.
    grants = case.csv("grants")
    assert [_cells(ws, s.tx.strRef.f)[0] for s in grant.series] == [
        "Last year's grant",
        "Grant",
        "Formula target",
    ]
    for s, column in zip(
        grant.series, ("previous_pence", "allocated_pence", "target_pence"), strict=True
    ):
        assert [pence(v) for v in _cells(ws, s.val.numRef.f)] == grants[column].to_list()
    assert _cells(ws, grant.series[0].cat.strRef.f) == years
    # The axis does not start at zero, and says so.
    start = grant.y_axis.scaling.min
    assert 0 < start < grants["previous_pence"].min() / 100
    assert f"axis starts at £{start:,.0f}" in str(grant.y_axis.title.tx.rich.p[0].r[0].t)

    # Side by side below the tables, none over another or over any cell with something in it.
    anchors = [(c.anchor._from.col, c.anchor.to.col, c.anchor._from.row) for c in charts]
    assert anchors[0][0] == 0 and all(a[1] <= b[0] for a, b in itertools.pairwise(anchors))
    top, bottom = charts[0].anchor._from.row + 1, charts[0].anchor.to.row + 1
    assert top > rows[-1] and all(a[2] + 1 == top for a in anchors)
    assert not [c.coordinate for r in ws.iter_rows(top, bottom) for c in r if c.value is not None]


# ---- only the borough's own rows, and the same bytes every time ----


def test_no_other_boroughs_figures_anywhere(case: Case) -> None:
    others = {a.code: a.name for a in case.run.scenario.areas if a.code != case.code}
    book = CalamineWorkbook.from_path(str(case.path))
    for sheet in book.sheet_names:
        for row in calamine_rows(book, sheet):
            for cell in row:
                if isinstance(cell, str):
                    assert not set(AREA_CODE.findall(cell)) & set(others), (sheet, cell)
                    assert cell not in others.values(), (sheet, cell)


def test_rewriting_gives_the_same_bytes(case: Case, tmp_path: Path) -> None:
    again = write_borough_workbook(case.run, case.code, tmp_path / "again.xlsx")
    assert again.read_bytes() == case.path.read_bytes()


# ---- nothing overlaps, nothing is cut off ----

# A lower bound of the room text needs, independent of commissioning.excel.fit's estimate:
# Calibri, the narrowest font these sheets are drawn in, takes at least 0.75 of a column unit a
# character of prose, and a line of 11-point text 15 points of row.
NARROWEST = 0.75


def _width(ws: Worksheet, column: int) -> float:
    dimension = ws.column_dimensions[openpyxl.utils.get_column_letter(column)]
    return float(dimension.width) if dimension.customWidth else 8.43


def _cell_width(ws: Worksheet, row: int, column: int) -> float:
    for merged in ws.merged_cells.ranges:
        if (merged.min_row, merged.min_col) == (row, column):
            return sum(_width(ws, c) for c in range(merged.min_col, merged.max_col + 1))
    return _width(ws, column)


def test_wrapped_text_has_the_lines_it_needs_and_nothing_is_cut_off(case: Case) -> None:
    checked = 0
    for ws in case.book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if not isinstance(c.value, str) or type(c).__name__ == "MergedCell":
                    continue
                width = _cell_width(ws, c.row, c.column)
                size = (c.font.sz or 11) / 11
                if c.alignment.wrap_text:
                    longest = max(len(w) for w in c.value.split())
                    # Every word fits across the cell: no heading is cut mid-word.
                    assert longest * NARROWEST * size <= width, (ws.title, c.coordinate)
                    lines = math.ceil(len(c.value) * NARROWEST * size / width)
                    height = ws.row_dimensions[c.row].height or 15
                    assert height >= 15 * size * lines, (ws.title, c.coordinate, c.value)
                    checked += 1
                elif ws.cell(c.row, c.column + 1).value not in (None, ""):
                    # Text with a neighbour cannot spill over: its column holds it.
                    assert len(c.value) * NARROWEST * size <= width, (ws.title, c.coordinate)
    # The paragraphs, headings and the Coverage sheet's explanations (rows of a long table,
    # whose heights are written with its XML) are all among them.
    coverage = case.book["Coverage"]
    explained = [r for r in range(6, coverage.max_row + 1) if coverage.cell(r, 14).value]
    assert explained and all((coverage.row_dimensions[r].height or 0) > 15 for r in explained)
    assert checked > 50
