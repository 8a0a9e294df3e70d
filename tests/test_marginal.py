"""Marginal value of money: every reported answer against a real solve with the money changed."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
from test_cost_to_benchmark import london_cut, with_pot_change

from commissioning.analysis.marginal import Marginal, Question, delivered_granules
from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.optimise.data import AllocationData, build_data
from commissioning.optimise.funding_rounds import prepare
from commissioning.optimise.stages import solve_stages
from commissioning.results import RunResult
from commissioning.runs import with_marginal_value

HUNDRED_K = 10_000_000
YEARS = ("2019/20", "2020/21", "2021/22")


def _data(scenario: Scenario) -> AllocationData:
    prepared = prepare(scenario)
    return build_data(prepared.scenario, prepared.bid_provision)


def _marginal(run: RunResult) -> Marginal:
    data = _data(run.scenario)
    unspent = {(r["pot"], r["year"]): r["unspent_pence"] for r in run.pots.iter_rows(named=True)}
    return Marginal(data, delivered_granules(run, data), unspent)


def _real(data: AllocationData, q: Question) -> dict[tuple[int, str], int]:
    """The whole scenario solved again (every year) with the pot's top-up money changed."""
    budgets = dict(data.free_budget)
    budgets[(q.pot, q.year)] += q.change
    return solve_stages(replace(data, free_budget=budgets)).granules


@pytest.fixture(scope="module")
def cut_run(london_scenario: Scenario) -> RunResult:
    return with_marginal_value(solve(london_cut(london_scenario)))


@pytest.fixture(scope="module")
def shipped_run(london_scenario: Scenario) -> RunResult:
    return with_marginal_value(solve(london_scenario))


def _purchase(run: RunResult, pot: str, year: str, change: int) -> dict[str, float]:
    rows = run.table("marginal").filter(
        (pl.col("pot") == pot) & (pl.col("year") == year) & (pl.col("change_pence") == change)
    )
    assert set(rows["status"]) == {"ok"}
    return {r["service"]: r["units_change"] for r in rows.iter_rows(named=True)}


@pytest.mark.parametrize("pot", ["mopac_direct", "victims_fund"])
def test_next_100k_equals_a_solve_of_the_scenario_with_100k_more(
    london_scenario: Scenario, cut_run: RunResult, pot: str
) -> None:
    year = "2020/21"
    scenario = with_pot_change(london_cut(london_scenario), pot, {year: HUNDRED_K})
    more = solve(scenario).table("coverage")
    base = cut_run.table("coverage")
    diff = (
        more.join(base, on=["year", "area_code", "service"], suffix="_base")
        .with_columns((pl.col("funded_units") - pl.col("funded_units_base")).alias("d"))
        .filter(pl.col("d") != 0)
    )
    assert set(diff["year"]) == {year}
    expected = {
        r["service"]: r["d"]
        for r in diff.group_by("service").agg(pl.col("d").sum()).iter_rows(named=True)
    }
    expected["all"] = sum(expected.values())
    assert _purchase(cut_run, pot, year, HUNDRED_K) == expected
    row = (
        cut_run.table("marginal")
        .filter(
            (pl.col("pot") == pot)
            & (pl.col("year") == year)
            & (pl.col("change_pence") == HUNDRED_K)
            & (pl.col("service") == "all")
        )
        .row(0, named=True)
    )
    assert row["cells_changed"] == diff.height
    covered = more.filter(pl.col("year") == year)["coverage_ratio"].clip(upper_bound=1.0)
    assert row["lowest_coverage_after"] == pytest.approx(covered.min())


def test_every_pot_and_year_unit_for_unit_against_a_real_solve(cut_run: RunResult) -> None:
    """Cell by cell, for each London pot that may fund services, in every year: the answer
    (re-solved, or read across an identical block or a twin pot) equals a solve of the whole
    scenario with £100,000 more."""
    marginal = _marginal(cut_run)
    assert marginal.pots == ["mopac_direct", "victims_fund", "lcpf_co_commissioning"]
    for pot in marginal.pots:
        for year in YEARS:
            q = Question(pot, year, HUNDRED_K)
            answer = marginal.answer(q)
            real = _real(marginal.data, q)
            assert answer.granules is not None
            assert answer.granules == {k: v for k, v in real.items() if k[1] == year}, answer.method
            untouched = {k: v for k, v in real.items() if k[1] != year}
            assert untouched == {k: marginal.granules[k] for k in untouched}


def test_cuts_and_small_sums_against_real_solves(cut_run: RunResult) -> None:
    marginal = _marginal(cut_run)
    methods = set()
    for pot in ("mopac_direct", "victims_fund", "lcpf_co_commissioning"):
        for change in (1_000_000, -1_000_000, -10_000_000, 100_000_000):
            q = Question(pot, "2021/22", change)
            answer = marginal.answer(q)
            methods.add(answer.method)
            real = _real(marginal.data, q)
            assert answer.granules == {k: v for k, v in real.items() if k[1] == "2021/22"}
    assert any("shortcut 5" in m for m in methods)
    assert any("shortcut 6" in m for m in methods)


def test_shortcuts_on_the_shipped_run_agree_with_real_solves(shipped_run: RunResult) -> None:
    """Every borough at benchmark with money unspent: more buys nothing (shortcut 4), a cut
    the unspent money covers removes nothing (shortcut 3). Each is checked by solving."""
    marginal = _marginal(shipped_run)
    seen = set()
    for pot in marginal.pots:
        for change in (HUNDRED_K, 100_000_000, -HUNDRED_K):
            q = Question(pot, "2019/20", change)
            answer = marginal.answer(q)
            if "shortcut" not in answer.method:
                continue
            seen.add(answer.method)
            real = _real(marginal.data, q)
            assert answer.granules == {k: v for k, v in real.items() if k[1] == "2019/20"}
    assert any("shortcut 3" in m for m in seen) and any("shortcut 4" in m for m in seen)
    table = shipped_run.table("marginal").filter(pl.col("status") == "ok")
    assert set(table["units_change"]) == {0.0}


def test_a_cut_larger_than_the_pot_is_refused_in_words(cut_run: RunResult) -> None:
    rows = cut_run.table("marginal").filter(
        (pl.col("pot") == "lcpf_co_commissioning") & (pl.col("change_pence") == -100_000_000)
    )
    assert rows.height == 3
    assert rows["status"][0] == (
        "a cut of £1,000,000 is more than the £116,666.67 the pot has in 2019/20 after its "
        "fixed commitments"
    )
    assert rows["units_change"].is_null().all()


def test_marginal_is_written_and_read_back(tmp_path: object, cut_run: RunResult) -> None:
    out = cut_run.write(tmp_path / "run")  # type: ignore[operator]
    again = RunResult.read(out)
    assert again.table("marginal").equals(cut_run.table("marginal"))
