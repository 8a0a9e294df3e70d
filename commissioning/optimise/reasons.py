"""Why every area × service × year sits where it does: a reason code from a closed list and a
sentence built from the run's own numbers.

The codes (`ReasonCode`):

    at_or_above_benchmark   the cell reaches its benchmark
    money                   the pots that may fund it have less than one more granule left;
                            the sentence says where their money went (how many cells they paid
                            for and at what coverage) and which cell the next granule would go to
    ring_fence              as `money`, but a ring-fence made a pot it shares spend on fenced
                            cells that are better covered than this one
    area_cap                one more granule would break the area's cap on all its services
    area_limit              the cell has reached its area limit for this service
    next_unit_exceeds_cap   room is left under the cell's area limit for this service, but
                            less than one granule
    benchmark_cap           one more granule would take the cell past the cap at a multiple
                            of benchmark (the factor is at least 1, so this cap holds a cell
                            below benchmark only when a whole granule does not fit under it)
    pace_of_change          money that may fund it is unspent; the pace-of-change limit holds
                            the area's total near its previous level
    multi_year_award        money that may fund it is unspent; units bought must stay funded
                            in every year of a multi-year award
    no_need_weight          equal_shortfall gives an area with need index 0 no weight
    no_pot_may_fund         no pot may fund this service in this area
    not_benchmarked         the service has no benchmark here (funded for a floor or ring-fence)
    stopped_early           money that may fund it is unspent and no rule holds it: only in a
                            provisional run stopped at its time limit (a finished run with such a
                            cell fails its affordability check instead)

"Next granule" means the granule leximin would buy next with more money in these pots: the
lowest-level below-benchmark cell those pots may fund that no cap or area cap holds.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from commissioning.money import pounds
from commissioning.optimise.affordability import holding_rule
from commissioning.optimise.data import AllocationData, Slot
from commissioning.optimise.fairness import ScoredCell, exact, scored_cells
from commissioning.optimise.split import Payment
from commissioning.wording import amount, percent

TOLERANCE = 1e-9


class ReasonCode(StrEnum):
    AT_OR_ABOVE_BENCHMARK = "at_or_above_benchmark"
    MONEY = "money"
    RING_FENCE = "ring_fence"
    AREA_CAP = "area_cap"
    AREA_LIMIT = "area_limit"
    BENCHMARK_CAP = "benchmark_cap"
    NEXT_UNIT_EXCEEDS_CAP = "next_unit_exceeds_cap"
    PACE_OF_CHANGE = "pace_of_change"
    MULTI_YEAR_AWARD = "multi_year_award"
    NO_NEED_WEIGHT = "no_need_weight"
    NO_POT_MAY_FUND = "no_pot_may_fund"
    NOT_BENCHMARKED = "not_benchmarked"
    STOPPED_EARLY = "stopped_early"


CellKey = tuple[str, str, str]  # (year, area code, service id)


@dataclass(frozen=True)
class CellReason:
    year: str
    area_code: str
    area_name: str
    service: str
    code: ReasonCode
    coverage_ratio: float | None
    shortfall_units: float
    shortfall_pence: int  # granules short × granule cost
    sentence: str

    @property
    def key(self) -> CellKey:
        return (self.year, self.area_code, self.service)


def explain_cells(
    data: AllocationData,
    granules: dict[tuple[int, str], int],
    payments: Iterable[Payment],
    unspent: dict[tuple[str, str], int],
    scored: Iterable[ScoredCell] | None = None,
) -> dict[CellKey, CellReason]:
    """A reason for every cell the coverage table reports. `scored`: the fairness rule's cells,
    if the caller has them (else they are scored again)."""
    return _Explainer(data, granules, list(payments), unspent, scored).all()


@dataclass(frozen=True)
class _Short:
    """How far a cell is from benchmark: its coverage, the units and granules short."""

    coverage: Fraction
    units: Fraction
    granules: int
    pence: int


class _Explainer:
    def __init__(
        self,
        data: AllocationData,
        granules: dict[tuple[int, str], int],
        payments: list[Payment],
        unspent: dict[tuple[str, str], int],
        scored: Iterable[ScoredCell] | None = None,
    ):
        self.data = data
        self.granules = granules
        self.unspent = unspent
        self.rule = data.scenario.policy.fairness_rule
        self.services = {s.id: s for s in data.scenario.services}
        if scored is None:
            scored = scored_cells(data.slots, data.years, self.rule)
        self.scored: dict[tuple[int, str], ScoredCell] = {c.key: c for c in scored}
        self.shorts: dict[tuple[int, str], _Short | None] = {}
        self.levels: dict[tuple[int, str], Fraction] = {}
        self.next_cells: dict[tuple[tuple[str, ...], str], Slot | None] = {}
        self.in_line: dict[str, list[Slot]] = {}
        self.went: dict[tuple[tuple[str, ...], str], str] = {}
        self.fenced_levels: dict[tuple[str, str], tuple[list[Fraction], list[Fraction]]] = {}
        self.paid_summaries: dict[
            tuple[tuple[str, ...], str], tuple[int, Fraction, Fraction] | None
        ] = {}
        self.coverages: dict[tuple[int, str, int], Fraction] = {}
        self.area_totals: dict[tuple[str, str], int] = defaultdict(int)
        for (i, year), n in granules.items():
            self.area_totals[(data.slots[i].area, year)] += n * data.slots[i].granule_cost
        # (pot, year) -> slots it paid for; (ring-fence, year) -> pence its pot spent inside it
        self.paid: dict[tuple[str, str], set[int]] = defaultdict(set)
        self.fence_spend: dict[tuple[str, str], int] = defaultdict(int)
        fences = {f.id: f for f in data.scenario.ring_fences}
        for year, i, pot, pence in payments:
            if pence <= 0:
                continue
            self.paid[(pot, year)].add(i)
            for fence_id in data.slots[i].ring_fences:
                if fences[fence_id].pot == pot:
                    self.fence_spend[(fence_id, year)] += pence

    # --- every cell ---------------------------------------------------------------------------

    def all(self) -> dict[CellKey, CellReason]:
        reasons: dict[CellKey, CellReason] = {}
        for slot in self.data.slots:
            if not slot.benchmarked and not any(
                self.granules[(slot.index, y)] for y in self.data.years
            ):
                continue
            for year in self.data.years:
                reason = self.explain(slot, year)
                reasons[reason.key] = reason
        names = {a.code: a.name for a in self.data.scenario.areas}
        for area, service, target, base, extra in self.data.unfundable:
            for year in self.data.years:
                existing = exact(base + dict(extra).get(year, 0.0))
                reason = self._unfundable(year, area, names[area], service, exact(target), existing)
                reasons[reason.key] = reason
        return reasons

    def explain(self, slot: Slot, year: str) -> CellReason:
        n = self.granules[(slot.index, year)]
        if not slot.benchmarked:
            units = amount(slot.granule_units * n, self._unit(slot.service))
            return self._reason(
                slot,
                year,
                ReasonCode.NOT_BENCHMARKED,
                None,
                f"{self._name(slot)}: no benchmark; {units} funded to meet a ring-fence or floor.",
            )
        short = self._short(slot, year)
        if short is None:
            return self._reason(
                slot,
                year,
                ReasonCode.AT_OR_ABOVE_BENCHMARK,
                None,
                f"{self._name(slot)}: at or above benchmark "
                f"({percent(self._coverage(slot, year, n))}).",
            )
        head = self._head(slot, short)
        cap = slot.cap_in(year)
        if cap is not None and n >= cap:
            code, why = self._at_cap(slot, year, n)
            return self._reason(slot, year, code, short, f"{head} {why}")
        left = sum(max(0, self.unspent[(p, year)]) for p in slot.pots)
        if left < slot.granule_cost:
            fence = self._fence_taking(slot, year)
            if fence is not None:
                return self._reason(slot, year, ReasonCode.RING_FENCE, short, f"{head} {fence}")
            why = self._money(slot, year, left)
            return self._reason(slot, year, ReasonCode.MONEY, short, f"{head} {why}")
        hold = holding_rule(self.data, slot, self.area_totals[(slot.area, year)])
        if hold is None:
            return self._reason(
                slot,
                year,
                ReasonCode.STOPPED_EARLY,
                short,
                f"{head} {pounds(left)} that may fund it is unspent: this is a provisional "
                "allocation from a solve stopped at its time limit.",
            )
        code = ReasonCode(hold.code)
        why = self._held(slot, year, code, left, hold.words)
        return self._reason(slot, year, code, short, f"{head} {why}")

    # --- one reason each ----------------------------------------------------------------------

    def _at_cap(self, slot: Slot, year: str, n: int) -> tuple[ReasonCode, str]:
        """A cell at its cap: the benchmark cap or an area limit, or a cap with room left for
        part of a granule only."""
        unit = self._unit(slot.service)
        g = Fraction(slot.granule_units)
        funded = g * n
        total = exact(slot.existing_in(year)) + funded
        factor = self.data.scenario.policy.cap_at_benchmark_factor
        cap = slot.cap_in(year)
        # The benchmark cap binds when it set the slot's cap, or when selected bids' units
        # lowered it this year below the slot's cap (Slot.cap_in).
        if factor is not None and (
            (slot.cap_rule or "").startswith("cap at")
            or slot.cap is None
            or (cap is not None and cap < slot.cap)
        ):
            ceiling = Fraction(factor) * exact(slot.target)
            return ReasonCode.BENCHMARK_CAP, (
                f"One more {amount(g, unit)} would take it to {amount(total + g, unit)}, over "
                f"the cap at {factor} × benchmark ({amount(ceiling, unit)})."
            )
        for limit in self.data.scenario.policy.area_limits:
            if limit.area != slot.area or limit.service != slot.service:
                continue
            if limit.max_units is not None and math.floor(Fraction(limit.max_units) / g) == n:
                rule = f"the area limit of at most {amount(limit.max_units, unit)} of this service"
                if funded < Fraction(limit.max_units):
                    return ReasonCode.NEXT_UNIT_EXCEEDS_CAP, (
                        f"One more {amount(g, unit)} would take its funded units to "
                        f"{amount(funded + g, unit)}, over {rule}."
                    )
                return ReasonCode.AREA_LIMIT, f"Held by {rule}, which it has reached."
            if limit.max_pence is not None and limit.max_pence // slot.granule_cost == n:
                rule = f"the area limit of at most {pounds(limit.max_pence)} a year on this service"
                spent = n * slot.granule_cost
                if spent < limit.max_pence:
                    return ReasonCode.NEXT_UNIT_EXCEEDS_CAP, (
                        f"One more {amount(g, unit)} ({pounds(slot.granule_cost)}) would take it "
                        f"to {pounds(spent + slot.granule_cost)}, over {rule}."
                    )
                return ReasonCode.AREA_LIMIT, f"Held by {rule}, which it has reached."
        return ReasonCode.AREA_LIMIT, f"Held by the {slot.cap_rule}."

    def _money(self, slot: Slot, year: str, left: int) -> str:
        unit = self._unit(slot.service)
        pots = ", ".join(slot.pots)
        text = (
            f"The pots that may fund it ({pots}) have {pounds(left)} left in {year}, less than "
            f"one more {amount(slot.granule_units, unit)} ({pounds(slot.granule_cost)})."
        )
        nxt = self._next_cell(slot.pots, year)
        if nxt is None or nxt.index == slot.index:
            return (
                text
                + self._paid_text(slot.pots, year)
                + f" It is next in line: the next {pounds(slot.granule_cost)} goes to it."
            )
        return text + self._where_it_went(slot.pots, year, nxt)

    def _paid_text(self, pots: tuple[str, ...], year: str) -> str:
        paid = self._paid_summary(pots, year)
        if paid is None:
            return ""
        count, lowest, highest = paid
        return (
            f" They paid for {count} cells in {year}, now at "
            f"{percent(lowest)} to {percent(highest)} of benchmark."
        )

    def _where_it_went(self, pots: tuple[str, ...], year: str, nxt: Slot) -> str:
        """What the pots paid for and where their next granule goes: the same words for every
        cell sharing the pots in the year, so written once."""
        key = (pots, year)
        if key not in self.went:
            order = (
                "cells with lower coverage"
                if self.rule == "leximin"
                else f"cells the {self.rule} rule ranks lower"
            )
            coverage = percent(self._coverage(nxt, year, self.granules[(nxt.index, year)]))
            self.went[key] = self._paid_text(pots, year) + (
                f" They went to {order} first (lowest now {coverage}); the next "
                f"{pounds(nxt.granule_cost)} goes to {self._name(nxt)}."
            )
        return self.went[key]

    def _fence_taking(self, slot: Slot, year: str) -> str | None:
        """The ring-fence that made a pot this cell shares spend on better-covered cells, if
        moving one granule's worth out of the fence would break it."""
        level = self._level(slot, year)
        for fence in self.data.scenario.ring_fences:
            if fence.pot not in slot.pots or fence.id in slot.ring_fences:
                continue
            need = self.data.ring_fence_need.get((fence.id, year))
            if need is None or need <= 0:
                continue
            spend = self.fence_spend[(fence.id, year)]
            if spend - slot.granule_cost >= need:
                continue
            above = self._fenced_above(fence.id, fence.pot, year, level)
            if above is None:
                continue
            count, lowest, highest = above
            left = sum(max(0, self.unspent[(p, year)]) for p in slot.pots)
            return (
                f"The pots that may fund it have {pounds(left)} left in {year}; the ring-fence "
                f"'{fence.name}' requires {fence.pot} to spend at least "
                f"{pounds(fence.min_amount_pence)} on {', '.join(fence.services)} (it spends "
                f"{pounds(spend)} there), so that money went to {count} fenced cells "
                f"now at {percent(lowest)} to {percent(highest)} of benchmark."
            )
        return None

    def _fenced_above(
        self, fence_id: str, pot: str, year: str, level: Fraction
    ) -> tuple[int, Fraction, Fraction] | None:
        """How many fenced cells the fence's pot paid for sit above `level`, and their lowest
        and highest coverage (the cells are ranked by level once per fence and year)."""
        if (fence_id, year) not in self.fenced_levels:
            ranked = sorted(
                (self._level(s, year), self._coverage(s, year, self.granules[(s.index, year)]))
                for s in self._paid_cells((pot,), year)
                if fence_id in s.ring_fences
            )
            self.fenced_levels[(fence_id, year)] = ([r[0] for r in ranked], [r[1] for r in ranked])
        levels, coverages = self.fenced_levels[(fence_id, year)]
        start = bisect.bisect_right(levels, level)
        if start == len(levels):
            return None
        rest = coverages[start:]
        return len(rest), min(rest), max(rest)

    def _held(self, slot: Slot, year: str, code: ReasonCode, left: int, words: str) -> str:
        unspent = f"{pounds(left)} that may fund it is unspent in {year}"
        if code is ReasonCode.AREA_CAP:
            total = self.area_totals[(slot.area, year)]
            return (
                f"{unspent}, but {slot.area_name} has {pounds(total)} funded and one more "
                f"{amount(slot.granule_units, self._unit(slot.service))} "
                f"({pounds(slot.granule_cost)}) would break {words}."
            )
        if code is ReasonCode.PACE_OF_CHANGE:
            before = sum(
                round(s.previous * s.granule_cost) for s in self.data.slots if s.area == slot.area
            )
            return (
                f"{unspent}, but {words} holds {slot.area_name}'s total near its previous "
                f"{pounds(before)} a year."
            )
        if code is ReasonCode.MULTI_YEAR_AWARD:
            return f"{unspent}, but it is held by {words}: a later year could not keep it."
        return f"{unspent}, but it is held by {words}."

    def _unfundable(
        self,
        year: str,
        area: str,
        area_name: str,
        service: str,
        target: Fraction,
        existing: Fraction,
    ) -> CellReason:
        name = f"{self.services[service].name} in {area_name}"
        if existing >= target - Fraction(TOLERANCE):
            return CellReason(
                year,
                area,
                area_name,
                service,
                ReasonCode.AT_OR_ABOVE_BENCHMARK,
                float(existing / target),
                0.0,
                0,
                f"{name}: at or above benchmark ({percent(existing / target)}).",
            )
        short = self._shortage(service, target, existing)
        return CellReason(
            year,
            area,
            area_name,
            service,
            ReasonCode.NO_POT_MAY_FUND,
            float(short.coverage),
            float(short.units),
            short.pence,
            f"{self._head_for(name, service, short)} No pot may fund this service in {area_name}.",
        )

    # --- figures --------------------------------------------------------------------------------

    def _short(self, slot: Slot, year: str) -> _Short | None:
        key = (slot.index, year)
        if key not in self.shorts:
            self.shorts[key] = self._work_out_short(slot, year)
        return self.shorts[key]

    def _work_out_short(self, slot: Slot, year: str) -> _Short | None:
        n = self.granules[(slot.index, year)]
        total = slot.existing_in(year) + float(slot.granule_units) * n
        if total >= slot.target - TOLERANCE:
            return None
        return self._shortage(slot.service, self._target(slot), self._total(slot, year, n))

    def _shortage(self, service: str, target: Fraction, total: Fraction) -> _Short:
        s = self.services[service]
        units = max(Fraction(0), target - total)
        count = max(1, math.ceil(units / Fraction(s.granularity)))
        return _Short(total / target, units, count, count * s.granule_cost_pence)

    def _head(self, slot: Slot, short: _Short) -> str:
        return self._head_for(self._name(slot), slot.service, short)

    def _head_for(self, name: str, service: str, short: _Short) -> str:
        s = self.services[service]
        return (
            f"{name}: {percent(short.coverage)} of benchmark, {amount(short.units, s.unit)} "
            f"short ({short.granules} × {amount(s.granularity, s.unit)}, "
            f"{pounds(short.pence)})."
        )

    def _coverage(self, slot: Slot, year: str, n: int) -> Fraction:
        key = (slot.index, year, n)
        if key not in self.coverages:
            target = self._target(slot)
            total = self._total(slot, year, n)
            self.coverages[key] = total / target if target > 0 else Fraction(0)
        return self.coverages[key]

    def _target(self, slot: Slot) -> Fraction:
        return exact(slot.target)

    def _total(self, slot: Slot, year: str, n: int) -> Fraction:
        """Existing, bid and funded units of a cell with n granules, exactly."""
        return exact(slot.existing_in(year)) + Fraction(slot.granule_units) * n

    def _level(self, slot: Slot, year: str) -> Fraction:
        """The fairness rule's level of a cell (a cell the rule does not score is at its top)."""
        key = (slot.index, year)
        if key not in self.levels:
            cell = self.scored.get(key)
            self.levels[key] = Fraction(10**9) if cell is None else cell.level(self.granules[key])
        return self.levels[key]

    def _paid_summary(
        self, pots: tuple[str, ...], year: str
    ) -> tuple[int, Fraction, Fraction] | None:
        """How many benchmarked cells these pots paid for, and their lowest and highest
        coverage: the same for every cell sharing the pots, so worked out once per pot set."""
        if (pots, year) not in self.paid_summaries:
            paid = self._paid_cells(pots, year)
            levels = [self._coverage(s, year, self.granules[(s.index, year)]) for s in paid]
            self.paid_summaries[(pots, year)] = (
                (len(paid), min(levels), max(levels)) if paid else None
            )
        return self.paid_summaries[(pots, year)]

    def _paid_cells(self, pots: Iterable[str], year: str) -> list[Slot]:
        indices = set().union(*(self.paid[(p, year)] for p in pots))
        return [self.data.slots[i] for i in sorted(indices) if self.data.slots[i].benchmarked]

    def _next_cell(self, pots: tuple[str, ...], year: str) -> Slot | None:
        """The lowest-level below-benchmark cell these pots may fund that no cap holds."""
        if (pots, year) not in self.next_cells:
            self.next_cells[(pots, year)] = self._find_next_cell(pots, year)
        return self.next_cells[(pots, year)]

    def _find_next_cell(self, pots: tuple[str, ...], year: str) -> Slot | None:
        wanted = set(pots)
        for slot in self._next_in_line(year):
            if wanted.intersection(slot.pots):
                return slot
        return None

    def _next_in_line(self, year: str) -> list[Slot]:
        """Below-benchmark cells no cap holds, lowest level first (ties by area and service):
        ranked once per year, then every pot set takes the first it may fund."""
        if year not in self.in_line:
            ranked = [
                (self._level(slot, year), slot.area, slot.service, slot)
                for slot in self.data.slots
                if slot.benchmarked
                and slot.pots
                and self._short(slot, year) is not None
                and not self._capped(slot, year)
            ]
            ranked.sort(key=lambda r: (r[0], r[1], r[2]))
            self.in_line[year] = [r[3] for r in ranked]
        return self.in_line[year]

    def _capped(self, slot: Slot, year: str) -> bool:
        n = self.granules[(slot.index, year)]
        cap = slot.cap_in(year)
        if cap is not None and n >= cap:
            return True
        total = self.area_totals[(slot.area, year)] + slot.granule_cost
        return any(
            limit.area == slot.area
            and limit.service is None
            and limit.max_pence is not None
            and total > limit.max_pence
            for limit in self.data.scenario.policy.area_limits
        )

    def _name(self, slot: Slot) -> str:
        return f"{self.services[slot.service].name} in {slot.area_name}"

    def _unit(self, service: str) -> str:
        return self.services[service].unit

    def _reason(
        self, slot: Slot, year: str, code: ReasonCode, short: _Short | None, sentence: str
    ) -> CellReason:
        n = self.granules[(slot.index, year)]
        return CellReason(
            year=year,
            area_code=slot.area,
            area_name=slot.area_name,
            service=slot.service,
            code=code,
            coverage_ratio=float(self._coverage(slot, year, n)) if slot.benchmarked else None,
            shortfall_units=0.0 if short is None else float(short.units),
            shortfall_pence=0 if short is None else short.pence,
            sentence=sentence,
        )
