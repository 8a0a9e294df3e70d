"""Binding rules: every named rule row evaluated at the delivered allocation, in pence."""

from __future__ import annotations

import polars as pl
from conftest import small_scenario_data
from test_cost_to_benchmark import london_cut

from commissioning.models import Scenario
from commissioning.optimise import solve

YEARS = ("2019/20", "2020/21")


def test_london_cut_binding_pots_and_ring_fence(london_scenario: Scenario) -> None:
    run = solve(london_cut(london_scenario))
    binding = run.table("binding")
    unspent = {(r["pot"], r["year"]): r["unspent_pence"] for r in run.pots.iter_rows(named=True)}
    budgets = binding.filter(pl.col("family") == "pot_budget")
    # The LCPF pays only its formula grant (no service): it has no rule row of its own.
    assert set(budgets["pot"]) == {"mopac_direct", "victims_fund", "lcpf_co_commissioning"}
    for r in budgets.iter_rows(named=True):
        assert r["slack_pence"] == unspent[(r["pot"], r["year"])]
        assert r["binding"] == (r["slack_pence"] == 0)
        assert r["description"].startswith(run.scenario.pot(r["pot"]).name)
    co = budgets.filter(pl.col("pot") == "lcpf_co_commissioning").row(0, named=True)
    # £7,166.67 left cannot buy half an FTE (£20,000): not binding, but it stops the next unit.
    assert (co["slack_pence"], co["binding"], co["blocks_next_granule"]) == (716_667, False, True)
    fences = binding.filter(pl.col("family") == "ring_fence")
    assert fences.height == 3 and fences["binding"].all()
    assert fences["constraint"][0] == "ring_fence[harmful_practices][2019/20]"


def test_area_cap_pace_and_award_rows_match_the_allocation() -> None:
    data = small_scenario_data()
    data["policy"] = {
        "area_limits": [{"area": "E09000003", "max_pence": 12_000_000}],
        "previous_allocation": [{"area": "E09000002", "service": "idva", "units": "2"}],
        "max_change_pct": "50",
        "award_years": 2,
    }
    run = solve(Scenario.model_validate(data))
    binding = run.table("binding")
    spend = {
        (r["area_code"], r["year"]): r["funded_cost_pence"]
        for r in run.coverage.group_by("area_code", "year")
        .agg(pl.col("funded_cost_pence").sum())
        .iter_rows(named=True)
    }
    caps = binding.filter(pl.col("family") == "area_cap")
    assert caps.height == 2
    for r in caps.iter_rows(named=True):
        assert r["slack_pence"] == 12_000_000 - spend[("E09000003", r["year"])]
        assert r["description"] == f"Area E09000003 {r['year']}: cap of £120,000"
    pace = binding.filter(pl.col("family") == "pace_up").sort("year")
    assert pace["area_code"].to_list() == ["E09000002", "E09000002"]
    first = pace.row(0, named=True)
    assert first["slack_pence"] == round(1.5 * 2 * 4_000_000) - spend[("E09000002", "2019/20")]
    assert first["binding"] == (first["slack_pence"] == 0)
    awards = binding.filter(pl.col("family") == "award_kept")
    assert awards.height == 4 and (awards["measure"] == "granules").all()
    assert (awards["slack"] >= 0).all()
