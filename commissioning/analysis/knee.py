"""The knee of a budget–outcome curve, found exactly in pence by bisection, not read off a grid.

What is bisected. A knee is sought on a sweep of one money figure:

- a pot (`pots.ID`, `pots.ID.amount`): the variable B is a whole number of pence, and the
  scenario at B is the scenario with the pot's amount set to B **in every year** (for
  `pots.ID.amount[YEAR]`, in that year only). The knee K is the *smallest budget at which
  every borough is at benchmark*: P(K) holds and P(K − 1p) does not. The *largest cut* that
  keeps them all there is the base amount minus K (per year, and as a share of the base).
- a unit cost (`services.ID.unit_cost`): the variable is the cost in steps of the smallest
  change that keeps the granule's cost whole pence (1p, or 2p for a 0.5 FTE service). The knee
  is the *largest unit cost at which every borough is at benchmark*: P(K) holds and P(K + one
  step) does not, so a granule costs one step × granularity more there.

P(v), "every borough at benchmark", is: the scenario at v solves, and no benchmarked cell the
swept figure can pay for (a pot: the services and areas it may fund; a unit cost: that
service's cells) is below benchmark *for want of money* (reason code `money` or `ring_fence`,
commissioning.optimise.reasons). Cells a named rule holds below benchmark (a cap, an area
limit, the pace of change, a multi-year award) cannot be lifted by any budget, and cells the
figure cannot pay for cannot be lifted by it, so they do not count; in the London fixture
there are none of either and P means every cell of every borough at benchmark.

The end condition, proved. The search keeps two values it has solved: `good` (P holds) and
`bad` (P fails), starting from the sweep's own steps (a step's figures bracket B: P at a step
whose years differ gives P at the largest of them, by the monotonicity below). Each round
solves up to `jobs` values strictly between them and replaces one end by a solved value,
so |good − bad| falls strictly; it stops when good and bad are one unit apart. Then P(good)
and not P(bad) are both *solved results*, and bad = good ∓ one unit: that is the end
condition, whatever else holds. If P is monotone in the figure (more money in a pot only
widens what the pots can buy, so an allocation with every cell at benchmark stays feasible
and leximin keeps it; a dearer unit the reverse), the knee is unique and the search finds it.
For a pot that also feeds a formula grant or bid round, P need not be monotone and the knee
is the boundary within the bracket the sweep gave. When no step of a pot's sweep fails, the
search starts from 0p (if P holds even there, the knee is 0: no borough needs the pot); when
no step passes, there is no knee in the range and sweep.json says so.

A first guess saves most of the solves: at the cheapest step where P holds, the money left
unspent in the pots that share a service with the swept pot could all go (the least over the
years); the guess and the penny below it are solved first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from commissioning.analysis.sweep import Axis, StepResult

if TYPE_CHECKING:
    from commissioning.analysis.sweep import Solver
    from commissioning.models import Scenario


def knee_kind(path: str) -> str | None:
    """'pot' or 'unit_cost' when the path is a money figure with a knee; None otherwise."""
    parts = path.split(".")
    if parts[0] == "pots" and (len(parts) == 2 or parts[2].startswith("amount")):
        return "pot"
    if parts[0] == "services" and len(parts) == 3 and parts[2] == "unit_cost":
        return "unit_cost"
    return None


def knee_applies(axes: Sequence[Axis]) -> bool:
    return len(axes) == 1 and knee_kind(axes[0].path) is not None


def find_knees(
    scenario: Scenario,
    axis: Axis,
    steps: Sequence[StepResult],
    solver: Solver,
    on_done: Callable[[StepResult], None] | None = None,
    total: list[int] | None = None,
) -> dict[str, Any]:
    """The knee of a one-axis money sweep, with the solved evidence at both sides."""
    kind = knee_kind(axis.path)
    assert kind is not None
    unit = _unit(scenario, axis.path) if kind == "unit_cost" else 1
    more_is_better = kind == "pot"
    probe_axis = Axis(axis.path, 0, 0, 1, relative=False)
    reaches = reach(scenario, axis.path)
    solved: dict[int, StepResult] = {}

    def evaluate(values: list[int]) -> None:
        wanted = sorted({v for v in values if v not in solved and v >= 0})
        if not wanted:
            return
        if total is not None:
            total[0] += len(wanted)
        results = solver.map(scenario, [probe_axis], [(v * unit,) for v in wanted], on_done)
        solved.update(zip(wanted, results, strict=True))

    def holds(v: int) -> bool:
        return solved[v].at_benchmark_where(reaches)

    for step in steps:  # a step that set one value in every year is a solve of that value
        values = set(step.figures.values())
        if len(values) == 1 and step.status != "invalid":
            value = int(values.pop())
            if value % unit == 0:
                solved.setdefault(value // unit, step)
    good, bad = _bracket(steps, unit, more_is_better, reaches)
    if good is None:
        return _not_found(axis, kind, "no step of the sweep has every borough at benchmark")
    if bad is None:
        bad = 0 if more_is_better else None
        if bad is None:
            return _not_found(axis, kind, "every step of the sweep has every borough at benchmark")
        evaluate([bad])
        if holds(bad):
            return _found(axis, kind, scenario, unit, bad, None, solved)
    evaluate([good])  # a step's figures may differ by year: solve the uniform value itself
    if not holds(good):
        return _not_found(axis, kind, "the cheapest passing step does not pass at one value")
    guess = _guess(scenario, axis.path, steps, good, unit, reaches) if more_is_better else None
    direction = 1 if more_is_better else -1  # from bad towards good
    if guess is not None and _between(guess, bad, good):
        evaluate([guess, guess - direction])
        good, bad = _narrow(good, bad, [guess, guess - direction], holds)
    while abs(good - bad) > 1:
        probes = _probes(bad, good, solver.jobs)
        evaluate(probes)
        good, bad = _narrow(good, bad, probes, holds)
    return _found(axis, kind, scenario, unit, good, bad, solved)


def reach(scenario: Scenario, path: str) -> Callable[[str, str], bool]:
    """The cells (area, service) the swept figure can pay for: a pot's eligible services and
    areas; a unit cost's service."""
    key = path.split(".")[1]
    if path.startswith("pots."):
        pot = next(p for p in scenario.pots if p.id == key)
        return lambda area, service: pot.may_fund(service, area)
    return lambda _area, service: service == key


def _bracket(
    steps: Sequence[StepResult],
    unit: int,
    more_is_better: bool,
    reaches: Callable[[str, str], bool],
) -> tuple[int | None, int | None]:
    """A passing value and a failing value of the knee's variable, from the sweep's steps."""
    good: int | None = None
    bad: int | None = None
    pick_good = min if more_is_better else max
    pick_bad = max if more_is_better else min
    for step in steps:
        if step.status == "invalid" or not step.figures:
            continue
        amounts = list(step.figures.values())
        if step.at_benchmark_where(reaches):
            # P at the step's years implies P with every year at the most generous of them.
            value = (max if more_is_better else min)(amounts) // unit
            good = value if good is None else pick_good(good, value)
        else:
            value = -(-(min if more_is_better else max)(amounts) // unit)
            bad = value if bad is None else pick_bad(bad, value)
    if good is not None and bad is not None and not _on_bad_side(bad, good, more_is_better):
        bad = None  # no failing step on the far side of the passing ones
    return good, bad


def _on_bad_side(bad: int, good: int, more_is_better: bool) -> bool:
    return bad < good if more_is_better else bad > good


def _between(v: int, a: int, b: int) -> bool:
    return min(a, b) < v < max(a, b)


def _probes(bad: int, good: int, jobs: int) -> list[int]:
    """Up to `jobs` values strictly between, evenly spaced (one per worker, in parallel)."""
    gap = good - bad
    count = min(max(1, jobs), abs(gap) - 1)
    return sorted({bad + gap * (i + 1) // (count + 1) for i in range(count)})


def _narrow(
    good: int, bad: int, probes: list[int], holds: Callable[[int], bool]
) -> tuple[int, int]:
    """The tightest solved pair: the passing probe nearest the failing side, and so on."""
    inside = sorted((p for p in probes if _between(p, bad, good)), key=lambda p: abs(p - bad))
    for p in inside:
        if holds(p):
            return p, bad
        bad = p
    return good, bad


def _guess(
    scenario: Scenario,
    path: str,
    steps: Sequence[StepResult],
    good: int,
    unit: int,
    reaches: Callable[[str, str], bool],
) -> int | None:
    """The passing step's budget less the unspent money that could have gone (see above)."""
    pot_id = path.split(".")[1]

    def funds(pot: Any) -> set[str]:
        return {
            s.id
            for s in scenario.services
            if pot.eligible_services in (None, []) or s.id in pot.eligible_services
        }

    pots = {p.id: p for p in scenario.pots}
    services = funds(pots[pot_id])
    sharing = {p.id for p in scenario.pots if services & funds(p)}
    for step in steps:
        if step.scorecard is None or not step.at_benchmark_where(reaches):
            continue
        if max(step.figures.values()) // unit != good:
            continue
        spare: dict[str, int] = {}
        for row in step.scorecard["pots"]:
            if row["pot"] in sharing:
                spare[row["year"]] = spare.get(row["year"], 0) + row["unspent_pence"]
        return good - min(spare.values(), default=0)
    return None


def _unit(scenario: Scenario, path: str) -> int:
    service = next(s for s in scenario.services if s.id == path.split(".")[1])
    return Fraction(service.granularity).denominator


def _base(scenario: Scenario, path: str) -> list[int]:
    from commissioning.analysis.sweep import figures_at

    return [int(v) for v in figures_at(scenario, path).values()]


def _percent_text(part: int, whole: int) -> str:
    if whole == 0:
        return "n/a"
    hundredths = Fraction(part * 10000, whole)
    rounded = int(hundredths)  # towards zero: a cut is never overstated
    sign = "-" if rounded < 0 else ""
    return f"{sign}{abs(rounded) // 100}.{abs(rounded) % 100:02d}%"


def _evidence(
    result: StepResult | None, reaches: Callable[[str, str], bool]
) -> dict[str, Any] | None:
    if result is None:
        return None
    card = result.scorecard or {}
    return {
        "status": result.status,
        "reason": result.reason,
        "every_borough_at_benchmark": result.at_benchmark_where(reaches),
        "cells_short_of_money": sum(
            reaches(area, service) for _, area, service in result.short_of_money or ()
        ),
        "cells_below": card.get("cells_below"),
        "boroughs_below": card.get("boroughs_below"),
        "unspent_pence": card.get("unspent_pence"),
        "lowest_coverage": (card.get("lowest_coverage") or {}).get("percent"),
    }


def _found(
    axis: Axis,
    kind: str,
    scenario: Scenario,
    unit: int,
    good: int,
    bad: int | None,
    solved: dict[int, StepResult],
) -> dict[str, Any]:
    knee = good * unit
    reaches = reach(scenario, axis.path)
    base = _base(scenario, axis.path)
    result: dict[str, Any] = {
        "path": axis.path,
        "kind": kind,
        "found": True,
        "solves": len(solved),
        "step_pence": unit,
        "base_pence": base,
    }
    if kind == "pot":
        result |= {
            "definition": (
                "the smallest amount, in whole pence, that the pot can hold in every year "
                "(the pot's amount set to it in each year) with every borough at benchmark: "
                "no benchmarked cell below benchmark for want of money. One penny less and "
                "some cell is below."
            ),
            "smallest_budget_pence": knee,
            # A knee above the base is money to add, not a cut: the cut is then None.
            "largest_cut_pence": [b - knee if b >= knee else None for b in base],
            "largest_cut_percent": [
                _percent_text(b - knee, b) if b >= knee else None for b in base
            ],
            "rise_needed_pence": [knee - b if knee > b else 0 for b in base],
            "at_knee": _evidence(solved[good], reaches),
            "one_penny_less": _evidence(solved.get(bad) if bad is not None else None, reaches),
        }
    else:
        result |= {
            "definition": (
                "the largest unit cost, in pence (in steps that keep a granule's cost whole "
                "pence), at which every borough is at benchmark: no benchmarked cell below "
                "benchmark for want of money. One step more and some cell is below."
            ),
            "largest_unit_cost_pence": knee,
            "largest_rise_pence": [knee - b for b in base],
            "largest_rise_percent": [_percent_text(knee - b, b) for b in base],
            "at_knee": _evidence(solved[good], reaches),
            "one_step_more": _evidence(solved.get(bad) if bad is not None else None, reaches),
        }
    return result


def _not_found(axis: Axis, kind: str, why: str) -> dict[str, Any]:
    return {"path": axis.path, "kind": kind, "found": False, "why": why}
