"""The fairness search's money questions give the same answers from the persistent HiGHS model
(`optimise.money_highs`) as from the PuLP model rebuilt per question, with its retry ladder.

The questions are the search's own: every cell at thresholds across its range, in whole granules
and relaxed, and each spending class's spare money, on random small scenarios with ring-fences
(whose whole-granule "more" column the fast path rounds rather than branches on).
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from optimise_strategies import Data, scenario_data

from commissioning.models import Scenario
from commissioning.optimise import level_check
from commissioning.optimise.data import build_data
from commissioning.optimise.fairness import scored_cells
from commissioning.optimise.funding_rounds import prepare
from commissioning.optimise.leximin import Leximin, MoneyModel, Question
from commissioning.optimise.model import AllocationModel
from commissioning.optimise.stages import year_blocks

THRESHOLDS = [Fraction(n, 8) for n in range(0, 9)]


def _both(money: MoneyModel, ask):  # type: ignore[no-untyped-def]
    fast = money.fast
    assert fast is not None
    quick = ask()
    money.fast = None
    try:
        slow = ask()
    finally:
        money.fast = fast
    return quick, slow


def _questions(lex: Leximin) -> list[Question]:
    free = list(lex.cells)
    view = lex._view(free)
    return [lex._question({})] + [lex._question(lex._trial(view, t)) for t in THRESHOLDS]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_data(areas=(2, 6), services=(1, 3), pots=(1, 3), years=(1, 2), rules=("leximin",)))
def test_fast_money_answers_equal_the_pulp_model(payload: Data) -> None:
    scenario = Scenario.model_validate(payload)
    prepared = prepare(scenario)
    data = build_data(prepared.scenario, prepared.bid_provision)
    if not level_check.applies(data):
        return
    for years in year_blocks(data):
        block = replace(data, years=years)
        cells = scored_cells(block.slots, block.years, "leximin")
        lex = Leximin(block, AllocationModel(block), cells, block.scenario.policy.solver)
        money = lex.money
        assert money is not None
        for question in _questions(lex):
            if question.impossible:
                continue
            _compare(money, question)


def _compare(money: MoneyModel, question: Question) -> None:
    for mip in (False, True):
        quick, slow = _both(money, lambda m=mip: money.feasible(question, m, True))
        assert quick == slow, (mip, question.first)
    if not money.feasible(question, True, True):
        return  # the search asks for spare money only where its requirements can be paid
    for where in money.groups:
        quick, slow = _both(money, lambda w=where: money.spare(question, w))
        assert abs(quick - slow) <= 1e-6 * max(1.0, abs(slow)), (where, quick, slow)
