"""Runs: create, solve (in a worker process), read results, compare and publish."""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import polars as pl

from commissioning.analysis import Scorecard, scorecard
from commissioning.analysis.compare import RunComparison, rows_frame
from commissioning.analysis.compare import compare_runs as compare_results
from commissioning.api.services.access import (
    Conflict,
    Forbidden,
    NotFound,
    Principal,
    require,
    scope_table,
    table_visible,
    visible_run,
)
from commissioning.errors import ScenarioError
from commissioning.results import TABLE_SCHEMAS, RunResult
from commissioning.scenario_io import scenario_from_data
from commissioning.store import RunRecord, RunStatus, Store
from commissioning.store.interface import INTERRUPTED_REASON, RunKind

log = logging.getLogger(__name__)

INTERRUPTED = INTERRUPTED_REASON


# -- lifecycle ------------------------------------------------------------------------------


def create_run(
    store: Store,
    principal: Principal,
    scenario_id: str,
    kind: RunKind = "solve",
    settings: dict[str, Any] | None = None,
) -> RunRecord:
    """A queued run of a stored scenario (the caller then hands its id to a worker). A sweep
    or uncertainty run's settings are checked against the scenario first (BadSettings)."""
    require(principal, "commissioner")
    stored = store.get_scenario(scenario_id)
    if stored is None:
        raise NotFound(f"no scenario {scenario_id}", field="scenario_id")
    if kind != "solve":
        from commissioning.api.services.analyses import check

        check(scenario_from_data(json.loads(stored.body)), kind, settings or {})
    return store.add_run(scenario_id, principal.key_id, kind, settings)


def begin_run(store: Store, run_id: str) -> str | None:
    """Mark a queued run running under a new lease; None if it is no longer queued."""
    lease = secrets.token_hex(16)
    return lease if store.mark_running(run_id, lease) else None


def execute_run(store: Store, run_id: str, lease: str | None = None) -> dict[str, Any]:
    """Solve one run and record the outcome (in a worker process, or in-process for the CLI).

    With `lease` the caller has already marked the run running under it (`begin_run`); without,
    this begins the run itself. Every write is conditional on the lease, so a worker whose run
    was failed meanwhile (a restart, a deadline) writes nothing. The run directory is written
    completely (atomic rename) before the row says succeeded; any exception marks the run
    failed, or infeasible when the solver says so, with its message. MemoryError is left to the
    caller, which knows the memory limit that was hit.
    """
    if lease is None:
        lease = begin_run(store, run_id)
        if lease is None:
            return {"run_id": run_id, "status": "skipped"}
    try:
        run = store.get_run(run_id)
        stored = store.get_scenario(run.scenario_id) if run else None
        if stored is None:
            raise RuntimeError(f"run {run_id} has no stored scenario")
        scenario = scenario_from_data(json.loads(stored.body))
        if run is not None and run.kind != "solve":
            return _execute_analysis(store, run, scenario, lease)
        from commissioning.api.services import progress
        from commissioning.optimise import solve
        from commissioning.optimise.clock import watch_steps
        from commissioning.runs import with_marginal_value, with_scorecard, write_run

        stages = progress.StageRecorder(store, run_id, lease)
        prepared: list[Any] = []  # the solve's allocation data: the marginal analysis reuses it
        with watch_steps(stages.step):  # the solve's own timing steps say which stage it is in
            solved = with_scorecard(solve(scenario, on_data=prepared.append))
        stages.enter(progress.MARGINAL_VALUE)
        result = with_marginal_value(solved, prepared[0])
        if not store.holds_lease(run_id, lease):
            return {"run_id": run_id, "status": "superseded"}  # failed meanwhile: write nothing
        stages.enter(progress.WRITING_FILES)
        # The CLI's own writer: API run folders hold the same files, workbook included.
        write_run(result, store.run_dir(run_id))
        summary = json.loads(json.dumps(result.summary, default=str))
    except MemoryError:
        raise
    except Exception as exc:
        return record_failure(store, run_id, lease, exc)
    if not store.finish_run(run_id, "succeeded", summary=summary, lease=lease):
        return {"run_id": run_id, "status": "superseded"}  # failed at restart meanwhile
    return {"run_id": run_id, "status": "succeeded"}


def _execute_analysis(store: Store, run: RunRecord, scenario: Any, lease: str) -> dict[str, Any]:
    """A sweep or uncertainty run: solved and written like a solve, under the same lease."""
    from commissioning.api.services import progress
    from commissioning.api.services.analyses import execute_analysis
    from commissioning.safe_output import replace_run_folder

    try:
        fill, document = execute_analysis(store, run, scenario, lease)
        if not store.holds_lease(run.id, lease):
            return {"run_id": run.id, "status": "superseded"}
        progress.StageRecorder(store, run.id, lease, run.kind).enter(progress.WRITING_FILES)
        replace_run_folder(store.run_dir(run.id), fill)
        summary = json.loads(json.dumps(document, default=str))
    except MemoryError:
        raise
    except Exception as exc:
        return record_failure(store, run.id, lease, exc)
    if not store.finish_run(run.id, "succeeded", summary=summary, lease=lease):
        return {"run_id": run.id, "status": "superseded"}
    return {"run_id": run.id, "status": "succeeded"}


def record_failure(store: Store, run_id: str, lease: str, exc: Exception) -> dict[str, Any]:
    """Mark the run failed (or infeasible) with the reason in plain words."""
    status: RunStatus = "infeasible" if "Infeasible" in type(exc).__name__ else "failed"
    if isinstance(exc, ScenarioError):
        reason = "; ".join(str(p) for p in exc.problems)
    else:
        reason = str(exc).strip() or type(exc).__name__
    if status == "failed" and not isinstance(exc, ScenarioError):
        log.exception("run %s failed", run_id)
    if not store.finish_run(run_id, status, reason=reason, lease=lease):
        return {"run_id": run_id, "status": "superseded"}
    return {"run_id": run_id, "status": status, "reason": reason}


def run_now(store: Store, principal: Principal, scenario_id: str) -> RunRecord:
    """Create and solve a run in this process (the CLI and library; the API uses workers)."""
    run = create_run(store, principal, scenario_id)
    execute_run(store, run.id)
    finished = store.get_run(run.id)
    assert finished is not None
    return finished


def get_run(store: Store, principal: Principal, run_id: str) -> RunRecord:
    return visible_run(store, principal, run_id)


def list_runs(
    store: Store,
    principal: Principal,
    scenario_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[RunRecord]:
    """Commissioners see every run; everyone else only published runs."""
    return store.list_runs(
        published_only=not principal.is_commissioner,
        scenario_id=scenario_id,
        limit=limit,
        offset=offset,
    )


def count_runs(store: Store, principal: Principal, scenario_id: str | None = None) -> int:
    """How many runs list_runs shows the caller over every page."""
    return store.count_runs(published_only=not principal.is_commissioner, scenario_id=scenario_id)


def publish_run(store: Store, principal: Principal, run_id: str) -> RunRecord:
    """Publish a succeeded run to finance and borough leads (publishing twice is harmless)."""
    require(principal, "commissioner")
    run = visible_run(store, principal, run_id)
    _require_succeeded(run)
    published = store.publish_run(run_id, principal.key_id)
    if published is None:  # pragma: no cover - status changed between the two reads
        raise Conflict(f"run {run_id} cannot be published", field="run_id")
    return published


# -- results --------------------------------------------------------------------------------


def _require_succeeded(run: RunRecord) -> None:
    if run.status in ("queued", "running"):
        raise Conflict(f"run {run.id} is {run.status}; poll it until it has finished", "run_id")
    if run.status != "succeeded":
        raise Conflict(
            f"run {run.id} ended {run.status} and has no results: {run.reason}", "run_id"
        )


@lru_cache(maxsize=16)
def _read_result(run_dir: str) -> RunResult:
    return RunResult.read(run_dir)


def load_result(store: Store, run: RunRecord) -> RunResult:
    """The solved run (cached: a succeeded run's directory never changes)."""
    if run.kind != "solve":
        raise Conflict(
            f"run {run.id} is a {run.kind} analysis, not a solve; read its tables at "
            f"/api/v1/analyses/{run.id}/tables/{{table}}",
            "run_id",
        )
    _require_succeeded(run)
    return _read_result(str(store.finished_run_dir(run.id)))


@dataclass(frozen=True)
class ScopedResults:
    run: RunRecord
    area_code: str | None
    tables: dict[str, pl.DataFrame]
    hidden: list[str]


def results(store: Store, principal: Principal, run_id: str) -> ScopedResults:
    """Every table the caller may see, cut to its borough for a borough lead."""
    run = visible_run(store, principal, run_id)
    result = load_result(store, run)
    tables: dict[str, pl.DataFrame] = {}
    hidden: list[str] = []
    for name in TABLE_SCHEMAS:
        frame = result.tables.get(name)
        if frame is None:
            continue
        if table_visible(principal, frame):
            tables[name] = scope_table(principal, name, frame)
        else:
            hidden.append(name)
    return ScopedResults(run, principal.borough, tables, hidden)


def result_table(
    store: Store, principal: Principal, run_id: str, table: str
) -> tuple[RunRecord, pl.DataFrame]:
    run = visible_run(store, principal, run_id)
    if table not in TABLE_SCHEMAS:
        raise NotFound(f"no table {table!r}; tables are {', '.join(TABLE_SCHEMAS)}", "table")
    result = load_result(store, run)
    frame = result.tables.get(table)
    if frame is None:
        raise NotFound(f"run {run_id} has no {table!r} table", field="table")
    return run, scope_table(principal, table, frame)


def run_scorecard(store: Store, principal: Principal, run_id: str) -> tuple[RunRecord, Scorecard]:
    """The run's scorecard: London-wide, so withheld from borough leads like the summary."""
    run = visible_run(store, principal, run_id)
    if principal.borough is not None:
        raise Forbidden(
            "the scorecard is London-wide; a borough lead sees only its own borough's rows",
            field="run_id",
        )
    return run, scorecard(load_result(store, run))


def run_timing(store: Store, principal: Principal, run_id: str) -> tuple[RunRecord, dict[str, Any]]:
    """The run's timing.json: seconds per step of its solve."""
    run = visible_run(store, principal, run_id)
    return run, load_result(store, run).timing


# -- comparison -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    base: RunRecord
    other: RunRecord
    content: RunComparison

    @property
    def rows(self) -> pl.DataFrame:
        """The per year × area × service changes as a table (the CSV form)."""
        return rows_frame(self.content)


def compare_runs(store: Store, principal: Principal, base_id: str, other_id: str) -> Comparison:
    """Everything that differs from base to other (commissioning.analysis.compare), cut to the
    caller's borough for a borough lead, who sees no London-wide section (scorecards, pots,
    bids), as the results and scorecard endpoints withhold them."""
    base = visible_run(store, principal, base_id)
    other = visible_run(store, principal, other_id)
    content = compare_results(
        load_result(store, base), load_result(store, other), area_code=principal.borough
    )
    return Comparison(base, other, content)
