"""Facts about a run read from its summary, tolerant of keys an older or newer solver leaves out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from commissioning.models.base import year_start
from commissioning.results import RunResult

NOT_RECORDED = "not recorded"
# Keys a solver might use for when the run was made, in order of preference.
DATE_KEYS = ("run_date", "solved_at", "created_at", "created", "date")


def run_date(run: RunResult) -> datetime | None:
    """When the run was made, if its summary says; never the clock, so reruns are identical."""
    for key in DATE_KEYS:
        value = run.summary.get(key)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
            except ValueError:
                continue
    return None


def workbook_timestamp(run: RunResult) -> datetime:
    """The created/modified date stamped on the file: the run's date, else 1 April of year one.

    A fixed, meaningful date keeps a rebuilt workbook byte-identical to the first one.
    """
    stamp = run_date(run)
    if stamp is not None and stamp.year >= 1980:  # zip archives cannot date files earlier
        return stamp
    years = financial_years(run)
    try:
        return datetime.combine(date(year_start(years[0]), 4, 1), datetime.min.time())
    except (IndexError, ValueError):
        return datetime(2019, 4, 1)


def financial_years(run: RunResult) -> list[str]:
    years = run.summary.get("financial_years")
    if isinstance(years, list) and years and all(isinstance(y, str) for y in years):
        return list(years)
    return list(run.scenario.financial_years)


def text(run: RunResult, key: str, default: str = NOT_RECORDED) -> str:
    value = run.summary.get(key)
    return default if value is None or value == "" else str(value)


def solver(run: RunResult) -> str:
    """'highs (time limit 60 s, relative gap 0.5%, 1 thread)', from a name or a settings dict."""
    value = run.summary.get("solver")
    if not isinstance(value, dict):
        return text(run, "solver")
    name = str(value.get("name", "solver"))
    settings = []
    if isinstance(value.get("time_limit_seconds"), int | float):
        settings.append(f"time limit {value['time_limit_seconds']:g} s")
    if isinstance(value.get("relative_gap"), int | float):
        settings.append(f"relative gap {value['relative_gap']:.2%}")
    if isinstance(value.get("threads"), int):
        settings.append(f"{value['threads']} thread" + ("s" if value["threads"] != 1 else ""))
    return f"{name} ({', '.join(settings)})" if settings else name


def number(run: RunResult, key: str) -> float | None:
    value = run.summary.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def gap(run: RunResult) -> float | None:
    value = run.summary.get("gap")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def stages(run: RunResult) -> list[tuple[str, Any, str]]:
    """(stage name, objective, status) per stage; objectives are shown as given (units differ)."""
    found = []
    for stage in run.summary.get("stages") or []:
        if isinstance(stage, dict):
            found.append(
                (
                    str(stage.get("name", "stage")),
                    stage.get("objective"),
                    str(stage.get("status") or ""),
                )
            )
    return found


def versions(run: RunResult) -> str:
    value = run.summary.get("versions")
    if isinstance(value, dict) and value:
        return ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
    return NOT_RECORDED


def fairness_rule(run: RunResult) -> str:
    return text(run, "fairness_rule", run.scenario.policy.fairness_rule)
