"""Exact leximin at the services' granularity: a sequence of max-min rounds.

The rule: lexicographically maximise the sorted vector of the scored cells' levels (see
`fairness`). Equivalently, for thresholds taken in increasing order, make the number of cells at
or below each threshold as small as possible, the lower thresholds first.

Why rounds rather than an ordered-outcomes model: an ordered-outcomes formulation needs a
binary per cell *and per position* of the sorted vector, far too large at borough × service ×
year scale; here most questions are a money check. Each round:

1. **Max-min.** Find the highest threshold t that every free cell can reach together, by bisection
   on t. For a threshold, each cell's fewest granules follow from its level function, so a step
   is one feasibility question, answered by an LP relaxation (whose "no" is final) and the
   round's answer confirmed by a MIP.
2. **Saturation.** A free cell that cannot rise above its present level while every other free
   cell stays at or above t is at that level in every leximin optimum: it is frozen there. The
   test is on an LP relaxation, so a "cannot" is final; a wrong "can" is settled by step 3.
3. **Contention.** If the cells at t could each rise but not all together, the most that can rise
   is found exactly (a MIP with one binary, a *gate*, per contending cell) and kept as a count
   constraint; *which* cells rise is left open: later rounds lift the risen cells further, under
   their gates, and the stability and cost stages choose among the equally fair answers. Fixing a
   particular set here would not be exact: the set decides what the next positions can reach.

When no rule ties an area's services or years together, money is the only thing cells share, so
the questions are asked of a small model over spending classes (`MoneyModel`); otherwise of the
full allocation model. The final requirements are always confirmed on the full model as a MIP;
should that ever fail (integer units cannot always spend exactly what a ring-fence asks), the
rounds are run again on the full model. Independent blocks of years are solved apart: the sorted
vector of independent parts is lexicographically best when each part's is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from commissioning.errors import SolverFailed
from commissioning.models import SolverOptions
from commissioning.optimise import level_check
from commissioning.optimise.data import AllocationData
from commissioning.optimise.fairness import ScoredCell
from commissioning.optimise.fairness_models import FullModel, MoneyModel
from commissioning.optimise.fairness_questions import Count, Key, Question
from commissioning.optimise.level_arrays import LevelArrays
from commissioning.optimise.model import AllocationModel

__all__ = ["FullModel", "Leximin", "MoneyModel", "Question"]


@dataclass
class Requirement:
    """A cell's fewest granules: `steps[0]`, and `steps[j+1]` when gate j is on; gates are nested
    (a gate can be on only if the one before it is). A free cell's round applies to its last
    step; `closed` shuts the last gate for good (the cell cannot rise that far)."""

    steps: list[int]
    gates: list[int] = field(default_factory=list)
    closed: bool = False

    @property
    def last(self) -> int:
        return self.steps[-1]


@dataclass(frozen=True)
class FreeCells:
    """A round's free cells as arrays: positions, present last steps, gatedness. Requirements
    do not change while a threshold is searched, so one view serves the whole search."""

    keys: list[Key]
    idx: np.ndarray
    last: np.ndarray
    gated: np.ndarray


@dataclass(frozen=True)
class Trial:
    """Each free cell's fewest granules for a threshold (`reach` False: it cannot get there)."""

    cells: FreeCells
    granules: np.ndarray
    reach: np.ndarray


@dataclass
class RoundLog:
    threshold: Fraction
    frozen: int
    contended: int
    risen: int


class Leximin:
    """Runs the rounds on one block of years, then writes the result into the block's full
    model (`full.model`) for the later stages."""

    def __init__(
        self,
        data: AllocationData,
        model: AllocationModel,
        cells: Iterable[ScoredCell],
        options: SolverOptions,
    ):
        self.data = data
        self.options = options.model_copy(update={"relative_gap": 0.0})
        self.cells: dict[Key, ScoredCell] = {c.key: c for c in cells}
        self.keys = list(self.cells)
        self.pos = {key: i for i, key in enumerate(self.keys)}
        self.caps = np.array(
            [c.cap if c.cap is not None else np.iinfo(np.int64).max for c in self.cells.values()],
            dtype=np.int64,
        )
        self.levels = LevelArrays(list(self.cells.values()))
        self.full = FullModel(data, model, self.cells, self.options)
        self.money = (
            MoneyModel(data, self.keys, self.options) if level_check.applies(data) else None
        )
        self.checks = 0
        self.mips = 0
        self._reset()

    def _reset(self) -> None:
        self.req = {k: Requirement([c.floor]) for k, c in self.cells.items()}
        self.first = np.array([c.floor for c in self.cells.values()], dtype=np.int64)
        self.frozen: set[Key] = set()
        self.gated: set[Key] = set()  # cells with at least one gate
        self.parents: dict[int, int | None] = {}
        self.gates_made = 0  # gate ids are never reused: a model may still hold a dropped one
        self.counts: list[Count] = []
        self.rounds: list[RoundLog] = []

    # ----------------------------------------------------------------- the rounds
    def solve(self) -> None:
        self._rounds()
        if self.money is not None and not self._ask(self._question({}), exact=True, full=True):
            # Integer units could not spend what the money model allowed (a ring-fence asked
            # for an amount no whole number of granules makes): redo the rounds exactly.
            self.money = None
            self.full = FullModel(self.data, AllocationModel(self.data), self.cells, self.options)
            self._reset()
            self._rounds()
        self.full.write(self._question({}))

    def _rounds(self) -> None:
        for key, cell in self.cells.items():
            if cell.level(self.req[key].last) >= cell.top:
                self.frozen.add(key)
        while True:
            free = [k for k in self.cells if k not in self.frozen]
            if not free:
                break
            t = self._max_min(free)
            self._raise_all(free, t)
            view = self._view(free)
            at_top = dict(zip(free, self.levels.at_top(view.last, view.idx), strict=True))
            at_t = dict(zip(free, self.levels.at(t, view.last, view.idx), strict=True))
            level = {k: self._level(k) for k in self._gated_keys()}
            # A risen cell that cannot reach t may not rise: its last gate closes for good; a
            # cell at its top cannot pass t. Both now count at or below t in every optimum.
            # A gated cell above t stays free: which cells rose still decides the counts at
            # thresholds up to its level, even when it cannot rise further itself.
            self.frozen.update(k for k in free if self.req[k].closed)
            self.frozen.update(
                k for k in free if at_top[k] and (not self.req[k].gates or level[k] <= t)
            )
            free = [k for k in free if k not in self.frozen]
            log = RoundLog(t, len(self.frozen), 0, 0)
            self.rounds.append(log)
            stuck = self._stuck([k for k in free if not self.req[k].gates or level[k] <= t])
            self.frozen.update(stuck)
            log.frozen = len(self.frozen)
            free = [k for k in free if k not in self.frozen]
            at_t_free = [k for k in free if at_t[k]]
            if not self.gated and (stuck or not at_t_free):
                continue  # the rest may yet rise together: the next round says
            # Whether a risen cell is above t depends on which cells rose, so every gated cell
            # that would be above t if it rose is counted, frozen or not.
            contenders = at_t_free + [
                k for k in self._gated_keys() if not self.req[k].closed and level[k] > t
            ]
            log.contended = len(contenders)
            log.risen = self._contend(contenders, t)

    def _max_min(self, free: list[Key]) -> Fraction:
        """Highest threshold that every free cell (every risen one, for gated cells) can reach
        together, each keeping at least its level now."""
        view = self._view(free)
        idx, last, gated = view.idx, view.last, view.gated
        lo = self.levels.lowest(last, idx)
        hi = self.levels.lowest_top(idx[~gated]) if np.any(~gated) else None
        if np.any(gated):
            most = self.levels.highest_top(idx[gated])
            hi = most if hi is None else min(hi, most)
        assert hi is not None
        if self._ask(self._question(self._trial(view, hi)), exact=True):
            return hi
        found = self._search(view, lo, hi, exact=False)
        if not self._ask(self._question(self._trial(view, found)), exact=True):
            # The relaxation overstated what integer units allow: search again exactly.
            found = self._search(view, lo, found, exact=True)
        return found

    def _search(self, free: FreeCells, lo: Fraction, hi: Fraction, exact: bool) -> Fraction:
        """Bisection on the threshold, `lo` reachable and `hi` not; returns the best reachable
        level. Each step moves to a level some cell can actually sit at, so it ends exactly.
        A probe's "no" is taken at once; the one that decides the answer is confirmed."""
        ceiling = hi
        lo = self._reached(free, self._trial(free, lo))
        while True:
            step = self._next_level(free, lo)
            if step is None or step >= ceiling:
                return lo
            if step >= hi:
                decisive = self._trial(free, step)
                if not exact or not self._ask(self._question(decisive), True, confirm=True):
                    return lo
                lo, hi = self._reached(free, decisive), ceiling  # the probe's "no" was wrong
                continue
            mid = max(step, (lo + hi) / 2)
            trial = self._trial(free, mid)
            if self._ask(self._question(trial), exact=exact):
                lo = self._reached(free, trial)
            else:
                hi = mid

    def _stuck(self, free: list[Key]) -> list[Key]:
        """Free cells that cannot rise above their present level even alone (relaxation: a
        "cannot" is final). A cell below its top rises by its next granule, `last + 1`."""
        if not free:
            return []
        view = self._view(free)
        blocked = self.levels.at_top(view.last, view.idx) | (view.last + 1 > self.caps[view.idx])
        spare: dict[tuple[int, str], float] = {}
        stuck = []
        for key, last, held in zip(free, view.last.tolist(), blocked.tolist(), strict=True):
            if held:
                stuck.append(key)
                continue
            cell, req = self.cells[key], self.req[key]
            above = last + 1
            if self.money is not None:
                where = (self.money.class_of[cell.slot.index], cell.year)
                if where not in spare:
                    spare[where] = self.money.spare(self._question({}), where)
                if (above - req.last) * cell.slot.granule_cost > spare[where] + 1e-6:
                    stuck.append(key)
                continue
            question = self._question({key: above})
            question.forced = set(req.gates)
            if req.gates:
                question.steps[key][-1] = max(question.steps[key][-1], above)
            if not self._ask(question, exact=False):
                stuck.append(key)
        return stuck

    def _contend(self, contenders: list[Key], t: Fraction) -> int:
        """Most cells that can be above `t` together; kept as a count constraint."""
        new: list[int] = []
        for key in contenders:
            cell, req = self.cells[key], self.req[key]
            above = cell.granules_above(t)
            assert above is not None  # a contender's level is, or can rise, above t
            gate = self.gates_made
            self.gates_made += 1
            self.parents[gate] = req.gates[-1] if req.gates else None
            req.gates.append(gate)
            self.gated.add(key)
            req.steps.append(max(req.last, above))
            new.append(gate)
        question = self._question({})
        question.count = tuple(new)
        risen = self._ask_count(question)
        if risen == 0:
            # None can be above t: they stay at t (or where they were, if they never rose).
            for key in contenders:
                req = self.req[key]
                del self.parents[req.gates.pop()]
                req.steps.pop()
                if not req.gates:
                    self.gated.discard(key)
                if req.gates and self._level(key) > t:
                    req.closed = True  # rising would put it above t, which cannot be
                self.frozen.add(key)
            return 0
        self.counts.append(Count(tuple(new), risen, t))
        return risen

    # ----------------------------------------------------------------- state
    def _level(self, key: Key) -> Fraction:
        return self.cells[key].level(self.req[key].last)

    def _raise_all(self, free: list[Key], t: Fraction) -> None:
        view = self._view(free)
        need, reach = self.levels.granules_for(t, view.idx)
        for key, n, ok, before in zip(free, need, reach, view.last, strict=True):
            req = self.req[key]
            if not ok:
                if not req.gates:  # pragma: no cover - t never exceeds an ungated cell's top
                    raise SolverFailed(f"fairness: level {t} is above what {key} can reach")
                req.closed = True
                continue
            req.steps[-1] = max(int(before), int(n))
            if not req.gates:
                self.first[self.pos[key]] = req.steps[0]

    def _gated_keys(self) -> list[Key]:
        """Cells with gates, in the cells' order (the order questions are built in)."""
        return sorted(self.gated, key=self.pos.__getitem__)

    def _view(self, free: list[Key]) -> FreeCells:
        """Positions, present last steps and gatedness of the free cells, for the search."""
        idx = np.fromiter((self.pos[k] for k in free), dtype=np.int64, count=len(free))
        last = np.fromiter((self.req[k].last for k in free), dtype=np.int64, count=len(free))
        gated = np.fromiter((k in self.gated for k in free), dtype=bool, count=len(free))
        return FreeCells(free, idx, last, gated)

    def _trial(self, free: FreeCells, t: Fraction) -> Trial:
        """Each free cell's fewest granules for threshold t, never below its present step."""
        k, reach = self.levels.granules_for(t, free.idx)
        return Trial(free, np.maximum(k, free.last), reach)

    def _reached(self, free: FreeCells, trial: Trial) -> Fraction:
        """The lowest level among free cells with their trial granules (cells that cannot
        reach the threshold are gated ones that then do not rise)."""
        return self.levels.lowest(trial.granules[trial.reach], free.idx[trial.reach])

    def _next_level(self, free: FreeCells, lo: Fraction) -> Fraction | None:
        """The smallest threshold above `lo` whose fewest granules differ from `lo`'s."""
        idx, last, gated = free.idx, free.last, free.gated
        need, reach = self.levels.granules_for(lo, idx)
        # a gated cell that can no longer reach lo can no longer rise: it has no next level
        k = np.maximum(last, need)
        at_lo = self.levels.at(lo, k, idx)
        above, passes = self.levels.granules_above(lo, idx)
        stuck_at_lo = reach & at_lo & ~passes
        if np.any(stuck_at_lo & ~gated):
            return None  # an ungated free cell at its top bounds every threshold
        live = reach & ~(at_lo & ~passes)
        if not np.any(live):
            return None
        k = np.where(at_lo, np.maximum(k, above), k)
        return self.levels.lowest(k[live], idx[live])

    def _question(self, trial: Trial | dict[Key, int | None]) -> Question:
        """The present requirements, with `trial` replacing free cells' last steps."""
        first = self.first.copy()
        steps, gates, shut = {}, {}, set()
        impossible = False
        tried: dict[Key, int | None] = {}  # gated cells' trial steps
        if isinstance(trial, Trial):
            view = trial.cells
            ungated = ~view.gated
            impossible = bool(np.any(ungated & ~trial.reach))
            chosen = ungated & trial.reach
            where = view.idx[chosen]
            first[where] = np.maximum(first[where], trial.granules[chosen])
            for j in np.flatnonzero(view.gated):
                tried[view.keys[j]] = int(trial.granules[j]) if trial.reach[j] else None
        else:
            for key, n in trial.items():
                if key in self.gated:
                    tried[key] = n
                elif n is None:
                    impossible = True
                else:
                    i = self.pos[key]
                    first[i] = max(first[i], n)
        if not impossible:
            impossible = bool(np.any(first > self.caps))
        for key in self._gated_keys():
            req = self.req[key]
            row = list(req.steps)
            if req.closed:
                shut.add(req.gates[-1])
            n = tried.get(key, row[-1])
            if n is None:
                shut.add(req.gates[-1])  # a gated cell that cannot reach t does not rise
            else:
                row[-1] = max(row[-1], n)
            steps[key], gates[key] = row, list(req.gates)
        return Question(
            self.keys,
            first,
            steps,
            gates,
            shut,
            set(),
            dict(self.parents),
            list(self.counts),
            impossible=impossible,
        )

    # ----------------------------------------------------------------- asking
    def _ask(
        self, question: Question, exact: bool, full: bool = False, confirm: bool = False
    ) -> bool:
        self.checks += 1
        if question.impossible:
            return False
        model: MoneyModel | FullModel = self.full if full or self.money is None else self.money
        if exact:
            self.mips += 1
        return model.feasible(question, mip=exact, confirm=confirm or full)

    def _ask_count(self, question: Question) -> int:
        self.mips += 1
        model: MoneyModel | FullModel = self.money if self.money is not None else self.full
        return model.most_gates_on(question)
