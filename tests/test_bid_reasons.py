"""Why each bid was selected or not, and why round money is left: every code, figures checked."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook
from test_bid_round import bid, scenario

from commissioning.excel import write_london_workbook
from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.optimise.bid_reasons import BID_REASON_CODES, MONEY_LEFT_CODES, deliveries
from commissioning.optimise.bid_round import bid_annual_cost, bid_value, select_round
from commissioning.results import RunResult
from commissioning.scenario_io import load_scenario

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019" / "scenario.json"


def reasons(s: Scenario) -> dict[str, tuple[str, str]]:
    result = select_round(s, s.bid_rounds[0])
    return {b: (r.code, r.text) for b, r in result.reasons.items()}


# --- each code on a small round, by hand ----------------------------------------------------


def test_selected_bids_say_what_they_score_per_pound() -> None:
    got = reasons(scenario([bid("a", 60, 10, [1])]))
    # score 10 → 100,000 points × 10 ÷ 60p = 16,666.667 per £1,000
    assert got["a"] == ("selected", "selected: score 10 for £0.60 a year, 16,666.667 per £1,000")


def test_too_few_partner_areas() -> None:
    got = reasons(scenario([bid("a", 10, 10, [1]), bid("b", 10, 1, [2, 3])], min_partner_areas=2))
    assert got["a"] == (
        "too_few_partner_areas",
        "1 partner areas, fewer than the round's minimum of 2",
    )
    assert got["b"][0] == "selected"


def test_overlaps_a_better_bid_for_the_same_service_and_area() -> None:
    # a and b both deliver IDVA in area 2: only one may be chosen, and a scores more
    got = reasons(scenario([bid("a", 40, 10, [1, 2]), bid("b", 40, 6, [2, 3])]))
    assert got["a"][0] == "selected"
    assert got["b"] == (
        "overlaps_selected_bid",
        "delivers idva in 1 partner areas where the selected bid a (score 10) already does; "
        "the round allows no two bids for one service in one area",
    )


def test_a_different_service_in_the_same_area_is_no_overlap() -> None:
    got = reasons(scenario([bid("a", 40, 10, [1, 2]), bid("b", 40, 6, [2], service="marac")]))
    assert got["a"][0] == got["b"][0] == "selected"


def test_over_the_remaining_budget_after_the_selected_bids() -> None:
    # a alone scores 10, b alone 9, both cost 110 > 100: a is chosen, b (better per penny:
    # 9/50 > 10/60) does not fit the 40p a leaves
    got = reasons(scenario([bid("a", 60, 10, [1]), bid("b", 50, 9, [2])]))
    assert got["a"][0] == "selected"
    assert got["b"] == (
        "over_remaining_budget",
        "it costs £0.50 in 2019/20 and the selected bids leave £0.40",
    )


def test_over_the_whole_budget_on_its_own() -> None:
    got = reasons(scenario([bid("a", 120, 10, [1]), bid("b", 50, 1, [2])]))
    assert got["a"] == (
        "over_remaining_budget",
        "costs £1.20 in 2019/20, more than the round's whole budget of £1",
    )


def test_over_the_remaining_budget_names_the_year_that_is_short() -> None:
    # a runs in both years; b only in 2020/21, where a leaves 20p of 80p
    s = scenario(
        [bid("a", 60, 10, [1], years=["2019/20", "2020/21"]), bid("b", 30, 9, [2], ["2020/21"])],
        budget=[100, 80],
    )
    assert reasons(s)["b"] == (
        "over_remaining_budget",
        "it costs £0.30 in 2020/21 and the selected bids leave £0.20",
    )


def test_lower_score_per_pound_than_every_selected_bid() -> None:
    # a + b score 15 for 100p; c (4 for 50p: 8,000 per £1,000) is below a (16,666.667) and b
    # (12,500): the money went to bids that score more per pound
    got = reasons(scenario([bid("a", 60, 10, [1]), bid("b", 40, 5, [2]), bid("c", 50, 4, [3])]))
    assert got["c"] == (
        "lower_score_per_pound",
        "score 4 for £0.50 a year, 8,000.000 per £1,000: less per pound than every selected "
        "bid (lowest: b, 12,500.000 per £1,000); it costs £0.50 in 2019/20 and the selected bids "
        "leave £0",
    )


def test_coverage_weighted_scores_count_partner_areas() -> None:
    s = scenario(
        [bid("a", 60, 10, [1, 2]), bid("b", 60, 4, [3, 4])], objective="coverage_weighted_score"
    )
    got = reasons(s)
    assert got["a"] == (
        "selected",
        "selected: score 10 × 2 partner areas = 20 for £0.60 a year, 33,333.333 per £1,000",
    )
    assert got["b"][0] == "lower_score_per_pound"
    assert got["b"][1].startswith("score 4 × 2 partner areas = 8 for £0.60 a year, 13,333.333")


def test_a_bid_that_scores_nothing_is_left_out_for_its_cost() -> None:
    got = reasons(scenario([bid("a", 10, 0, [1])]))
    assert got["a"] == (
        "lower_score_per_pound",
        "scores nothing under the round's objective, so it would add cost and no score",
    )


def test_the_reason_column_of_the_bids_table() -> None:
    from commissioning.optimise.bid_selection import select_bids

    s = scenario([bid("a", 60, 10, [1], years=["2019/20", "2020/21"])], budget=[100, 100])
    table = select_bids(s).table
    assert table.select("bid", "year", "reason_code").rows() == [
        ("a", "2019/20", "selected"),
        ("a", "2020/21", "selected"),
    ]


# --- money the round leaves ----------------------------------------------------------------


def money_left(s: Scenario) -> list[tuple[str, int, str, str]]:
    result = select_round(s, s.bid_rounds[0])
    return [(r["year"], r["left_pence"], r["reason_code"], r["reason"]) for r in result.money_left]


def test_money_left_when_no_bid_fits() -> None:
    s = scenario([bid("a", 60, 10, [1]), bid("b", 50, 9, [2])])
    assert money_left(s) == [
        (
            "2019/20",
            40,
            "no_bid_fits",
            "£0.40 of £1 left after the selected bids in 2019/20: every bid not selected costs "
            "more (the cheapest, b, costs £0.50 a year)",
        )
    ]


def test_money_left_when_bids_that_would_fit_are_barred() -> None:
    s = scenario(
        [bid("a", 60, 10, [1, 2]), bid("b", 30, 9, [2, 3]), bid("c", 90, 1, [4, 1])],
        min_partner_areas=2,
    )
    ((year, left, code, text),) = money_left(s)
    assert (year, left, code) == ("2019/20", 40, "remaining_bids_barred")
    assert text.startswith(
        "£0.40 of £1 left after the selected bids in 2019/20: the bids not selected that would "
        "fit are barred: b (£0.30): delivers idva in 1 partner areas where the selected bid a"
    )
    assert text.endswith("; every other costs more (the cheapest, c, costs £0.90 a year)")


def test_money_left_when_every_bid_was_selected_or_all_spent() -> None:
    assert money_left(scenario([bid("a", 60, 10, [1])]))[0][2] == "no_bids_left"
    assert money_left(scenario([bid("a", 100, 10, [1])]))[0][:3] == ("2019/20", 0, "all_spent")


# --- every bid of random rounds: the code is in the closed list and its figures hold -------


@st.composite
def rounds(draw: st.DrawFn) -> Scenario:
    n = draw(st.integers(1, 5))
    bids = [
        bid(
            f"b{i}",
            draw(st.integers(1, 80)),
            draw(st.integers(0, 9)),
            draw(st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True)),
            years=draw(st.sampled_from([["2019/20"], ["2020/21"], ["2019/20", "2020/21"]])),
        )
        for i in range(n)
    ]
    return scenario(
        bids,
        budget=[100, draw(st.integers(30, 100))],
        min_partner_areas=draw(st.integers(1, 2)),
        objective=draw(st.sampled_from(["score", "coverage_weighted_score"])),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds())
def test_every_reason_holds_on_random_rounds(s: Scenario) -> None:
    (bid_round,) = s.bid_rounds
    result = select_round(s, bid_round)
    bids = {b.id: b for b in bid_round.bids}
    cost = {b: bid_annual_cost(s, bids[b]) for b in bids}
    value = {b: bid_value(bid_round, bids[b]) for b in bids}
    chosen = set(result.selected)
    left = {
        y: result.budget[y] - sum(cost[b] for b in chosen if y in bids[b].years)
        for y in result.budget
    }
    assert set(result.reasons) == set(bids)
    for b, reason in result.reasons.items():
        assert reason.code in BID_REASON_CODES and reason.text
        assert (reason.code == "selected") == (b in chosen)
        if reason.code == "too_few_partner_areas":
            assert len(set(bids[b].partner_areas)) < bid_round.min_partner_areas
        elif reason.code == "overlaps_selected_bid":
            assert any(deliveries(bids[b]) & deliveries(bids[o]) for o in chosen)
        elif reason.code == "over_remaining_budget":
            assert any(cost[b] > left[y] for y in bids[b].years)
        elif reason.code == "lower_score_per_pound":
            assert value[b] == 0 or all(value[b] * cost[o] < value[o] * cost[b] for o in chosen)
    for row in result.money_left:
        assert row["reason_code"] in MONEY_LEFT_CODES
        assert row["left_pence"] == left[row["year"]]


# --- London: the shipped round --------------------------------------------------------------


@pytest.fixture(scope="module")
def london_run() -> RunResult:
    return solve(load_scenario(FIXTURE))


def test_london_bids_each_have_their_reason(london_run: RunResult) -> None:
    rows = london_run.table("bids").filter(pl.col("year") == "2019/20")
    got = {r["bid"]: (r["reason_code"], r["reason"]) for r in rows.iter_rows(named=True)}
    assert {b: code for b, (code, _) in got.items()} == {
        "central_north_west": "over_remaining_budget",
        "east_hub": "overlaps_selected_bid",
        "east_north_partnership": "selected",
        "kingston_richmond": "too_few_partner_areas",
        "pan_london": "overlaps_selected_bid",
        "south_west_partnership": "selected",
    }
    # 6 areas × 1 IDVA × £40,000; £1,650,000 − £766,666.67 − £766,666.66 = £116,666.67
    assert got["central_north_west"][1] == (
        "it costs £240,000 in 2019/20 and the selected bids leave £116,666.67"
    )
    assert got["east_north_partnership"][1] == (
        "selected: score 78 × 11 partner areas = 858 for £766,666.67 a year, 1.119 per £1,000"
    )
    assert "3 partner areas where the selected bid east_north_partnership" in got["east_hub"][1]


def test_london_co_commissioning_money_left_says_why(london_run: RunResult) -> None:
    (bid_round,) = london_run.summary["bids"]["rounds"]
    assert bid_round["budget_pot"] == "lcpf_co_commissioning"
    pots = london_run.table("pots").filter(pl.col("pot") == "lcpf_co_commissioning")
    unspent = dict(zip(pots["year"], pots["unspent_pence"], strict=True))
    for year in bid_round["years"]:
        assert (year["budget_pence"], year["selected_pence"], year["left_pence"]) == (
            165_000_000,
            153_333_333,
            11_666_667,
        )
        assert year["reason_code"] == "remaining_bids_barred"
        assert "kingston_richmond (£80,000): 2 partner areas" in year["reason"]
        assert "the cheapest, east_hub, costs £120,000 a year" in year["reason"]
        assert year["unspent_pence"] == unspent[year["year"]] == 11_666_667
        assert year["unspent_reason_code"] == "cells_at_benchmark"
        assert year["unspent_reason"] == (
            f"£116,666.67 of pot lcpf_co_commissioning unspent in {year['year']}: every cell "
            f"the pot may fund is at or above benchmark in {year['year']}"
        )


def test_london_bid_units_are_the_selected_bids_units(london_run: RunResult) -> None:
    scenario_ = london_run.scenario
    (bid_round,) = scenario_.bid_rounds
    chosen = set(london_run.table("bids").filter(pl.col("selected"))["bid"].unique().to_list())
    expected: dict[tuple[str, str, str], Decimal] = {}
    for b in bid_round.bids:
        if b.id not in chosen:
            continue
        for year, line in itertools.product(b.years, b.services):
            for area in line.areas or b.partner_areas:
                key = (year, area, line.service)
                expected[key] = expected.get(key, Decimal(0)) + line.units_per_area
    existing = {(e.area, e.service): e.units for e in scenario_.existing_provision}
    coverage = london_run.table("coverage")
    for r in coverage.iter_rows(named=True):
        key = (r["year"], r["area_code"], r["service"])
        assert r["bid_units"] == float(expected.get(key, 0)), key
        assert r["existing_units"] == float(existing.get(key[1:], 0)), key
        total = r["existing_units"] + r["bid_units"] + r["funded_units"]
        assert r["total_units"] == pytest.approx(total, abs=1e-12)
    assert coverage["bid_units"].sum() == 22 * 1.5 * 3  # 22 boroughs, 1.5 IDVA, 3 years


def test_london_workbook_bids_sheet_gives_reasons_and_money_left(
    london_run: RunResult, tmp_path: Path
) -> None:
    path = write_london_workbook(london_run, tmp_path / "london.xlsx")
    rows: list[list[Any]] = (
        CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Bids").to_python()
    )
    note = rows[1][0]
    assert "£116,666.67 of £1,650,000 left after the selected bids in 2019/20" in note
    assert "every cell the pot may fund is at or above benchmark" in note
    header = rows[4]
    assert header[-2:] == ["Reason code", "Reason"]
    bids = london_run.table("bids")
    assert [(r[0], r[-2], r[-1]) for r in rows[5:]] == list(
        zip(bids["bid"], bids["reason_code"], bids["reason"], strict=True)
    )


# --- the API serves the reasons --------------------------------------------------------------


def test_api_serves_bid_reasons_and_money_left(tmp_path: Path) -> None:
    from litestar.testing import TestClient
    from postgres_support import open_test_store
    from test_api_support import (
        create_scenario,
        london_data,
        make_keys,
        settings_for,
        start_run,
        wait_for_run,
    )

    from commissioning.api.app import create_app

    settings = settings_for(tmp_path)
    keys = make_keys(open_test_store(settings.store))
    with TestClient(create_app(settings)) as client:
        run_id = start_run(client, keys, create_scenario(client, keys, london_data()))
        run = wait_for_run(client, run_id, keys.header("commissioner"))
        assert run["status"] == "succeeded"
        (bid_round,) = run["summary"]["bids"]["rounds"]
        assert {y["left_pence"] for y in bid_round["years"]} == {11_666_667}
        path = f"/api/v1/runs/{run_id}/results/bids"
        rows = client.get(path, headers=keys.header("commissioner")).json()["rows"]
        assert {(r["bid"], r["reason_code"]) for r in rows} >= {
            ("kingston_richmond", "too_few_partner_areas"),
            ("east_hub", "overlaps_selected_bid"),
            ("central_north_west", "over_remaining_budget"),
        }
        coverage = client.get(
            f"/api/v1/runs/{run_id}/results/coverage?format=csv",
            headers=keys.header("commissioner"),
        )
        assert "existing_units,bid_units,funded_units" in coverage.text.splitlines()[0]
        # bids are London-wide: even once published, a borough lead may not read them
        publish = client.post(f"/api/v1/runs/{run_id}/publish", headers=keys.header("commissioner"))
        assert publish.is_success
        assert client.get(path, headers=keys.header("camden")).status_code == 403
        own = client.get(f"/api/v1/runs/{run_id}/results/coverage", headers=keys.header("camden"))
        assert own.status_code == 200 and all("bid_units" in r for r in own.json()["rows"])
