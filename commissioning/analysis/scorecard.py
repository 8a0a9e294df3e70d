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

Unit quantities are read at the precision the run's CSV files hold (6 decimal places) as whole
millionths, so every sum, comparison and rounding up is exact integer arithmetic and a run read
back from disk scores exactly as it did in memory. The cells are worked on as polars columns
(a Python object per cell took 0.67 s at 320 areas); only the extremes go through Fraction, and
the Gini coefficient is summed in floating point (math.fsum) from the correctly rounded
coverages.
"""

from __future__ import annotations

import io
import math
from fractions import Fraction

import polars as pl

from commissioning.analysis.scorecard_models import (
    DECIMALS,
    RULE_OBJECTIVE_LABEL,
    Affordability,
    CellRef,
    Coverage,
    HeldMoney,
    PotYearMoney,
    RuleObjective,
    Scorecard,
    ServiceScore,
    ServiceYearScore,
    YearScore,
    dp,
)
from commissioning.models import Scenario
from commissioning.results import RunResult

__all__ = [
    "DECIMALS",
    "RULE_OBJECTIVE_LABEL",
    "Affordability",
    "CellRef",
    "Coverage",
    "HeldMoney",
    "PotYearMoney",
    "RuleObjective",
    "Scorecard",
    "ServiceScore",
    "ServiceYearScore",
    "YearScore",
    "gini",
    "scorecard",
]

NO_POT_PREFIX = "no pot may fund"
HELD_PREFIX = "held by "
MILLION = 10**DECIMALS  # unit columns are worked in millionths of a unit
_UNITS = {"target_units": "target", "total_units": "total", "funded_units": "funded"}


def scorecard(run: RunResult) -> Scorecard:
    """The scorecard of a solved run (pure: reads the run, changes nothing)."""
    scenario = run.scenario
    rows = _coverage_rows(run)
    cells = rows.filter(pl.col("target") > 0)
    years = list(
        dict.fromkeys([*scenario.financial_years, *cells["year"].unique(maintain_order=True)])
    )
    lowest, highest = _extreme(cells, "min"), _extreme(cells, "max")
    fundable = _extreme(cells.filter(pl.col("fundable")), "min")
    pots = [PotYearMoney(**r) for r in run.table("pots").iter_rows(named=True)]
    summary = run.summary
    level = summary.get("fairness_level")
    unfundable = cells.filter(~pl.col("fundable"))
    below = _boroughs_below(cells)
    return Scorecard(
        rule_objective=RuleObjective(
            rule=summary.get("fairness_rule"),
            level=None if level is None else dp(Fraction(level)),
        ),
        benchmarked_cells=cells.height,
        lowest_coverage=None if lowest is None else Coverage.of(lowest),
        lowest_coverage_fundable=None if fundable is None else Coverage.of(fundable),
        highest_coverage=None if highest is None else Coverage.of(highest),
        highest_over_lowest=dp(highest / lowest) if highest is not None and lowest else None,
        gini=round(_gini(cells["coverage"]), DECIMALS),
        unfundable_cells=unfundable.height,
        unfundable=[
            CellRef(
                year=r["year"],
                area_code=r["area_code"],
                area_name=r["area_name"],
                service=r["service"],
                below_benchmark=r["below"],
            )
            for r in unfundable.iter_rows(named=True)
        ],
        cells_below=int(cells["below"].sum()),
        boroughs_below_count=len(below),
        boroughs_below=below,
        years=[_year_score(year, cells.filter(pl.col("year") == year)) for year in years],
        services=_service_scores(run, rows, cells, years),
        pots=pots,
        budget_pence=sum(p.budget_pence for p in pots),
        committed_pence=sum(p.committed_pence for p in pots),
        allocated_pence=sum(p.allocated_pence for p in pots),
        unspent_pence=sum(p.unspent_pence for p in pots),
        affordability=_affordability(run, cells, pots),
    )


def gini(values: list[Fraction]) -> float:
    """Σᵢ Σⱼ |xᵢ − xⱼ| ÷ (2 n² mean), via the sorted form 2 Σᵢ (2i − n + 1) x₍ᵢ₎ ÷ (2 n Σ x)."""
    return _gini(pl.Series([float(v) for v in values], dtype=pl.Float64))


def _gini(coverage: pl.Series) -> float:
    xs = coverage.sort().to_list()
    n = len(xs)
    total = math.fsum(xs)
    if n == 0 or total <= 0:
        return 0.0
    spread = math.fsum((2 * i - n + 1) * x for i, x in enumerate(xs))
    return max(0.0, spread / (n * total))


def _millionths(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Unit columns as whole millionths, exactly as the CSV files write them (missing: 0)."""
    text = frame.select(columns).write_csv(float_precision=DECIMALS, line_terminator="\n")
    written = pl.read_csv(io.StringIO(text), schema=dict.fromkeys(columns, pl.String))
    return written.select(
        pl.col(c).str.replace(".", "", literal=True).cast(pl.Int64).fill_null(0) for c in columns
    )


def _fundable(scenario: Scenario) -> pl.Expr:
    """Some pot may fund the cell's service in its area (Pot.may_fund), and no reason says not."""
    service, area = pl.col("service"), pl.col("area_code")
    some_pot = pl.lit(False)
    for pot in scenario.pots:
        may = pl.lit(True)
        if pot.eligible_services is not None:
            may = may & service.is_in(pot.eligible_services)
        if pot.eligible_areas is not None:
            may = may & area.is_in(pot.eligible_areas)
        some_pot = some_pot | may.fill_null(False)
    said_not = pl.col("explanation").fill_null("").str.starts_with(NO_POT_PREFIX)
    return some_pot & ~said_not


def _coverage_rows(run: RunResult) -> pl.DataFrame:
    """Every coverage row with its units in millionths, and what the scorecard asks of a cell."""
    table = run.table("coverage")
    units = _millionths(table, [*_UNITS, "bid_units"]).rename({**_UNITS, "bid_units": "bids"})
    target, total = pl.col("target"), pl.col("total")
    return pl.concat(
        [table.select("year", "area_code", "area_name", "service", "explanation"), units],
        how="horizontal",
    ).with_columns(
        fundable=_fundable(run.scenario),
        below=total < target,
        short=pl.max_horizontal(target - total, pl.lit(0)),
        # min(1, total ÷ target) correctly rounded, as float(Fraction) would give it.
        coverage=pl.when(total >= target)
        .then(pl.lit(1.0))
        .otherwise(total.cast(pl.Float64) / target.cast(pl.Float64)),
    )


def _extreme(cells: pl.DataFrame, which: str) -> Fraction | None:
    """The exact lowest (or highest) coverage: floats find it, fractions break their ties."""
    if cells.is_empty():
        return None
    coverage = cells["coverage"]
    edge = coverage.min() if which == "min" else coverage.max()
    tied = cells.filter(pl.col("coverage") == edge).select("total", "target").rows()
    exact = [min(Fraction(1), Fraction(total, target)) for total, target in tied]
    return min(exact) if which == "min" else max(exact)


def _boroughs_below(cells: pl.DataFrame) -> list[str]:
    return sorted(cells.filter(pl.col("below"))["area_name"].unique().to_list())


def _year_score(year: str, cells: pl.DataFrame) -> YearScore:
    below = _boroughs_below(cells)
    lowest = _extreme(cells, "min")
    return YearScore(
        year=year,
        benchmarked_cells=cells.height,
        cells_below=int(cells["below"].sum()),
        boroughs_below_count=len(below),
        boroughs_below=below,
        lowest_coverage=None if lowest is None else Coverage.of(lowest),
    )


def _service_scores(
    run: RunResult, rows: pl.DataFrame, cells: pl.DataFrame, years: list[str]
) -> list[ServiceScore]:
    keys = ["service", "year"]
    units: dict[tuple[str, str], tuple[int, int]] = {
        (service, year): (funded, bids)
        for service, year, funded, bids in rows.group_by(keys)
        .agg(pl.col("funded").sum(), pl.col("bids").sum())
        .iter_rows()
    }
    allocations = run.table("allocations").group_by(keys).agg(pl.col("cost_pence").sum())
    allocated = {(service, year): pence for service, year, pence in allocations.iter_rows()}
    present = {s for s, _ in units} | {s for s, _ in allocated} | set(cells["service"])
    unknown = sorted(present - {s.id for s in run.scenario.services})
    if unknown:
        raise ValueError(f"run tables name services the scenario lacks: {', '.join(unknown)}")
    scores = []
    for service in run.scenario.services:
        if service.id not in present:
            continue
        granularity = Fraction(service.granularity)
        mine = cells.filter(pl.col("service") == service.id).with_columns(
            # ⌈short ÷ granularity⌉ per cell, in whole numbers: short is in millionths.
            granules=_ceil_div(
                pl.col("short") * granularity.denominator, MILLION * granularity.numerator
            )
        )
        per_year = []
        for year in years:
            funded, bids = units.get((service.id, year), (0, 0))
            per_year.append(
                _service_year(
                    year,
                    mine.filter(pl.col("year") == year),
                    funded,
                    bids,
                    allocated.get((service.id, year), 0),
                    granularity,
                    service.granule_cost_pence,
                )
            )
        whole = _service_year(
            "all",
            mine,
            sum(units.get((service.id, y), (0, 0))[0] for y in years),
            sum(units.get((service.id, y), (0, 0))[1] for y in years),
            sum(allocated.get((service.id, y), 0) for y in years),
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
    return scores


def _ceil_div(numerator: pl.Expr, denominator: int) -> pl.Expr:
    return (numerator + (denominator - 1)) // denominator


def _service_year(
    year: str,
    cells: pl.DataFrame,
    funded: int,
    from_bids: int,
    allocated: int,
    granularity: Fraction,
    granule_cost: int,
) -> ServiceYearScore:
    granules = int(cells["granules"].sum())
    return ServiceYearScore(
        year=year,
        benchmarked_cells=cells.height,
        cells_below=int(cells["below"].sum()),
        units_funded=dp(Fraction(funded, MILLION)),
        units_from_bids=dp(Fraction(from_bids, MILLION)),
        allocated_pence=allocated,
        units_short=dp(Fraction(int(cells["short"].sum()), MILLION)),
        granules_short=granules,
        units_short_at_granularity=dp(granules * granularity),
        short_pence=granules * granule_cost,
    )


def _affordability(run: RunResult, cells: pl.DataFrame, pots: list[PotYearMoney]) -> Affordability:
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
    below = cells.filter(pl.col("below")).with_columns(
        cost=pl.col("service").replace_strict(costs, return_dtype=pl.Int64),
        explanation=pl.col("explanation").fill_null(""),
    )
    usable = 0
    held: list[HeldMoney] = []
    for money in pots:
        pot = eligibility.get(money.pot)
        if pot is None or money.unspent_pence <= 0:
            continue
        affordable = below.filter(
            (pl.col("year") == money.year) & (pl.col("cost") <= money.unspent_pence)
        )
        affordable = affordable.filter(
            pl.Series(
                [pot.may_fund(s, a) for s, a in affordable.select("service", "area_code").rows()],
                dtype=pl.Boolean,
            )
        )
        reasons = affordable["explanation"].to_list()
        if any(not why.startswith(HELD_PREFIX) for why in reasons):
            usable += money.unspent_pence
        elif reasons:
            rules = sorted({why.removeprefix(HELD_PREFIX) for why in reasons})
            held.append(
                HeldMoney(
                    pot=money.pot, year=money.year, pence=money.unspent_pence, rule="; ".join(rules)
                )
            )
    return Affordability(unspent_usable_pence=usable, held=held, source="scorecard estimate")
