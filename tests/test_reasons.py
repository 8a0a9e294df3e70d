"""Every reason code, built on a small scenario solved for real, with the figures in its sentence
checked against the numbers worked by hand.

The scenario (tests/test_optimise_rules.hand_worked): areas A, B, C of 100,000, 50,000 and
25,000 women; IDVA targets 4, 2, 1 FTE and MARAC targets 1, 0.5, 0.25 FTE; both £40,000 a FTE
bought in half FTEs (£20,000 a granule); one pot.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from test_optimise_rules import YEARS3, A, B, C, _paced, hand_worked

from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.optimise.data import build_data
from commissioning.optimise.reasons import ReasonCode, explain_cells
from commissioning.results import RunResult

Y = "2019/20"


def _why(run: RunResult) -> dict[tuple[str, str, str], dict[str, Any]]:
    rows = run.table("explanations").iter_rows(named=True)
    return {(r["year"], r["area_code"], r["service"]): r for r in rows}


def _solve(data: dict[str, Any]) -> RunResult:
    run = solve(Scenario.model_validate(data))
    # the coverage table carries the same sentence as the explanations table, row for row
    joined = run.table("coverage").join(
        run.table("explanations"), on=["year", "area_code", "service"], how="full"
    )
    assert joined.filter(pl.col("explanation") != pl.col("reason")).is_empty()
    assert joined.height == run.table("coverage").height == run.table("explanations").height
    return run


def test_money_names_where_the_money_went_and_the_next_cell() -> None:
    # £160,000 buys 8 half FTEs. Lifting every cell to 50 % would take 10, so leximin stops
    # with A's IDVA at 1 FTE of 4 (25 %) and gives the spare granule to B's IDVA (50 %).
    run = _solve(hand_worked(budgets=[16_000_000]))
    why = _why(run)
    a_idva = why[(Y, A, "idva")]
    assert a_idva["reason_code"] == "money"
    assert a_idva["coverage_ratio"] == pytest.approx(0.25)
    assert a_idva["shortfall_units"] == pytest.approx(3.0)
    assert a_idva["shortfall_pence"] == 6 * 2_000_000
    assert a_idva["reason"] == (
        "IDVA in Area A: 25.0 % of benchmark, 3 FTE short (6 × 0.5 FTE, £120,000). The pots "
        "that may fund it (pot) have £0 left in 2019/20, less than one more 0.5 FTE (£20,000). "
        "They paid for 6 cells in 2019/20, now at 25.0 % to 200.0 % of benchmark. It is next in "
        "line: the next £20,000 goes to it."
    )
    a_marac = why[(Y, A, "marac")]
    assert a_marac["reason_code"] == "money"
    assert a_marac["shortfall_pence"] == 2_000_000
    assert a_marac["reason"].startswith("MARAC in Area A: 50.0 % of benchmark, 0.5 FTE short")
    assert a_marac["reason"].endswith(
        "They went to cells with lower coverage first (lowest now 25.0 %); the next £20,000 "
        "goes to IDVA in Area A."
    )
    assert why[(Y, B, "marac")]["reason_code"] == "at_or_above_benchmark"
    assert why[(Y, B, "marac")]["reason"] == "MARAC in Area B: at or above benchmark (100.0 %)."
    # cells in different situations get different sentences
    below = [r["reason"] for r in why.values() if r["reason_code"] != "at_or_above_benchmark"]
    assert len(set(below)) == len(below)


def test_ring_fence_that_took_the_money_is_named() -> None:
    # £100,000, all of it ring-fenced for MARAC: the MARAC cells pass benchmark, IDVAs get none.
    data = hand_worked(budgets=[10_000_000])
    data["ring_fences"] = [
        {
            "id": "marac_fence",
            "name": "MARAC fence",
            "pot": "pot",
            "min_amount_pence": 10_000_000,
            "services": ["marac"],
        }
    ]
    why = _why(_solve(data))
    for area in (A, B, C):
        row = why[(Y, area, "idva")]
        assert row["reason_code"] == "ring_fence", row
        assert row["coverage_ratio"] == 0.0
        assert (
            "the ring-fence 'MARAC fence' requires pot to spend at least £100,000 on marac "
            "(it spends £100,000 there), so that money went to 3 fenced cells now at 100.0 %"
        ) in row["reason"]
    assert why[(Y, C, "idva")]["shortfall_pence"] == 2 * 2_000_000


def test_benchmark_cap_holds_a_cell_a_whole_granule_would_take_past_it() -> None:
    # C's MARAC target is 0.25 FTE: with the cap at 1 × benchmark no half FTE fits under it.
    why = _why(_solve(hand_worked(cap_at_benchmark_factor="1")))
    c_marac = why[(Y, C, "marac")]
    assert c_marac["reason_code"] == "benchmark_cap"
    assert c_marac["reason"] == (
        "MARAC in Area C: 0.0 % of benchmark, 0.25 FTE short (1 × 0.5 FTE, £20,000). One more "
        "0.5 FTE would take it to 0.5 FTE, over the cap at 1 × benchmark (0.25 FTE)."
    )


def test_next_unit_would_exceed_an_area_limit() -> None:
    # A's IDVA may have at most 2.25 FTE: 2 FTE fit, the next half FTE would make 2.5.
    why = _why(
        _solve(hand_worked(area_limits=[{"area": A, "service": "idva", "max_units": "2.25"}]))
    )
    a_idva = why[(Y, A, "idva")]
    assert a_idva["reason_code"] == "next_unit_exceeds_cap"
    assert a_idva["coverage_ratio"] == pytest.approx(0.5)
    assert a_idva["reason"].endswith(
        "One more 0.5 FTE would take its funded units to 2.5 FTE, over the area limit of at "
        "most 2.25 FTE of this service."
    )


def test_area_limit_and_area_cap() -> None:
    limits = [
        {"area": A, "service": "idva", "max_units": "2.5"},
        {"area": C, "max_pence": 3_000_000},
    ]
    why = _why(_solve(hand_worked(area_limits=limits)))
    a_idva = why[(Y, A, "idva")]
    assert a_idva["reason_code"] == "area_limit"
    assert a_idva["shortfall_pence"] == 3 * 2_000_000  # 1.5 FTE short
    assert a_idva["reason"].endswith(
        "Held by the area limit of at most 2.5 FTE of this service, which it has reached."
    )
    c_short = [r for k, r in why.items() if k[1] == C and r["shortfall_units"] > 0]
    assert c_short
    for row in c_short:
        assert row["reason_code"] == "area_cap"
        assert (
            "Area C has £20,000 funded and one more 0.5 FTE (£20,000) would break the area cap "
            "of £30,000 a year."
        ) in row["reason"]


def test_pace_of_change_names_the_previous_total() -> None:
    why = _why(_solve(_paced(100_000_000)))
    for year in YEARS3:
        row = why[(year, C, "idva")]
        assert row["reason_code"] == "pace_of_change"
        assert row["shortfall_pence"] == 2 * 2_000_000  # 1 FTE of 2
        assert (
            "the pace-of-change limit of 10% a year holds Area C's total near its previous "
            "£40,000 a year."
        ) in row["reason"]


def test_multi_year_award() -> None:
    data = hand_worked(
        years=YEARS3,
        budgets=[20_000_000, 10_000_000, 30_000_000],
        services=("idva",),
        award_years=3,
    )
    run = _solve(data)
    first = [r for k, r in _why(run).items() if k[0] == Y and r["shortfall_units"] > 0]
    assert first
    unspent = run.table("pots").filter(pl.col("year") == Y)["unspent_pence"].item()
    assert unspent >= 2_000_000
    for row in first:
        assert row["reason_code"] == "multi_year_award"
        assert (
            "that may fund it is unspent in 2019/20, but it is held by 3-year awards"
            in row["reason"]
        )


def test_no_pot_may_fund_and_not_benchmarked() -> None:
    data = hand_worked()
    data["pots"][0]["eligible_services"] = ["idva", "training"]
    data["services"].append(
        {"id": "training", "name": "Training", "unit": "contract", "unit_cost_pence": 500_000}
    )
    data["policy"]["area_limits"] = [{"area": B, "service": "training", "min_units": "2"}]
    why = _why(_solve(data))
    a_marac = why[(Y, A, "marac")]
    assert a_marac["reason_code"] == "no_pot_may_fund"
    assert a_marac["shortfall_pence"] == 2 * 2_000_000
    assert a_marac["reason"] == (
        "MARAC in Area A: 0.0 % of benchmark, 1 FTE short (2 × 0.5 FTE, £40,000). No pot may "
        "fund this service in Area A."
    )
    training = why[(Y, B, "training")]
    assert training["reason_code"] == "not_benchmarked"
    assert training["coverage_ratio"] is None
    assert training["reason"] == (
        "Training in Area B: no benchmark; 2 contract funded to meet a ring-fence or floor."
    )


def test_no_need_weight_under_equal_shortfall() -> None:
    # Need counts only an indicator on which A scores 0: equal_shortfall gives A no weight.
    data = hand_worked(
        fairness_rule="equal_shortfall", need_weights=[{"indicator": "imd", "weight": "1"}]
    )
    for area, imd in zip(data["areas"], (0.0, 20.0, 30.0), strict=True):
        area["indicators"]["imd"] = imd
    why = _why(_solve(data))
    row = why[(Y, A, "idva")]
    assert row["reason_code"] == "no_need_weight"
    assert (
        "but it is held by equal_shortfall, which gives an area with need index 0" in row["reason"]
    )


def test_stopped_early_when_money_is_left_and_no_rule_holds() -> None:
    # A provisional answer (nothing bought yet) with the whole pot unspent.
    data = build_data(Scenario.model_validate(hand_worked()))
    granules = {(s.index, y): 0 for s in data.slots for y in data.years}
    reasons = explain_cells(data, granules, [], dict(data.free_budget))
    row = reasons[(Y, A, "idva")]
    assert row.code is ReasonCode.STOPPED_EARLY
    assert row.shortfall_pence == 8 * 2_000_000
    assert "£1,000,000 that may fund it is unspent" in row.sentence


def test_every_code_is_documented() -> None:
    from commissioning.optimise import reasons

    for code in ReasonCode:
        assert f"    {code.value} " in (reasons.__doc__ or ""), code
