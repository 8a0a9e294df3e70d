"""The scorecard: its identities on hand-built runs, and the same figures everywhere it is shown.

Hand-built runs pin every definition to numbers worked out by hand; real solves (a small
scenario, and London with a smaller MOPAC budget) check that summary.json, the CLI table, the
workbook read back from disk and the API over HTTP all carry the same scorecard.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import small_scenario_data
from litestar.testing import TestClient
from postgres_support import open_test_store
from python_calamine import CalamineWorkbook
from test_api_support import (
    create_scenario,
    make_keys,
    settings_for,
    start_run,
    wait_for_run,
    with_direct_budget,
)

from commissioning.analysis import Scorecard, scorecard
from commissioning.analysis.scorecard import Coverage, gini
from commissioning.api.app import create_app
from commissioning.models import Scenario
from commissioning.results import (
    ALLOCATIONS_SCHEMA,
    COVERAGE_SCHEMA,
    POTS_SCHEMA,
    RunResult,
)
from commissioning.runs import report, solve_to_directory
from commissioning.scenario_io import scenario_from_data

YEAR = "2019/20"
A, B, C = "E09000002", "E09000003", "E09000004"
IDVA_GRANULE = 2_000_000  # half an FTE at £40,000
REFUGE_UNIT = 3_000_000


# ---- a hand-built run ----


def small_scenario() -> Scenario:
    """Three areas; IDVAs in half FTEs from one pot; refuge bed-spaces no pot may fund."""
    data = small_scenario_data({A: 79_013.0, B: 158_228.0, C: 100_000.0})
    data["financial_years"] = [YEAR]
    data["services"] = [
        {
            "id": "idva",
            "name": "IDVA",
            "unit": "FTE",
            "unit_cost_pence": 4_000_000,
            "granularity": "0.5",
        },
        {"id": "refuge", "name": "Refuge", "unit": "bed-space", "unit_cost_pence": REFUGE_UNIT},
    ]
    data["pots"][0]["amounts"] = [{"year": YEAR, "amount_pence": 30_000_000}]
    data["pots"][0]["eligible_services"] = ["idva"]
    return scenario_from_data(data)


def coverage_row(
    area: str,
    service: str,
    target: float,
    existing: float,
    funded: float,
    why: str,
    bids: float = 0.0,
) -> dict[str, Any]:
    total = existing + bids + funded
    return {
        "year": YEAR,
        "area_code": area,
        "area_name": f"Area {area}",
        "service": service,
        "target_units": target,
        "existing_units": existing,
        "bid_units": bids,
        "funded_units": funded,
        "total_units": total,
        "coverage_ratio": total / target if target else None,
        "shortfall_units": max(0.0, target - total),
        "funded_cost_pence": int(funded * 4_000_000),
        "explanation": why,
    }


def hand_built_run(why_below: str = "money: test", **summary: Any) -> RunResult:
    """A: IDVA 3 of 4 and refuge 0 of 1.5 (unfundable); B: IDVA 2 of 2.3; C: IDVA 3 of 2."""
    coverage = [
        coverage_row(A, "idva", 4.0, 0.5, 2.0, why_below, bids=0.5),
        coverage_row(A, "refuge", 1.5, 0.0, 0.0, "no pot may fund refuge in this area"),
        coverage_row(B, "idva", 2.3, 0.0, 2.0, why_below),
        coverage_row(B, "refuge", 0.0, 0.0, 0.0, "not benchmarked"),
        coverage_row(C, "idva", 2.0, 0.0, 3.0, "at or above benchmark"),
    ]
    allocations = [
        {
            "year": YEAR,
            "area_code": r["area_code"],
            "area_name": r["area_name"],
            "service": r["service"],
            "pot": "pot",
            "units": r["funded_units"],
            "cost_pence": r["funded_cost_pence"],
        }
        for r in coverage
        if r["funded_units"]
    ]
    pots = [
        {
            "year": YEAR,
            "pot": "pot",
            "pot_name": "A pot",
            "budget_pence": 30_000_000,
            "committed_pence": 0,
            "allocated_pence": 28_000_000,
            "unspent_pence": 2_000_000,
        }
    ]
    tables = {
        "coverage": pl.DataFrame(coverage, schema=COVERAGE_SCHEMA),
        "allocations": pl.DataFrame(allocations, schema=ALLOCATIONS_SCHEMA),
        "pots": pl.DataFrame(pots, schema=POTS_SCHEMA),
    }
    base = {"fairness_rule": "leximin", "fairness_level": 0.0}
    return RunResult(small_scenario(), tables, {**base, **summary})


def by_definition(values: list[Fraction]) -> Fraction:
    """Gini straight from its definition: Σᵢ Σⱼ |xᵢ − xⱼ| ÷ (2 n² mean)."""
    n = len(values)
    mean = sum(values, Fraction(0)) / n
    return sum(abs(x - y) for x in values for y in values) / (2 * n * n * mean)


def test_hand_built_run_scores_as_worked_out_by_hand() -> None:
    card = scorecard(hand_built_run())
    assert card.benchmarked_cells == 4  # B's refuge has no target: not benchmarked
    # A's refuge (0 of 1.5, no pot may fund it) is the lowest cell, counted and flagged.
    assert card.lowest_coverage is not None and card.lowest_coverage.ratio == 0
    assert card.unfundable_cells == 1
    assert [(c.area_code, c.service, c.year, c.below_benchmark) for c in card.unfundable] == [
        (A, "refuge", YEAR, True)
    ]
    assert card.lowest_coverage_fundable is not None
    assert card.lowest_coverage_fundable.ratio == 0.75
    assert card.lowest_coverage_fundable.percent == "75.0%"
    assert card.cells_below == 3
    assert card.boroughs_below == [f"Area {A}", f"Area {B}"]
    assert card.boroughs_below_count == 2
    [year] = card.years
    assert (year.year, year.cells_below, year.boroughs_below_count) == (YEAR, 3, 2)
    assert card.highest_over_lowest is None  # the lowest is 0
    coverages = [Fraction(0), Fraction(3, 4), Fraction(20, 23), Fraction(1)]
    assert card.gini == round(float(by_definition(coverages)), 6)

    idva, refuge = card.services
    # IDVA: 1 FTE short in A (2 half-FTEs) and 0.3 in B (rounded up to 1 half-FTE).
    assert (idva.units_short, idva.granules_short, idva.short_pence) == (1.3, 3, 3 * IDVA_GRANULE)
    assert idva.units_short_at_granularity == 1.5
    assert (idva.units_funded, idva.allocated_pence) == (7.0, 28_000_000)
    assert idva.units_from_bids == 0.5  # A's bid units: counted in coverage, not as funded
    # Refuge: 1.5 bed-spaces short in whole bed-spaces is 2, at £30,000 each.
    assert (refuge.units_short, refuge.granules_short, refuge.short_pence) == (1.5, 2, 6_000_000)
    assert card.short_pence == 12_000_000
    assert (card.allocated_pence, card.unspent_pence) == (28_000_000, 2_000_000)
    assert card.rule_objective.label == "rule objective"
    assert (card.rule_objective.rule, card.rule_objective.level) == ("leximin", 0.0)


def test_units_short_at_granularity_times_cost_is_pounds_short() -> None:
    card = scorecard(hand_built_run())
    services = {s.id: s for s in small_scenario().services}
    for score in card.services:
        service = services[score.service]
        for part in (score, *score.by_year):
            assert part.short_pence == part.granules_short * service.granule_cost_pence
            at_granularity = Decimal(part.granules_short) * service.granularity
            assert at_granularity * service.unit_cost_pence == part.short_pence
            assert Decimal(str(part.units_short_at_granularity)) == at_granularity
            # Rounding up to whole granules adds less than one granule per cell below.
            assert part.units_short <= part.units_short_at_granularity
            assert part.units_short_at_granularity < part.units_short + float(
                service.granularity
            ) * max(1, part.cells_below)


def test_gini_of_equal_coverage_is_zero_and_a_hand_computed_case() -> None:
    assert gini([Fraction(1, 2)] * 5) == 0
    assert gini([]) == 0 and gini([Fraction(0)] * 3) == 0
    # 0.5 and 1: Σ|xᵢ − xⱼ| = 1, n = 2, mean = 0.75, so 1 ÷ (2 × 4 × 0.75) = 1/6.
    assert gini([Fraction(1, 2), Fraction(1)]) == pytest.approx(1 / 6, abs=1e-15)
    # One cell holds everything: (n − 1) ÷ n.
    assert gini([Fraction(0)] * 3 + [Fraction(1)]) == pytest.approx(3 / 4, abs=1e-15)


def test_highest_over_lowest() -> None:
    run = hand_built_run()
    fundable_only = run.table("coverage").filter(pl.col("service") == "idva")
    card = scorecard(RunResult(run.scenario, {**run.tables, "coverage": fundable_only}, {}))
    # Coverages 0.75, 20/23 and 1 (C's 1.5 is capped): 1 ÷ 0.75.
    assert card.highest_over_lowest == round(4 / 3, 6)
    assert card.highest_coverage is not None and card.highest_coverage.percent == "100.0%"
    assert card.rule_objective.rule is None and card.rule_objective.level is None


def test_a_percentage_never_rounds_up_to_the_benchmark() -> None:
    run = hand_built_run()
    nearly = run.table("coverage").with_columns(
        pl.when(pl.col("area_code") == B)
        .then(pl.lit(2.299))
        .otherwise(pl.col("total_units"))
        .alias("total_units")
    )
    card = scorecard(RunResult(run.scenario, {**run.tables, "coverage": nearly}, {}))
    assert card.cells_below == 3  # B at 2.299 of 2.3 is still below
    idva = next(s for s in card.services if s.service == "idva")
    assert idva.granules_short == 2 + 1  # 0.001 short still needs a whole half-FTE
    assert Coverage.of(Fraction(2299, 2300)).percent == "99.9%"
    assert Coverage.of(Fraction(1)).percent == "100.0%"


def test_unspent_money_usable_when_no_rule_holds_the_cells() -> None:
    card = scorecard(hand_built_run())
    # £20,000 left in a pot that may fund A's and B's IDVAs, which are short for money alone.
    assert card.affordability.source == "scorecard estimate"
    assert card.affordability.unspent_usable_pence == 2_000_000
    assert card.affordability.held == []


def test_unspent_money_held_by_a_named_rule_is_named() -> None:
    card = scorecard(hand_built_run("held by the area cap of £40,000 a year"))
    assert card.affordability.unspent_usable_pence == 0
    [held] = card.affordability.held
    assert (held.pot, held.year, held.pence) == ("pot", YEAR, 2_000_000)
    assert held.rule == "the area cap of £40,000 a year"


def test_the_optimisers_own_affordability_check_is_used_when_recorded() -> None:
    recorded = {
        "unspent_usable_pence": 0,
        "held": [{"pot": "pot", "year": YEAR, "pence": 2_000_000, "rule": "pace of change"}],
    }
    card = scorecard(hand_built_run(affordability=recorded))
    assert card.affordability.source == "optimiser"
    assert card.affordability.unspent_usable_pence == 0
    assert card.affordability.held[0].rule == "pace of change"


def test_the_json_is_plain_and_the_same_after_a_round_trip() -> None:
    card = scorecard(hand_built_run())
    data = card.to_json()
    text = json.dumps(data, sort_keys=True)
    assert Scorecard.model_validate(json.loads(text)) == card
    assert json.loads(text) == data


# ---- real solves: one definition everywhere ----


@pytest.fixture(scope="module")
def unfundable_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real solve in which MARAC coordinators are benchmarked but no pot may fund them."""
    data = small_scenario_data()
    data["benchmarks"].append({**data["benchmarks"][0], "service": "marac", "units": "1"})
    data["pots"][0]["eligible_services"] = ["idva"]
    data["pots"][0]["amounts"] = [
        {"year": "2019/20", "amount_pence": 20_000_000},
        {"year": "2020/21", "amount_pence": 20_000_000},
    ]
    _, run_dir = solve_to_directory(
        scenario_from_data(data), tmp_path_factory.mktemp("unfundable") / "run"
    )
    return run_dir


def test_unfundable_cells_count_in_a_real_solve(unfundable_run_dir: Path) -> None:
    run = RunResult.read(unfundable_run_dir)
    card = scorecard(run)
    coverage = run.table("coverage").filter(pl.col("target_units") > 0)
    assert card.benchmarked_cells == coverage.height == 8  # 2 areas × 2 services × 2 years
    assert card.unfundable_cells == 4
    assert {c.service for c in card.unfundable} == {"marac"}
    assert card.lowest_coverage is not None and card.lowest_coverage.ratio == 0
    assert card.lowest_coverage_fundable is not None
    assert card.lowest_coverage_fundable.ratio > 0
    assert card.cells_below == coverage.filter(pl.col("shortfall_units") > 1e-6).height
    summary = json.loads((unfundable_run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["scorecard"] == card.to_json()


def test_cli_table_shows_the_scorecard(unfundable_run_dir: Path) -> None:
    run = RunResult.read(unfundable_run_dir)
    card = scorecard(run)
    text = report(run)
    assert "scorecard (same definitions for every fairness rule)" in text
    assert card.lowest_coverage is not None
    assert f"lowest coverage          {card.lowest_coverage.percent} over" in text
    assert f"({card.unfundable_cells} no pot may fund;" in text
    assert ", ".join(card.boroughs_below) in text
    marac = next(s for s in card.services if s.service == "marac")
    assert marac.short_pence > 0
    marac_line = next(line for line in text.splitlines() if line.startswith("  marac "))
    assert f"£{marac.short_pence // 100:,}" in marac_line
    assert f"Gini {card.gini:.3f}" in text
    assert "rule objective: leximin lowest level" in text


def test_summary_json_holds_the_scorecard_of_the_run_read_back(unfundable_run_dir: Path) -> None:
    summary = json.loads((unfundable_run_dir / "summary.json").read_text(encoding="utf-8"))
    card = scorecard(RunResult.read(unfundable_run_dir))
    assert summary["scorecard"] == card.to_json()
    assert card.cells_below > 0 and card.boroughs_below_count > 0
    # £ short is exactly the granules short at each service's granule cost, summed.
    services = {s.id: s for s in RunResult.read(unfundable_run_dir).scenario.services}
    for score in card.services:
        assert (
            score.short_pence == score.granules_short * services[score.service].granule_cost_pence
        )
        assert score.granules_short == sum(y.granules_short for y in score.by_year)
        assert score.short_pence == sum(y.short_pence for y in score.by_year)
    assert card.cells_below == sum(y.cells_below for y in card.years)


def test_workbook_summary_read_back_from_disk_shows_the_scorecard(unfundable_run_dir: Path) -> None:
    card = scorecard(RunResult.read(unfundable_run_dir))
    book = CalamineWorkbook.from_path(str(unfundable_run_dir / "workbook.xlsx"))
    rows = book.get_sheet_by_name("Summary").to_python()
    facts = {row[0]: row[1] for row in rows if row and isinstance(row[0], str)}
    assert card.lowest_coverage is not None
    shown = Decimal(str(facts["Lowest coverage, all benchmarked cells"]))
    assert shown == Decimal(card.lowest_coverage.percent.removesuffix("%")) / 100
    assert facts["Cells below benchmark"] == card.cells_below
    assert facts["Boroughs below benchmark"] == card.boroughs_below_count
    assert facts["Boroughs below benchmark, by name"] == ", ".join(card.boroughs_below)
    assert facts["Spread of coverage: Gini coefficient"] == card.gini
    assert Decimal(str(facts["Money unspent, all pots and years"])) * 100 == card.unspent_pence
    usable = facts["Unspent money a below-benchmark cell could have used"]
    assert Decimal(str(usable)) * 100 == card.affordability.unspent_usable_pence
    heading = next(i for i, r in enumerate(rows) if r[:1] == ["Service"] and "Units short" in r)
    header = rows[heading]
    by_service = {r[0]: dict(zip(header, r, strict=True)) for r in rows[heading + 1 :]}
    for score in card.services:
        row = by_service[score.service_name]  # the Summary names services
        assert Decimal(str(row["£ short of benchmark"])) * 100 == score.short_pence
        assert row["Amounts short (rounded up)"] == score.granules_short
        units_short = row["Units short"]
        assert isinstance(units_short, float | int)
        assert math.isclose(units_short, score.units_short)


# ---- the API over HTTP ----


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient[Any], Any, str]]:
    folder = tmp_path_factory.mktemp("scorecard-api")
    settings = settings_for(folder)
    store = open_test_store(settings.store)
    keys = make_keys(store)
    with TestClient(create_app(settings)) as client:
        scenario_id = create_scenario(
            client, keys, with_direct_budget(400_000_000, "London, MOPAC direct £4m")
        )
        run_id = start_run(client, keys, scenario_id)
        assert wait_for_run(client, run_id, keys.header("commissioner"))["status"] == "succeeded"
        yield client, keys, run_id


def test_api_serves_the_scorecard_in_the_runs_summary(
    api: tuple[TestClient[Any], Any, str],
) -> None:
    client, keys, run_id = api
    response = client.get(f"/api/v1/runs/{run_id}/scorecard", headers=keys.header("commissioner"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run_id"] == run_id
    run = client.get(f"/api/v1/runs/{run_id}", headers=keys.header("commissioner")).json()
    assert body["scorecard"] == run["summary"]["scorecard"]
    card = Scorecard.model_validate(body["scorecard"])
    assert card.cells_below > 0 and card.boroughs_below_count > 0
    assert card.cells_below == sum(y.cells_below for y in card.years)
    # £ short is exactly the granules short at each service's granule cost, summed over years.
    services = {s["id"]: s for s in with_direct_budget(1, "")["services"]}
    for score in card.services:
        granule = Decimal(services[score.service].get("granularity", "1"))
        assert score.short_pence == score.granules_short * int(
            granule * services[score.service]["unit_cost_pence"]
        )
        assert score.short_pence == sum(y.short_pence for y in score.by_year)


def test_api_scorecard_follows_the_summarys_scoping(api: tuple[TestClient[Any], Any, str]) -> None:
    client, keys, run_id = api
    path = f"/api/v1/runs/{run_id}/scorecard"
    # A draft is commissioners' only.
    assert client.get(path, headers=keys.header("finance")).status_code == 403
    published = client.post(f"/api/v1/runs/{run_id}/publish", headers=keys.header("commissioner"))
    assert published.status_code == 200
    assert client.get(path, headers=keys.header("finance")).status_code == 200
    # London-wide, like the summary a borough lead does not get.
    borough = client.get(path, headers=keys.header("camden"))
    assert borough.status_code == 403
    assert "London-wide" in borough.json()["detail"]
    assert (
        client.get(f"/api/v1/runs/{run_id}", headers=keys.header("camden")).json()["summary"]
        is None
    )
    missing = client.get(f"/api/v1/runs/{'0' * 32}/scorecard", headers=keys.header("finance"))
    assert missing.status_code == 404
    assert client.get(path).status_code == 401


def test_openapi_documents_the_scorecard(api: tuple[TestClient[Any], Any, str]) -> None:
    client, _, _ = api
    spec = client.get("/schema/openapi.json").json()
    operation = spec["paths"]["/api/v1/runs/{run_id}/scorecard"]["get"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/RunScorecard")
    assert {"401", "403", "404", "409"} <= set(operation["responses"])
    schemas = spec["components"]["schemas"]
    scorecard_schema = schemas["Scorecard"]
    assert {"lowest_coverage", "cells_below", "gini", "affordability", "services"} <= set(
        scorecard_schema["properties"]
    )
