"""The figures a board reads first, and the same figures in plain sentences.

Per benchmarked service and year: boroughs below benchmark, London's coverage, the lowest
borough, and the cost to reach benchmark. Per year: boroughs below in any service, the cost for
every service, the new money the pots would need once their unspent money is used, and cells no
rule lets reach benchmark. Costs come from the run's `cost_to_benchmark` table (exact, within
every rule); a run without it falls back to the scorecard's £ short (granules short × their
cost, rules aside), and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from commissioning.analysis.scorecard import Scorecard
from commissioning.excel.london_coverage import ServiceYear, service_years
from commissioning.excel.names import service_names
from commissioning.excel.run_facts import financial_years
from commissioning.money import pounds
from commissioning.results import RunResult

COST_SOURCE = {
    True: "cost_to_benchmark: whole purchasable amounts, within every rule",
    False: "scorecard £ short: whole purchasable amounts × their cost, rules aside",
}


@dataclass(frozen=True)
class ServiceYearCost:
    figures: ServiceYear
    cost_pence: int
    unreachable: int  # cells a rule holds below benchmark (not costed)


@dataclass(frozen=True)
class YearCost:
    year: str
    boroughs: int  # with a benchmarked cell
    boroughs_below: list[str]  # names, below in at least one service
    cost_pence: int
    extra_money_pence: int | None  # None when the run has no cost_to_benchmark table
    unreachable: int


@dataclass(frozen=True)
class BoardFigures:
    services: list[ServiceYearCost]
    years: list[YearCost]
    exact_costs: bool  # costs from cost_to_benchmark (True) or the scorecard (False)


def board_figures(run: RunResult, card: Scorecard, frame: pl.DataFrame) -> BoardFigures:
    """`frame`: london_coverage.cells of the run."""
    table = run.tables.get("cost_to_benchmark")
    by_service: dict[tuple[str, str], tuple[int, int]] = {}
    by_year: dict[str, tuple[int, int | None, int]] = {}
    if table is not None:
        for r in table.filter(pl.col("level") == "service").iter_rows(named=True):
            by_service[(r["service"], r["year"])] = (r["cost_pence"], r["cells_unreachable"])
        for r in table.filter(pl.col("level") == "london").iter_rows(named=True):
            by_year[r["year"]] = (
                r["cost_pence"],
                r["extra_money_pence"] or 0,
                r["cells_unreachable"],
            )
    else:
        for s in card.services:
            for y in s.by_year:
                by_service[(s.service, y.year)] = (y.short_pence, 0)
    boroughs = dict(frame.group_by("year").agg(pl.col("area_code").n_unique()).iter_rows())
    services = [
        ServiceYearCost(f, *by_service.get((f.service, f.year), (0, 0)))
        for f in service_years(run, frame)
    ]
    scores = {y.year: y for y in card.years}
    years = []
    for year in financial_years(run):
        mine = [s for s in services if s.figures.year == year]
        score = scores.get(year)
        cost, extra, unreachable = by_year.get(
            year,
            (sum(s.cost_pence for s in mine), None, sum(s.unreachable for s in mine)),
        )
        years.append(
            YearCost(
                year=year,
                boroughs=boroughs.get(year, 0),
                boroughs_below=list(score.boroughs_below) if score else [],
                cost_pence=cost,
                extra_money_pence=extra,
                unreachable=unreachable,
            )
        )
    return BoardFigures(services, years, table is not None)


def percent(ratio: float | None, below: bool = False) -> str:
    """A ratio for a sentence; below benchmark never reads as 100.0%."""
    if ratio is None:
        return "no figure"
    shown = f"{ratio:.1%}"
    return "99.9%" if below and shown == "100.0%" else shown


def headlines(run: RunResult, card: Scorecard, figures: BoardFigures) -> list[str]:
    """Plain sentences for the top of the Summary: the latest year first, then money."""
    names = service_names(run)
    if not figures.years:
        return []
    latest = figures.years[-1]
    lines = []
    below = latest.boroughs_below
    if below:
        listed = ", ".join(below) if len(below) <= 8 else f"{', '.join(below[:8])} and others"
        lines.append(
            f"In {latest.year}, {len(below)} of {latest.boroughs} boroughs are below benchmark "
            f"in at least one service: {listed}."
        )
    else:
        lines.append(
            f"In {latest.year}, every one of the {latest.boroughs} boroughs is at or above "
            "benchmark in every benchmarked service."
        )
    for s in figures.services:
        f = s.figures
        if f.year != latest.year:
            continue
        lowest_below = f.lowest_ratio is not None and f.below > 0
        lines.append(
            f"{names.get(f.service, f.service)}: London as a whole has "
            f"{percent(f.london_ratio)} of the benchmark; {f.below} of {f.boroughs} boroughs "
            f"below it; lowest {f.lowest_borough} at {percent(f.lowest_ratio, lowest_below)}."
        )
    years = financial_years(run)
    span = years[0] if len(years) == 1 else f"{years[0]} to {years[-1]}"
    lines.append(
        f"Money, {span}: budget {pounds(card.budget_pence)}; {pounds(card.committed_pence)} "
        "committed first (fixed contracts, formula grants, selected bids); "
        f"{pounds(card.allocated_pence)} allocated to services; "
        f"{pounds(card.unspent_pence)} unspent."
    )
    if latest.cost_pence or latest.unreachable:
        text = (
            f"Bringing every borough to benchmark in {latest.year} would cost "
            f"{pounds(latest.cost_pence)}"
        )
        if latest.extra_money_pence is not None:
            text += (
                f"; the pots would need {pounds(latest.extra_money_pence)} more once their "
                "unspent money is used"
            )
        if latest.unreachable:
            text += f"; {latest.unreachable} cells cannot reach it under the scenario's rules"
        lines.append(text + ".")
    else:
        lines.append(f"Nothing more is needed to reach benchmark in {latest.year}.")
    return lines
