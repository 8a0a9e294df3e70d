"""The London 2019 fixture solved for real: status, explanations, pot totals, and byte-identical
reruns of the `commissioning solve` command."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest
from conftest import FIXTURE_DIR

from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.optimise.formula_grant import effective_pot_amounts
from commissioning.results import RunResult
from commissioning.scenario_io import scenario_from_data

_SCRIPT = Path(sys.executable).with_name("commissioning")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "commissioning.cli"]
DETERMINISTIC_FILES = ("allocations.csv", "coverage.csv", "pots.csv", "targets.csv", "summary.json")


def _london_with(mopac_direct_pence: int | None = None, cap: str | None = None) -> Scenario:
    """The fixture, optionally with less MOPAC direct money (so cells fall short for lack of
    money) and a benchmark cap (so some are held by it)."""
    data = json.loads((FIXTURE_DIR / "scenario.json").read_text(encoding="utf-8"))
    if mopac_direct_pence is not None:
        pot = next(p for p in data["pots"] if p["id"] == "mopac_direct")
        for amount in pot["amounts"]:
            amount["amount_pence"] = mopac_direct_pence
    if cap is not None:
        data["policy"]["cap_at_benchmark_factor"] = cap
    return scenario_from_data(data, base_dir=FIXTURE_DIR)


VARIANTS = {
    "fixture": {},
    "less money": {"mopac_direct_pence": 380_000_000},
    "less money and a cap": {"mopac_direct_pence": 380_000_000, "cap": "1.2"},
}


@pytest.fixture(scope="module")
def london_run(london_scenario: Scenario) -> RunResult:
    return solve(london_scenario)


@pytest.fixture(scope="module", params=list(VARIANTS))
def london_variant(request: pytest.FixtureRequest) -> tuple[str, RunResult]:
    return request.param, solve(_london_with(**VARIANTS[request.param]))


def test_london_solves_to_optimality(london_run: RunResult) -> None:
    summary = london_run.summary
    assert summary["status"] == "optimal"
    assert summary["fairness_rule"] == "leximin"
    assert 0 < summary["fairness_level"] <= 1
    assert [s["status"] for s in summary["stages"]] == ["optimal"] * len(summary["stages"])
    assert summary["areas"] == 32


def test_every_cell_below_benchmark_says_why(london_variant: tuple[str, RunResult]) -> None:
    """Money ran out, or a named rule holds it: fairness has no tolerance to hide behind."""
    name, run = london_variant
    assert run.summary["status"] == "optimal"
    coverage = run.table("coverage").to_dicts()
    why = {
        (r["year"], r["area_code"], r["service"]): r
        for r in run.table("explanations").iter_rows(named=True)
    }
    assert len(why) == len(coverage)
    below = [r for r in coverage if r["target_units"] > 0 and r["shortfall_units"] > 1e-9]
    for row in coverage:
        reason = why[(row["year"], row["area_code"], row["service"])]
        assert reason["reason"] == row["explanation"], row
        if row["target_units"] > 0 and row["shortfall_units"] <= 1e-9:
            assert reason["reason_code"] == "at_or_above_benchmark", row
    codes = {why[(r["year"], r["area_code"], r["service"])]["reason_code"] for r in below}
    if name == "less money":
        assert codes == {"money"}
    if name == "less money and a cap":
        # a cap above benchmark holds a cell below it only when a whole granule will not fit
        assert codes == {"money", "benchmark_cap"}


def test_money_explanations_are_true(london_variant: tuple[str, RunResult]) -> None:
    """A cell said to be short of money really has less than one more granule left in its pots."""
    _, run = london_variant
    unspent = {
        (r["pot"], r["year"]): r["unspent_pence"] for r in run.table("pots").iter_rows(named=True)
    }
    scenario = run.scenario
    for row in run.table("explanations").iter_rows(named=True):
        if row["reason_code"] != "money":
            continue
        service = scenario.service(row["service"])
        pots = [p.id for p in scenario.pots if p.may_fund(row["service"], row["area_code"])]
        assert sum(unspent[(p, row["year"])] for p in pots) < service.granule_cost_pence, row


def test_london_pot_totals_reconcile_to_the_penny(london_variant: tuple[str, RunResult]) -> None:
    _, run = london_variant
    scenario = run.scenario
    amounts = effective_pot_amounts(scenario)  # after the LCPF's 70/30 fund split
    spent: dict[tuple[str, str], int] = defaultdict(int)
    for row in run.table("allocations").iter_rows(named=True):
        spent[(row["pot"], row["year"])] += row["cost_pence"]
        assert scenario.pot(row["pot"]).may_fund(row["service"], row["area_code"]), row
    promised: dict[tuple[str, str], int] = defaultdict(int)
    for row in run.table("commitments").iter_rows(named=True):
        promised[(row["pot"], row["year"])] += row["amount_pence"]
    pots = run.table("pots")
    assert pots.height == len(scenario.pots) * len(scenario.financial_years)
    for row in pots.iter_rows(named=True):
        key = (row["pot"], row["year"])
        assert row["budget_pence"] == amounts[row["pot"]][row["year"]]
        assert row["committed_pence"] == promised[key]
        assert row["allocated_pence"] == spent[key]
        assert row["unspent_pence"] == (
            row["budget_pence"] - row["committed_pence"] - row["allocated_pence"]
        )
        assert row["unspent_pence"] >= 0
    # the split moves money between pots and creates none
    for year in scenario.financial_years:
        assert sum(amounts[p.id][year] for p in scenario.pots) == sum(
            p.amount_in(year) for p in scenario.pots
        )
    # the scenario's own contracts are paid first, every year
    listed = {(r["commitment"], r["year"]) for r in run.table("commitments").iter_rows(named=True)}
    for c in scenario.commitments:
        for year in c.years or scenario.financial_years:
            assert (c.id, year) in listed
    # formula grants and selected bids are commitments on their pots, to the penny
    if "grants" in run.tables:
        grants = run.table("grants").group_by("pot", "year").agg(pl.col("allocated_pence").sum())
        for row in grants.iter_rows(named=True):
            grant_rows = run.table("commitments").filter(
                (pl.col("pot") == row["pot"])
                & (pl.col("year") == row["year"])
                & pl.col("commitment").str.starts_with("formula_grant_")
            )
            assert int(grant_rows["amount_pence"].sum()) == row["allocated_pence"]
    # the Harmful Practices ring-fence is met from the Victims Fund every year
    for year in scenario.financial_years:
        fenced = sum(
            r["cost_pence"]
            for r in run.table("allocations").iter_rows(named=True)
            if r["pot"] == "victims_fund"
            and r["year"] == year
            and r["service"] == "harmful_practices_training"
        )
        assert fenced >= 20_000_000
    totals = run.summary["totals_pence"]
    assert totals["budget"] == int(pots["budget_pence"].sum())
    assert totals["allocated"] == int(run.table("allocations")["cost_pence"].sum())
    assert totals["budget"] == totals["committed"] + totals["allocated"] + totals["unspent"]


def test_cli_solve_twice_writes_byte_identical_outputs(tmp_path: Path) -> None:
    scenario = FIXTURE_DIR / "scenario.json"
    outs = [tmp_path / "first", tmp_path / "second"]
    for out in outs:
        done = subprocess.run(
            [*COMMAND, "solve", str(scenario), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
        assert "outputs written to" in done.stdout
    for name in DETERMINISTIC_FILES:
        first, second = (out / name for out in outs)
        assert first.read_bytes() == second.read_bytes(), name
        assert first.stat().st_size > 0, name
    assert (outs[0] / "timing.json").exists()
