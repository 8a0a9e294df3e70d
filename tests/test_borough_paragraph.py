"""The borough paragraph, `commissioning explain`, the solve report's list of boroughs below
benchmark, and the paragraph in the borough workbook: all on the London run with the MOPAC
direct pot cut by 30 % (so cells fall short), solved for real and read back from disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import FIXTURE_DIR
from python_calamine import CalamineWorkbook
from test_optimise_rules import hand_worked

from commissioning.analysis.borough_paragraph import (
    UnknownBorough,
    borough_paragraph,
    find_area_code,
)
from commissioning.cli import main
from commissioning.excel import write_borough_workbook
from commissioning.models import Scenario
from commissioning.money import pounds
from commissioning.optimise import solve
from commissioning.results import RunResult
from commissioning.runs import report
from commissioning.scenario_io import scenario_from_data

CROYDON = "E09000008"
Y = "2019/20"


@pytest.fixture(scope="module")
def cut_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = json.loads((FIXTURE_DIR / "scenario.json").read_text(encoding="utf-8"))
    pot = next(p for p in data["pots"] if p["id"] == "mopac_direct")
    for amount in pot["amounts"]:
        amount["amount_pence"] = amount["amount_pence"] * 7 // 10
    run = solve(scenario_from_data(data, base_dir=FIXTURE_DIR))
    return run.write(tmp_path_factory.mktemp("cut") / "run")


@pytest.fixture(scope="module")
def cut_run(cut_run_dir: Path) -> RunResult:
    return RunResult.read(cut_run_dir)


def _percent(ratio: float) -> str:
    tenths = int(ratio * 1000 + 1e-9)
    return f"{tenths // 10}.{tenths % 10} %"


def test_every_below_benchmark_cell_has_its_own_reason(cut_run: RunResult) -> None:
    explanations = cut_run.table("explanations")
    below = explanations.filter(pl.col("shortfall_units") > 1e-9)
    assert below.height >= 24
    assert below.filter(pl.col("reason_code").is_null() | (pl.col("reason") == "")).is_empty()
    # one year's sentences all differ: each names its own borough, coverage and shortfall
    one_year = below.filter(pl.col("year") == Y)
    assert one_year["reason"].n_unique() == one_year.height
    for r in one_year.iter_rows(named=True):
        assert f"in {r['area_name']}: {_percent(r['coverage_ratio'])} of benchmark" in r["reason"]
        assert pounds(r["shortfall_pence"]) in r["reason"]


def test_the_paragraph_is_built_from_the_runs_tables(cut_run: RunResult) -> None:
    text = borough_paragraph(cut_run, CROYDON, Y)
    assert text.startswith(f"Croydon, {Y}. Coverage against benchmark: ")
    coverage = cut_run.table("coverage").filter(
        pl.col("area_code") == CROYDON, pl.col("year") == Y, pl.col("target_units") > 0
    )
    names = {s.id: s.name for s in cut_run.scenario.services}
    for r in coverage.iter_rows(named=True):
        assert f"{names[r['service']]} {_percent(r['coverage_ratio'])}" in text
    paid = cut_run.table("allocations").filter(pl.col("area_code") == CROYDON, pl.col("year") == Y)
    assert f"It receives {pounds(int(paid['cost_pence'].sum()))} for services" in text
    for pot, pence in paid.group_by("pot").agg(pl.col("cost_pence").sum()).iter_rows():
        assert f"{pounds(pence)} from {cut_run.scenario.pot(pot).name}" in text
    grant = (
        cut_run.table("grants")
        .filter(pl.col("area_code") == CROYDON, pl.col("year") == Y)
        .row(0, named=True)
    )
    assert f"grant is {pounds(grant['allocated_pence'])}" in text
    assert f"down {pounds(-grant['change_pence'])}" in text
    short = cut_run.table("explanations").filter(
        pl.col("area_code") == CROYDON, pl.col("year") == Y
    )
    cost = int(short["shortfall_pence"].sum())
    assert cost > 0
    assert f"Reaching benchmark would cost {pounds(cost)} a year" in text


def test_a_borough_at_benchmark_says_so() -> None:
    run = solve(Scenario.model_validate(hand_worked()))
    text = borough_paragraph(run, "E09000002", Y)
    assert text.endswith("It is at or above benchmark in every benchmarked service.")
    assert "It receives £200,000 for services: £200,000 from The pot." in text  # 5 FTE × £40,000


def test_boroughs_are_found_by_name_or_code_and_unknown_ones_listed(cut_run: RunResult) -> None:
    assert find_area_code(cut_run, "croydon") == CROYDON
    assert find_area_code(cut_run, " Waltham   Forest ") == "E09000031"
    assert find_area_code(cut_run, CROYDON.lower()) == CROYDON
    with pytest.raises(UnknownBorough, match="Barking and Dagenham, Barnet"):
        find_area_code(cut_run, "Narnia")
    with pytest.raises(ValueError, match="2019/20, 2020/21, 2021/22"):
        borough_paragraph(cut_run, CROYDON, "2030/31")


def test_explain_prints_paragraphs_and_reasons(
    cut_run_dir: Path, cut_run: RunResult, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", str(cut_run_dir), "--borough", "Croydon", "--year", Y]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Croydon ({CROYDON})\n\n{borough_paragraph(cut_run, CROYDON, Y)}\n")
    rows = cut_run.table("explanations").filter(
        pl.col("area_code") == CROYDON, pl.col("year") == Y, pl.col("shortfall_units") > 0
    )
    assert rows.height == 2
    for r in rows.iter_rows(named=True):
        assert f"  {Y} [{r['reason_code']}] {r['reason']}" in out
    assert "2020/21" not in out

    assert main(["explain", str(cut_run_dir)]) == 0
    everyone = capsys.readouterr().out
    assert all(f"{a.name} ({a.code})" in everyone for a in cut_run.scenario.areas)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--borough", "Narnia"], "unknown borough 'Narnia'; the run's boroughs are: Barking"),
        (["--year", "2030/31"], "--year '2030/31' is not in this run"),
    ],
)
def test_explain_refuses_unknown_boroughs_and_years(
    cut_run_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["explain", str(cut_run_dir), *args]) == 2
    assert message in capsys.readouterr().err


def test_explain_refuses_a_folder_that_is_not_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", str(tmp_path)]) == 2
    assert "is not a run directory" in capsys.readouterr().err


def test_the_solve_report_names_the_boroughs_below_benchmark(cut_run: RunResult) -> None:
    text = report(cut_run)
    assert "rule objective: lowest level 87.6 %" in text
    below = (
        cut_run.table("coverage")
        .filter(pl.col("target_units") > 0, pl.col("shortfall_units") > 1e-9, pl.col("year") == Y)
        .select("area_name")
        .unique()
    )
    block = text.split("boroughs below benchmark (coverage of benchmark)\n")[1]
    assert block.startswith(f"  2019/20, 2020/21, 2021/22: {below.height} boroughs\n")
    for name in below["area_name"]:
        assert f"\n    {name}: " in block
    assert "    Croydon: Independent Domestic Violence Advisor 87.6 %; MARAC coordinator" in block
    assert "£3,825,500" in text  # the cut pot, in pounds with thousands separators


def test_the_borough_workbook_opens_with_the_paragraphs(cut_run: RunResult, tmp_path: Path) -> None:
    path = write_borough_workbook(cut_run, CROYDON, tmp_path / "croydon.xlsx")
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Summary").to_python()
    found = {
        str(r[0]): r[1] for r in rows[:20] if len(r) > 1 and str(r[0]) in ("2019/20", "2020/21")
    }
    assert found["2019/20"] == borough_paragraph(cut_run, CROYDON, Y)
    assert found["2020/21"] == borough_paragraph(cut_run, CROYDON, "2020/21")


def test_explain_reads_a_run_written_before_reason_codes(
    cut_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    older = tmp_path / "older"
    shutil.copytree(cut_run_dir, older)
    (older / "explanations.csv").unlink()
    assert main(["explain", str(older), "--borough", CROYDON, "--year", Y]) == 0
    out = capsys.readouterr().out
    assert "It is short of benchmark in 2 of 2 services" in out
    assert "Reaching benchmark would cost" not in out  # the granule costs came with the codes
    reasons = [line for line in out.splitlines() if line.startswith(f"  {Y} ")]
    assert len(reasons) == 2 and not any("[" in line for line in reasons)


def test_selected_bids_are_named_by_their_provider(cut_run: RunResult) -> None:
    bids = cut_run.table("bids").filter(pl.col("selected"))
    assert bids.height, "the London fixture selects co-commissioning bids"
    row = bids.row(0, named=True)
    area = row["partner_areas"].split(";")[0]
    provider = next(
        b.provider for r in cut_run.scenario.bid_rounds for b in r.bids if b.id == row["bid"]
    )
    text = borough_paragraph(cut_run, area, row["year"])
    assert f"Co-commissioning bids by {provider} give it" in text
    assert row["bid"] not in text  # the scenario file's key is not for readers
