"""Analyses: sweeps and uncertainty runs, which are runs like any other.

An analysis is a run of kind `sweep` or `uncertainty`: it is stored, queued, solved by the same
worker processes under the same lease, scoped and published the same way as a solve. Its
settings are checked against the scenario before it is queued (a bad path is a 400 naming the
setting, not a failed run), it reports progress as solves done of solves in all, and its files
(tables and charts) are written to the run's directory all or nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from commissioning.analysis.overrides import OverrideError
from commissioning.api.services.access import (
    Conflict,
    NotFound,
    Principal,
    ServiceError,
    require,
    scope_table,
    visible_run,
)
from commissioning.models import Scenario
from commissioning.store import RunRecord, Store

PROGRESS_EVERY_SECONDS = 0.5  # a write per solve would make the store the bottleneck

# The tables each kind writes (name → file) and the files a client may download.
TABLES: dict[str, dict[str, str]] = {
    "sweep": {"sweep": "sweep.csv"},
    "uncertainty": {
        "uncertainty": "uncertainty.csv",
        "uncertainty_draws": "uncertainty_draws.csv",
        "uncertainty_factors": "uncertainty_factors.csv",
    },
}
FILES: dict[str, dict[str, str]] = {
    "sweep": {
        "sweep.csv": "text/csv; charset=utf-8",
        "sweep.json": "application/json",
        "curve.svg": "image/svg+xml",
        "curve.png": "image/png",
    },
    "uncertainty": {
        "uncertainty.csv": "text/csv; charset=utf-8",
        "uncertainty_draws.csv": "text/csv; charset=utf-8",
        "uncertainty_factors.csv": "text/csv; charset=utf-8",
        "uncertainty.json": "application/json",
    },
}


class BadSettings(ServiceError):
    """Analysis settings that do not fit the scenario (answered 400, naming the setting)."""


# -- settings -------------------------------------------------------------------------------


def uncertainty_settings(scenario: Scenario, settings: dict[str, Any]) -> Any:
    from commissioning.analysis.uncertainty import (
        Settings,
        UncertaintyError,
        check_settings,
        parse_range,
    )

    ranges = []
    for i, text in enumerate(settings["vary"]):
        try:
            ranges.append(parse_range(text))
        except UncertaintyError as exc:
            raise BadSettings(str(exc).removeprefix("--vary: "), f"uncertainty.vary[{i}]") from None
    parsed = Settings(
        draws=settings["draws"],
        seed=settings["seed"],
        ranges=tuple(ranges),
        budget_pot=settings.get("budget_pot"),
    )
    try:
        check_settings(scenario, parsed)
    except OverrideError as exc:
        index = next((i for i, r in enumerate(ranges) if exc.path.startswith(r.path)), 0)
        raise BadSettings(str(exc), f"uncertainty.vary[{index}]") from None
    except UncertaintyError as exc:
        field = {"--budget-pot": "budget_pot", "--draws": "draws", "--seed": "seed"}.get(
            exc.field, "vary"
        )
        raise BadSettings(str(exc).split(": ", 1)[-1], f"uncertainty.{field}") from None
    return parsed


def sweep_axes(scenario: Scenario, settings: dict[str, Any]) -> list[Any]:
    from commissioning.analysis.sweep import SweepError, check_axes, parse_axis

    axes = []
    for i, axis in enumerate(settings["axes"]):
        try:
            axes.append(parse_axis(axis["path"], axis["from"], axis["to"], axis["steps"]))
        except SweepError as exc:
            raise BadSettings(str(exc), f"sweep.axes[{i}]") from None
    try:
        check_axes(scenario, axes)
    except (SweepError, OverrideError) as exc:
        raise BadSettings(str(exc), "sweep.axes") from None
    return axes


def check(scenario: Scenario, kind: str, settings: dict[str, Any]) -> None:
    """Refuse settings that cannot run on this scenario, before anything is queued."""
    if kind == "uncertainty":
        uncertainty_settings(scenario, settings)
    else:
        sweep_axes(scenario, settings)


# -- running (in the worker process) --------------------------------------------------------


def progress_recorder(store: Store, run_id: str, lease: str) -> Callable[[int, int], None]:
    """An on_step callback that writes progress to the store at most every half second (and
    always the last step), so a poll shows done / total without slowing the solves."""
    last = [0.0]

    def record(done: int, total: int) -> None:
        now = time.monotonic()
        if done == 0 or done >= total or now - last[0] >= PROGRESS_EVERY_SECONDS:
            last[0] = now
            store.set_progress(run_id, lease, done, total)

    return record


def execute_analysis(
    store: Store, run: RunRecord, scenario: Scenario, lease: str
) -> tuple[Callable[[Path], object], dict[str, Any]]:
    """Solve a sweep or uncertainty run; returns what writes its files and its summary."""
    settings = run.settings or {}
    on_step = progress_recorder(store, run.id, lease)
    # More processes than cores only adds switching: the machine's cores bound what is asked.
    jobs = max(1, min(int(settings.get("jobs", 1)), os.cpu_count() or 1))
    if run.kind == "uncertainty":
        from commissioning.analysis.uncertainty import run_uncertainty

        parsed = uncertainty_settings(scenario, settings)
        result = run_uncertainty(scenario, parsed, jobs=jobs, on_step=on_step)

        def write_uncertainty(folder: Path) -> None:
            result.write_into(folder)

        return write_uncertainty, result.summary()
    from commissioning.analysis.sweep import Solver, run_sweep
    from commissioning.analysis.sweep_files import summary, write_sweep

    axes = sweep_axes(scenario, settings)
    with Solver(jobs) as solver:
        sweep = run_sweep(
            scenario,
            axes,
            solver=solver,
            on_progress=on_step,
            with_knee=bool(settings.get("knee", True)),
        )

    def write(folder: Path) -> None:
        write_sweep(sweep, folder)

    return write, summary(sweep)


# -- reading --------------------------------------------------------------------------------


def visible_analysis(store: Store, principal: Principal, run_id: str) -> RunRecord:
    run = visible_run(store, principal, run_id)
    if run.kind == "solve":
        raise NotFound(
            f"run {run_id} is a solve, not an analysis; read it at /api/v1/runs/{run_id}",
            field="run_id",
        )
    return run


def _finished(run: RunRecord) -> None:
    if run.status in ("queued", "running"):
        raise Conflict(f"run {run.id} is {run.status}; poll it until it has finished", "run_id")
    if run.status != "succeeded":
        raise Conflict(
            f"run {run.id} ended {run.status} and has no results: {run.reason}", "run_id"
        )


def analysis_table(
    store: Store, principal: Principal, run_id: str, table: str
) -> tuple[RunRecord, pl.DataFrame]:
    """One of an analysis's tables; a borough lead gets its own rows of per-borough tables
    and none of the London-wide ones (a sweep's steps, the draws)."""
    run = visible_analysis(store, principal, run_id)
    tables = TABLES[run.kind]
    if table not in tables:
        raise NotFound(
            f"a {run.kind} run has no table {table!r}; its tables are {', '.join(tables)}",
            field="table",
        )
    _finished(run)
    path = store.finished_run_dir(run.id) / tables[table]
    frame = pl.read_csv(path, infer_schema_length=0)  # as written: exact text, no float noise
    return run, scope_table(principal, table, frame)


def analysis_file(
    store: Store, principal: Principal, run_id: str, name: str
) -> tuple[RunRecord, Path, str]:
    """A file of an analysis (chart, CSV, JSON) with its media type; London-wide files are
    for commissioners and finance."""
    from commissioning.api.services.access import Forbidden

    run = visible_analysis(store, principal, run_id)
    files = FILES[run.kind]
    if name not in files:
        raise NotFound(
            f"a {run.kind} run has no file {name!r}; its files are {', '.join(files)}",
            field="name",
        )
    _finished(run)
    if principal.borough is not None:
        raise Forbidden(
            "an analysis's files are London-wide; a borough lead reads its own rows through "
            f"/api/v1/analyses/{run_id}/tables/{{table}}",
            field="name",
        )
    path = store.finished_run_dir(run.id) / name
    if not path.is_file():
        raise NotFound(f"run {run_id} wrote no {name} (charts need matplotlib)", field="name")
    return run, path, files[name]


def require_commissioner(principal: Principal) -> None:
    require(principal, "commissioner")
