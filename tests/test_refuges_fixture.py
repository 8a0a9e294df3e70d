"""The London scenario with Council of Europe refuge and rape crisis benchmarks: money runs out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from commissioning.cli import main
from commissioning.need import benchmark_targets
from commissioning.optimise import solve
from commissioning.results import RunResult
from commissioning.runs import with_scorecard, write_run
from commissioning.scenario_io import load_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LONDON = FIXTURES / "london-2019"
REFUGES = FIXTURES / "london-2019-refuges"
NEW_SERVICES = {"refuge_places", "rape_crisis_centre"}
NEW_POTS = {"safe_accommodation", "rape_crisis_fund"}


def raw(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "scenario.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def run() -> RunResult:
    return solve(load_scenario(REFUGES / "scenario.json"))


def test_it_validates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(REFUGES / "scenario.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: ") and "32 areas, 8 services, 4 benchmarks, 6 pots" in out


def test_it_is_the_london_scenario_plus_the_council_of_europe_benchmarks() -> None:
    london, refuges = raw(LONDON), raw(REFUGES)
    changed = {"name", "description", "services", "benchmarks", "pots", "existing_provision"}
    assert {k: v for k, v in refuges.items() if k not in changed} == {
        k: v for k, v in london.items() if k not in changed
    }
    for key in ("services", "benchmarks", "existing_provision"):
        assert refuges[key][: len(london[key])] == london[key], key
    assert {s["id"] for s in refuges["services"][len(london["services"]) :]} == NEW_SERVICES
    london_pots = {p["id"]: p for p in london["pots"]}
    for pot in refuges["pots"]:
        if pot["id"] in NEW_POTS:
            continue
        before = london_pots.pop(pot["id"])
        if pot["id"] == "victims_fund":  # may also fund refuge places here
            assert pot["eligible_services"] == [*before["eligible_services"], "refuge_places"]
            pot = {**pot, "eligible_services": before["eligible_services"]}
            pot["source"] = before["source"]
        assert pot == before
    assert london_pots == {}
    for name in ("london_population_mid2019.csv", "london_imd2019_la_summary.csv"):
        assert (REFUGES / name).read_bytes() == (LONDON / name).read_bytes()


def test_every_added_figure_that_is_assumed_says_so() -> None:
    data = raw(REFUGES)
    services = [s for s in data["services"] if s["id"] in NEW_SERVICES]
    pots = [p for p in data["pots"] if p["id"] in NEW_POTS]
    existing = [e for e in data["existing_provision"] if e["service"] in NEW_SERVICES]
    assert len(services) == 2 and len(pots) == 2 and len(existing) == 64
    for record, flag, text in [
        *((s, "cost_is_assumption", "cost_source") for s in services),
        *((p, "is_assumption", "source") for p in pots),
        *((e, "is_assumption", "source") for e in existing),
    ]:
        assert record[flag] is True
        assert record[text].startswith("ASSUMPTION (illustrative"), record[text]
    benchmarks = {b["service"]: b for b in data["benchmarks"] if b["service"] in NEW_SERVICES}
    assert all("Council of Europe" in b["source"] for b in benchmarks.values())


def test_the_population_bases_are_in_the_area_data() -> None:
    scenario = load_scenario(REFUGES / "scenario.json")
    assert all(
        {"population_all_ages", "female_16_plus"} <= set(a.indicators) for a in scenario.areas
    )
    targets = benchmark_targets(scenario)
    total = dict(targets.group_by("service").agg(pl.col("target_units").sum()).iter_rows())
    # 8,952,268 people ÷ 10,000; 3,583,093 women 16+ ÷ 200,000 (the 32 MPS boroughs)
    assert total["refuge_places"] == pytest.approx(895.2268)
    assert total["rape_crisis_centre"] == pytest.approx(17.915465)


def test_money_runs_out_so_cells_stay_below_benchmark(run: RunResult) -> None:
    coverage = run.table("coverage")
    below = coverage.filter(pl.col("shortfall_units") > 1e-9)
    assert set(below["service"]) == NEW_SERVICES  # the SafeLives services still reach it
    assert below.filter(pl.col("service") == "rape_crisis_centre").height == 32 * 3
    reasons = run.table("explanations").join(
        below.select("year", "area_code", "service"), on=["year", "area_code", "service"]
    )
    assert reasons.height == below.height
    assert set(reasons["reason_code"]) == {"money"}  # no rule holds them: the pots ran dry
    pots = {(r["pot"], r["year"]): r for r in run.table("pots").iter_rows(named=True)}
    for year in run.scenario.financial_years:
        assert pots[("safe_accommodation", year)]["unspent_pence"] < 2_500_000  # one place
        assert pots[("rape_crisis_fund", year)]["unspent_pence"] < 3_150_000  # a tenth
    # the 2021/22 cut of £500,000 takes 20 places away
    funded = (
        coverage.filter(pl.col("service") == "refuge_places")
        .group_by("year")
        .agg(pl.col("funded_units").sum())
    )
    by_year = dict(funded.iter_rows())
    assert by_year["2020/21"] - by_year["2021/22"] == 20


def test_reruns_are_byte_identical(run: RunResult, tmp_path: Path) -> None:
    again = solve(load_scenario(REFUGES / "scenario.json"))
    first = write_run(with_scorecard(run), tmp_path / "first")
    second = write_run(with_scorecard(again), tmp_path / "second")
    names = sorted(p.name for p in first.iterdir() if p.name != "timing.json")
    assert names == sorted(p.name for p in second.iterdir() if p.name != "timing.json")
    assert {"coverage.csv", "bids.csv", "summary.json", "workbook.xlsx"} <= set(names)
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
