"""Solve a scenario and write its outputs: the one service the CLI, API and exports share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from commissioning.models import Scenario
from commissioning.money import pounds
from commissioning.results import RunResult


def solve_scenario(scenario: Scenario) -> RunResult:
    from commissioning.optimise import solve  # the solver stack loads only when needed

    return solve(scenario)


def write_run(run: RunResult, out_dir: Path) -> Path:
    """Write every table, the summary and the London workbook, all or nothing."""
    from commissioning.excel import write_london_workbook

    writers: dict[str, Callable[[Path], object]] = {
        "workbook.xlsx": lambda path: write_london_workbook(run, path)
    }
    return run.write(out_dir, extra_writers=writers)


def solve_to_directory(scenario: Scenario, out_dir: Path) -> tuple[RunResult, Path]:
    run = solve_scenario(scenario)
    return run, write_run(run, out_dir)


def report(run: RunResult) -> str:
    """A short table for people: per service and year, target, funded and what is left short."""
    coverage = run.table("coverage").filter(pl.col("target_units") > 0)
    by_service = (
        coverage.group_by("year", "service")
        .agg(
            pl.col("target_units").sum().alias("target"),
            pl.col("existing_units").sum().alias("existing"),
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
        f"lowest level {s['fairness_level'] if s['fairness_level'] is not None else '-'}",
        "",
        f"{'year':<9}{'service':<24}{'target':>8}{'existing':>10}{'funded':>8}"
        f"{'shortfall':>11}{'areas below':>13}",
    ]
    for r in by_service.iter_rows(named=True):
        lines.append(
            f"{r['year']:<9}{r['service']:<24}{r['target']:>8.1f}{r['existing']:>10.1f}"
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
    return "\n".join(lines)
