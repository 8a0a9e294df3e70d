"""What the next £10,000, £100,000 or £1m in a pot would buy, and what a cut would remove.

For every pot that may fund a service and every year, each change (+ and − £10,000, £100,000,
£1m) is applied to the money the pot has for benchmark top-ups that year (its budget after
fixed commitments, formula grants and selected bids, so the grant and bid rounds are not run
again) and the allocation is solved again by the engine's own stages (`stages.solve_stages`),
never read off MIP duals. Reported per service (and `all`): units gained or lost, cells whose
units change, cells lifted to (or dropped from) benchmark, money allocated, and the lowest
coverage (min(1, total ÷ target) over the fundable benchmarked cells of that year) before and
after. Units are summed over the block of years the change can reach (years that a
multi-year award or the pace of change ties together; otherwise the year alone).

Only what is needed is solved again, and every shortcut is exact:

1. **Only the block of years holding the year** (`stages.year_blocks`): blocks are solved
   apart by the engine too, so the other years cannot move.
2. **Identical blocks answer once.** Two blocks whose budgets, ring-fences, cells (existing
   units and caps per year) and delivered units are the same pose the same problem to the
   same deterministic solver, so the answer is read across (the London years are identical).
3. **A cut the pot's unspent money covers removes nothing.** The delivered allocation stays
   feasible; its levels were the best over a larger set of allocations, so they are the best
   over the smaller one, and its stability and cost stay within their gap of the (no better)
   optimum there.
4. **More money where nothing can use it buys nothing**, when no rule ties cells of different
   spending classes together (no area total limit, no pace of change, no previous allocation
   for a stability stage): take every pot reachable from the pot through a shared spending
   class, and every class those pots fund. If every benchmarked cell of those classes is at
   benchmark or at its own cap in every year of the block, more money cannot raise any level
   (the cells it could reach are at their best, and it cannot free money for anyone else: only
   those pots pay those classes), the fairness levels and the cost optimum do not change (ring
   fences are minimums, and money above benchmark buys no level), so the delivered allocation
   stays optimal.
5. **Pots that fund exactly the same classes and hold no ring-fence are one pot** for a change:
   only the sum of their budgets limits what those classes can buy (any spending within the sum
   can be split between them), so +£X in one poses the same allocation problem as +£X in the
   other (a cut, while each can bear it). The answer is computed for the first such pot.

6. **Money enough for everyone buys the lift to benchmark.** When a single year stands alone
   and no rule ties classes together (as in 4), and the changed budgets can pay for the least
   allocation that puts every cell at its best level (`benchmark_cost.lift_to_benchmark`:
   reachable cells at benchmark, capped cells at their cap), that vector of levels is the best
   there is, so leximin reaches it; the cost stage then buys no unit a level does not need, so
   the allocation is that lift (units forced above it by floors or ring-fences are already in
   the delivered allocation, which the lift keeps).

`tests/test_marginal.py` compares every shortcut with a real re-solve.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import polars as pl

from commissioning.errors import InfeasibleScenario, SolverFailed
from commissioning.explain_schemas import MARGINAL_SCHEMA
from commissioning.models import Scenario
from commissioning.money import pounds
from commissioning.optimise.benchmark_cost import extra_money, lift_to_benchmark
from commissioning.optimise.data import AllocationData, Slot
from commissioning.optimise.stages import solve_stages, year_blocks
from commissioning.results import RunResult

CHANGES_PENCE = (1_000_000, 10_000_000, 100_000_000)  # £10,000, £100,000, £1m
TOLERANCE = 1e-9

Granules = dict[tuple[int, str], int]


@dataclass(frozen=True)
class Question:
    pot: str
    year: str
    change: int  # pence, signed


@dataclass(frozen=True)
class Answer:
    granules: Granules | None  # the block's allocation after the change; None: no answer
    status: str
    method: str


def allocation_data(scenario: Scenario) -> AllocationData:
    """What the optimiser solved for a scenario: after its grant and bid rounds."""
    from commissioning.optimise.data import build_data
    from commissioning.optimise.funding_rounds import prepare

    prepared = prepare(scenario)
    return build_data(prepared.scenario, prepared.bid_provision)


def marginal_for_run(
    run: RunResult, *, budget_seconds: float | None = None, data: AllocationData | None = None
) -> pl.DataFrame:
    """The `marginal` table of a solved run, from the run alone (CLI, API); `data`, if given,
    is `allocation_data(run.scenario)`, prepared beforehand."""
    data = allocation_data(run.scenario) if data is None else data
    unspent = {(r["pot"], r["year"]): r["unspent_pence"] for r in run.pots.iter_rows(named=True)}
    if run.summary.get("status") not in (None, "optimal"):
        return _not_computed(data, "not computed: the run stopped at its time limit")
    return marginal_table(
        data, delivered_granules(run, data), unspent, budget_seconds=budget_seconds
    )


def delivered_granules(run: RunResult, data: AllocationData) -> Granules:
    """Granules per cell from the run's coverage table (cells it omits have none)."""
    funded = {
        (r["area_code"], r["service"], r["year"]): r["funded_units"]
        for r in run.coverage.iter_rows(named=True)
    }
    return {
        (s.index, y): round(funded.get((s.area, s.service, y), 0.0) / float(s.granule_units))
        for s in data.slots
        for y in data.years
    }


def service_pots(data: AllocationData) -> list[str]:
    """Pots that may fund some service somewhere, in the scenario's order."""
    funding = {p for cls in data.classes for p in cls.pots}
    return [p for p in data.pot_ids if p in funding]


def marginal_table(
    data: AllocationData,
    granules: Granules,
    unspent: dict[tuple[str, str], int],
    *,
    budget_seconds: float | None = None,
    solve: Callable[[AllocationData], Granules] | None = None,
) -> pl.DataFrame:
    """Every pot × year × change, answered by `Marginal` (see the module docstring)."""
    marginal = Marginal(data, granules, unspent, solve=solve)
    deadline = None if budget_seconds is None else time.perf_counter() + budget_seconds
    rows: list[dict[str, object]] = []
    for question in marginal.questions():
        if deadline is not None and time.perf_counter() > deadline:
            answer = Answer(None, "not computed: the run's time limit was reached", "not solved")
        else:
            answer = marginal.answer(question)
        rows += marginal.rows(question, answer)
    return pl.DataFrame(rows, schema=MARGINAL_SCHEMA)


def _not_computed(data: AllocationData, status: str) -> pl.DataFrame:
    rows = [
        _row(data, Question(p, y, sign * c), "all", status=status, method="not solved")
        for p in service_pots(data)
        for y in data.years
        for c in CHANGES_PENCE
        for sign in (1, -1)
    ]
    return pl.DataFrame(rows, schema=MARGINAL_SCHEMA)


def _solve_block(block: AllocationData) -> Granules:
    return solve_stages(block).granules


class Marginal:
    """Answers "what does this change in this pot-year do", re-solving only when it must."""

    def __init__(
        self,
        data: AllocationData,
        granules: Granules,
        unspent: dict[tuple[str, str], int],
        *,
        solve: Callable[[AllocationData], Granules] | None = None,
    ):
        self.data = data
        self.granules = granules
        self.unspent = unspent
        self.solve = solve or _solve_block
        self.blocks = year_blocks(data)
        self.block_of = {y: b for b in self.blocks for y in b}
        self.pots = service_pots(data)
        self.classes_of = {p: {c.index for c in data.classes if p in c.pots} for p in self.pots}
        fenced = {f.pot for f in data.scenario.ring_fences}
        self.twins = {
            p: [
                q
                for q in self.pots
                if q not in fenced and p not in fenced and self.classes_of[q] == self.classes_of[p]
            ]
            or [p]
            for p in self.pots
        }
        # Answers by block signature, with cells keyed by their year's place in the block.
        self._cache: dict[object, tuple[dict[tuple[int, int], int] | None, str, str]] = {}
        self._signatures = {b: self._signature(b) for b in self.blocks}

    def questions(self) -> Iterable[Question]:
        for pot in self.pots:
            for year in self.data.years:
                for change in CHANGES_PENCE:
                    yield Question(pot, year, change)
                    yield Question(pot, year, -change)

    # -- answering ---------------------------------------------------------------------------

    def answer(self, q: Question) -> Answer:
        free = self.data.free_budget[(q.pot, q.year)]
        if q.change < 0 and -q.change > free:
            return Answer(
                None,
                f"a cut of {pounds(-q.change)} is more than the {pounds(free)} the pot has "
                f"in {q.year} after its fixed commitments",
                "refused before solving",
            )
        if q.change < 0 and -q.change <= self.unspent.get((q.pot, q.year), 0):
            return Answer(self._base(q.year), "ok", "unspent money covers the cut (shortcut 3)")
        if q.change > 0 and self._nothing_to_buy(q):
            return Answer(self._base(q.year), "ok", "nothing it may fund can rise (shortcut 4)")
        if q.change > 0:
            lifted = self._everything_to_benchmark(q)
            if lifted is not None:
                return Answer(lifted, "ok", "enough for every cell it may fund (shortcut 6)")
        twin = self._twin(q)
        block = self.block_of[q.year]
        twin_note = (
            ""
            if twin == q.pot
            else f"; read from {twin}, which funds the same services (shortcut 5)"
        )
        key = (self._signatures[block], block.index(q.year), twin, q.change)
        if key in self._cache:
            positions, status, first_year = self._cache[key]
            method = "re-solve of the year block" + twin_note
            if first_year != q.year:
                method += f"; read from {first_year}, an identical block of years (shortcut 2)"
            if positions is None:
                return Answer(None, status, method)
            granules = {(i, block[j]): n for (i, j), n in positions.items()}
            return Answer(granules, status, method)
        method = "re-solve of the year block" + twin_note
        answer = self._resolve(Question(twin, q.year, q.change), block, method)
        where = {y: j for j, y in enumerate(block)}
        self._cache[key] = (
            None
            if answer.granules is None
            else {(i, where[y]): n for (i, y), n in answer.granules.items()},
            answer.status,
            q.year,
        )
        return answer

    def _resolve(self, q: Question, block: tuple[str, ...], method: str) -> Answer:
        budgets = dict(self.data.free_budget)
        budgets[(q.pot, q.year)] += q.change
        changed = replace(self.data, years=block, free_budget=budgets)
        try:
            return Answer(self.solve(changed), "ok", method)
        except InfeasibleScenario as exc:
            return Answer(None, "infeasible: " + "; ".join(exc.reasons), method)
        except SolverFailed as exc:
            return Answer(None, f"solver failed: {exc}", method)

    def _twin(self, q: Question) -> str:
        for twin in self.twins[q.pot]:
            if q.change > 0 or self.data.free_budget[(twin, q.year)] >= -q.change:
                return twin
        return q.pot

    def _nothing_to_buy(self, q: Question) -> bool:
        policy = self.data.scenario.policy
        if (
            policy.max_change_pct is not None
            or policy.previous_allocation
            or any(limit.service is None for limit in policy.area_limits)
        ):
            return False
        pots, classes = {q.pot}, set(self.classes_of[q.pot])
        while True:
            more_pots = {p for c in classes for p in self.data.classes[c].pots} - pots
            if not more_pots:
                break
            pots |= more_pots
            classes |= {c for p in more_pots for c in self.classes_of.get(p, set())}
        return all(
            self._at_best(self.data.slots[i], y)
            for c in classes
            for i in self.data.classes[c].slots
            for y in self.block_of[q.year]
        )

    def _everything_to_benchmark(self, q: Question) -> Granules | None:
        """The lift to benchmark (benchmark_cost), when the changed budgets pay for all of it
        and nothing ties cells of different classes or years together."""
        policy = self.data.scenario.policy
        block = self.block_of[q.year]
        if (
            len(block) > 1
            or policy.previous_allocation
            or any(limit.service is None for limit in policy.area_limits)
        ):
            return None
        budgets = dict(self.data.free_budget)
        budgets[(q.pot, q.year)] += q.change
        year_data = replace(self.data, years=block, free_budget=budgets)
        base = self._base(q.year)
        lift = lift_to_benchmark(year_data, base).granules
        if lift == base or extra_money(year_data, lift, q.year):
            return None
        return lift

    def _at_best(self, slot: Slot, year: str) -> bool:
        if not slot.benchmarked:
            return True
        n = self.granules[(slot.index, year)]
        cap = slot.cap_in(year)
        at_benchmark = slot.existing_in(year) + n * float(slot.granule_units)
        return at_benchmark >= slot.target - TOLERANCE or (cap is not None and n >= cap)

    def _base(self, year: str) -> Granules:
        block = self.block_of[year]
        return {(s.index, y): self.granules[(s.index, y)] for s in self.data.slots for y in block}

    def _signature(self, block: tuple[str, ...]) -> tuple[object, ...]:
        d = self.data
        return tuple(
            (
                tuple(d.free_budget[(p, y)] for p in d.pot_ids),
                tuple(d.ring_fence_need.get((f.id, y)) for f in d.scenario.ring_fences),
                tuple(
                    (s.existing_in(y), s.cap_in(y), self.granules[(s.index, y)]) for s in d.slots
                ),
                tuple(self.unspent.get((p, y)) for p in d.pot_ids),
            )
            for y in block
        )

    # -- reporting ---------------------------------------------------------------------------

    def rows(self, q: Question, answer: Answer) -> list[dict[str, object]]:
        if answer.granules is None:
            return [_row(self.data, q, "all", status=answer.status, method=answer.method)]
        block = self.block_of[q.year]
        after = answer.granules
        before_low = self._lowest(self.granules, q.year)
        after_low = self._lowest(after, q.year)
        per_service: dict[str, dict[str, float]] = {}
        for slot in self.data.slots:
            for y in block:
                old, new = self.granules[(slot.index, y)], after[(slot.index, y)]
                if old == new:
                    continue
                tally = per_service.setdefault(
                    slot.service, {"units": 0.0, "cells": 0, "to_benchmark": 0, "money": 0}
                )
                tally["units"] += (new - old) * float(slot.granule_units)
                tally["cells"] += 1
                tally["money"] += (new - old) * slot.granule_cost
                was, now = self._covered(slot, y, old), self._covered(slot, y, new)
                if slot.benchmarked and was != now:
                    tally["to_benchmark"] += 1
        rows = []
        total = {"units": 0.0, "cells": 0, "to_benchmark": 0, "money": 0}
        for service in sorted(per_service):
            tally = per_service[service]
            for k in total:
                total[k] += tally[k]
            rows.append(
                _row(
                    self.data,
                    q,
                    service,
                    tally=tally,
                    low=(before_low, after_low),
                    status=answer.status,
                    method=answer.method,
                )
            )
        rows.append(
            _row(
                self.data,
                q,
                "all",
                tally=total,
                low=(before_low, after_low),
                status=answer.status,
                method=answer.method,
            )
        )
        return rows

    def _covered(self, slot: Slot, year: str, n: int) -> bool:
        return slot.existing_in(year) + n * float(slot.granule_units) >= slot.target - TOLERANCE

    def _lowest(self, granules: Granules, year: str) -> float | None:
        levels = [
            min(
                1.0,
                (s.existing_in(year) + granules[(s.index, year)] * float(s.granule_units))
                / s.target,
            )
            for s in self.data.slots
            if s.benchmarked
        ]
        # Six decimals, as the CSV keeps them.
        return round(min(levels), 6) if levels else None


def _row(
    data: AllocationData,
    q: Question,
    service: str,
    *,
    tally: dict[str, float] | None = None,
    low: tuple[float | None, float | None] = (None, None),
    status: str,
    method: str,
) -> dict[str, object]:
    return {
        "pot": q.pot,
        "pot_name": data.scenario.pot(q.pot).name,
        "year": q.year,
        "change_pence": q.change,
        "service": service,
        "units_change": None if tally is None else tally["units"],
        "cells_changed": None if tally is None else int(tally["cells"]),
        "cells_to_benchmark": None if tally is None else int(tally["to_benchmark"]),
        "money_change_pence": None if tally is None else int(tally["money"]),
        "lowest_coverage_before": low[0],
        "lowest_coverage_after": low[1],
        "status": status,
        "method": method,
    }
