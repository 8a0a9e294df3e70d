"""Coverage of benchmark per borough and per service, as the London workbook's charts, map and
Summary show it: one definition, read from the run's coverage table.

- A borough's coverage of a service in a year is the table's `coverage_ratio`, (existing + bid
  + funded units) ÷ benchmark target, not capped, so a borough above benchmark shows how far.
- It is *below benchmark* when total_units < target_units (the scorecard's test), which a
  ratio rounded to six decimals could hide.
- London's coverage of a service in a year is Σ total units ÷ Σ target units over the
  boroughs with a target: London's provision against London's benchmark.
- Only benchmarked cells count (target_units > 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from commissioning.excel.names import benchmarked_services
from commissioning.excel.run_facts import financial_years
from commissioning.results import RunResult


def benchmarked_in_run(run: RunResult) -> list[str]:
    """Benchmarked services with coverage rows, in the scenario's order."""
    present = set(run.table("coverage")["service"].unique().to_list())
    return [s for s in benchmarked_services(run) if s in present]


def cells(run: RunResult) -> pl.DataFrame:
    """Benchmarked cells: year, area, service, units, ratio and whether below benchmark."""
    return (
        run.table("coverage")
        .filter(pl.col("target_units") > 0)
        .unique(["year", "area_code", "service"], keep="last", maintain_order=True)
        .select(
            "year",
            "area_code",
            "area_name",
            "service",
            "target_units",
            "total_units",
            "coverage_ratio",
            (pl.col("total_units") < pl.col("target_units")).alias("below"),
        )
    )


def latest_year(run: RunResult) -> str:
    return financial_years(run)[-1]


@dataclass(frozen=True)
class ServiceYear:
    """London's figures for one benchmarked service in one year."""

    service: str
    year: str
    boroughs: int  # boroughs with a benchmark target
    below: int  # of those, below benchmark
    london_ratio: float | None  # Σ total ÷ Σ target
    lowest_ratio: float | None
    lowest_borough: str


def service_years(run: RunResult, frame: pl.DataFrame | None = None) -> list[ServiceYear]:
    """Per benchmarked service × year, in the scenario's order of services and years."""
    frame = cells(run) if frame is None else frame
    found = []
    # Lowest first, so each group's first row is its lowest borough.
    groups = (
        frame.sort(["coverage_ratio", "area_name"], nulls_last=True, maintain_order=True)
        .group_by(["service", "year"], maintain_order=True)
        .agg(
            pl.len().alias("boroughs"),
            pl.col("below").sum().alias("below"),
            pl.col("total_units").sum().alias("total"),
            pl.col("target_units").sum().alias("target"),
            pl.col("coverage_ratio").first().alias("lowest_ratio"),
            pl.col("area_name").first().alias("lowest_borough"),
        )
    )
    by_key = {(r["service"], r["year"]): r for r in groups.iter_rows(named=True)}
    for service in benchmarked_in_run(run):
        for year in financial_years(run):
            r = by_key.get((service, year))
            if r is None:
                continue
            target: float = r["target"]
            found.append(
                ServiceYear(
                    service=service,
                    year=year,
                    boroughs=r["boroughs"],
                    below=int(r["below"]),
                    london_ratio=r["total"] / target if target else None,
                    lowest_ratio=r["lowest_ratio"],
                    lowest_borough=r["lowest_borough"],
                )
            )
    return found


@dataclass(frozen=True)
class RankedArea:
    """One area's coverage of one service, each year (None: no benchmarked cell)."""

    area_code: str
    area_name: str
    ratio: dict[str, float | None]
    below: dict[str, bool]


# (service, year, area code) → (coverage ratio, below benchmark)
CellCoverage = dict[tuple[str, str, str], tuple[float | None, bool]]


def by_cell(frame: pl.DataFrame) -> CellCoverage:
    """(service, year, area code) → (coverage ratio, below benchmark), from `cells`."""
    return {
        (service, year, area): (ratio, below)
        for year, area, service, ratio, below in frame.select(
            "year", "area_code", "service", "coverage_ratio", "below"
        ).iter_rows()
    }


def ranked(
    run: RunResult,
    service: str,
    found: CellCoverage,
) -> list[RankedArea]:
    """Every area of the run for one service (`found` from `by_cell`), lowest coverage in the
    latest year first, then by name; areas without a benchmark last. The charts read this
    order, so the sheet shows it too."""
    years = financial_years(run)
    areas = []
    seen = set()
    for area in run.scenario.areas:
        if area.code in seen:
            continue
        seen.add(area.code)
        cells_of = {y: found.get((service, y, area.code), (None, False)) for y in years}
        areas.append(
            RankedArea(
                area.code,
                area.name,
                {y: ratio for y, (ratio, _) in cells_of.items()},
                {y: below for y, (_, below) in cells_of.items()},
            )
        )
    latest = years[-1]

    def order(a: RankedArea) -> tuple[bool, float, str]:
        ratio = a.ratio[latest]
        return (ratio is None, 0.0 if ratio is None else ratio, a.area_name)

    return sorted(areas, key=order)
