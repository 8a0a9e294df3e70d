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

This module picks each cell's code and writes its sentence. The figures come from
`reason_figures` (coverage, shortfalls and levels, exactly, without building a `Fraction` per
cell), where the pots' money went from `reason_money`, and the words for cells a rule holds
(caps, rules tying cells together, no pot) from `reason_rules`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from commissioning.models import RingFence
from commissioning.money import pounds
from commissioning.optimise.affordability import holding_rule
from commissioning.optimise.data import AllocationData, Slot
from commissioning.optimise.fairness import ScoredCell
from commissioning.optimise.reason_figures import CellFigures, Granule, Printed
from commissioning.optimise.reason_money import PotSpending
from commissioning.optimise.reason_rules import HeldWords, at_cap, unfundable
from commissioning.optimise.split import Payment
from commissioning.wording import amount


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


# A reason's figures: code, coverage, units short, pence short, sentence.
Figures = tuple[ReasonCode, float | None, float, int, str]


class CellReasons(Mapping[CellKey, CellReason]):
    """Every cell's reason, in the coverage table's order, kept as columns: the tables read the
    columns, and a `CellReason` is made only for a cell asked for by key (one object per cell
    cost more than working out most reasons)."""

    def __init__(self) -> None:
        self.cell_keys: list[CellKey] = []
        self.area_names: list[str] = []
        self.codes: list[ReasonCode] = []
        self.coverage: list[float | None] = []
        self.units: list[float] = []
        self.pence: list[int] = []
        self.sentences: list[str] = []
        self._index: dict[CellKey, int] | None = None
        # The reasons as a table (tables.explanations_table's rows before sorting), made the
        # first time a table asks: the coverage and explanations tables both read it.
        self.frame: pl.DataFrame | None = None

    def add(self, key: CellKey, area_name: str, figures: Figures) -> None:
        self.cell_keys.append(key)
        self.area_names.append(area_name)
        code, coverage, units, pence, sentence = figures
        self.codes.append(code)
        self.coverage.append(coverage)
        self.units.append(units)
        self.pence.append(pence)
        self.sentences.append(sentence)

    def position(self, key: CellKey) -> int:
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self.cell_keys)}
        return self._index[key]

    def sentence(self, key: CellKey) -> str:
        return self.sentences[self.position(key)]

    def __getitem__(self, key: CellKey) -> CellReason:
        i = self.position(key)
        year, area, service = key
        return CellReason(
            year,
            area,
            self.area_names[i],
            service,
            self.codes[i],
            self.coverage[i],
            self.units[i],
            self.pence[i],
            self.sentences[i],
        )

    def __iter__(self) -> Iterator[CellKey]:
        return iter(self.cell_keys)

    def __len__(self) -> int:
        return len(self.cell_keys)


def explain_cells(
    data: AllocationData,
    granules: dict[tuple[int, str], int],
    payments: Iterable[Payment],
    unspent: dict[tuple[str, str], int],
    scored: Iterable[ScoredCell] | None = None,
) -> CellReasons:
    """A reason for every cell the coverage table reports. `scored`: the fairness rule's cells,
    if the caller has them (else a cell is scored when its level is needed)."""
    return _Explainer(data, granules, list(payments), unspent, scored).all()


class _Explainer:
    """Works out every cell's reason; whatever many cells share is worked out once."""

    def __init__(
        self,
        data: AllocationData,
        granules: dict[tuple[int, str], int],
        payments: list[Payment],
        unspent: dict[tuple[str, str], int],
        scored: Iterable[ScoredCell] | None = None,
    ):
        self.data = data
        self.rule = data.scenario.policy.fairness_rule
        self.services = {s.id: s for s in data.scenario.services}
        self.figures = CellFigures(data, granules, scored)
        self.pots = PotSpending(data, self.figures, payments, unspent)
        self.held = HeldWords(data, self.pots.area_total)
        self.granules_of = {s.id: Granule(s) for s in data.scenario.services}
        self.printed = Printed()
        self.names = [f"{self.services[s.service].name} in {s.area_name}" for s in data.slots]
        self.money_texts: dict[tuple[tuple[str, ...], str, str], str] = {}
        self.fence_texts: dict[tuple[str, str, int], str] = {}
        self.went: dict[tuple[tuple[str, ...], str], str] = {}
        self.fences_to_ask: dict[
            tuple[tuple[str, ...], tuple[str, ...], str, int], list[tuple[RingFence, int]]
        ] = {}

    def all(self) -> CellReasons:
        reasons = CellReasons()
        years, n, width = self.data.years, self.figures.n, self.figures.width
        benchmarked = self.figures.benchmarked
        for slot in self.data.slots:
            first = slot.index * width
            if not benchmarked[slot.index] and not any(n[first : first + width]):
                continue
            for j, year in enumerate(years):
                key = (year, slot.area, slot.service)
                reasons.add(key, slot.area_name, self._explain(slot, year, first + j))
        names = {a.code: a.name for a in self.data.scenario.areas}
        for area, service, target, base, extra in self.data.unfundable:
            for year in years:
                code, coverage, units, pence, sentence = unfundable(
                    self.services[service],
                    self.granules_of[service],
                    self.printed,
                    names[area],
                    target,
                    base + dict(extra).get(year, 0.0),
                )
                figures = (ReasonCode(code), coverage, units, pence, sentence)
                reasons.add((year, area, service), names[area], figures)
        return reasons

    def _explain(self, slot: Slot, year: str, c: int) -> Figures:
        """The reason of the cell numbered c (see CellFigures.cell)."""
        figures = self.figures
        n = figures.n[c]
        name = self.names[slot.index]
        if not figures.benchmarked[slot.index]:
            funded = amount(slot.granule_units * n, self.services[slot.service].unit)
            return (
                ReasonCode.NOT_BENCHMARKED,
                None,
                0.0,
                0,
                f"{name}: no benchmark; {funded} funded to meet a ring-fence or floor.",
            )
        coverage = figures.coverage_ratio[c]
        printed = self.printed.percent(figures.tenths[c])
        if not figures.below[c]:
            sentence = f"{name}: at or above benchmark ({printed})."
            return ReasonCode.AT_OR_ABOVE_BENCHMARK, coverage, 0.0, 0, sentence
        # How far short, exactly: units, and whole granules (at least one) at their price.
        granule = self.granules_of[slot.service]
        tn, td = figures.targets[slot.index]
        num, den = figures.total(c)
        short, per = max(0, tn * den - num * td), td * den
        count = max(1, -((-short * granule.den) // (per * granule.num)))
        units, pence = short / per, count * granule.cost
        first = (
            f"{name}: {printed} of benchmark, {amount(units, granule.unit)} short ({count} × "
            f"{granule.words}, {self.printed.pounds(pence)})."
        )
        if figures.at_cap[c]:
            code, why = at_cap(self.data, slot, year, n, granule.unit)
            return ReasonCode(code), coverage, units, pence, f"{first} {why}"
        left = self.pots.left(slot.pots, year)
        if left < slot.granule_cost:
            fence = self._fence_taking(slot, year, c, left)
            if fence is not None:
                return ReasonCode.RING_FENCE, coverage, units, pence, f"{first} {fence}"
            why = self._money(slot, year, left)
            return ReasonCode.MONEY, coverage, units, pence, f"{first} {why}"
        hold = holding_rule(self.data, slot, self.pots.area_total(slot.area, year))
        if hold is None:
            why = (
                f"{pounds(left)} that may fund it is unspent: this is a provisional allocation "
                "from a solve stopped at its time limit."
            )
            return ReasonCode.STOPPED_EARLY, coverage, units, pence, f"{first} {why}"
        code = ReasonCode(hold.code)
        why = self.held.words(slot, year, code, left, hold.words, granule.unit)
        return code, coverage, units, pence, f"{first} {why}"

    # --- money --------------------------------------------------------------------------------

    def _money(self, slot: Slot, year: str, left: int) -> str:
        key = (slot.pots, year, slot.service)
        text = self.money_texts.get(key)
        if text is None:
            unit = self.services[slot.service].unit
            text = self.money_texts[key] = (
                f"The pots that may fund it ({', '.join(slot.pots)}) have {pounds(left)} left in "
                f"{year}, less than one more {amount(slot.granule_units, unit)} "
                f"({self.printed.pounds(slot.granule_cost)})."
            )
        nxt = self.pots.next_cell(slot.pots, year)
        if nxt is None or nxt.index == slot.index:
            cost = self.printed.pounds(slot.granule_cost)
            return (
                text
                + self._paid_text(slot.pots, year)
                + f" It is next in line: the next {cost} goes to it."
            )
        return text + self._where_it_went(slot.pots, year, nxt)

    def _paid_text(self, pots: tuple[str, ...], year: str) -> str:
        paid = self.pots.paid_spread(pots, year)
        if paid is None:
            return ""
        count, lowest, highest = paid
        return (
            f" They paid for {count} cells in {year}, now at "
            f"{self.printed.percent(lowest)} to {self.printed.percent(highest)} of benchmark."
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
            coverage = self.printed.percent(self.figures.tenths[self.figures.cell(nxt, year)])
            self.went[key] = self._paid_text(pots, year) + (
                f" They went to {order} first (lowest now {coverage}); the next "
                f"{self.printed.pounds(nxt.granule_cost)} goes to {self.names[nxt.index]}."
            )
        return self.went[key]

    def _fence_taking(self, slot: Slot, year: str, c: int, left: int) -> str | None:
        """The ring-fence that made a pot this cell shares spend on better-covered cells, if
        moving one granule's worth out of the fence would break it."""
        fences = self._fences_to_ask(slot, year)
        if not fences:
            return None
        for fence, spend in fences:
            above = self.pots.fenced_above(fence.id, fence.pot, year, slot)
            if above is None:
                continue
            count, lowest, highest = above
            key = (fence.id, year, left)
            text = self.fence_texts.get(key)
            if text is None:
                pounds_ = self.printed.pounds
                text = self.fence_texts[key] = (
                    f"The pots that may fund it have {pounds_(left)} left in {year}; the "
                    f"ring-fence '{fence.name}' requires {fence.pot} to spend at least "
                    f"{pounds_(fence.min_amount_pence)} on {', '.join(fence.services)} (it "
                    f"spends {pounds_(spend)} there), so that money went to"
                )
            return (
                f"{text} {count} fenced cells now at {self.printed.percent(lowest)} to "
                f"{self.printed.percent(highest)} of benchmark."
            )
        return None

    def _fences_to_ask(self, slot: Slot, year: str) -> list[tuple[RingFence, int]]:
        """Ring-fences on a pot this cell may draw on, outside the fence, that one granule's
        worth moved out would break, with what their pot spends inside them: the same for
        every cell with these pots, fences and granule cost, so listed once."""
        key = (slot.pots, slot.ring_fences, year, slot.granule_cost)
        found = self.fences_to_ask.get(key)
        if found is None:
            found = []
            for fence in self.data.scenario.ring_fences:
                if fence.pot not in slot.pots or fence.id in slot.ring_fences:
                    continue
                need = self.data.ring_fence_need.get((fence.id, year))
                if need is None or need <= 0:
                    continue
                spend = self.pots.fence_spend[(fence.id, year)]
                if spend - slot.granule_cost >= need:
                    continue
                found.append((fence, spend))
            self.fences_to_ask[key] = found
        return found
