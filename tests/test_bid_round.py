"""Bid rounds: known answers by hand, brute force on small rounds, London, and checks."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from commissioning.errors import InfeasibleScenario, ScenarioError
from commissioning.models import Scenario
from commissioning.optimise.bid_round import (
    SCORE_SCALE,
    bid_annual_cost,
    round_budget,
    select_round,
)
from commissioning.optimise.bid_selection import select_bids
from commissioning.results import BIDS_SCHEMA, conform
from commissioning.scenario_io import load_scenario, scenario_from_data

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019"
YEARS = ["2019/20", "2020/21", "2021/22"]


def code(i: int) -> str:
    return f"E09{i:06d}"


def bid(
    bid_id: str,
    cost: int,
    score: str | int,
    areas: list[int],
    years: list[str] | None = None,
    service: str = "idva",
    units: str = "1",
) -> dict[str, Any]:
    return {
        "id": bid_id,
        "provider": f"Provider {bid_id}",
        "partner_areas": [code(a) for a in areas],
        "years": years or YEARS[:1],
        "score": str(score),
        "services": [{"service": service, "units_per_area": units, "annual_cost_pence": cost}],
    }


def scenario(
    bids: list[dict[str, Any]],
    budget: list[int] | int = 100,
    n_areas: int = 4,
    **round_options: Any,
) -> Scenario:
    budgets = budget if isinstance(budget, list) else [budget]
    years = YEARS[: len(budgets)]
    return Scenario.model_validate(
        {
            "name": "test",
            "financial_years": years,
            "services": [
                {"id": "idva", "name": "IDVA", "unit": "FTE", "unit_cost_pence": 100},
                {"id": "marac", "name": "MARAC", "unit": "FTE", "unit_cost_pence": 100},
            ],
            "areas": [
                {"code": code(i), "name": f"Area {i}", "indicators": {"female_16_plus": 1}}
                for i in range(1, n_areas + 1)
            ],
            "pots": [
                {
                    "id": "co",
                    "name": "Co-commissioning",
                    "kind": "commissioned_services",
                    "amounts": [
                        {"year": y, "amount_pence": b} for y, b in zip(years, budgets, strict=True)
                    ],
                }
            ],
            "bid_rounds": [
                {
                    "id": "round",
                    "name": "Round 1",
                    "budget_pot": "co",
                    "bids": bids,
                    **round_options,
                }
            ],
        }
    )


def selected(s: Scenario) -> list[str]:
    return select_round(s, s.bid_rounds[0]).selected


# --- known answers, by hand -----------------------------------------------------------------


def test_best_total_score_within_the_budget() -> None:
    # a+c score 15 for 100p; b+c 12; a alone 10
    s = scenario([bid("a", 60, 10, [1]), bid("b", 50, 7, [2]), bid("c", 40, 5, [3])])
    assert selected(s) == ["a", "c"]


def test_coverage_weighted_score_favours_wide_bids() -> None:
    bids = [bid("a", 60, 10, [1]), bid("b", 60, 5, [2, 3, 4])]
    assert selected(scenario(bids)) == ["a"]
    assert selected(scenario(bids, objective="coverage_weighted_score")) == ["b"]  # 15 > 10


def test_bids_with_too_few_partner_areas_are_not_eligible() -> None:
    s = scenario([bid("a", 10, 10, [1]), bid("b", 10, 1, [2, 3])], min_partner_areas=2)
    result = select_round(s, s.bid_rounds[0])
    assert result.selected == ["b"]
    assert result.reasons["a"].code == "too_few_partner_areas"
    assert result.not_selected["a"] == "1 partner areas, fewer than the round's minimum of 2"


def test_every_area_covered_when_the_round_requires_it() -> None:
    bids = [bid("a", 50, 10, [1, 2]), bid("b", 50, 9, [2, 3]), bid("c", 50, 1, [3, 4])]
    assert selected(scenario(bids, allow_overlap=True)) == ["a", "b"]
    covered = scenario(bids, allow_overlap=True, require_every_area_covered=True)
    assert selected(covered) == ["a", "c"]  # the only pair within budget that covers 1–4


def test_an_area_no_bid_includes_cannot_be_covered_in_words() -> None:
    s = scenario([bid("a", 50, 10, [1, 2])], require_every_area_covered=True, n_areas=3)
    with pytest.raises(InfeasibleScenario) as err:
        select_bids(s)
    assert err.value.reasons == [
        "Round 1: every area must be covered by a selected bid, but no eligible bid (at least 1 "
        "partner areas, affordable within the budget) includes Area 3 (E09000003)"
    ]


def test_a_budget_too_small_to_cover_every_area_is_infeasible_in_words() -> None:
    s = scenario(
        [bid("a", 60, 10, [1]), bid("b", 60, 10, [2])], require_every_area_covered=True, n_areas=2
    )
    with pytest.raises(InfeasibleScenario) as err:
        select_bids(s)
    assert err.value.reasons == [
        "Round 1: no selection of bids within the budget (2019/20 £1) covers every area"
    ]


def test_two_bids_for_one_service_in_one_area_only_when_overlap_is_allowed() -> None:
    bids = [
        bid("a", 40, 10, [1, 2]),
        bid("b", 40, 9, [2, 3]),
        bid("c", 40, 9, [3], service="marac"),
    ]
    assert selected(scenario(bids)) == ["a", "c"]  # a and b both deliver idva in area 2
    # allowed: a+b and a+c tie on score (19) and cost (80); the earlier id, b, wins the tie
    assert selected(scenario(bids, allow_overlap=True)) == ["a", "b"]


def test_a_multi_year_bid_commits_every_years_money() -> None:
    # a runs two years; the second year's budget only fits b
    bids = [bid("a", 60, 10, [1], years=YEARS[:2]), bid("b", 40, 6, [2], years=YEARS[:2])]
    s = scenario(bids, budget=[100, 50])
    result = select_round(s, s.bid_rounds[0])
    assert result.selected == ["b"]
    assert result.reasons["a"].code == "over_remaining_budget"
    assert result.not_selected["a"] == (
        "costs £0.60 in 2020/21, more than the round's whole budget of £0.50"
    )
    assert result.cost_by_year == {"2019/20": 40, "2020/21": 40}


def test_ties_go_to_the_cheaper_selection_then_to_earlier_bid_ids() -> None:
    assert selected(scenario([bid("b", 50, 10, [1]), bid("a", 60, 10, [2])])) == ["b"]
    assert selected(scenario([bid("b", 50, 10, [1]), bid("a", 50, 10, [2])], budget=99)) == ["a"]
    # every pair ties on score and cost: a, then b, come first
    bids = [bid("a", 50, 5, [1]), bid("b", 50, 5, [2]), bid("c", 50, 5, [3]), bid("d", 50, 5, [4])]
    assert selected(scenario(bids)) == ["a", "b"]


def test_scores_with_decimals_are_exact() -> None:
    bids = [bid("a", 50, "3.0001", [1]), bid("b", 50, "3", [2]), bid("c", 50, "3.0000", [3])]
    assert selected(scenario(bids)) == ["a", "b"]
    assert SCORE_SCALE == 10_000


def test_cost_from_units_when_no_price_is_given() -> None:
    line = {"service": "idva", "units_per_area": "1.5", "areas": [code(1), code(2)]}
    data = bid("a", 0, 1, [1, 2, 3])
    data["services"] = [line, {"service": "marac", "units_per_area": "0.5"}]
    s = scenario([data], budget=10_000)
    # 1.5 × 100p × 2 areas + 0.5 × 100p × 3 partner areas
    assert bid_annual_cost(s, s.bid_rounds[0].bids[0]) == 450


def test_outputs_table_provision_and_commitments() -> None:
    bids = [
        bid("a", 60, 10, [1, 2], years=YEARS[:2], units="1.5"),
        bid("b", 30, 5, [2], years=YEARS[:2], service="marac"),
        bid("c", 90, 1, [3], years=YEARS[:2]),
    ]
    s = scenario(bids, budget=[100, 100])
    out = select_bids(s)
    assert out.table.schema == BIDS_SCHEMA
    assert out.table.equals(conform("bids", out.table))
    assert out.table.drop("reason_code", "reason").rows() == [
        ("a", "Provider a", True, 10.0, "2019/20", 60, "E09000001;E09000002"),
        ("a", "Provider a", True, 10.0, "2020/21", 60, "E09000001;E09000002"),
        ("b", "Provider b", True, 5.0, "2019/20", 30, "E09000002"),
        ("b", "Provider b", True, 5.0, "2020/21", 30, "E09000002"),
        ("c", "Provider c", False, 1.0, "2019/20", 90, "E09000003"),
        ("c", "Provider c", False, 1.0, "2020/21", 90, "E09000003"),
    ]
    assert out.table["reason_code"].to_list() == [
        *["selected"] * 4,
        *["lower_score_per_pound"] * 2,
    ]
    assert sorted(out.provision) == YEARS[:2]
    first = [(p.area, p.service, p.units, p.source) for p in out.provision["2019/20"]]
    assert first == [
        ("E09000001", "idva", Decimal("1.5"), "selected co-commissioning bids: a"),
        ("E09000002", "idva", Decimal("1.5"), "selected co-commissioning bids: a"),
        ("E09000002", "marac", Decimal("1"), "selected co-commissioning bids: b"),
    ]
    assert [(c.id, c.pot, c.amount_pence, c.years, c.service) for c in out.commitments] == [
        ("bid_a", "co", 60, YEARS[:2], "idva"),
        ("bid_b", "co", 30, YEARS[:2], "marac"),
    ]


def test_budget_is_the_pot_after_splits_less_commitments() -> None:
    s = scenario([bid("a", 50, 1, [1])], budget=1_000)
    data = s.model_dump(mode="json")
    data["pots"].append(
        {
            "id": "fund",
            "name": "Fund",
            "kind": "area_grant",
            "amounts": [{"year": "2019/20", "amount_pence": 10_000}],
        }
    )
    data["fund_splits"] = [
        {"id": "split", "fund": "fund", "co_commissioning_pot": "co", "co_commissioning_pct": "30"}
    ]
    data["commitments"] = [{"id": "havens", "name": "Havens", "pot": "co", "amount_pence": 500}]
    s = Scenario.model_validate(data)
    assert round_budget(s, s.bid_rounds[0]) == {"2019/20": 1_000 + 3_000 - 500}


def test_selection_prints_nothing_on_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    select_bids(scenario([bid("a", 60, 10, [1]), bid("b", 50, 7, [2]), bid("c", 40, 5, [3])]))
    assert capfd.readouterr().out == ""


# --- brute force on small rounds ------------------------------------------------------------


def brute_force(s: Scenario) -> list[str] | None:
    """Every subset: the best by (objective, least total cost, earlier ids first), or None."""
    r = s.bid_rounds[0]
    budget = {a.year: a.amount_pence for a in s.pots[0].amounts}
    cost = {b.id: bid_annual_cost(s, b) for b in r.bids}
    ids = sorted(b.id for b in r.bids)
    bids = {b.id: b for b in r.bids}
    best: tuple[Any, ...] | None = None
    choice: list[str] | None = None
    for mask in itertools.product([0, 1], repeat=len(ids)):
        chosen = [b for b, m in zip(ids, mask, strict=True) if m]
        if any(len(set(bids[b].partner_areas)) < r.min_partner_areas for b in chosen):
            continue
        if any(
            sum(cost[b] for b in chosen if y in bids[b].years) > money
            for y, money in budget.items()
        ):
            continue
        if r.require_every_area_covered and any(
            all(a.code not in bids[b].partner_areas for b in chosen) for a in s.areas
        ):
            continue
        if not r.allow_overlap:
            pairs = [
                (line.service, area)
                for b in chosen
                for line in bids[b].services
                for area in (line.areas or bids[b].partner_areas)
            ]
            if len(pairs) != len(set(pairs)):
                continue
        weight = {
            b: (len(set(bids[b].partner_areas)) if r.objective == "coverage_weighted_score" else 1)
            for b in chosen
        }
        value = sum(bids[b].score * weight[b] for b in chosen)
        total = sum(cost[b] * len(set(bids[b].years)) for b in chosen)
        key = (value, -total, mask)
        if best is None or key > best:
            best, choice = key, chosen
    return choice


@st.composite
def rounds(draw: st.DrawFn) -> Scenario:
    n_areas = draw(st.integers(1, 4))
    n_years = draw(st.integers(1, 3))
    budgets = draw(st.lists(st.integers(0, 150), min_size=n_years, max_size=n_years))
    bids = []
    for n in range(draw(st.integers(2, 7))):
        areas = draw(st.lists(st.integers(1, n_areas), min_size=1, max_size=n_areas, unique=True))
        years = draw(
            st.lists(st.sampled_from(YEARS[:n_years]), min_size=1, max_size=n_years, unique=True)
        )
        score = draw(st.sampled_from(["0", "1", "2", "2.5", "3", "5", "7.25", "10"]))
        cost = draw(st.sampled_from([0, 10, 20, 25, 40, 50, 60, 75, 100, 120]))
        service = draw(st.sampled_from(["idva", "marac"]))
        bids.append(bid(f"b{n}", cost, score, areas, years=sorted(years), service=service))
    return scenario(
        bids,
        budget=budgets,
        n_areas=n_areas,
        objective=draw(st.sampled_from(["score", "coverage_weighted_score"])),
        min_partner_areas=draw(st.integers(1, 2)),
        require_every_area_covered=draw(st.booleans()),
        allow_overlap=draw(st.booleans()),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=rounds())
def test_selection_agrees_with_brute_force_and_never_exceeds_the_budget(s: Scenario) -> None:
    expected = brute_force(s)
    if expected is None:
        event("no feasible selection")
        with pytest.raises(InfeasibleScenario):
            select_bids(s)
        return
    out = select_bids(s)
    (result,) = out.rounds
    event(f"{len(result.selected)} selected of {len(s.bid_rounds[0].bids)}")
    assert result.selected == sorted(expected)
    spent = out.table.filter(pl.col("selected")).group_by("year").agg(pl.col("cost_pence").sum())
    budget = {a.year: a.amount_pence for a in s.pots[0].amounts}
    for year, total in spent.rows():
        assert total <= budget[year]  # never over the budget, in any year


# --- cross-reference checks -----------------------------------------------------------------


def _problems(change: Any) -> list[str]:
    data = scenario([bid("a", 10, 1, [1, 2]), bid("b", 10, 1, [3])]).model_dump(mode="json")
    change(data["bid_rounds"][0], data)
    with pytest.raises(ScenarioError) as err:
        scenario_from_data(data)
    return [str(p) for p in err.value.problems]


def test_unknown_areas_services_and_years_are_named() -> None:
    def change(r: dict[str, Any], d: dict[str, Any]) -> None:
        r["bids"][0]["partner_areas"].append("E09000099")
        r["bids"][0]["services"][0]["service"] = "refuge"
        r["bids"][0]["years"] = ["2024/25"]

    assert _problems(change) == [
        "bid_rounds[0].bids[0].partner_areas[2]: unknown area 'E09000099' (known: E09000001, "
        "E09000002, E09000003, E09000004)",
        "bid_rounds[0].bids[0].years[0]: year 2024/25 is not in financial_years",
        "bid_rounds[0].bids[0].services[0].service: unknown service 'refuge' (known: idva, marac)",
    ]


def test_line_areas_must_be_partner_areas() -> None:
    def change(r: dict[str, Any], d: dict[str, Any]) -> None:
        r["bids"][0]["services"][0]["areas"] = ["E09000003"]

    assert _problems(change) == [
        "bid_rounds[0].bids[0].services[0].areas[0]: area E09000003 is not one of the bid's "
        "partner_areas"
    ]


def test_bid_ids_are_unique_across_rounds() -> None:
    def change(r: dict[str, Any], d: dict[str, Any]) -> None:
        r["bids"][1]["id"] = "a"

    assert _problems(change) == [
        "bid_rounds[0].bids[1].id: duplicate bid id 'a': bid_rounds[0].bids[0] already has it"
    ]


def test_budget_pot_must_be_a_commissioning_pot_the_bids_may_use() -> None:
    def change(r: dict[str, Any], d: dict[str, Any]) -> None:
        d["pots"][0]["kind"] = "area_grant"

    assert _problems(change) == [
        "bid_rounds[0].budget_pot: pot 'co' is an area_grant pot (paid to areas as a grant); "
        "bids are paid from a commissioned_services pot"
    ]

    def restrict(r: dict[str, Any], d: dict[str, Any]) -> None:
        d["pots"][0]["eligible_services"] = ["marac"]
        d["pots"][0]["eligible_areas"] = ["E09000001", "E09000002"]

    assert _problems(restrict) == [
        "bid_rounds[0].bids[0].services[0].service: pot 'co' may not fund service 'idva' "
        "(eligible_services)",
        "bid_rounds[0].bids[1].partner_areas[0]: pot 'co' may not fund area E09000003 "
        "(eligible_areas)",
        "bid_rounds[0].bids[1].services[0].service: pot 'co' may not fund service 'idva' "
        "(eligible_services)",
    ]


def test_a_bid_must_give_units_or_a_price() -> None:
    def change(r: dict[str, Any], d: dict[str, Any]) -> None:
        r["bids"][0]["services"][0] = {"service": "idva"}

    (problem,) = _problems(change)
    assert problem.startswith("bid_rounds[0].bids[0].services[0]: ")
    assert "give units_per_area above zero, an annual_cost_pence, or both" in problem


# --- the London fixture ---------------------------------------------------------------------


def london_with_grants_and_bids() -> Scenario:
    """The London fixture, whose scenario.json holds the LCPF grant, split and bid round."""
    return load_scenario(FIXTURE_DIR / "scenario.json")


@pytest.fixture(scope="module")
def london() -> Scenario:
    return london_with_grants_and_bids()


def test_london_round_picks_two_providers_covering_22_boroughs_for_about_4_6m(
    london: Scenario,
) -> None:
    (bid_round,) = london.bid_rounds
    assert all(b.is_illustrative and "ILLUSTRATIVE" in b.source for b in bid_round.bids)
    assert round_budget(london, bid_round) == dict.fromkeys(YEARS, 165_000_000)  # 30% of £5.5m
    out = select_bids(london)
    (result,) = out.rounds
    assert result.selected == ["east_north_partnership", "south_west_partnership"]
    chosen = [b for b in bid_round.bids if b.id in result.selected]
    assert len({a for b in chosen for a in b.partner_areas}) == 22
    total = out.table.filter(pl.col("selected"))["cost_pence"].sum()
    assert total == 459_999_999  # £4.6m over three years, to the penny
    assert result.not_selected["kingston_richmond"].startswith("2 partner areas")
    idva = [p for p in out.provision["2021/22"] if p.service == "idva"]
    assert len(idva) == 22 and {p.units for p in idva} == {Decimal("1.5")}
    assert all(p.is_assumption for p in idva)


def test_london_round_by_plain_score_prefers_more_smaller_bids(london: Scenario) -> None:
    data = london.model_dump(mode="json")
    data["bid_rounds"][0]["objective"] = "score"
    s = Scenario.model_validate(data)
    assert select_round(s, s.bid_rounds[0]).selected == [
        "central_north_west",
        "east_hub",
        "south_west_partnership",
    ]
