"""The London workbook, read back from disk with openpyxl and with python-calamine.

The run is the real London 2019 solve, written to a run directory and read back, so the
workbook is built exactly as the CLI and API build it. Money is compared in whole pence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook

from commissioning.excel import export_workbook, write_london_workbook
from commissioning.excel.styles import POUNDS
from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.results import RunResult
from commissioning.runs import write_run

LONDON_SHEETS = [
    "Summary",
    "Coverage map",
    "Coverage by borough",
    "Allocations",
    "Coverage",
    "Pots",
    "Commitments",
    "Grants",
    "Bids",
    "Cost to benchmark",  # the marginal value sheet needs runs.with_marginal_value
    "Binding rules",
    "Need",
    "Methodology",
]
FORBIDDEN_IN_SHEET_NAMES = set("[]:*?/\\")
HEADER_ROW, FIRST_ROW = 5, 6  # the layout every long-table sheet shares


# ---- shared with the borough and safety tests (imported from here) ----


def solved_run_dir(folder: Path, scenario: Scenario) -> Path:
    """Solve for real and write the run directory that the workbooks are built from."""
    run = solve(scenario)
    # The London fixture has a formula grant and a bid round, so both optional tables exist.
    assert {"grants", "bids"} <= set(run.tables)
    return run.write(folder / "run")


def pence(value: object) -> int:
    """A money cell read back from disk, in whole pence; fails if it is not a whole penny."""
    assert isinstance(value, int | float), f"not a number: {value!r}"
    amount = Decimal(str(value)) * 100
    assert amount == amount.to_integral_value(), f"{value!r} is not a whole number of pence"
    return int(amount)


def calamine_rows(book: CalamineWorkbook, sheet: str) -> list[list[Any]]:
    return book.get_sheet_by_name(sheet).to_python()


def block(
    rows: list[list[Any]], first_heading: str, second_heading: str | None = None
) -> Iterator[list[Any]]:
    """Rows of a small table on a sheet: from under its heading row to the first blank row.
    The heading row is the first whose first heading (and second, when given) match."""
    top = next(
        i
        for i, r in enumerate(rows)
        if r and r[0] == first_heading and (second_heading is None or r[1] == second_heading)
    )
    for row in rows[top + 1 :]:
        if not row or row[0] in ("", None):
            return
        yield row


# ---- fixtures ----


@pytest.fixture(scope="session")
def london_run_dir(tmp_path_factory: pytest.TempPathFactory, london_scenario: Scenario) -> Path:
    return solved_run_dir(tmp_path_factory.mktemp("excel-london"), london_scenario)


@pytest.fixture(scope="session")
def london_run(london_run_dir: Path) -> RunResult:
    return RunResult.read(london_run_dir)


@pytest.fixture(scope="session")
def london_book_path(london_run: RunResult, london_run_dir: Path) -> Path:
    return write_london_workbook(london_run, london_run_dir.parent / "london.xlsx")


@pytest.fixture(scope="session")
def book(london_book_path: Path) -> Workbook:
    return openpyxl.load_workbook(london_book_path)  # formulas kept as text


@pytest.fixture(scope="session")
def calamine(london_book_path: Path) -> CalamineWorkbook:
    return CalamineWorkbook.from_path(str(london_book_path))


def csv_table(run_dir: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(run_dir / f"{name}.csv", infer_schema_length=None)


# ---- structure ----


def test_sheets_are_the_promised_ones_with_valid_names(
    book: Workbook, calamine: CalamineWorkbook
) -> None:
    assert book.sheetnames == LONDON_SHEETS
    assert calamine.sheet_names == LONDON_SHEETS
    for name in book.sheetnames:
        assert len(name) <= 31 and not FORBIDDEN_IN_SHEET_NAMES & set(name)


def test_grants_and_bids_sheets_only_when_the_run_has_them(
    london_run: RunResult, tmp_path: Path
) -> None:
    tables = {k: v for k, v in london_run.tables.items() if k not in ("grants", "bids")}
    path = write_london_workbook(
        RunResult(london_run.scenario, tables, london_run.summary), tmp_path / "plain.xlsx"
    )
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    assert "Grants" not in names and "Bids" not in names
    assert names == [n for n in LONDON_SHEETS if n not in ("Grants", "Bids")]


# ---- money reconciles to the penny ----


@pytest.mark.parametrize("reader", ["openpyxl", "calamine"])
def test_summary_pots_reconcile_to_the_csv_to_the_penny(
    reader: str,
    london_run_dir: Path,
    london_run: RunResult,
    book: Workbook,
    calamine: CalamineWorkbook,
) -> None:
    if reader == "openpyxl":
        rows = [list(r) for r in book["Summary"].iter_rows(values_only=True)]
    else:
        rows = calamine_rows(calamine, "Summary")
    pots = csv_table(london_run_dir, "pots")
    money = ["budget_pence", "committed_pence", "allocated_pence", "unspent_pence"]
    expected = {
        r["pot"]: [r[m] for m in money]
        for r in pots.group_by("pot").agg(pl.col(money).sum()).iter_rows(named=True)
    }
    found = {row[0]: [pence(v) for v in row[1:5]] for row in block(rows, "Pot")}
    grand = found.pop("Total")
    # Pots by name, as people read them.
    names = dict(pots.select("pot", "pot_name").iter_rows())
    assert found == {names[pot]: amounts for pot, amounts in expected.items()}
    assert grand == [int(pots[m].sum()) for m in money]
    if "totals_pence" in london_run.summary:  # the optimiser's own totals agree too
        t = london_run.summary["totals_pence"]
        assert grand == [t["budget"], t["committed"], t["allocated"], t["unspent"]]

    by_year = {row[0]: [pence(v) for v in row[1:5]] for row in block(rows, "Year", "Budget")}
    assert by_year.pop("Total") == grand
    assert by_year == {
        r["year"]: [r[m] for m in money]
        for r in pots.group_by("year").agg(pl.col(money).sum()).iter_rows(named=True)
    }


def test_spend_by_service_adds_up_to_committed_plus_allocated(
    london_run_dir: Path, calamine: CalamineWorkbook
) -> None:
    rows = calamine_rows(calamine, "Summary")
    services = {
        row[0]: [pence(v) for v in row[1:4]] for row in block(rows, "Service or commitment")
    }
    total = services.pop("Total")
    assert total[0] == csv_table(london_run_dir, "commitments")["amount_pence"].sum()
    assert total[1] == csv_table(london_run_dir, "allocations")["cost_pence"].sum()
    assert total[2] == total[0] + total[1]
    assert [sum(column) for column in zip(*services.values(), strict=True)] == total
    pots = csv_table(london_run_dir, "pots")
    assert total[:2] == [pots["committed_pence"].sum(), pots["allocated_pence"].sum()]
    # Named, never by id; the formula grant buys no single service, so it has a row of its
    # own, named by the commitment.
    commitments = csv_table(london_run_dir, "commitments")
    serviceless = commitments.filter(pl.col("service").is_null())["name"].unique().to_list()
    assert serviceless and set(serviceless) <= set(services)
    assert not {"idva", "commitment", "lcpf"} & set(services)


def test_named_totals_point_at_the_pot_totals(london_run_dir: Path, book: Workbook) -> None:
    pots = csv_table(london_run_dir, "pots")
    for name, column in [
        ("Total_Budget", "budget_pence"),
        ("Total_Committed", "committed_pence"),
        ("Total_Allocated", "allocated_pence"),
        ("Total_Unspent", "unspent_pence"),
    ]:
        ((sheet, ref),) = book.defined_names[name].destinations
        assert sheet == "Summary"
        assert pence(book[sheet][ref.replace("$", "")].value) == pots[column].sum(), name
    ((sheet, ref),) = book.defined_names["Allocations_Total"].destinations
    assert (
        pence(book[sheet][ref.replace("$", "")].value)
        == csv_table(london_run_dir, "allocations")["cost_pence"].sum()
    )


def test_pot_check_column_is_a_live_formula_on_its_own_row(
    book: Workbook, london_run: RunResult
) -> None:
    ws = book["Summary"]
    checks = [
        (cell.row, cell.value)
        for (cell,) in ws.iter_rows(min_col=6, max_col=6)
        if isinstance(cell.value, str) and cell.value.startswith("=")
    ]
    assert len(checks) == len(london_run.scenario.pots) + 1  # each pot and the total
    for row, formula in checks:
        # Rounded to the penny: a spreadsheet subtracts in binary and showed a red −£0.00.
        assert formula == f"=ROUND(B{row}-C{row}-D{row}-E{row},2)"
        assert ws[f"F{row}"].number_format == POUNDS


def test_allocations_table_holds_every_csv_row_exactly(
    london_run_dir: Path, book: Workbook, calamine: CalamineWorkbook
) -> None:
    allocations = csv_table(london_run_dir, "allocations")
    ws = book["Allocations"]
    last = HEADER_ROW + allocations.height
    assert ws.tables["tblAllocations"].ref == f"A{HEADER_ROW}:I{last}"
    rows = calamine_rows(calamine, "Allocations")[FIRST_ROW - 1 : last]
    found = [(r[0], r[1], r[3], r[5], r[7], pence(r[8])) for r in rows]
    expected = [
        (r["year"], r["area_code"], r["service"], r["pot"], r["units"], r["cost_pence"])
        for r in allocations.iter_rows(named=True)
    ]
    assert found == expected
    assert pence(ws["I3"].value) == allocations["cost_pence"].sum()
    assert ws["I4"].value == f"=SUBTOTAL(109,I{FIRST_ROW}:I{last})"
    assert all(ws[f"I{r}"].number_format == POUNDS for r in range(FIRST_ROW, last + 1))


def test_pots_sheet_matches_the_csv(london_run_dir: Path, calamine: CalamineWorkbook) -> None:
    pots = csv_table(london_run_dir, "pots")
    rows = calamine_rows(calamine, "Pots")[FIRST_ROW - 1 : HEADER_ROW + pots.height]
    assert [(r[0], r[1], *map(pence, r[4:8])) for r in rows] == [
        (
            r["year"],
            r["pot"],
            r["budget_pence"],
            r["committed_pence"],
            r["allocated_pence"],
            r["unspent_pence"],
        )
        for r in pots.iter_rows(named=True)
    ]


def test_grants_and_bids_sheets_match_the_csv(
    london_run_dir: Path, calamine: CalamineWorkbook
) -> None:
    grants = csv_table(london_run_dir, "grants")
    rows = calamine_rows(calamine, "Grants")
    assert pence(rows[2][7]) == grants["allocated_pence"].sum()
    assert [(r[3], pence(r[7])) for r in rows[FIRST_ROW - 1 :]] == [
        (r["area_code"], r["allocated_pence"]) for r in grants.iter_rows(named=True)
    ]
    bids = csv_table(london_run_dir, "bids")
    rows = calamine_rows(calamine, "Bids")
    selected = bids.filter(pl.col("selected"))
    # Row 3 totals every row, as on every table sheet, and the selected bids beside it.
    assert rows[2][4] == "Total, all rows" and pence(rows[2][5]) == bids["cost_pence"].sum()
    assert rows[2][7] == "Total, selected bids"
    assert pence(rows[2][8]) == selected["cost_pence"].sum() < bids["cost_pence"].sum()
    assert [(r[0], r[2]) for r in rows[FIRST_ROW - 1 :]] == [
        (r["bid"], "Yes" if r["selected"] else "No") for r in bids.iter_rows(named=True)
    ]


# ---- coverage ----


def test_coverage_rows_match_and_below_benchmark_is_highlighted(
    london_run_dir: Path, book: Workbook, calamine: CalamineWorkbook
) -> None:
    coverage = csv_table(london_run_dir, "coverage")
    last = HEADER_ROW + coverage.height
    rows = calamine_rows(calamine, "Coverage")[FIRST_ROW - 1 : last]
    for got, want in zip(rows, coverage.iter_rows(named=True), strict=True):
        assert (got[0], got[1], got[3]) == (want["year"], want["area_code"], want["service"])
        assert got[5] == pytest.approx(want["target_units"])
        assert (got[6], got[7]) == pytest.approx((want["existing_units"], want["bid_units"]))
        assert got[11] == pytest.approx(want["shortfall_units"])
        if want["coverage_ratio"] is None:
            assert got[10] == ""
        else:
            assert got[10] == pytest.approx(want["coverage_ratio"])
        assert pence(got[12]) == want["funded_cost_pence"]
        assert got[13] == want["explanation"]
    codes = {
        (r["year"], r["area_code"], r["service"]): r["reason_code"]
        for r in csv_table(london_run_dir, "explanations").iter_rows(named=True)
    }
    assert [row[14] for row in rows] == [
        codes[(r["year"], r["area_code"], r["service"])] for r in coverage.iter_rows(named=True)
    ]

    ws = book["Coverage"]
    rules = {(str(cf.sqref), rule.type) for cf in ws.conditional_formatting for rule in cf.rules}
    assert rules == {(f"K{FIRST_ROW}:K{last}", "cellIs"), (f"K{FIRST_ROW}:K{last}", "dataBar")}
    below = next(r for cf in ws.conditional_formatting for r in cf.rules if r.type == "cellIs")
    assert (below.operator, below.formula) == ("lessThan", ["1"])
    assert below.dxf is not None and below.dxf.fill is not None
    assert ws[f"K{FIRST_ROW}"].number_format == "0.0%"


# ---- looks professional ----


def test_every_sheet_is_frozen_and_prints_landscape_one_page_wide(book: Workbook) -> None:
    for ws in book.worksheets:
        assert ws.freeze_panes, ws.title
        assert ws.page_setup.orientation == "landscape", ws.title
        # The map and its key print on one page; other sheets run as many pages as they need.
        tall = 1 if ws.title == "Coverage map" else 0
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, tall), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    for name in ("Allocations", "Coverage", "Pots", "Commitments", "Grants", "Bids", "Need"):
        ws = book[name]
        assert ws.freeze_panes.endswith(str(FIRST_ROW)), name  # heading row stays in view
        assert ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}", name
        (table,) = ws.tables.values()
        assert table.ref.startswith(f"A{HEADER_ROW}:") and table.autoFilter is not None, name


def test_money_columns_use_the_pound_format(book: Workbook) -> None:
    def formats(ws: Worksheet, column: str) -> set[str]:
        return {
            ws[f"{column}{r}"].number_format
            for r in range(FIRST_ROW, ws.max_row + 1)
            if ws[f"{column}{r}"].value is not None
        }

    for sheet, columns in {
        "Allocations": "I",
        "Coverage": "M",
        "Pots": "EFGH",
        "Commitments": "H",
        "Grants": "GHIJK",
        "Bids": "F",
    }.items():
        for column in columns:
            assert formats(book[sheet], column) == {POUNDS}, (sheet, column)
    for name in ("Total_Budget", "Total_Allocated"):
        ((sheet, ref),) = book.defined_names[name].destinations
        assert book[sheet][ref.replace("$", "")].number_format == POUNDS


def test_columns_are_wide_enough_for_their_text(book: Workbook) -> None:
    for sheet, column in (("Allocations", 3), ("Coverage", 3), ("Coverage by borough", 3)):
        ws = book[sheet]
        names = ws.iter_rows(
            min_row=FIRST_ROW - 1, min_col=column, max_col=column, values_only=True
        )
        longest = max(len(str(value)) for (value,) in names if value)
        assert ws.column_dimensions[get_column_letter(column)].width >= longest, sheet
    for ws in book.worksheets:
        for letter, dimension in ws.column_dimensions.items():
            if dimension.customWidth:
                assert 8 <= dimension.width <= 60, (ws.title, letter)


def test_methodology_says_where_every_figure_comes_from(
    london_run: RunResult, calamine: CalamineWorkbook
) -> None:
    text = "\n".join(
        str(cell) for row in calamine_rows(calamine, "Methodology") for cell in row if cell != ""
    )
    scenario = london_run.scenario
    for benchmark in scenario.benchmarks:
        assert benchmark.source in text and benchmark.edition in text
        assert f"per {benchmark.per:,} of {benchmark.basis}" in text
    for weight in scenario.policy.need_weights:
        assert weight.indicator in text
    assert "Leximin, worst-off first: the money raises the lowest coverage" in text
    assert "then the next lowest" in text
    assert "Definition: level = min(1, (existing + funded) ÷ target) ÷ weight" in text
    assert "Transition rules" in text and "Pace of change" in text
    for service in scenario.services:
        if service.cost_is_assumption:
            assert f"Unit cost of {service.name}: {service.cost_source}" in text
    for pot in scenario.pots:
        assert pot.source in text


# ---- files ----


def test_rebuilding_gives_identical_bytes_dated_from_the_run(
    london_run: RunResult, london_book_path: Path, tmp_path: Path, book: Workbook
) -> None:
    again = write_london_workbook(london_run, tmp_path / "again.xlsx")
    assert again.read_bytes() == london_book_path.read_bytes()
    # The summary carries no run date, so the stamp is 1 April of the first financial year.
    assert book.properties.created == book.properties.modified == datetime(2019, 4, 1)


def test_a_failed_save_leaves_no_partial_file(london_run: RunResult, tmp_path: Path) -> None:
    blocked = tmp_path / "book.xlsx"
    blocked.mkdir()  # a folder where the file should go: the final rename must fail
    with pytest.raises(OSError):
        write_london_workbook(london_run, blocked)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"]
    assert blocked.is_dir() and not any(blocked.iterdir())


def test_solve_and_export_give_the_same_workbook(
    london_scenario: Scenario, london_book_path: Path, london_run_dir: Path, tmp_path: Path
) -> None:
    # solve writes from the run in memory (full-precision floats); export reads the CSVs back.
    in_memory = solve(london_scenario)
    solved = write_run(in_memory, tmp_path / "solved")
    assert (solved / "workbook.xlsx").read_bytes() == london_book_path.read_bytes()
    exported = export_workbook(london_run_dir, tmp_path / "exported.xlsx")
    assert exported.read_bytes() == london_book_path.read_bytes()


def test_allocations_add_up_per_borough(london_run_dir: Path, calamine: CalamineWorkbook) -> None:
    """Filtering the Allocations table to one borough gives that borough's CSV total."""
    rows = calamine_rows(calamine, "Allocations")[FIRST_ROW - 1 :]
    by_area: dict[str, int] = defaultdict(int)
    for r in rows:
        by_area[r[1]] += pence(r[8])
    allocations = csv_table(london_run_dir, "allocations")
    assert by_area == {
        r["area_code"]: r["cost_pence"]
        for r in allocations.group_by("area_code")
        .agg(pl.col("cost_pence").sum())
        .iter_rows(named=True)
    }
