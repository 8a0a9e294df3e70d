"""Solve a scenario and write its outputs: the one service the CLI, API and exports share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from commissioning.models import Scenario
from commissioning.money import pounds
from commissioning.results import RunResult
from commissioning.wording import percent

if TYPE_CHECKING:
    from commissioning.optimise.data import AllocationData


def solve_scenario(
    scenario: Scenario, on_data: Callable[[AllocationData], None] | None = None
) -> RunResult:
    """Solve, giving up at the time limit plus a few seconds' grace with the best allocation
    found by then (see commissioning.bounded_solve). `on_data`: see `optimise.solve`."""
    from commissioning.bounded_solve import solve_within_time_limit

    return solve_within_time_limit(scenario, on_data=on_data)


def write_run(run: RunResult, out_dir: Path, excel_csv: bool = False) -> Path:
    """Write every table, the summary and the London workbook, all or nothing; with
    `excel_csv`, also the tables for Excel users in `excel/` (commissioning.outputs)."""
    from commissioning.excel import write_london_workbook

    writers: dict[str, Callable[[Path], object]] = {
        "workbook.xlsx": lambda path: write_london_workbook(run, path)
    }
    if excel_csv:
        from commissioning.outputs import EXCEL_CSV_FOLDER, write_excel_csv_folder
        from commissioning.results import conform

        tables = {name: conform(name, frame) for name, frame in run.tables.items()}
        writers[EXCEL_CSV_FOLDER] = lambda path: write_excel_csv_folder(path, tables)
    return run.write(out_dir, extra_writers=writers)


def with_scorecard(run: RunResult) -> RunResult:
    """The run with its scorecard in the summary, so summary.json carries the same figures."""
    from commissioning.analysis import scorecard

    return replace(run, summary={**run.summary, "scorecard": scorecard(run).to_json()})


def with_marginal_value(run: RunResult, data: AllocationData | None = None) -> RunResult:
    """The run with its `marginal` table: what more or less money in each pot would change,
    found by re-solving (commissioning.analysis.marginal), within the run's own time limit.
    `data`: the run's prepared allocation data, if already at hand."""
    from commissioning.analysis.marginal import marginal_for_run
    from commissioning.results import conform

    limit = run.scenario.policy.solver.time_limit_seconds
    table = marginal_for_run(run, budget_seconds=limit, data=data)
    return replace(run, tables={**run.tables, "marginal": conform("marginal", table)})


def solve_to_directory(
    scenario: Scenario, out_dir: Path, excel_csv: bool = False
) -> tuple[RunResult, Path]:
    prepared: list[AllocationData] = []  # the solve's own data: the marginal analysis reuses it
    run = with_scorecard(solve_scenario(scenario, on_data=prepared.append))
    run = with_marginal_value(run, prepared[0] if prepared else None)
    return run, write_run(run, out_dir, excel_csv=excel_csv)


def report(run: RunResult) -> str:
    """A short table for people: per service and year, target, funded and what is left short."""
    coverage = run.table("coverage").filter(pl.col("target_units") > 0)
    by_service = (
        coverage.group_by("year", "service")
        .agg(
            pl.col("target_units").sum().alias("target"),
            pl.col("existing_units").sum().alias("existing"),
            pl.col("bid_units").sum().alias("bids"),
            pl.col("funded_units").sum().alias("funded"),
            pl.col("shortfall_units").sum().alias("shortfall"),
            (pl.col("shortfall_units") > 1e-9).sum().alias("below"),
            pl.len().alias("areas"),
        )
        .sort("year", "service")
    )
    s = run.summary
    lines = [
        s["scenario"],
        f"status {s['status']} (gap {s['gap']:.2%}), fairness rule {s['fairness_rule']}, "
        f"rule objective: lowest level {percent(s['fairness_level'])}",
        "",
        f"{'year':<9}{'service':<24}{'target':>8}{'existing':>10}{'bids':>7}{'funded':>8}"
        f"{'shortfall':>11}{'areas below':>13}",
    ]
    for r in by_service.iter_rows(named=True):
        lines.append(
            f"{r['year']:<9}{r['service']:<24}{r['target']:>8.1f}{r['existing']:>10.1f}"
            f"{r['bids']:>7.1f}"
            f"{r['funded']:>8.1f}{r['shortfall']:>11.1f}{r['below']:>7} of {r['areas']:<3}"
        )
    lines += [
        "",
        f"{'year':<9}{'pot':<24}{'budget':>14}{'committed':>14}{'allocated':>14}{'unspent':>14}",
    ]
    for r in run.table("pots").iter_rows(named=True):
        lines.append(
            f"{r['year']:<9}{r['pot']:<24}{pounds(r['budget_pence']):>14}"
            f"{pounds(r['committed_pence']):>14}{pounds(r['allocated_pence']):>14}"
            f"{pounds(r['unspent_pence']):>14}"
        )
    lines += bid_money_lines(run)
    return "\n".join([*lines, "", *below_benchmark_lines(run), "", *scorecard_lines(run)])


def below_benchmark_lines(run: RunResult) -> list[str]:
    """Per year, each borough with a cell below benchmark, naming the services and their
    coverage, so the board sees who is short, not just how many."""
    services = {s.id: s.name for s in run.scenario.services}
    below = (
        run.table("coverage")
        .filter(pl.col("target_units") > 0, pl.col("shortfall_units") > 1e-9)
        .sort("year", "area_name", "service")
    )
    if below.is_empty():
        return ["boroughs below benchmark: none"]
    # Years with the same boroughs at the same coverage are printed once, under all their years.
    by_year: dict[str, dict[str, list[str]]] = {}
    for (year,), rows in below.group_by("year", maintain_order=True):
        by_area: dict[str, list[str]] = {}
        for r in rows.iter_rows(named=True):
            cell = f"{services.get(r['service'], r['service'])} {percent(r['coverage_ratio'])}"
            by_area.setdefault(r["area_name"], []).append(cell)
        by_year[str(year)] = by_area
    lines = ["boroughs below benchmark (coverage of benchmark)"]
    shown: list[tuple[list[str], dict[str, list[str]]]] = []
    for year, by_area in by_year.items():
        same = next((years for years, areas in shown if areas == by_area), None)
        if same is not None:
            same.append(year)
        else:
            shown.append(([year], by_area))
    for years, by_area in shown:
        lines.append(f"  {', '.join(years)}: {len(by_area)} boroughs")
        lines += [f"    {area}: {'; '.join(cells)}" for area, cells in by_area.items()]
    return lines


def bid_money_lines(run: RunResult) -> list[str]:
    """Co-commissioning money the bid rounds left, and why it stayed unspent (summary "bids")."""
    years = [y for r in run.summary.get("bids", {}).get("rounds", []) for y in r["years"]]
    shown = [y for y in years if y["left_pence"] > 0]
    if not shown:
        return []
    lines = ["", "co-commissioning money not spent on bids"]
    for y in shown:
        lines += [f"  {y['reason']}", f"    then {y['unspent_reason']}"]
    return lines


def scorecard_lines(run: RunResult) -> list[str]:
    """The scorecard block: the same measures for every fairness rule (analysis.scorecard)."""
    from commissioning.analysis import scorecard

    card = scorecard(run)
    lowest = card.lowest_coverage.percent if card.lowest_coverage else "-"
    fundable = card.lowest_coverage_fundable.percent if card.lowest_coverage_fundable else "-"
    spread = "-" if card.highest_over_lowest is None else f"{card.highest_over_lowest:.3f}"
    boroughs = ", ".join(card.boroughs_below) or "none"
    usable = card.affordability
    lines = [
        "scorecard (same definitions for every fairness rule)",
        f"  lowest coverage          {lowest} over {card.benchmarked_cells} benchmarked cells"
        f" ({card.unfundable_cells} no pot may fund; {fundable} over the others)",
        f"  below benchmark          {card.cells_below} cells in "
        f"{card.boroughs_below_count} boroughs: {boroughs}",
        f"  spread of coverage       Gini {card.gini:.3f}, highest ÷ lowest {spread}",
    ]
    lines.append(
        f"  {'service':<28}{'units funded':>14}{'from bids':>11}{'units short':>13}"
        f"{'granules short':>16}"
        f"{'£ short of benchmark':>22}"
    )
    for service in card.services:
        granules = f"{service.granules_short} × {service.granularity}"
        lines.append(
            f"  {service.service:<28}{service.units_funded:>14,.1f}"
            f"{service.units_from_bids:>11,.1f}{service.units_short:>13,.2f}"
            f"{granules:>16}{pounds(service.short_pence):>22}"
        )
    lines += [
        f"  money unspent            {pounds(card.unspent_pence)}",
        f"  unspent usable           {pounds(usable.unspent_usable_pence)} that a "
        f"below-benchmark cell could have used ({usable.source})",
    ]
    lines += [
        f"  held                     {pounds(h.pence)} of {h.pot} in {h.year} by {h.rule}"
        for h in usable.held
    ]
    level = card.rule_objective.level
    lines.append(
        f"  {card.rule_objective.label}: {card.rule_objective.rule} lowest level "
        f"{percent(level)} (the rule's own measure, not coverage)"
    )
    return lines
