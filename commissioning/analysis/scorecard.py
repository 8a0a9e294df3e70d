"""One scorecard for every run: the same measures, the same definitions, whatever the rule.

Computed only from the run's tables (coverage, pots, allocations), its scenario (services'
granularity and cost, pots' eligibility) and its summary (the rule, its level, and the
optimiser's affordability check). A *cell* is area × service × year; it is *benchmarked* when
its target_units > 0.

- coverage of a cell = min(1, total_units ÷ target_units)
- lowest coverage = min coverage over all benchmarked cells, including cells no pot may fund
  (those are also counted and listed); lowest fundable coverage = the same over the others
- a cell is below benchmark when total_units < target_units; boroughs below = areas with ≥ 1
  such cell (per year and over all years)
- units short = Σ max(0, target_units − total_units)
- granules short = Σ per cell ⌈max(0, target − total) ÷ granularity⌉
- £ short = granules short × granule cost (so units short at granularity × unit cost = £ short)
- Gini = Σᵢ Σⱼ |xᵢ − xⱼ| ÷ (2 n² mean) over benchmarked cells' coverage x; 0 if mean is 0
- highest ÷ lowest = max coverage ÷ min coverage; None when the lowest is 0
- units funded = Σ funded_units; units from bids = Σ bid_units (selected co-commissioning
  bids' units, which count toward coverage but are not bought by the top-ups)
- money allocated = Σ allocations.cost_pence (per service × year)
- money unspent = Σ pots.unspent_pence (per pot × year)
- unspent usable = money unspent in a pot-year that could buy one more granule of a
  below-benchmark cell that pot may fund and no named rule holds (the optimiser's
  `summary["affordability"]` when present; otherwise estimated here, see `_affordability`)
- rule objective = summary["fairness_rule"] and summary["fairness_level"], shown as the rule's
  own measure, never as coverage

Unit quantities are read at the precision the run's CSV files hold (6 decimal places) and
compared as exact fractions, so a run read back from disk scores exactly as it did in memory.
The Gini coefficient is summed in floating point (math.fsum) from the exact coverages: exact
fractions over thousands of cells with unrelated denominators took seconds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from commissioning.models import Scenario
from commissioning.results import RunResult

DECIMALS = 6  # the precision of unit columns in the run's CSV files
NO_POT_PREFIX = "no pot may fund"
HELD_PREFIX = "held by "
RULE_OBJECTIVE_LABEL = "rule objective"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Coverage(_Model):
    """A coverage of benchmark: the ratio, and a percentage that never rounds up to 100%."""

    ratio: float = Field(description="Coverage ÷ benchmark, capped at 1, to 6 decimal places.")
    percent: str = Field(description="The ratio as a percentage, rounded down to 0.1%.")

    @classmethod
    def of(cls, value: Fraction) -> Coverage:
        tenths = math.floor(value * 1000)
        return cls(ratio=_dp(value), percent=f"{tenths // 10}.{tenths % 10}%")


class CellRef(_Model):
    year: str
    area_code: str
    area_name: str
    service: str
    below_benchmark: bool


class YearScore(_Model):
    year: str
    benchmarked_cells: int
    cells_below: int
    boroughs_below_count: int
    boroughs_below: list[str] = Field(description="Names of areas with a cell below benchmark.")
    lowest_coverage: Coverage | None


class ServiceYearScore(_Model):
    year: str
    benchmarked_cells: int
    cells_below: int
    units_funded: float
    units_from_bids: float = Field(description="Σ bid_units: units of selected bids.")
    allocated_pence: int
    units_short: float = Field(description="Σ max(0, target − total), to 6 decimal places.")
    granules_short: int = Field(description="Σ per cell ⌈units short ÷ granularity⌉.")
    units_short_at_granularity: float = Field(description="granules_short × granularity.")
    short_pence: int = Field(description="granules_short × granule cost: £ short of benchmark.")


class ServiceScore(ServiceYearScore):
    """A service over all years (year 'all'), with each year beside it."""

    service: str
    service_name: str
    granularity: str = Field(description="Smallest purchasable amount, as a decimal string.")
    unit_cost_pence: int
    granule_cost_pence: int
    by_year: list[ServiceYearScore]


class PotYearMoney(_Model):
    pot: str
    pot_name: str
    year: str
    budget_pence: int
    committed_pence: int
    allocated_pence: int
    unspent_pence: int


class HeldMoney(_Model):
    pot: str
    year: str
    pence: int
    rule: str = Field(description="The named rule that kept below-benchmark cells from it.")


class Affordability(_Model):
    unspent_usable_pence: int = Field(
        description="Unspent money a below-benchmark cell could have used, no rule holding it."
    )
    held: list[HeldMoney]
    source: Literal["optimiser", "scorecard estimate"]


class RuleObjective(_Model):
    label: str = RULE_OBJECTIVE_LABEL
    rule: str | None
    level: float | None = Field(description="The rule's own lowest level, in its own measure.")


class Scorecard(_Model):
    """The run's scorecard; every definition is in commissioning.analysis.scorecard."""

    rule_objective: RuleObjective
    benchmarked_cells: int
    lowest_coverage: Coverage | None = Field(description="Over all benchmarked cells.")
    lowest_coverage_fundable: Coverage | None = Field(
        description="Over benchmarked cells some pot may fund."
    )
    highest_coverage: Coverage | None
    highest_over_lowest: float | None = Field(description="None when the lowest coverage is 0.")
    gini: float = Field(description="Gini coefficient of capped coverage, 0 = all equal.")
    unfundable_cells: int = Field(description="Benchmarked cells no pot may fund.")
    unfundable: list[CellRef]
    cells_below: int
    boroughs_below_count: int
    boroughs_below: list[str]
    years: list[YearScore]
    services: list[ServiceScore]
    pots: list[PotYearMoney]
    budget_pence: int
    committed_pence: int
    allocated_pence: int
    unspent_pence: int
    affordability: Affordability

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only (ints, floats to 6 dp, strings), for summary.json and the API."""
        return self.model_dump(mode="json")

    @property
    def short_pence(self) -> int:
        return sum(s.short_pence for s in self.services)


# -- the computation ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cell:
    year: str
    area: str
    area_name: str
    service: str
    target: Fraction
    total: Fraction
    fundable: bool
    explanation: str

    @property
    def short(self) -> Fraction:
        return max(Fraction(0), self.target - self.total)

    @property
    def below(self) -> bool:
        return self.total < self.target

    @property
    def coverage(self) -> Fraction:
        return min(Fraction(1), self.total / self.target)


def scorecard(run: RunResult) -> Scorecard:
    """The scorecard of a solved run (pure: reads the run, changes nothing)."""
    scenario = run.scenario
    coverage_rows = list(run.table("coverage").iter_rows(named=True))
    cells = [_cell(scenario, r) for r in coverage_rows if _exact(r["target_units"]) > 0]
    years = list(dict.fromkeys([*scenario.financial_years, *(c.year for c in cells)]))
    levels = [c.coverage for c in cells]
    lowest = min(levels, default=None)
    highest = max(levels, default=None)
    fundable = [c.coverage for c in cells if c.fundable]
    pots = [PotYearMoney(**r) for r in run.table("pots").iter_rows(named=True)]
    summary = run.summary
    level = summary.get("fairness_level")
    return Scorecard(
        rule_objective=RuleObjective(
            rule=summary.get("fairness_rule"),
            level=None if level is None else _dp(Fraction(level)),
        ),
        benchmarked_cells=len(cells),
        lowest_coverage=None if lowest is None else Coverage.of(lowest),
        lowest_coverage_fundable=Coverage.of(min(fundable)) if fundable else None,
        highest_coverage=None if highest is None else Coverage.of(highest),
        highest_over_lowest=_dp(highest / lowest) if highest is not None and lowest else None,
        gini=round(gini(levels), DECIMALS),
        unfundable_cells=sum(not c.fundable for c in cells),
        unfundable=[
            CellRef(
                year=c.year,
                area_code=c.area,
                area_name=c.area_name,
                service=c.service,
                below_benchmark=c.below,
            )
            for c in cells
            if not c.fundable
        ],
        cells_below=sum(c.below for c in cells),
        boroughs_below_count=len(_boroughs_below(cells)),
        boroughs_below=_boroughs_below(cells),
        years=[_year_score(year, [c for c in cells if c.year == year]) for year in years],
        services=_service_scores(run, coverage_rows, cells, years),
        pots=pots,
        budget_pence=sum(p.budget_pence for p in pots),
        committed_pence=sum(p.committed_pence for p in pots),
        allocated_pence=sum(p.allocated_pence for p in pots),
        unspent_pence=sum(p.unspent_pence for p in pots),
        affordability=_affordability(run, cells, pots),
    )


def gini(values: list[Fraction]) -> float:
    """Σᵢ Σⱼ |xᵢ − xⱼ| ÷ (2 n² mean), via the sorted form 2 Σᵢ (2i − n + 1) x₍ᵢ₎ ÷ (2 n Σ x)."""
    xs = sorted(float(v) for v in values)
    n = len(xs)
    total = math.fsum(xs)
    if n == 0 or total <= 0:
        return 0.0
    spread = math.fsum((2 * i - n + 1) * x for i, x in enumerate(xs))
    return max(0.0, spread / (n * total))


def _exact(value: float | None) -> Fraction:
    """A unit column's value exactly as the run's CSV holds it (6 decimal places)."""
    return Fraction(f"{(value or 0.0):.{DECIMALS}f}")


def _dp(value: Fraction) -> float:
    return round(float(value), DECIMALS)


def _cell(scenario: Scenario, row: dict[str, Any]) -> _Cell:
    explanation = row["explanation"] or ""
    fundable = not explanation.startswith(NO_POT_PREFIX) and any(
        pot.may_fund(row["service"], row["area_code"]) for pot in scenario.pots
    )
    return _Cell(
        year=row["year"],
        area=row["area_code"],
        area_name=row["area_name"],
        service=row["service"],
        target=_exact(row["target_units"]),
        total=_exact(row["total_units"]),
        fundable=fundable,
        explanation=explanation,
    )


def _boroughs_below(cells: list[_Cell]) -> list[str]:
    return sorted({c.area_name for c in cells if c.below})


def _year_score(year: str, cells: list[_Cell]) -> YearScore:
    below = _boroughs_below(cells)
    return YearScore(
        year=year,
        benchmarked_cells=len(cells),
        cells_below=sum(c.below for c in cells),
        boroughs_below_count=len(below),
        boroughs_below=below,
        lowest_coverage=Coverage.of(min(c.coverage for c in cells)) if cells else None,
    )


def _service_scores(
    run: RunResult, coverage_rows: list[dict[str, Any]], cells: list[_Cell], years: list[str]
) -> list[ServiceScore]:
    funded: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
    from_bids: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
    for r in coverage_rows:
        funded[(r["service"], r["year"])] += _exact(r["funded_units"])
        from_bids[(r["service"], r["year"])] += _exact(r["bid_units"])
    allocated: dict[tuple[str, str], int] = defaultdict(int)
    for r in run.table("allocations").iter_rows(named=True):
        allocated[(r["service"], r["year"])] += r["cost_pence"]
    by_service: dict[str, list[_Cell]] = defaultdict(list)
    for c in cells:
        by_service[c.service].append(c)
    present = {s for s, _ in funded} | {s for s, _ in allocated} | set(by_service)
    scores = []
    for service in run.scenario.services:
        if service.id not in present:
            continue
        granularity = Fraction(service.granularity)
        per_year = [
            _service_year(
                year,
                [c for c in by_service[service.id] if c.year == year],
                funded[(service.id, year)],
                from_bids[(service.id, year)],
                allocated[(service.id, year)],
                granularity,
                service.granule_cost_pence,
            )
            for year in years
        ]
        whole = _service_year(
            "all",
            by_service[service.id],
            sum((funded[(service.id, y)] for y in years), Fraction(0)),
            sum((from_bids[(service.id, y)] for y in years), Fraction(0)),
            sum(allocated[(service.id, y)] for y in years),
            granularity,
            service.granule_cost_pence,
        )
        scores.append(
            ServiceScore(
                **whole.model_dump(),
                service=service.id,
                service_name=service.name,
                granularity=str(service.granularity),
                unit_cost_pence=service.unit_cost_pence,
                granule_cost_pence=service.granule_cost_pence,
                by_year=per_year,
            )
        )
    unknown = sorted(present - {s.id for s in run.scenario.services})
    if unknown:
        raise ValueError(f"run tables name services the scenario lacks: {', '.join(unknown)}")
    return scores


def _service_year(
    year: str,
    cells: list[_Cell],
    funded: Fraction,
    from_bids: Fraction,
    allocated: int,
    granularity: Fraction,
    granule_cost: int,
) -> ServiceYearScore:
    granules = sum(math.ceil(c.short / granularity) for c in cells)
    return ServiceYearScore(
        year=year,
        benchmarked_cells=len(cells),
        cells_below=sum(c.below for c in cells),
        units_funded=_dp(funded),
        units_from_bids=_dp(from_bids),
        allocated_pence=allocated,
        units_short=_dp(sum((c.short for c in cells), Fraction(0))),
        granules_short=granules,
        units_short_at_granularity=_dp(granules * granularity),
        short_pence=granules * granule_cost,
    )


def _affordability(run: RunResult, cells: list[_Cell], pots: list[PotYearMoney]) -> Affordability:
    """The optimiser's own check when it recorded one; otherwise a conservative estimate.

    The estimate counts a pot-year's whole unspent money as usable when it is at least the
    granule cost of some below-benchmark cell the pot may fund whose explanation names no
    rule holding it ("held by …"); when every such affordable cell is held, the money is
    listed as held, naming the rules. Money smaller than any such cell's granule is neither.
    """
    recorded = run.summary.get("affordability")
    if recorded is not None:
        return Affordability(
            unspent_usable_pence=recorded["unspent_usable_pence"],
            held=[HeldMoney(**h) for h in recorded.get("held", [])],
            source="optimiser",
        )
    eligibility = {pot.id: pot for pot in run.scenario.pots}
    costs = {s.id: s.granule_cost_pence for s in run.scenario.services}
    usable = 0
    held: list[HeldMoney] = []
    for money in pots:
        pot = eligibility.get(money.pot)
        if pot is None or money.unspent_pence <= 0:
            continue
        affordable = [
            c
            for c in cells
            if c.year == money.year
            and c.below
            and costs[c.service] <= money.unspent_pence
            and pot.may_fund(c.service, c.area)
        ]
        if any(not c.explanation.startswith(HELD_PREFIX) for c in affordable):
            usable += money.unspent_pence
        elif affordable:
            rules = sorted({c.explanation.removeprefix(HELD_PREFIX) for c in affordable})
            held.append(
                HeldMoney(
                    pot=money.pot, year=money.year, pence=money.unspent_pence, rule="; ".join(rules)
                )
            )
    return Affordability(unspent_usable_pence=usable, held=held, source="scorecard estimate")
