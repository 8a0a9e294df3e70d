"""The London Summary a board reads first, and the totals of the table sheets, read back from
disk and checked against the run's CSV files (money to the penny).

Each test runs on the fixture (every borough at benchmark) and on the budget cut (25 boroughs
below), so a figure that is only ever zero cannot pass for a right one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from excel_london_runs import SolvedRun, solved
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook
from test_excel_london import block, calamine_rows, pence

from commissioning.excel import write_london_workbook
from commissioning.excel.styles import BELOW_BENCHMARK_FILL
from commissioning.models import Scenario
from commissioning.money import pounds

HEADER_ROW, FIRST_ROW = 5, 6


@pytest.fixture(scope="module", params=["fixture", "cut"])
def solved_run(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    london_scenario: Scenario,
) -> SolvedRun:
    return solved(request.param, tmp_path_factory, london_scenario)


def summary_rows(solved_run: SolvedRun) -> list[list[Any]]:
    return calamine_rows(CalamineWorkbook.from_path(str(solved_run.book)), "Summary")


def benchmarked_cells(solved_run: SolvedRun) -> pl.DataFrame:
    """Worked out here from coverage.csv, apart from the workbook's code."""
    return (
        solved_run.csv("coverage")
        .filter(pl.col("target_units") > 0)
        .with_columns((pl.col("total_units") < pl.col("target_units")).alias("below"))
    )


def test_coverage_by_service_and_year_matches_the_csv(solved_run: SolvedRun) -> None:
    names = {s.id: s.name for s in solved_run.run.scenario.services}
    found = {
        (row[0], row[1]): row[2:] for row in block(summary_rows(solved_run), "Service", "Year")
    }
    cells = benchmarked_cells(solved_run)
    costs = solved_run.csv("cost_to_benchmark").filter(pl.col("level") == "service")
    cost = {(r["service"], r["year"]): r["cost_pence"] for r in costs.iter_rows(named=True)}
    expected = {}
    for (service, year), group in cells.group_by(["service", "year"]):
        lowest = group.sort(["coverage_ratio", "area_name"]).row(0, named=True)
        expected[(names[service], year)] = [
            group["below"].sum(),
            group.height,
            group["total_units"].sum() / group["target_units"].sum(),
            lowest["coverage_ratio"],
            lowest["area_name"],
            cost[(service, year)],
        ]
    assert found.keys() == expected.keys()
    for key, want in expected.items():
        got = found[key]
        assert got[:2] == want[:2], key
        assert got[2:4] == pytest.approx(want[2:4], abs=1e-9), key
        assert got[4] == want[4], key
        assert pence(got[5]) == want[5], key  # to the penny
    if solved_run.name == "cut":
        assert sum(v[0] for v in expected.values()) > 0  # the cut puts boroughs below


def test_each_year_matches_the_csv(solved_run: SolvedRun) -> None:
    rows = block(summary_rows(solved_run), "Year", "Boroughs below benchmark")
    found = {row[0]: row[1:] for row in rows}
    cells = benchmarked_cells(solved_run)
    london = solved_run.csv("cost_to_benchmark").filter(pl.col("level") == "london")
    assert list(found) == solved_run.run.scenario.financial_years
    for r in london.iter_rows(named=True):
        year = cells.filter(pl.col("year") == r["year"])
        got = found[r["year"]]
        assert got[0] == year.filter("below")["area_code"].n_unique()
        assert got[1] == year["area_code"].n_unique()
        assert [pence(got[2]), pence(got[3])] == [r["cost_pence"], r["extra_money_pence"]]
        assert got[4] == r["cells_unreachable"]


def test_at_a_glance_states_the_latest_year_and_the_money(solved_run: SolvedRun) -> None:
    rows = summary_rows(solved_run)
    top = next(i for i, r in enumerate(rows) if r[0] == "At a glance")
    text = "\n".join(str(r[0]) for r in rows[top + 1 : top + 7])
    latest = solved_run.run.scenario.financial_years[-1]
    cells = benchmarked_cells(solved_run).filter(pl.col("year") == latest)
    below = cells.filter("below")["area_code"].n_unique()
    boroughs = cells["area_code"].n_unique()
    if below:
        assert f"In {latest}, {below} of {boroughs} boroughs are below benchmark" in text
    else:
        assert f"In {latest}, every one of the {boroughs} boroughs is at or above" in text
    pots = solved_run.csv("pots")
    for column in ("budget_pence", "committed_pence", "allocated_pence", "unspent_pence"):
        assert pounds(int(pots[column].sum())) in text, column
    cost = solved_run.csv("cost_to_benchmark").filter(
        (pl.col("level") == "london") & (pl.col("year") == latest)
    )
    if cost["cost_pence"][0]:
        assert f"would cost {pounds(cost['cost_pence'][0])}" in text
        assert f"need {pounds(cost['extra_money_pence'][0])} more" in text
    else:
        assert f"Nothing more is needed to reach benchmark in {latest}." in text


def test_red_marks_below_benchmark_and_nothing_else(solved_run: SolvedRun) -> None:
    ws = openpyxl.load_workbook(solved_run.book)["Summary"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    top = next(i for i, r in enumerate(rows) if r[:2] == ["Service", "Year"]) + 1
    red = BELOW_BENCHMARK_FILL.fgColor.rgb
    for i, row in enumerate(block(rows, "Service", "Year")):
        filled = {
            j for j in range(1, 9) if ws.cell(row=top + 1 + i, column=j).fill.fgColor.rgb == red
        }
        assert filled == ({3, 6} if row[2] else set()), row


def test_the_summary_names_services_and_pots_never_by_id(solved_run: SolvedRun) -> None:
    scenario = solved_run.run.scenario
    ids = {s.id for s in scenario.services} | {p.id for p in scenario.pots}
    texts = {cell for row in summary_rows(solved_run) for cell in row if isinstance(cell, str)}
    assert not ids & texts
    assert {s.name for s in scenario.services if s.id in {"idva", "marac_coordinator"}} <= texts


# ---- totals on the table sheets: row 3 every row, row 4 the rows the filters show ----

TABLE_SHEETS = ["Allocations", "Coverage", "Pots", "Commitments", "Grants", "Bids"]


def test_row_3_totals_every_row_and_row_4_the_filtered_rows(solved_run: SolvedRun) -> None:
    """What the README promises, on every table sheet: each total in row 3 is the sum of its
    column over every row; row 4 adds up the rows the filters show."""
    book = openpyxl.load_workbook(solved_run.book)
    values = CalamineWorkbook.from_path(str(solved_run.book))
    for name in TABLE_SHEETS:
        ws = book[name]
        rows = calamine_rows(values, name)
        (table,) = ws.tables.values()
        last = int(table.ref.split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        header = rows[HEADER_ROW - 1]
        totals = {j: v for j, v in enumerate(rows[2]) if isinstance(v, int | float)}
        if name == "Bids":
            totals.pop(header.index("Reason"))  # the selected bids' total, labelled apart
        assert totals, name
        for j, total in totals.items():
            column = [r[j] for r in rows[FIRST_ROW - 1 : last]]
            assert pence(total) == sum(pence(v) for v in column if v != ""), (name, header[j])
            letter = get_column_letter(j + 1)
            formula = ws.cell(row=4, column=j + 1).value
            assert formula == f"=SUBTOTAL(109,{letter}{FIRST_ROW}:{letter}{last})", name
        assert rows[2][min(totals) - 1] == (
            "Total funded cost, all rows" if name == "Coverage" else "Total, all rows"
        )


def test_units_of_different_services_are_never_added_up(solved_run: SolvedRun) -> None:
    values = CalamineWorkbook.from_path(str(solved_run.book))
    for name in ("Coverage", "Allocations"):
        rows = calamine_rows(values, name)
        header = rows[HEADER_ROW - 1]
        totalled = {header[j] for j, v in enumerate(rows[2]) if isinstance(v, int | float)}
        assert totalled == {"Funded cost" if name == "Coverage" else "Cost"}, name
        assert "Total, all rows" not in rows[2] if name == "Coverage" else True
    coverage = solved_run.csv("coverage")
    rows = calamine_rows(values, "Coverage")
    assert pence(rows[2][12]) == coverage["funded_cost_pence"].sum()
    assert coverage["funded_cost_pence"].sum() == solved_run.csv("allocations")["cost_pence"].sum()


def test_bids_total_every_bid_and_the_selected_ones_apart(solved_run: SolvedRun) -> None:
    book = openpyxl.load_workbook(solved_run.book)
    bids = solved_run.csv("bids")
    for name, expected in (
        ("Bids_Total", bids["cost_pence"].sum()),
        ("Bids_Selected_Total", bids.filter(pl.col("selected"))["cost_pence"].sum()),
    ):
        ((sheet, ref),) = book.defined_names[name].destinations
        assert sheet == "Bids"
        assert pence(book[sheet][ref.replace("$", "")].value) == expected, name


# ---- layout: nothing overlaps ----


def test_wrapped_text_has_rows_tall_enough(solved_run: SolvedRun) -> None:
    """Every wrapped cell whose text cannot fit on one line sits in a row given a height, at
    least one 15-point line for each width of text (a generous 1.2 characters a unit)."""
    book = openpyxl.load_workbook(solved_run.book)
    checked = 0
    for ws in book.worksheets:
        spans = {
            (r.min_row, r.min_col): sum(
                ws.column_dimensions[get_column_letter(c)].width or 8.43
                for c in range(r.min_col, r.max_col + 1)
            )
            for r in ws.merged_cells.ranges
        }
        for row in ws.iter_rows():
            for cell in row:
                if not (isinstance(cell.value, str) and cell.alignment.wrap_text):
                    continue
                letter = get_column_letter(cell.column)
                width = spans.get((cell.row, cell.column)) or (
                    ws.column_dimensions[letter].width or 8.43
                )
                per_line = width * 1.2 * 11 / (cell.font.sz or 11)
                lines = -(-len(cell.value) // int(per_line))
                if lines > 1:
                    checked += 1
                    height = ws.row_dimensions[cell.row].height
                    assert (
                        height is not None and height >= 15 * lines * (cell.font.sz or 11) / 11
                    ), (
                        ws.title,
                        cell.coordinate,
                    )
    assert checked > 20


def test_each_table_sheet_note_wraps_across_its_table(solved_run: SolvedRun) -> None:
    book = openpyxl.load_workbook(solved_run.book)
    for name in TABLE_SHEETS:
        ws = book[name]
        (table,) = ws.tables.values()
        last_column = table.ref.split(":")[1].rstrip("0123456789")
        assert f"A2:{last_column}2" in {str(r) for r in ws.merged_cells.ranges}, name
        assert ws["A2"].alignment.wrap_text, name


def test_rebuilding_gives_identical_bytes(solved_run: SolvedRun, tmp_path: Path) -> None:
    again = write_london_workbook(solved_run.run, tmp_path / "again.xlsx")
    assert again.read_bytes() == solved_run.book.read_bytes()
