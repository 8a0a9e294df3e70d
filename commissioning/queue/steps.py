"""What the queue's jobs do with the store: start a run, solve one step, finish an analysis.

The solves are the engine's own, as in the in-process pool: a solve goes through
`services.runs.execute_run` (the same road as the API's worker processes and the CLI), a sweep
step through `analysis.sweep.solve_step`, an uncertainty draw through
`analysis.uncertainty.solve_draw`, and the finished analysis through the same assembly and
file writers as `run_sweep` and `run_uncertainty`, so a run gives the same files on either
queue.
"""

from __future__ import annotations

import json
import os
import pickle
import secrets
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commissioning.store.interface import UNFINISHED, RunRecord

if TYPE_CHECKING:
    from commissioning.store.postgres import PostgresStore

ALL_SOLVED = "solved: every step of the run is solved"
MEMORY_MIB: list[int] = [4096]  # the worker's memory cap, for the reason a run gives
TIME_LIMIT_SECONDS: list[float] = [600.0]  # the longest one job may take (the worker's setting)
EXIT_TIME_LIMIT = 87


@dataclass(frozen=True)
class Planned:
    """An analysis run taken over under `lease`, whose `total` steps are to be queued."""

    run_id: str
    lease: str
    total: int


def start_run(store: PostgresStore, run_id: str, solved_by: str) -> Planned | str:
    """Take the run over under a new lease; solve a solve, or plan an analysis's steps."""
    from commissioning.api.services import runs

    run = store.get_run(run_id)
    if run is None:
        return "skipped: the run was deleted"
    if run.status not in UNFINISHED:
        return f"skipped: the run is {run.status}"
    lease = secrets.token_hex(16)
    if not store.take_over_run(run_id, lease):
        return "skipped: the run finished meanwhile"
    if run.kind == "solve":
        try:
            with _deadline(store, run_id, lease):
                outcome = runs.execute_run(store, run_id, lease)
        except MemoryError:
            _out_of_memory(store, run_id, lease)
            return "failed: out of memory"
        finally:
            _forget_local_copy(store, run_id)
        return str(outcome["status"])
    try:
        plan = _plan(store, run, lease)
    except Exception as exc:
        return str(runs.record_failure(store, run_id, lease, exc)["status"])
    store.set_progress(run_id, lease, 0, plan.total)
    return Planned(run_id, lease, plan.total)


def solve_step(
    store: PostgresStore, run_id: str, lease: str, step: int, total: int, solved_by: str
) -> str:
    """Solve one step of an analysis and keep its result once; ALL_SOLVED from the step that
    completes the set (whoever sees the last result queues the finish)."""
    if not store.holds_lease(run_id, lease):
        return "skipped: the run was cancelled, finished or taken over"
    if store.begin_step(run_id, step, solved_by):
        run = store.get_run(run_id)
        if run is None:
            return "skipped: the run was deleted"
        try:
            with _deadline(store, run_id, lease):
                result = _plan(store, run, lease).solve(step)
        except MemoryError:
            _out_of_memory(store, run_id, lease)
            return "failed: out of memory"
        store.keep_step(run_id, step, pickle.dumps(result), solved_by)
    done = store.solved_steps(run_id)
    store.set_progress(run_id, lease, done, total)
    return ALL_SOLVED if done >= total else f"solved step {step + 1} of {total}"


def finish_analysis(store: PostgresStore, run_id: str, lease: str) -> str:
    """Assemble the solved steps, write the run's files and mark it succeeded (under lease)."""
    from commissioning.api.services import progress, runs
    from commissioning.safe_output import replace_run_folder

    if not store.holds_lease(run_id, lease):
        return "skipped: the run was cancelled, finished or taken over"
    run = store.get_run(run_id)
    if run is None:
        return "skipped: the run was deleted"
    try:
        plan = _plan(store, run, lease)
        kept = store.step_results(run_id)
        missing = [i for i in range(plan.total) if i not in kept]
        if missing:
            raise RuntimeError(f"steps {missing[:5]} of run {run_id} have no result")
        values = [pickle.loads(kept[i]) for i in range(plan.total)]  # written by our workers
        with _deadline(store, run_id, lease):
            fill, document = plan.assemble(store, run, lease, values)
        if not store.holds_lease(run_id, lease):
            return "skipped: the run was cancelled meanwhile"
        progress.StageRecorder(store, run_id, lease, run.kind).enter(progress.WRITING_FILES)
        replace_run_folder(store.run_dir(run_id), fill)
        summary = json.loads(json.dumps(document, default=str))
    except MemoryError:
        _out_of_memory(store, run_id, lease)
        return "failed: out of memory"
    except Exception as exc:
        return str(runs.record_failure(store, run_id, lease, exc)["status"])
    try:
        if not store.finish_run(run_id, "succeeded", summary=summary, lease=lease):
            return "skipped: the run was cancelled meanwhile"
    finally:
        _forget_local_copy(store, run_id)
    store.forget_steps(run_id)
    return "succeeded"


# -- plans: what an analysis's steps are, cached per run in the worker process -------------


class _Plan:
    total: int

    def solve(self, step: int) -> Any:
        raise NotImplementedError

    def assemble(
        self, store: PostgresStore, run: RunRecord, lease: str, values: list[Any]
    ) -> tuple[Any, dict[str, Any]]:
        raise NotImplementedError


class _SweepPlan(_Plan):
    def __init__(self, scenario: Any, settings: dict[str, Any]):
        from commissioning.analysis.sweep import grid
        from commissioning.api.services.analyses import sweep_axes

        self.scenario = scenario
        self.settings = settings
        self.axes = sweep_axes(scenario, settings)
        self.points = grid(self.axes)
        self.total = len(self.points)

    def solve(self, step: int) -> Any:
        from commissioning.analysis.sweep import solve_step

        _reuse_rounds()
        return solve_step(self.scenario, self.axes, self.points[step], step)

    def assemble(
        self, store: PostgresStore, run: RunRecord, lease: str, values: list[Any]
    ) -> tuple[Any, dict[str, Any]]:
        from commissioning.analysis.sweep import Solver, sweep_of_steps
        from commissioning.analysis.sweep_files import summary, write_sweep

        done, total = [len(values)], [len(values)]

        def tick(_: Any) -> None:  # the knee's solves, counted on top of the steps
            done[0] += 1
            store.set_progress(run.id, lease, done[0], total[0])

        _reuse_rounds()
        with Solver(1) as solver:
            sweep = sweep_of_steps(
                self.scenario,
                self.axes,
                values,
                solver,
                tick,
                total,
                with_knee=bool(self.settings.get("knee", True)),
            )

        def write(folder: Path) -> None:
            write_sweep(sweep, folder)

        return write, summary(sweep)


class _UncertaintyPlan(_Plan):
    def __init__(self, scenario: Any, settings: dict[str, Any]):
        from commissioning.analysis.uncertainty import plan_draws
        from commissioning.api.services.analyses import uncertainty_settings

        self.scenario = scenario
        self.settings = uncertainty_settings(scenario, settings)
        self.items, self.factors = plan_draws(scenario, self.settings)
        self.total = len(self.factors)

    def solve(self, step: int) -> Any:
        from commissioning.analysis.uncertainty import solve_draw

        return solve_draw(self.scenario, self.settings.budget_pot, self.items, self.factors[step])

    def assemble(
        self, store: PostgresStore, run: RunRecord, lease: str, values: list[Any]
    ) -> tuple[Any, dict[str, Any]]:
        from commissioning.analysis.uncertainty import result_of_draws

        result = result_of_draws(self.settings, self.items, self.factors, values)

        def write(folder: Path) -> None:
            result.write_into(folder)

        return write, result.summary()


_PLANS: OrderedDict[tuple[str, str], _Plan] = OrderedDict()
_KEPT_PLANS = 8
_REUSE = ExitStack()
_REUSING: list[bool] = []


def _plan(store: PostgresStore, run: RunRecord, lease: str) -> _Plan:
    key = (run.id, lease)
    plan = _PLANS.get(key)
    if plan is None:
        from commissioning.scenario_io import scenario_from_data

        stored = store.get_scenario(run.scenario_id)
        if stored is None:
            raise RuntimeError(f"run {run.id} has no stored scenario")
        scenario = scenario_from_data(json.loads(stored.body))
        settings = run.settings or {}
        plan = _SweepPlan(scenario, settings) if run.kind == "sweep" else None
        if plan is None:
            plan = _UncertaintyPlan(scenario, settings)
        _PLANS[key] = plan
        while len(_PLANS) > _KEPT_PLANS:
            _PLANS.popitem(last=False)
    _PLANS.move_to_end(key)
    return plan


def _reuse_rounds() -> None:
    """Steps of one worker share the grant and bid rounds when the swept figure is not one they
    read (analysis.sweep_reuse), as the in-process pool's workers do."""
    if not _REUSING:
        from commissioning.analysis.sweep_reuse import reusing_rounds

        _REUSE.enter_context(reusing_rounds())
        _REUSING.append(True)


@contextmanager
def _deadline(store: PostgresStore, run_id: str, lease: str) -> Iterator[None]:
    """Fail the run and end this worker if the job overruns the time limit.

    A solve cannot be interrupted from another thread, so the worker process ends (exit status
    EXIT_TIME_LIMIT; its supervisor starts it again). Its job, left taken, is retried by the
    janitor and then skipped: the run has failed, with the reason, under this job's lease.
    """
    from commissioning.api.queue import time_limit_reason

    seconds = TIME_LIMIT_SECONDS[0]

    def overrun() -> None:
        try:
            store.finish_run(run_id, "failed", time_limit_reason(seconds), lease=lease)
        finally:
            print(f"worker: run {run_id}: {time_limit_reason(seconds)}", file=sys.stderr)
            sys.stderr.flush()
            os._exit(EXIT_TIME_LIMIT)

    timer = threading.Timer(seconds, overrun)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _out_of_memory(store: PostgresStore, run_id: str, lease: str) -> None:
    from commissioning.api.queue import out_of_memory_reason

    store.finish_run(run_id, "failed", out_of_memory_reason(MEMORY_MIB[0]), lease=lease)


def _forget_local_copy(store: PostgresStore, run_id: str) -> None:
    """The worker's own copy of the run's folder: in the database now (or never to be)."""
    import shutil

    shutil.rmtree(store.run_dir(run_id), ignore_errors=True)
