"""Cost to benchmark: equal to brute force on small instances, and exact on London by re-solving.

Brute force (independent of the engine's lift): enumerate every granule vector of a tiny
instance; with unlimited money leximin puts every cell at its best level (min(1, the level at
its cap)), so the money a re-solve needs is the least, over the vectors that reach every best
level, of the money those vectors lack. For one set of pots that lack is Gale's condition: the
most, over sets S of pots, by which the cells only pots in S may fund cost more than S has.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from itertools import combinations, product
from typing import Any

import polars as pl
import pytest
from conftest import small_scenario_data
from hypothesis import HealthCheck, given, note, settings
from test_fairness_bruteforce import YEAR, tiny

from commissioning.errors import InfeasibleScenario
from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.optimise.benchmark_cost import granules_to_benchmark
from commissioning.optimise.data import AllocationData, build_data
from commissioning.results import RunResult

MOPAC = "mopac_direct"


def _best_level(slot: Any) -> Fraction:
    target = Fraction(repr(slot.target))
    existing = Fraction(repr(slot.existing))
    if slot.cap is None:
        return Fraction(1)
    return min(Fraction(1), (existing + Fraction(slot.granule_units) * slot.cap) / target)


def _level(slot: Any, k: int) -> Fraction:
    target = Fraction(repr(slot.target))
    existing = Fraction(repr(slot.existing))
    return min(Fraction(1), (existing + Fraction(slot.granule_units) * k) / target)


def _lack(data: AllocationData, vector: tuple[int, ...]) -> int:
    pots = data.pot_ids
    worst = 0
    for size in range(1, len(pots) + 1):
        for chosen in combinations(pots, size):
            money = sum(data.free_budget[(p, YEAR)] for p in chosen)
            owed = sum(
                k * s.granule_cost
                for s, k in zip(data.slots, vector, strict=True)
                if set(s.pots) <= set(chosen)
            )
            worst = max(worst, owed - money)
    return worst


def brute_force_money(data: AllocationData) -> int:
    ranges = []
    for slot in data.slots:
        reach = granules_to_benchmark(slot, YEAR)
        top = reach + 1 if slot.cap is None else min(slot.cap, reach + 1)
        ranges.append(range(slot.floor, max(slot.floor, top) + 1))
    best: int | None = None
    for vector in product(*ranges):
        if all(
            not s.benchmarked or _level(s, k) >= _best_level(s)
            for s, k in zip(data.slots, vector, strict=True)
        ):
            lack = _lack(data, vector)
            best = lack if best is None else min(best, lack)
    assert best is not None
    return best


def london_row(run: RunResult, year: str = YEAR) -> dict[str, Any]:
    table = run.table("cost_to_benchmark")
    return table.filter((pl.col("level") == "london") & (pl.col("year") == year)).row(0, named=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny("leximin"))
def test_money_to_benchmark_equals_brute_force(payload: dict[str, Any]) -> None:
    note(json.dumps(payload))
    scenario = Scenario.model_validate(payload)
    try:
        run = solve(scenario)
    except InfeasibleScenario:
        return
    data = build_data(scenario)
    assert london_row(run)["extra_money_pence"] == brute_force_money(data)
    # Each reachable cell costs the granules between what it has and its benchmark.
    funded = {
        (r["area_code"], r["service"]): r["funded_units"]
        for r in run.table("coverage").iter_rows(named=True)
    }
    cells = run.table("cost_to_benchmark").filter(pl.col("level") == "cell")
    for slot in data.slots:
        has = round(funded.get((slot.area, slot.service), 0.0) / float(slot.granule_units))
        need = granules_to_benchmark(slot, YEAR)
        row = cells.filter((pl.col("area_code") == slot.area) & (pl.col("service") == slot.service))
        if not slot.benchmarked:
            assert row.height == 0
        elif has >= need:
            assert row["status"].to_list() == ["at benchmark"]
            assert row["cost_pence"][0] == 0
        elif slot.cap is not None and need > slot.cap:
            assert row["status"].to_list() == ["unreachable"]
            assert row["rule"][0] == f"the {slot.cap_rule}"
        else:
            assert row["status"].to_list() == ["reachable"]
            assert row["granules"][0] == need - has
            assert row["cost_pence"][0] == (need - has) * slot.granule_cost


def test_an_unfundable_cell_is_unreachable_and_not_costed() -> None:
    payload = {
        "name": "no pot",
        "financial_years": [YEAR],
        "areas": [
            {"code": c, "name": n, "indicators": {"female_16_plus": 100_000.0}}
            for c, n in (("E09000002", "A"), ("E09000003", "B"))
        ],
        "services": [{"id": "idva", "name": "IDVA", "unit": "FTE", "unit_cost_pence": 100}],
        "benchmarks": [
            {"service": "idva", "units": "4", "per": 100_000, "basis": "female_16_plus",
             "source": "t", "edition": "t"}
        ],
        "pots": [
            {"id": "pot", "name": "Pot", "kind": "commissioned_services",
             "amounts": [{"year": YEAR, "amount_pence": 100}], "eligible_areas": ["E09000002"]}
        ],
    }  # fmt: skip
    run = solve(Scenario.model_validate(payload))
    cells = run.table("cost_to_benchmark").filter(pl.col("level") == "cell")
    b = cells.filter(pl.col("area_code") == "E09000003").row(0, named=True)
    assert (b["status"], b["rule"], b["cost_pence"]) == (
        "unreachable",
        "no pot may fund idva in this area",
        0,
    )
    a = cells.filter(pl.col("area_code") == "E09000002").row(0, named=True)
    assert (a["status"], a["granules"], a["cost_pence"]) == ("reachable", 3, 300)
    london = london_row(run)
    assert (london["cost_pence"], london["extra_money_pence"], london["cells_unreachable"]) == (
        300,
        300,
        1,
    )


# -- London: add the money and solve again ----------------------------------------------------


def with_pot_change(scenario: Scenario, pot_id: str, change: dict[str, int]) -> Scenario:
    pots = [
        p.model_copy(
            update={
                "amounts": [
                    a.model_copy(update={"amount_pence": a.amount_pence + change.get(a.year, 0)})
                    for a in p.amounts
                ]
            }
        )
        if p.id == pot_id
        else p
        for p in scenario.pots
    ]
    return scenario.model_copy(update={"pots": pots})


def london_cut(london_scenario: Scenario, share: float = 0.3) -> Scenario:
    cut = {a.year: -math.floor(a.amount_pence * share) for a in london_scenario.pot(MOPAC).amounts}
    return with_pot_change(london_scenario, MOPAC, cut)


@pytest.fixture(scope="module")
def cut_run(london_scenario: Scenario) -> RunResult:
    return solve(london_cut(london_scenario))


def _below(run: RunResult) -> pl.DataFrame:
    coverage = run.table("coverage")
    return coverage.filter((pl.col("target_units") > 0) & (pl.col("shortfall_units") > 1e-9))


def test_london_cut_costs_what_the_issue_worked_out(cut_run: RunResult) -> None:
    """24 cells short in each year: £540,000 of granules; £7,166.67 is already unspent."""
    for year in cut_run.scenario.financial_years:
        london = london_row(cut_run, year)
        assert london["cost_pence"] == 54_000_000
        assert london["extra_money_pence"] == 54_000_000 - 716_667
        assert london["cells"] == _below(cut_run).filter(pl.col("year") == year).height == 24
    table = cut_run.table("cost_to_benchmark")
    levels = set(table["level"])
    assert levels == {"cell", "borough", "service", "pots", "pot", "london"}
    for level in ("borough", "service", "pots"):
        sums = (
            table.filter(pl.col("level") == level).group_by("year").agg(pl.col("cost_pence").sum())
        )
        assert set(sums["cost_pence"]) == {54_000_000}


def test_adding_the_reported_money_brings_every_cell_to_benchmark(
    london_scenario: Scenario, cut_run: RunResult
) -> None:
    grows = cut_run.table("cost_to_benchmark").filter(pl.col("level") == "pot")
    assert set(grows["pot"]) == {MOPAC}
    extra = {r["year"]: r["extra_money_pence"] for r in grows.iter_rows(named=True)}
    scenario = london_cut(london_scenario)
    topped = solve(with_pot_change(scenario, MOPAC, extra))
    assert _below(topped).height == 0
    # One granule (half an FTE, £20,000) less in one year: some cell there stays below.
    short = dict(extra)
    short["2020/21"] -= 2_000_000
    run = solve(with_pot_change(scenario, MOPAC, short))
    below = _below(run)
    assert below.height > 0 and set(below["year"]) == {"2020/21"}


def test_a_deeper_cut_is_also_exact(london_scenario: Scenario) -> None:
    scenario = london_cut(london_scenario, 0.34)
    run = solve(scenario)
    grows = run.table("cost_to_benchmark").filter(pl.col("level") == "pot")
    extra = {r["year"]: r["extra_money_pence"] for r in grows.iter_rows(named=True)}
    assert min(extra.values()) > 0
    assert _below(solve(with_pot_change(scenario, MOPAC, extra))).height == 0
    less = {y: v - (1 if y == "2019/20" else 0) for y, v in extra.items()}
    assert set(_below(solve(with_pot_change(scenario, MOPAC, less)))["year"]) == {"2019/20"}


def test_the_shipped_london_run_costs_nothing(london_scenario: Scenario) -> None:
    run = solve(london_scenario)
    table = run.table("cost_to_benchmark")
    assert set(table["level"]) == {"cell", "borough", "service", "pots", "london"}
    assert set(table["cost_pence"]) == {0} and set(table["cells"]) == {0}
    assert set(table["extra_money_pence"].drop_nulls()) == {0}
    cells = table.filter(pl.col("level") == "cell")
    assert set(cells["status"]) == {"at benchmark"}
    assert cells.height == run.coverage.filter(pl.col("target_units") > 0).height


def test_cost_to_benchmark_is_written_and_read_back(tmp_path: Any, cut_run: RunResult) -> None:
    cut_run.write(tmp_path / "run")
    again = RunResult.read(tmp_path / "run")
    assert again.table("cost_to_benchmark").equals(cut_run.table("cost_to_benchmark"))
    assert again.table("binding").equals(cut_run.table("binding"))


def test_an_area_cap_makes_cells_unreachable_and_the_money_is_still_exact() -> None:
    """Area B's total cap (£120,000) is below its benchmark: unreachable, named; with the
    reported money added both areas get their best, and one penny less leaves A short."""
    data = small_scenario_data()
    data["financial_years"] = [YEAR]
    data["pots"][0]["amounts"] = [{"year": YEAR, "amount_pence": 8_000_000}]
    data["policy"] = {"area_limits": [{"area": "E09000003", "max_pence": 12_000_000}]}
    run = solve(Scenario.model_validate(data))
    cells = run.table("cost_to_benchmark").filter(pl.col("level") == "cell")
    b = cells.filter(pl.col("area_code") == "E09000003").row(0, named=True)
    assert (b["status"], b["rule"]) == ("unreachable", "the area cap of £120,000 a year")
    a = cells.filter(pl.col("area_code") == "E09000002").row(0, named=True)
    assert a["status"] == "reachable"
    extra = london_row(run)["extra_money_pence"]
    data["pots"][0]["amounts"][0]["amount_pence"] += extra
    topped = solve(Scenario.model_validate(data)).coverage
    assert topped.filter(pl.col("area_code") == "E09000002")["shortfall_units"][0] == 0
    assert topped.filter(pl.col("area_code") == "E09000003")["funded_units"][0] == 3
    data["pots"][0]["amounts"][0]["amount_pence"] -= 1
    less = solve(Scenario.model_validate(data)).coverage
    assert less.filter(pl.col("area_code") == "E09000002")["shortfall_units"][0] > 0
