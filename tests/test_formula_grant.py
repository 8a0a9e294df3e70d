"""Formula grants and fund splits: known answers by hand, properties, London, and checks."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from commissioning.errors import InfeasibleScenario, ScenarioError
from commissioning.models import NeedWeight, Scenario, ScenarioFile
from commissioning.need import need_index
from commissioning.optimise.formula_grant import (
    allocate_formula_grant,
    allocate_formula_grants,
    effective_pot_amounts,
    largest_remainder,
    need_shares,
)
from commissioning.results import GRANTS_SCHEMA, conform
from commissioning.scenario_io import load_scenario, scenario_from_data, scenario_json

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019"
YEARS = ["2019/20", "2020/21", "2021/22"]


def code(i: int) -> str:
    return f"E09{i:06d}"


def scenario(
    pops: list[int],
    pot: list[int],
    transition: dict[str, Any] | None = None,
    previous: list[int] | None = None,
    **extra: Any,
) -> Scenario:
    """A small scenario: areas with a `pop` indicator, one area_grant pot paid by formula."""
    years = YEARS[: len(pot)]
    grant: dict[str, Any] = {"id": "lcpf_formula", "name": "LCPF", "pot": "lcpf"}
    if transition:
        grant["transition"] = transition
    if previous is not None:
        grant["previous"] = {
            "year": "2018/19",
            "amounts": [{"area": code(i + 1), "amount_pence": p} for i, p in enumerate(previous)],
        }
    data: dict[str, Any] = {
        "name": "test",
        "financial_years": years,
        "services": [{"id": "idva", "name": "IDVA", "unit": "FTE", "unit_cost_pence": 100}],
        "areas": [
            {"code": code(i + 1), "name": f"Area {i + 1}", "indicators": {"pop": p}}
            for i, p in enumerate(pops)
        ],
        "pots": [
            {
                "id": "lcpf",
                "name": "LCPF",
                "kind": "area_grant",
                "amounts": [
                    {"year": y, "amount_pence": a} for y, a in zip(years, pot, strict=True)
                ],
            }
        ],
        "policy": {"need_weights": [{"indicator": "pop", "weight": "1"}]},
        "formula_grants": [grant],
    }
    data.update(extra)
    return Scenario.model_validate(data)


def grants(s: Scenario, year: str = "2019/20") -> list[int]:
    table = allocate_formula_grants(s).filter(pl.col("year") == year).sort("area_code")
    return table["allocated_pence"].to_list()


# --- known answers, by hand -----------------------------------------------------------------


def test_no_policy_gives_exact_target_shares_with_the_spare_penny_to_the_lower_code() -> None:
    # 10,000p in thirds: 3,333.33p each; the one spare penny is a three-way tie -> E09000001
    assert grants(scenario([1, 1, 1], [10_000])) == [3334, 3333, 3333]


def test_largest_remainder_gives_spare_pence_to_the_largest_fractions() -> None:
    # 1,001p as 2:3:5 -> quotas 200.2, 300.3, 500.5 -> the spare penny goes to 500.5
    assert grants(scenario([2, 3, 5], [1_001])) == [200, 300, 501]
    assert largest_remainder(7, {"a": Fraction(1), "b": Fraction(1), "c": Fraction(1)}) == {
        "a": 3,
        "b": 2,
        "c": 2,
    }


def test_target_table_columns_for_a_plain_formula() -> None:
    table = allocate_formula_grants(scenario([1, 3], [1_000_000, 2_000_000]))
    assert table.schema == GRANTS_SCHEMA
    assert table.equals(conform("grants", table))
    rows = table.to_dicts()
    assert [(r["year"], r["target_pence"], r["allocated_pence"]) for r in rows] == [
        ("2019/20", 250_000, 250_000),
        ("2019/20", 750_000, 750_000),
        ("2020/21", 500_000, 500_000),
        ("2020/21", 1_500_000, 1_500_000),
    ]
    assert rows[0]["target_share"] == 0.25
    assert rows[0]["distance_pence"] == 0
    assert rows[0]["previous_pence"] is None and rows[0]["change_pct"] is None
    # the second year's change is measured from the first year's grant
    assert rows[2]["previous_pence"] == 250_000
    assert rows[2]["change_pence"] == 250_000 and rows[2]["change_pct"] == 100.0


def test_need_weights_mix_indicators_by_their_shares() -> None:
    s = scenario([1, 3], [1_000])
    areas = [
        s.areas[0].model_copy(update={"indicators": {"pop": 1, "crime": 3}}),
        s.areas[1].model_copy(update={"indicators": {"pop": 3, "crime": 1}}),
    ]
    weights = [
        NeedWeight(indicator="pop", weight=Decimal(1)),
        NeedWeight(indicator="crime", weight=Decimal(1)),
    ]
    assert need_shares(areas, weights) == {code(1): Fraction(1, 2), code(2): Fraction(1, 2)}
    weights[1] = NeedWeight(indicator="crime", weight=Decimal(3))  # 1/4 pop + 3/4 crime
    assert need_shares(areas, weights)[code(1)] == Fraction(1, 4) * Fraction(1, 4) + Fraction(
        3, 4
    ) * Fraction(3, 4)


def test_grant_need_weights_override_the_scenario_policy() -> None:
    s = scenario([1, 3], [1_000])
    data = s.model_dump()
    data["areas"][0]["indicators"]["crime"] = 3
    data["areas"][1]["indicators"]["crime"] = 1
    data["formula_grants"][0]["need_weights"] = [{"indicator": "crime", "weight": "1"}]
    assert grants(Scenario.model_validate(data)) == [750, 250]


def test_minimum_grant_is_paid_for_by_the_others_in_proportion_to_target() -> None:
    # targets 1000, 2000, 3000, 4000; area 1 raised to 1500; the other three give up 500p in
    # proportion 2:3:4 -> 1888.89, 2833.33, 3777.78 -> rounded by largest remainder
    s = scenario([1, 2, 3, 4], [10_000], {"min_grant_pence": 1500})
    assert grants(s) == [1500, 1889, 2833, 3778]


def test_loss_floor_holds_and_the_cut_falls_pro_rata_on_the_areas_with_room() -> None:
    # last year 2500 each; floors 2250; anchors 2250, 2250, 3000, 4000 = 11,500 -> 1,500 to find
    # from areas 3 and 4 in proportion 3:4 -> 2357.14 and 3142.86
    s = scenario([1, 2, 3, 4], [10_000], {"max_loss_pct": "10"}, previous=[2500] * 4)
    assert grants(s) == [2250, 2250, 2357, 3143]


def test_gains_cap_holds_and_the_spare_money_goes_pro_rata_to_the_areas_with_room() -> None:
    # caps 3000; anchors 1000, 2000, 3000, 3000 = 9,000 -> 1,000 to hand out to areas 1 and 2
    # in proportion 1:2 -> 1333.33 and 2666.67
    s = scenario([1, 2, 3, 4], [10_000], {"max_gain_pct": "20"}, previous=[2500] * 4)
    assert grants(s) == [1333, 2667, 3000, 3000]


def test_no_reductions_damping_keeps_everyone_at_least_at_last_year() -> None:
    # 2019/20 LCPF style: "all reductions removed"; the pot grew by 10%
    s = scenario([1, 1, 2], [11_000], {"max_loss_pct": "0"}, previous=[4000, 3000, 3000])
    result = grants(s)
    assert sum(result) == 11_000
    assert result[0] >= 4000 and result[1] >= 3000 and result[2] >= 3000
    # targets 2750, 2750, 5500; anchors 4000, 3000, 5500 -> 1,500 over: only area 3 has room
    assert result == [4000, 3000, 4000]


def test_max_below_target_lifts_areas_towards_their_target() -> None:
    # targets 2000 and 8000, last year 5000 each: with any loss allowed the targets hold; with
    # losses of at most 20%, area 1 keeps 4000 and area 2 is cut only to 25% below target
    s = scenario(
        [1, 4],
        [10_000],
        {"max_below_target_pct": "25", "max_loss_pct": "100"},
        previous=[5000, 5000],
    )
    assert grants(s) == [2000, 8000]
    s = scenario(
        [1, 4],
        [10_000],
        {"max_below_target_pct": "25", "max_loss_pct": "20"},
        previous=[5000, 5000],
    )
    assert grants(s) == [4000, 6000]


def test_two_year_commitment_repeats_the_first_years_grants_when_the_pot_is_unchanged() -> None:
    s = scenario(
        [1, 2, 3],
        [6_000, 6_000, 6_000],
        {"commitment_years": 2, "max_loss_pct": "5", "max_gain_pct": "5"},
        previous=[3000, 2000, 1000],
    )
    table = allocate_formula_grants(s)
    by_year = {y: table.filter(pl.col("year") == y)["allocated_pence"].to_list() for y in YEARS}
    assert by_year["2019/20"] == by_year["2020/21"]
    assert by_year["2021/22"] != by_year["2020/21"]  # a new period moves towards target
    # targets 1000, 2000, 3000; floors 2850, 1900, 950; caps 3150, 2100, 1050: anchors 2850,
    # 2000, 1050 leave 100p, handed out 1:2 to the two areas with room (area 3 is capped)
    assert by_year["2019/20"] == [2883, 2067, 1050]


def test_commitment_is_a_floor_when_the_pot_grows() -> None:
    s = scenario([1, 1], [10_000, 12_000], {"commitment_years": 2}, previous=[9000, 1000])
    first, second = grants(s, "2019/20"), grants(s, "2020/21")
    assert first == [5000, 5000]
    assert second == [6000, 6000]


# --- infeasible policies, in words ----------------------------------------------------------


def test_minimum_grant_above_the_pot_names_the_rule_and_the_sums() -> None:
    s = scenario([1] * 32, [385_000_000], {"min_grant_pence": 15_000_000})
    with pytest.raises(InfeasibleScenario) as err:
        allocate_formula_grants(s)
    assert err.value.reasons == [
        "LCPF 2019/20: the minimum grant of £150,000 × 32 areas = £4,800,000 exceeds the pot of "
        "£3,850,000"
    ]


def test_floor_above_cap_names_the_area_and_both_rules() -> None:
    s = scenario(
        [1, 1], [10_000], {"min_grant_pence": 5000, "max_gain_pct": "10"}, previous=[2000, 8000]
    )
    with pytest.raises(InfeasibleScenario) as err:
        allocate_formula_grants(s)
    assert err.value.reasons == [
        "LCPF 2019/20: Area 1 (E09000001) must get at least £50 (the minimum grant) but at most "
        "£22 (the gains cap of 10% above last year's £20)"
    ]


def test_floors_from_several_rules_are_summed_in_words() -> None:
    s = scenario(
        [1, 1, 1],
        [9_000],
        {"min_grant_pence": 3000, "max_loss_pct": "0"},
        previous=[4000, 1000, 5000],
    )
    with pytest.raises(InfeasibleScenario) as err:
        allocate_formula_grants(s)
    (reason,) = err.value.reasons
    assert reason == (
        "LCPF 2019/20: the areas' floors add up to £120 (floors relative to last year for 2 "
        "areas, £90; the minimum grant for 1 area, £30), more than the pot of £90"
    )


def test_gains_cap_below_the_pot_is_reported() -> None:
    s = scenario([1, 1], [10_000], {"max_gain_pct": "10"}, previous=[2000, 2000])
    with pytest.raises(InfeasibleScenario) as err:
        allocate_formula_grants(s)
    assert err.value.reasons == [
        "LCPF 2019/20: the gains cap of 10% above last year lets the areas receive at most £44 in "
        "total, less than the pot of £100, and all of the pot must be paid out"
    ]


def test_a_shrinking_pot_breaks_a_commitment_in_words() -> None:
    s = scenario([1, 1], [10_000, 9_000], {"commitment_years": 2})
    with pytest.raises(InfeasibleScenario) as err:
        allocate_formula_grants(s)
    assert "commitments from the period's first year for 2 areas, £100" in err.value.reasons[0]
    assert err.value.reasons[0].startswith("LCPF 2020/21: the areas' floors add up to £100")


def test_solving_prints_nothing_on_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    s = scenario([1, 2, 3, 4], [10_000], {"min_grant_pence": 1500})
    allocate_formula_grants(s)
    assert capfd.readouterr().out == ""


# --- properties -----------------------------------------------------------------------------


def _bounds(
    policy: dict[str, Any], targets: list[int], previous: list[int] | None, committed: Any
) -> tuple[list[int], list[int | None]]:
    """The policy's bounds, re-derived independently of the engine."""
    low, high = [], []
    for i, t in enumerate(targets):
        lows = [0]
        if policy.get("min_grant_pence") is not None:
            lows.append(policy["min_grant_pence"])
        if policy.get("max_loss_pct") is not None and previous is not None:
            lows.append(math.ceil(previous[i] * (100 - Fraction(policy["max_loss_pct"])) / 100))
        if policy.get("max_below_target_pct") is not None:
            lows.append(math.ceil(t * (100 - Fraction(policy["max_below_target_pct"])) / 100))
        if committed is not None:
            lows.append(committed[i])
        low.append(max(lows))
        cap = None
        if policy.get("max_gain_pct") is not None and previous is not None and previous[i] > 0:
            cap = math.floor(previous[i] * (100 + Fraction(policy["max_gain_pct"])) / 100)
        high.append(cap)
    return low, high


def _pro_rata(
    pot: int, targets: list[int], low: list[int], high: list[int]
) -> tuple[list[Fraction], int]:
    """The exact answer by water-filling, and the least total distance from target."""
    anchors = [min(max(t, lo), hi) for t, lo, hi in zip(targets, low, high, strict=True)]
    residual = pot - sum(anchors)
    rooms = [
        (hi - a) if residual > 0 else (a - lo) for a, lo, hi in zip(anchors, low, high, strict=True)
    ]
    weights = [Fraction(max(t, 1)) for t in targets]
    need, z = Fraction(abs(residual)), Fraction(0)
    free = set(range(len(targets)))
    for i in sorted(free, key=lambda i: (Fraction(rooms[i]) / weights[i], i)):
        w = sum(weights[j] for j in free)
        if need == 0 or Fraction(rooms[i]) / weights[i] * w >= need:
            z = need / w if need else Fraction(0)
            break
        need -= rooms[i]
        free.remove(i)
    sign = 1 if residual > 0 else -1
    exact = [
        a + sign * min(z * w, Fraction(r)) for a, w, r in zip(anchors, weights, rooms, strict=True)
    ]
    distance = sum(abs(a - t) for a, t in zip(anchors, targets, strict=True)) + abs(residual)
    return exact, distance


policies = st.fixed_dictionaries(
    {
        # the minimum grant as a % of an equal share of the first year's pot
        "min_grant_pence": st.sampled_from([None, None, 50, 80, 100]),
        "max_loss_pct": st.sampled_from([None, None, "0", "2.5", "5", "10", "50"]),
        "max_gain_pct": st.sampled_from([None, None, "0", "5", "10", "25", "100"]),
        "max_below_target_pct": st.sampled_from([None, None, None, "5", "10", "25", "60"]),
        "commitment_years": st.sampled_from([None, None, 1, 2, 3]),
    }
).map(lambda d: {k: v for k, v in d.items() if v is not None})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pops=st.lists(st.integers(1, 1_000), min_size=2, max_size=7),
    first_pot=st.integers(0, 200_000) | st.integers(10_000, 200_000),
    changes=st.lists(st.integers(80, 125), max_size=2),
    policy=policies,
    data=st.data(),
)
def test_grants_hold_every_rule_and_sum_to_the_pot_to_the_penny(
    pops: list[int],
    first_pot: int,
    changes: list[int],
    policy: dict[str, Any],
    data: st.DataObject,
) -> None:
    pot = [first_pot]
    for pct in changes:
        pot.append(pot[-1] * pct // 100)
    if "min_grant_pence" in policy:
        minimum = policy["min_grant_pence"] * first_pot // (100 * len(pops))
        policy = {**policy, "min_grant_pence": minimum}
    previous = None
    if "max_loss_pct" in policy or "max_gain_pct" in policy or data.draw(st.booleans()):
        # last year: each area's share off its need by up to ±30%, over a pot of a similar size
        off = data.draw(st.lists(st.integers(70, 130), min_size=len(pops), max_size=len(pops)))
        weights = [p * o for p, o in zip(pops, off, strict=True)]
        total = data.draw(st.integers(first_pot * 9 // 10, first_pot * 11 // 10))
        previous = [total * w // sum(weights) for w in weights]
    no_policy = all(k == "commitment_years" and v == 1 for k, v in policy.items())
    shares = [Fraction(p, sum(pops)) for p in pops]
    prev, committed = previous, None
    for k, amount in enumerate(pot):
        # the target: exact quotas and largest remainder, independently of the engine
        quotas = [amount * share for share in shares]
        targets = [math.floor(q) for q in quotas]
        order = sorted(range(len(pops)), key=lambda i: (-(quotas[i] - targets[i]), i))
        for i in order[: amount - sum(targets)]:
            targets[i] += 1
        if k % policy.get("commitment_years", 1) == 0:
            committed = None
        low, caps = _bounds(policy, targets, prev, committed)
        high = [amount if c is None else c for c in caps]
        feasible = (
            all(lo <= hi for lo, hi in zip(low, high, strict=True))
            and sum(low) <= amount
            and (None in caps or sum(high) >= amount)
        )
        # the engine on the years up to this one (earlier years are solved the same way)
        s = scenario(pops, pot[: k + 1], policy, previous)
        if not feasible:
            event("a year whose rules cannot all hold")
            with pytest.raises(InfeasibleScenario):
                allocate_formula_grant(s, s.formula_grants[0])
            return
        result = allocate_formula_grant(s, s.formula_grants[0])[k]
        assert result.targets == {code(i + 1): t for i, t in enumerate(targets)}
        got = [result.allocations[code(i + 1)] for i in range(len(pops))]
        assert all(isinstance(g, int) for g in got)
        assert sum(got) == amount  # to the penny
        for g, lo, hi in zip(got, low, high, strict=True):
            assert lo <= g <= hi  # every policy bound holds
        anchored = sum(min(max(t, lo), hi) for t, lo, hi in zip(targets, low, high, strict=True))
        event("damped by the LP" if anchored != amount else "anchors are the answer")
        exact, least = _pro_rata(amount, targets, low, high)
        for g, e in zip(got, exact, strict=True):
            assert abs(g - e) < 1, (got, exact)  # within a penny of the exact pro-rata answer
        assert sum(abs(g - t) for g, t in zip(got, targets, strict=True)) < least + len(pops)
        if no_policy:
            assert got == targets  # no policy: exactly the target shares
        committed = committed or got
        prev = got


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pops=st.lists(st.integers(1, 1_000), min_size=3, max_size=10),
    pot=st.integers(10_000, 10**9),
    loss=st.sampled_from(["0", "1", "2.5", "5"]),
    gain=st.sampled_from(["5", "10", "12.5", "25"]),
    minimum=st.sampled_from([None, 98, 100, 104]),
    data=st.data(),
)
def test_damped_grants_match_the_exact_pro_rata_answer_within_a_penny(
    pops: list[int], pot: int, loss: str, gain: str, minimum: int | None, data: st.DataObject
) -> None:
    # last year's grants follow a different need (each share off by up to ±40%), same pot
    off = data.draw(st.lists(st.integers(60, 140), min_size=len(pops), max_size=len(pops)))
    weights = {i: Fraction(p * o) for i, (p, o) in enumerate(zip(pops, off, strict=True))}
    last = largest_remainder(pot, weights)
    previous = [last[i] for i in range(len(pops))]
    policy: dict[str, Any] = {"max_loss_pct": loss, "max_gain_pct": gain}
    if minimum is not None:
        policy["min_grant_pence"] = minimum * min(previous) // 100  # near the smallest grant
    targets = list(largest_remainder(pot, {i: Fraction(p) for i, p in enumerate(pops)}).values())
    low, caps = _bounds(policy, targets, previous, None)
    high = [pot if c is None else c for c in caps]
    s = scenario(pops, [pot], policy, previous)
    if not all(lo <= hi for lo, hi in zip(low, high, strict=True)) or sum(low) > pot:
        event("infeasible")
        with pytest.raises(InfeasibleScenario):
            allocate_formula_grants(s)
        return
    got = grants(s)
    event("damped" if got != targets else "at target")
    assert sum(got) == pot
    assert all(lo <= g <= hi for g, lo, hi in zip(got, low, high, strict=True))
    exact, least = _pro_rata(pot, targets, low, high)
    assert all(abs(g - e) < 1 for g, e in zip(got, exact, strict=True)), (got, exact)
    assert sum(abs(g - t) for g, t in zip(got, targets, strict=True)) < least + len(pops)


@settings(max_examples=60, deadline=None)
@given(
    pops=st.lists(st.integers(0, 10**6), min_size=1, max_size=12).filter(lambda p: sum(p) > 0),
    pot=st.integers(0, 10**11),
)
def test_no_policy_grant_equals_the_exact_largest_remainder_shares(
    pops: list[int], pot: int
) -> None:
    s = scenario(pops, [pot])
    got = grants(s)
    assert sum(got) == pot
    total = sum(pops)
    for g, p in zip(got, pops, strict=True):
        assert abs(g - Fraction(pot * p, total)) < 1  # every area within a penny of its quota


# --- fund splits ----------------------------------------------------------------------------


def _split_scenario(splits: list[dict[str, Any]], extra_pots: int = 1) -> Scenario:
    pots = [
        {
            "id": f"co_{n}",
            "name": f"Co-commissioning {n}",
            "kind": "commissioned_services",
            "amounts": [{"year": "2019/20", "amount_pence": 0}],
        }
        for n in range(extra_pots)
    ]
    base = scenario([1, 1], [10_001])
    data = base.model_dump()
    data["pots"] += pots
    data["fund_splits"] = splits
    return Scenario.model_validate(data)


def test_split_by_percent_rounds_the_co_commissioning_share_down() -> None:
    s = _split_scenario(
        [
            {
                "id": "split",
                "fund": "lcpf",
                "co_commissioning_pot": "co_0",
                "co_commissioning_pct": "30",
            }
        ]
    )
    amounts = effective_pot_amounts(s)
    assert amounts["co_0"]["2019/20"] == 3000  # 30% of 10,001p = 3,000.3p, rounded down
    assert amounts["lcpf"]["2019/20"] == 7001
    assert grants(s) == [3501, 3500]  # the grant pays out the direct share


def test_split_by_amount_and_into_a_direct_pot() -> None:
    s = _split_scenario(
        [
            {
                "id": "split",
                "fund": "lcpf",
                "co_commissioning_pot": "co_0",
                "direct_pot": "co_1",
                "co_commissioning_pence": 1,
            }
        ],
        extra_pots=2,
    )
    amounts = effective_pot_amounts(s)
    assert {p: a["2019/20"] for p, a in amounts.items()} == {"lcpf": 0, "co_0": 1, "co_1": 10_000}


def test_split_larger_than_the_fund_is_reported_with_field_and_value() -> None:
    s = _split_scenario([])
    data = s.model_dump(mode="json")
    data["fund_splits"] = [
        {
            "id": "split",
            "fund": "lcpf",
            "co_commissioning_pot": "co_0",
            "co_commissioning_pence": 20_000,
        }
    ]
    with pytest.raises(ScenarioError) as err:
        scenario_from_data(data)
    assert [str(p) for p in err.value.problems] == [
        "fund_splits[0].co_commissioning_pence: co-commissioning share of £200 in 2019/20 is more "
        "than the £100.01 in fund 'lcpf'"
    ]


def test_split_needs_exactly_one_way_to_give_the_share() -> None:
    s = _split_scenario([])
    data = s.model_dump(mode="json")
    data["fund_splits"] = [{"id": "split", "fund": "lcpf", "co_commissioning_pot": "co_0"}]
    with pytest.raises(ScenarioError) as err:
        scenario_from_data(data)
    assert "either a % or an amount in pence" in str(err.value)


# --- cross-reference checks -----------------------------------------------------------------


def _problems(change: Any) -> list[str]:
    data = scenario([1, 2], [1_000], {"max_loss_pct": "5"}, previous=[500, 500]).model_dump(
        mode="json"
    )
    change(data)
    with pytest.raises(ScenarioError) as err:
        scenario_from_data(data)
    return [str(p) for p in err.value.problems]


def test_unknown_pot_is_named() -> None:
    def change(d: dict[str, Any]) -> None:
        d["formula_grants"][0]["pot"] = "nope"

    assert _problems(change) == ["formula_grants[0].pot: unknown pot 'nope' (known: lcpf)"]


def test_formula_grant_must_pay_an_area_grant_pot() -> None:
    def change(d: dict[str, Any]) -> None:
        d["pots"][0]["kind"] = "commissioned_services"

    assert _problems(change) == [
        "formula_grants[0].pot: pot 'lcpf' is of kind 'commissioned_services'; a formula grant "
        "pays out an 'area_grant' pot"
    ]


def test_loss_floor_needs_a_previous_year_for_every_area() -> None:
    def drop_previous(d: dict[str, Any]) -> None:
        d["formula_grants"][0]["previous"] = None

    assert _problems(drop_previous) == [
        "formula_grants[0].transition.max_loss_pct: max_loss_pct 5 measures change from last "
        "year, so it needs the previous year's grants (previous)"
    ]

    def drop_one(d: dict[str, Any]) -> None:
        d["formula_grants"][0]["previous"]["amounts"].pop()

    assert _problems(drop_one) == [
        "formula_grants[0].previous.amounts: no previous grant for 1 of 2 areas: E09000002; "
        "give 0 for an area that had none"
    ]


def test_previous_year_must_be_the_year_before_and_name_known_areas_once() -> None:
    def change(d: dict[str, Any]) -> None:
        prev = d["formula_grants"][0]["previous"]
        prev["year"] = "2017/18"
        prev["amounts"].append({"area": "E09000001", "amount_pence": 1})
        prev["amounts"].append({"area": "E09000099", "amount_pence": 1})

    assert _problems(change) == [
        "formula_grants[0].previous.year: previous year 2017/18 is not the year before 2019/20",
        "formula_grants[0].previous.amounts[2].area: duplicate area 'E09000001': "
        "formula_grants[0].previous.amounts[0] already has it",
        "formula_grants[0].previous.amounts[3].area: unknown area 'E09000099' (known: "
        "E09000001, E09000002)",
    ]


def test_need_weight_override_must_name_a_column_every_area_has() -> None:
    def change(d: dict[str, Any]) -> None:
        d["formula_grants"][0]["need_weights"] = [{"indicator": "crime", "weight": "1"}]

    assert _problems(change) == [
        "formula_grants[0].need_weights[0].indicator: column 'crime' has no value for 2 of 2 "
        "areas: E09000001, E09000002"
    ]


def test_two_grants_on_one_pot_are_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        d["formula_grants"].append({**d["formula_grants"][0], "id": "again"})

    assert _problems(change) == [
        "formula_grants[1].pot: duplicate pot 'lcpf': formula_grants[0] already has it"
    ]


# --- the London fixture ---------------------------------------------------------------------


def london_with_grants_and_bids() -> Scenario:
    """The London fixture, whose scenario.json holds the LCPF grant, split and bid round."""
    return load_scenario(FIXTURE_DIR / "scenario.json")


@pytest.fixture(scope="module")
def london() -> Scenario:
    return london_with_grants_and_bids()


def test_london_previous_year_is_the_documented_population_rule(london: Scenario) -> None:
    grant = london.formula_grants[0]
    assert grant.previous is not None and grant.previous.is_assumption
    assert "ASSUMPTION" in grant.previous.source
    rule = largest_remainder(
        385_000_000,
        need_shares(london.areas, [NeedWeight(indicator="population_all_ages", weight=Decimal(1))]),
    )
    assert {a.area: a.amount_pence for a in grant.previous.amounts} == rule
    assert len(rule) == 32 and "E09000001" not in rule


def test_london_lcpf_grants_pay_the_direct_share_to_the_penny_within_the_policy(
    london: Scenario,
) -> None:
    assert effective_pot_amounts(london)["lcpf"] == dict.fromkeys(YEARS, 385_000_000)
    table = allocate_formula_grants(london)
    assert table.height == 32 * 3
    totals = table.group_by("year").agg(
        pl.col("allocated_pence").sum(), pl.col("target_pence").sum()
    )
    assert totals.sort("year").rows() == [(y, 385_000_000, 385_000_000) for y in YEARS]
    assert table["allocated_pence"].min() >= 7_000_000  # minimum grant £70,000
    moved = table.filter(pl.col("previous_pence") > 0).with_columns(
        ratio=pl.col("allocated_pence") / pl.col("previous_pence")
    )
    assert moved["ratio"].min() >= 0.95 - 1e-9 and moved["ratio"].max() <= 1.10 + 1e-9
    first, second = (
        table.filter(pl.col("year") == y)["allocated_pence"].to_list() for y in YEARS[:2]
    )
    assert first == second  # two-year commitment, unchanged pot
    # damping leaves the grants away from target, and the second period moves closer
    distance = table.group_by("year").agg(pl.col("distance_pence").abs().sum()).sort("year")
    d = dict(distance.rows())
    assert 0 < d["2021/22"] < d["2019/20"]


def test_london_minimum_grant_too_high_is_infeasible_in_words(london: Scenario) -> None:
    data = london.model_dump(mode="json")
    data["formula_grants"][0]["transition"] = {"min_grant_pence": 15_000_000}
    s = Scenario.model_validate(data)
    with pytest.raises(InfeasibleScenario) as err:
        allocate_formula_grants(s)
    assert err.value.reasons == [
        "LCPF 2019/20: the minimum grant of £150,000 × 32 areas = £4,800,000 exceeds the pot of "
        "£3,850,000"
    ]


def test_london_exact_shares_agree_with_the_need_index(london: Scenario) -> None:
    shares = need_shares(london.areas, london.policy.need_weights)
    assert sum(shares.values()) == 1
    table = need_index(london)
    for area_code, share in table.select("area_code", "need_share").rows():
        assert abs(float(shares[area_code]) - share) < 1e-12


def test_london_with_grants_and_bids_round_trips_through_the_canonical_json(
    london: Scenario,
) -> None:
    again = scenario_from_data(json.loads(scenario_json(london)))
    assert again == london
    assert again.content_hash() == london.content_hash()


def test_the_scenario_file_schema_documents_the_new_sections() -> None:
    schema = ScenarioFile.model_json_schema()
    assert {"fund_splits", "formula_grants", "bid_rounds"} <= set(schema["properties"])
    defs = schema["$defs"]
    assert defs["AreaAmount"]["properties"]["area"]["pattern"] == r"^[EWSN][0-9]{8}$"
    assert defs["TransitionPolicy"]["properties"]["commitment_years"]["maximum"] == 10
    assert set(defs["BidRound"]["properties"]["objective"]["enum"]) == {
        "score",
        "coverage_weighted_score",
    }
