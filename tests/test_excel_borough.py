"""One borough's workbook (Camden), read back from disk: its own numbers, worked and checkable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from openpyxl.workbook.workbook import Workbook
from python_calamine import CalamineWorkbook
from test_excel_london import calamine_rows, pence, solved_run_dir

from commissioning.excel import UnknownAreaError, export_workbook, write_borough_workbook
from commissioning.excel.styles import POUNDS
from commissioning.models import Scenario
from commissioning.results import RunResult

CAMDEN = "E09000007"
HEADER_ROW, FIRST_ROW = 5, 6
AREA_CODE = re.compile(r"[EWSN]\d{8}")


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory, london_scenario: Scenario) -> Path:
    return solved_run_dir(tmp_path_factory.mktemp("excel-borough"), london_scenario)


@pytest.fixture(scope="session")
def run(run_dir: Path) -> RunResult:
    return RunResult.read(run_dir)


@pytest.fixture(scope="session")
def camden_path(run: RunResult, run_dir: Path) -> Path:
    return write_borough_workbook(run, CAMDEN, run_dir.parent / "camden.xlsx")


@pytest.fixture(scope="session")
def book(camden_path: Path) -> Workbook:
    return openpyxl.load_workbook(camden_path)


@pytest.fixture(scope="session")
def calamine(camden_path: Path) -> CalamineWorkbook:
    return CalamineWorkbook.from_path(str(camden_path))


def own(run_dir: Path, table: str) -> pl.DataFrame:
    frame = pl.read_csv(run_dir / f"{table}.csv", infer_schema_length=None)
    return frame.filter(pl.col("area_code") == CAMDEN)


def all_cells(calamine: CalamineWorkbook) -> list[Any]:
    return [
        cell
        for name in calamine.sheet_names
        for row in calamine_rows(calamine, name)
        for cell in row
    ]


def test_sheets_and_their_names(book: Workbook) -> None:
    assert book.sheetnames == [
        "Summary",
        "Funding",
        "Targets",
        "Coverage",
        "Grant",
        "Bids",
        "Methodology",
        "Run details",
    ]
    assert all(len(n) <= 31 and not set("[]:*?/\\") & set(n) for n in book.sheetnames)


def test_no_other_boroughs_rows_anywhere(run: RunResult, calamine: CalamineWorkbook) -> None:
    others = {a.code: a.name for a in run.scenario.areas if a.code != CAMDEN}
    for cell in all_cells(calamine):
        if isinstance(cell, str):
            assert not set(AREA_CODE.findall(cell)) & set(others), cell
            assert cell not in others.values(), cell


def test_bids_are_camdens_with_partners_counted_not_named(
    run: RunResult, calamine: CalamineWorkbook
) -> None:
    bids = [
        r
        for r in run.table("bids").iter_rows(named=True)
        if CAMDEN in r["partner_areas"].split(";")
    ]
    rows = calamine_rows(calamine, "Bids")
    assert rows[HEADER_ROW - 1][6] == "Partner boroughs"
    assert [(r[0], r[4], pence(r[5]), r[6]) for r in rows[FIRST_ROW - 1 :]] == [
        (b["bid"], b["year"], b["cost_pence"], len(b["partner_areas"].split(";"))) for b in bids
    ]
    assert bids, "Camden should be a partner in at least one bid of the London round"


def test_funding_rows_and_totals_equal_the_csv_to_the_penny(
    run_dir: Path, book: Workbook, calamine: CalamineWorkbook
) -> None:
    allocations = own(run_dir, "allocations")
    assert allocations.height > 0, "Camden should receive something in the London run"
    rows = calamine_rows(calamine, "Funding")[FIRST_ROW - 1 :]
    assert [(r[0], r[3], r[5], r[7], pence(r[8])) for r in rows] == [
        (r["year"], r["service"], r["pot"], r["units"], r["cost_pence"])
        for r in allocations.iter_rows(named=True)
    ]
    ws = book["Funding"]
    assert pence(ws["I3"].value) == allocations["cost_pence"].sum()
    assert ws.tables["tblAllocations"].ref == f"A{HEADER_ROW}:I{HEADER_ROW + allocations.height}"
    assert ws.freeze_panes == f"D{FIRST_ROW}"


def test_run_details_are_the_runs_record_not_a_borough_figure(
    run: RunResult, book: Workbook
) -> None:
    details = {r[0]: r[1] for r in book["Run details"].iter_rows(values_only=True) if r[0]}
    assert details["Scenario hash"] == run.summary["scenario_hash"]
    assert details["Solver status"] == "optimal"
    assert "across all boroughs" in book["Run details"]["A2"].value
    # The rule's lowest level is London's minimum, which read as Camden's on the old Summary;
    # the stage objectives stay, under a note saying they are the whole run's.
    assert not [label for label in details if str(label).startswith("rule objective")]
    assert any(str(label).startswith("Stage 1: fairness") for label in details)


def test_targets_are_live_formulas_from_camdens_own_population(
    run: RunResult, run_dir: Path, book: Workbook
) -> None:
    ws = book["Targets"]
    camden = run.scenario.area(CAMDEN)
    targets = {r["service"]: r for r in own(run_dir, "targets").iter_rows(named=True)}
    rows = [r for r in ws.iter_rows(min_row=5) if r[0].value in targets]
    assert [r[0].value for r in rows] == [b.service for b in run.scenario.benchmarks]
    for row, benchmark in zip(rows, run.scenario.benchmarks, strict=True):
        n = row[0].row
        population, units, per, formula = (row[i].value for i in (3, 4, 5, 6))
        assert formula == f"=D{n}/F{n}*E{n}"  # population / per × units, as a lead would write it
        assert population == camden.indicators[benchmark.basis]
        assert (units, per) == (float(benchmark.units), benchmark.per)
        # Working the formula from the cells on disk gives the target the run used.
        assert population / per * units == pytest.approx(
            targets[benchmark.service]["target_units"], abs=1e-6
        )
        assert row[7].value == pytest.approx(targets[benchmark.service]["target_units"])
    idva = next(r for r in rows if r[0].value == "idva")
    assert (idva[4].value, idva[5].value) == (4, 100_000)  # SafeLives: 4 per 100,000 women 16+
    assert ws.tables["tblTargets"].ref.startswith("A4:")


def test_coverage_compares_with_the_london_average(
    run_dir: Path, book: Workbook, calamine: CalamineWorkbook
) -> None:
    coverage = pl.read_csv(run_dir / "coverage.csv", infer_schema_length=None)
    london = {
        (r["year"], r["service"]): r["coverage_ratio"]
        for r in coverage.group_by("year", "service")
        .agg(pl.col("coverage_ratio").mean())
        .iter_rows(named=True)
    }
    mine = coverage.filter(pl.col("area_code") == CAMDEN)
    rows = calamine_rows(calamine, "Coverage")[FIRST_ROW - 1 :]
    assert len(rows) == mine.height
    for got, want in zip(rows, mine.iter_rows(named=True), strict=True):
        assert (got[0], got[1]) == (want["year"], want["service"])
        assert (got[4], got[5]) == pytest.approx((want["existing_units"], want["bid_units"]))
        assert got[8] == pytest.approx(want["coverage_ratio"])
        assert got[9] == pytest.approx(london[(want["year"], want["service"])])
        assert got[10] == pytest.approx(
            want["coverage_ratio"] - london[(want["year"], want["service"])]
        )
        assert pence(got[12]) == want["funded_cost_pence"]
    ws = book["Coverage"]
    highlighted = {str(cf.sqref) for cf in ws.conditional_formatting}
    assert f"I{FIRST_ROW}:I{HEADER_ROW + mine.height}" in highlighted


def test_grant_sheet_is_camdens_grant(run_dir: Path, calamine: CalamineWorkbook) -> None:
    grants = own(run_dir, "grants")
    rows = calamine_rows(calamine, "Grant")
    assert [(r[0], r[3], pence(r[7])) for r in rows[FIRST_ROW - 1 :]] == [
        (r["year"], CAMDEN, r["allocated_pence"]) for r in grants.iter_rows(named=True)
    ]
    assert pence(rows[2][7]) == grants["allocated_pence"].sum()


def test_formatting_a_lead_can_print(book: Workbook) -> None:
    for ws in book.worksheets:
        assert ws.freeze_panes, ws.title
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1, ws.title
    assert {
        book["Funding"][f"I{r}"].number_format
        for r in range(FIRST_ROW, book["Funding"].max_row + 1)
    } == {POUNDS}
    assert book["Coverage"][f"I{FIRST_ROW}"].number_format == "0.0%"


@pytest.mark.parametrize("code", ["E09000001", "E09999999", "camden"])
def test_an_unknown_area_is_a_clear_error_and_writes_nothing(
    run: RunResult, tmp_path: Path, code: str
) -> None:
    # E09000001 (City of London) is a real code, but the scenario leaves it out.
    with pytest.raises(ValueError, match=re.escape(repr(code))) as caught:
        write_borough_workbook(run, code, tmp_path / "x.xlsx")
    assert isinstance(caught.value, UnknownAreaError) and caught.value.code == code
    assert list(tmp_path.iterdir()) == []


def test_export_from_a_run_directory_matches(
    run_dir: Path, camden_path: Path, tmp_path: Path
) -> None:
    exported = export_workbook(run_dir, tmp_path / "out" / "camden.xlsx", CAMDEN)
    assert exported.read_bytes() == camden_path.read_bytes()


def test_a_borough_that_gets_nothing_still_gets_a_sound_workbook(
    run: RunResult, tmp_path: Path
) -> None:
    funded = set(run.table("allocations")["area_code"])
    code = next(a.code for a in run.scenario.areas if a.code not in funded)
    book = openpyxl.load_workbook(write_borough_workbook(run, code, tmp_path / "nothing.xlsx"))
    funding = book["Funding"]
    assert funding.tables == {}  # Excel rejects a table with headings and no rows
    assert pence(funding["I3"].value) == 0 and funding["I4"].value is None
    texts = [c for row in book["Summary"].iter_rows(values_only=True) for c in row if c]
    assert "London Crime Prevention Fund (VAWG): grant" in texts
    assert not [t for t in texts if str(t).endswith(": services")]
    assert book["Targets"]["G5"].value == "=D5/F5*E5"  # the worked targets are still there
