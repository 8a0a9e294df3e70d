"""The words around the borough workbook's first sheet: what was run, the headline answer,
and the facts a reader may want to check, stating only what the run recorded."""

from __future__ import annotations

from collections import defaultdict

from commissioning.excel import run_facts
from commissioning.excel.borough_figures import FrontFigures
from commissioning.models import Area
from commissioning.money import pounds
from commissioning.results import RunResult

NOT_RECORDED = run_facts.NOT_RECORDED
RUN_ID_KEYS = ("run_id", "id")  # keys a store or a later solver may record the run's id under


def run_id(run: RunResult) -> str | None:
    for key in RUN_ID_KEYS:
        value = run.summary.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def facts_line(run: RunResult, years: list[str]) -> str:
    """What was run, stating only what the run recorded (its absence is in 'About')."""
    scenario = run_facts.text(run, "scenario", run.scenario.name)
    parts = [f"Scenario: {scenario}", f"years {years[0]} to {years[-1]}"]
    identifier = run_id(run)
    if identifier:
        parts.append(f"run {identifier}")
    stamp = run_facts.run_date(run)
    if stamp is not None:
        parts.append(f"solved {stamp:%d %B %Y}")
    return ". ".join([", ".join(parts), "Money in £ (the run's CSV files hold it in pence)."])


def headline(name: str, figures: FrontFigures) -> str:
    if not figures.services:
        return f"No service {name} receives has a benchmark in this scenario."
    below = figures.below()
    if not below:
        return f"{name} is at or above benchmark in every benchmarked service, every year."
    years_by_service: dict[str, list[str]] = defaultdict(list)
    for cell in below:
        years_by_service[cell.name].append(cell.year)
    which = "; ".join(f"{s} ({', '.join(y)})" for s, y in years_by_service.items())
    text = f"{name} is below benchmark in {which}."
    costs: dict[str, int] = defaultdict(int)
    for cell in below:
        if cell.cost_pence is not None and not cell.held_by:
            costs[cell.year] += cell.cost_pence
    if costs:
        text += " Reaching it would cost " + _and([f"{pounds(p)} in {y}" for y, p in costs.items()])
        text += "."
    if any(cell.held_by for cell in below):
        text += " A rule holds some of it below benchmark (see the note under the table)."
    return text


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def about(run: RunResult, area: Area, years: list[str]) -> list[tuple[str, str]]:
    """Label and text of each fact under 'About these figures'."""
    stamp = run_facts.run_date(run)
    pairs = [
        ("Borough", f"{area.name} (ONS code {area.code})"),
        ("Command unit", area.group or NOT_RECORDED),
        ("Scenario", run_facts.text(run, "scenario", run.scenario.name)),
        ("Run", run_id(run) or NOT_RECORDED),
        ("Run date", stamp.strftime("%d %B %Y %H:%M") if stamp else NOT_RECORDED),
        ("Financial years", ", ".join(years)),
        (
            "Coverage",
            "Benchmark target = basis population ÷ per × benchmark units (worked on the Targets "
            "sheet); coverage = (existing + bid-funded + funded units) ÷ target, rounded down "
            "to 0.1 % so a service short of benchmark never shows 100 %.",
        ),
        (
            "Solver and checks",
            "The solver's status, gap, stages and the scenario hash are on the Run details "
            "sheet; how the figures were made is on the Methodology sheet.",
        ),
    ]
    return pairs
