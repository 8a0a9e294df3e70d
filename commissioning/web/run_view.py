"""What a run's page shows, gathered through the API's services (so a borough lead's page is
built only from the rows the services give it: its own borough's).

Blocking (reads run folders): handlers call `run_page` in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from commissioning.analysis import Scorecard
from commissioning.api.services import runs
from commissioning.api.services.access import Principal, ServiceError
from commissioning.api.services.progress import RunProgress, run_progress
from commissioning.results import TABLE_SCHEMAS
from commissioning.store import RunRecord, Store
from commissioning.web.names import ScenarioNames
from commissioning.web.svg import AreaFigure

BELOW = 1.0 - 1e-9  # coverage.csv holds 6 decimals; a ratio this close to 1 is at benchmark


class BadChoice(ServiceError):
    """A service or year the run does not have (answered 400, naming the parameter)."""


@dataclass(frozen=True)
class CostLine:
    year: str
    what: str  # London, a pot, a service or a borough
    cells: int | None
    cost_pence: int | None
    extra_money_pence: int | None


@dataclass
class RunPage:
    run: RunRecord
    progress: RunProgress
    borough: str | None  # the borough lead's area; None for London-wide roles
    scorecard: Scorecard | None = None
    services: list[tuple[str, str]] = field(default_factory=list)  # benchmarked: id, name
    years: list[str] = field(default_factory=list)
    service: str = ""
    year: str = ""
    figures: list[AreaFigure] = field(default_factory=list)
    cost: list[CostLine] = field(default_factory=list)
    areas: list[tuple[str, str]] = field(default_factory=list)  # drill-down and workbook list
    tables: list[str] = field(default_factory=list)  # CSV downloads the caller may have
    names: ScenarioNames = field(default_factory=lambda: ScenarioNames({}, {}))

    @property
    def finished(self) -> bool:
        return self.run.status not in ("queued", "running")

    @property
    def below(self) -> list[AreaFigure]:
        return sorted((f for f in self.figures if f.below), key=lambda f: (f.ratio or 0, f.name))


def _choose(value: str | None, allowed: list[tuple[str, str]], what: str, name: str) -> str:
    """One of the run's services or years (the first if none is asked for); the refusal names
    each choice as people know it, with its code beside it where the two differ."""
    if value is None or value == "":
        return allowed[0][0] if allowed else ""
    if value not in {code for code, _ in allowed}:
        shown = ", ".join(
            label if label == code else f"{label} ({code})" for code, label in allowed
        )
        raise BadChoice(f"{value!r} is not one of this run's {what}: {shown}", field=name)
    return value


def figures_of(coverage: pl.DataFrame, service: str, year: str) -> list[AreaFigure]:
    rows = coverage.filter(
        (pl.col("service") == service) & (pl.col("year") == year) & (pl.col("target_units") > 0)
    )
    return [
        AreaFigure(r["area_code"], r["area_name"], r["coverage_ratio"], r["coverage_ratio"] < BELOW)
        for r in rows.iter_rows(named=True)
    ]


def cost_lines(frame: pl.DataFrame, borough: str | None, names: ScenarioNames) -> list[CostLine]:
    """The cost-to-benchmark rows a page shows, named as people know them: London, each pot
    (by how much it must grow), each service; a borough lead's own borough only."""
    levels = ("borough",) if borough else ("london", "pot", "service")
    rows = frame.filter(pl.col("level").is_in(levels))
    lines = []
    for r in rows.iter_rows(named=True):
        what = {
            "london": "London",
            "pot": f"Pot: {names.pot(r['pot'])}",
            "service": f"Service: {names.service(r['service'])}",
            "borough": r["area_name"] or r["area_code"] or "",
        }[r["level"]]
        lines.append(CostLine(r["year"], what, r["cells"], r["cost_pence"], r["extra_money_pence"]))
    return lines


def run_page(
    store: Store,
    principal: Principal,
    run_id: str,
    service: str | None = None,
    year: str | None = None,
) -> RunPage:
    run = runs.get_run(store, principal, run_id)
    page = RunPage(run, run_progress(run), principal.borough)
    if run.status != "succeeded" or run.kind != "solve":
        return page
    scoped = runs.results(store, principal, run_id)
    result = runs.load_result(store, run)
    page.names = ScenarioNames.of(result.scenario)
    benchmarked = {b.service for b in result.scenario.benchmarks}
    page.services = [(s.id, s.name) for s in result.scenario.services if s.id in benchmarked]
    page.years = list(result.scenario.financial_years)
    page.service = _choose(service, page.services, "services", "service")
    page.year = _choose(year, [(y, y) for y in page.years], "years", "year")
    coverage = scoped.tables["coverage"]
    page.figures = figures_of(coverage, page.service, page.year)
    cost = scoped.tables.get("cost_to_benchmark")
    if cost is not None:
        page.cost = [
            line
            for line in cost_lines(cost, principal.borough, page.names)
            if line.year == page.year
        ]
    if principal.borough is None:
        _, page.scorecard = runs.run_scorecard(store, principal, run_id)
        page.areas = [(a.code, a.name) for a in result.scenario.areas]
    else:
        page.areas = [
            (a.code, a.name) for a in result.scenario.areas if a.code == principal.borough
        ]
    page.tables = [name for name in TABLE_SCHEMAS if name in scoped.tables]
    return page


def comparable_runs(run: RunRecord, store: Store, principal: Principal) -> list[dict[str, Any]]:
    """Other runs this one can be compared with (newest first; the caller's visible runs)."""
    return [
        {"id": r.id, "label": f"{r.scenario_name} ({r.id[:8]}, {r.created_at[:16]})"}
        for r in runs.list_runs(store, principal, limit=50)
        if r.id != run.id and r.status == "succeeded" and r.kind == "solve"
    ]
