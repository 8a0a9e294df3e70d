"""Compare two runs: London against London with the MOPAC direct pot cut by 30 %.

Both runs are real solves, written to disk and read back, as `commissioning compare` reads them.
Every identity is checked to the penny against the runs' own tables, not against the
comparison's own arithmetic.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from python_calamine import CalamineWorkbook

from commissioning.analysis import scorecard
from commissioning.analysis.compare import RunComparison, compare_runs, rows_frame
from commissioning.analysis.compare_text import comparison_text
from commissioning.analysis.overrides import scale_path
from commissioning.cli import main
from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.results import RunResult

CAMDEN = "E09000007"


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory: pytest.TempPathFactory, london_scenario: Scenario) -> list[Path]:
    folder = tmp_path_factory.mktemp("compare")
    cut = scale_path(london_scenario, "pots.mopac_direct", Fraction(7, 10))
    dirs = []
    for name, scenario in (("london", london_scenario), ("cut", cut)):
        solve(scenario).write(folder / name)
        dirs.append(folder / name)
    return dirs


@pytest.fixture(scope="module")
def runs(run_dirs: list[Path]) -> tuple[RunResult, RunResult]:
    return RunResult.read(run_dirs[0]), RunResult.read(run_dirs[1])


@pytest.fixture(scope="module")
def comparison(runs: tuple[RunResult, RunResult]) -> RunComparison:
    return compare_runs(*runs)


def _pence(run: RunResult, table: str, column: str) -> int:
    return int(run.table(table)[column].sum())


def test_totals_add_up_to_the_penny(
    runs: tuple[RunResult, RunResult], comparison: RunComparison
) -> None:
    base, other = runs
    t = comparison.totals
    rows = comparison.rows
    # Each total is the runs' own table sum, and each difference the sum of the rows' ones.
    assert t.base_funded_cost_pence == _pence(base, "allocations", "cost_pence")
    assert t.other_funded_cost_pence == _pence(other, "allocations", "cost_pence")
    assert t.diff_funded_cost_pence == sum(r.diff_funded_cost_pence for r in rows)
    assert t.diff_funded_cost_pence == t.other_funded_cost_pence - t.base_funded_cost_pence
    assert t.diff_funded_units == sum((r.diff_funded_units for r in rows), Decimal(0))
    assert t.diff_funded_units == t.other_funded_units - t.base_funded_units
    for side, run in (("base", base), ("other", other)):
        for m in ("budget", "allocated", "unspent"):
            assert getattr(t, f"{side}_{m}_pence") == _pence(run, "pots", f"{m}_pence")
        assert getattr(t, f"{side}_grant_target_pence") == _pence(run, "grants", "target_pence")
    assert t.diff_cells_below == sum(
        bool(r.other_below_benchmark) - bool(r.base_below_benchmark) for r in rows
    )
    # The cut is exactly 30 % of the MOPAC direct pot, every year.
    cut = sum(a.amount_pence for a in base.scenario.pot("mopac_direct").amounts) * 3 // 10
    assert t.diff_budget_pence == -cut
    # Money moved between pots: each pot-year still reconciles, so do its changes.
    assert comparison.pots is not None
    for p in comparison.pots:
        for side in ("base", "other", "diff"):
            budget = getattr(p, f"{side}_budget_pence")
            parts = [getattr(p, f"{side}_{m}_pence") for m in ("committed", "allocated", "unspent")]
            assert budget == sum(parts), (p.pot, p.year, side)
    assert sum(p.diff_budget_pence for p in comparison.pots) == t.diff_budget_pence
    assert sum(p.diff_allocated_pence for p in comparison.pots) == t.diff_allocated_pence


def test_scorecards_side_by_side(
    runs: tuple[RunResult, RunResult], comparison: RunComparison
) -> None:
    assert comparison.base_scorecard == scorecard(runs[0])
    assert comparison.other_scorecard == scorecard(runs[1])
    assert comparison.scorecard is not None
    lines = {line.measure: line for line in comparison.scorecard}
    for line in comparison.scorecard:
        assert line.base is not None and line.other is not None
        assert line.change == line.other - line.base
    assert lines["budget"].change == comparison.totals.diff_budget_pence
    assert lines["cells below benchmark"].other == comparison.totals.other_cells_below > 0
    assert lines["lowest coverage"].base == 1 > lines["lowest coverage"].other  # type: ignore[operator]


def test_changes_are_exact_decimals(comparison: RunComparison) -> None:
    barnet = next(
        r
        for r in comparison.rows
        if (r.year, r.area_name, r.service) == ("2019/20", "Barnet", "idva")
    )
    # 0.947999 − 1.026999 in floats is -0.07900000000000007.
    assert barnet.base_coverage_ratio == Decimal("1.026999")
    assert barnet.other_coverage_ratio == Decimal("0.947999")
    assert str(barnet.diff_coverage_ratio) == "-0.079"
    for r in comparison.rows:
        # A cell with no target has no coverage ratio in either run, so no change in it.
        assert (r.diff_coverage_ratio is None) == (r.base_coverage_ratio is None)
        for value in (r.diff_funded_units, r.diff_total_units, r.diff_coverage_ratio):
            text = str(value)
            assert "E" not in text and len(text.partition(".")[2]) <= 6, text
    assert comparison.model_dump(mode="json")["rows"][0]["diff_funded_units"] == "0"


def test_crossings_name_each_borough_that_fell_below(comparison: RunComparison) -> None:
    fell = {(x.year, x.area_code) for x in comparison.crossings if x.direction == "fell_below"}
    below_now = {
        (r.year, r.area_code)
        for r in comparison.rows
        if r.other_below_benchmark and not r.base_below_benchmark
    }
    assert fell == below_now and fell
    assert comparison.base_scorecard is not None and comparison.other_scorecard is not None
    assert comparison.base_scorecard.boroughs_below_count == 0
    assert {x.area_name for x in comparison.crossings} == set(
        comparison.other_scorecard.boroughs_below
    )


def test_reversed_comparison_is_the_negation(
    runs: tuple[RunResult, RunResult], comparison: RunComparison
) -> None:
    back = compare_runs(runs[1], runs[0])
    for there, again in zip(comparison.rows, back.rows, strict=True):
        assert again.diff_funded_cost_pence == -there.diff_funded_cost_pence
        assert again.diff_funded_units == -there.diff_funded_units
        if there.diff_coverage_ratio is not None:
            assert again.diff_coverage_ratio == -there.diff_coverage_ratio
    assert {(x.year, x.area_code) for x in back.crossings if x.direction == "reached"} == {
        (x.year, x.area_code) for x in comparison.crossings
    }


def test_a_run_against_itself_changes_nothing(runs: tuple[RunResult, RunResult]) -> None:
    same = compare_runs(runs[0], runs[0])
    assert not same.changed_rows() and not same.crossings and same.bids == []
    assert same.pots is not None and all(p.diff_budget_pence == 0 for p in same.pots)
    assert same.scorecard is not None and all(line.change == 0 for line in same.scorecard)


def test_bids_and_grants_selected_in_one_run_only(runs: tuple[RunResult, RunResult]) -> None:
    base = runs[0]
    bids = base.table("bids")
    chosen = bids.filter(pl.col("selected"))["bid"].unique().sort().to_list()
    assert chosen, "the London fixture selects co-commissioning bids"
    # The same run with its first selected bid dropped, and one grant paid 1p more.
    dropped = bids.with_columns(
        pl.when(pl.col("bid") == chosen[0])
        .then(False)
        .otherwise(pl.col("selected"))
        .alias("selected")
    )
    grants = base.table("grants")
    paid = grants.with_columns(
        (pl.col("allocated_pence") + (pl.int_range(pl.len()) == 0).cast(pl.Int64)).alias(
            "allocated_pence"
        )
    )
    edited = replace(base, tables={**base.tables, "bids": dropped, "grants": paid})
    change = compare_runs(base, edited)
    assert change.bids is not None
    assert [(b.bid, b.selected_in) for b in change.bids] == [(chosen[0], "base")]
    selected_rows = bids.filter((pl.col("bid") == chosen[0]) & pl.col("selected"))
    assert change.bids[0].cost_pence == int(selected_rows["cost_pence"].sum())
    assert change.totals.diff_grant_allocated_pence == 1
    assert [g.diff_allocated_pence for g in change.grants if g.diff_allocated_pence] == [1]


def test_a_borough_sees_only_its_own_rows(
    runs: tuple[RunResult, RunResult], comparison: RunComparison
) -> None:
    camden = compare_runs(*runs, area_code=CAMDEN)
    assert {r.area_code for r in camden.rows} == {CAMDEN}
    assert [r for r in comparison.rows if r.area_code == CAMDEN] == camden.rows
    assert {g.area_code for g in camden.grants} == {CAMDEN}
    assert camden.scorecard is camden.pots is camden.bids is camden.base_scorecard is None
    assert camden.totals.base_budget_pence is None
    assert camden.totals.diff_funded_cost_pence == sum(
        r.diff_funded_cost_pence for r in camden.rows
    )
    assert rows_frame(camden).height == len(camden.rows)


def test_summary_text_reads_in_pounds_and_names(comparison: RunComparison) -> None:
    text = comparison_text(comparison, "london", "cut")
    assert "base:  london (London VAWG allocation" in text
    budget = comparison.totals.diff_budget_pence
    assert budget is not None and f"-£{-budget // 100:,}" in text  # e.g. -£4,918,500
    assert "Barnet" in text and "points" in text and " %" in text
    assert "boroughs that fell below benchmark: " in text


def _cell_pence(value: object) -> int:
    """A pounds cell read back as whole pence (via its shortest decimal text: exact)."""
    assert isinstance(value, int | float)
    return int(Decimal(repr(value)) * 100)


def test_compare_command_prints_and_writes_the_workbook(
    run_dirs: list[Path],
    comparison: RunComparison,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "compare.xlsx"
    assert main(["compare", str(run_dirs[0]), str(run_dirs[1]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "total funded: £3,840,000 → " in printed and f"workbook written to {out}" in printed

    book = CalamineWorkbook.from_path(str(out))
    assert book.sheet_names == ["Compare"]
    rows = book.get_sheet_by_name("Compare").to_python()
    header = next(
        i for i, r in enumerate(rows) if r[:4] == ["Year", "Area code", "Area", "Service"]
    )
    columns = rows[header]
    cells = rows[header + 1 : header + 1 + len(comparison.rows)]
    total = rows[header + 1 + len(comparison.rows)]
    change = columns.index("Cost change")
    assert total[0] == "Total"
    assert sum(_cell_pence(r[change]) for r in cells) == comparison.totals.diff_funded_cost_pence
    assert _cell_pence(total[change]) == comparison.totals.diff_funded_cost_pence
    measures = {r[0]: r[1:4] for r in rows if r and r[0] in ("budget", "cells below benchmark")}
    assert _cell_pence(measures["budget"][2]) == comparison.totals.diff_budget_pence
    assert measures["cells below benchmark"][1] == comparison.totals.other_cells_below


def test_compare_refuses_a_folder_that_is_not_a_run(
    run_dirs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(run_dirs[0]), str(tmp_path)]) == 2
    assert "is not a run directory" in capsys.readouterr().err
