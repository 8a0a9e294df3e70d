"""Solve with a deadline the caller can rely on, even if HiGHS overruns its own time limit.

HiGHS does not always honour its time limit (one call at 3,000 areas ran 8 minutes past 120 s in
its root heuristics). So the solve runs in a thread of its own and the caller waits for it
only until the scenario's time limit plus `GRACE_SECONDS`: it then takes the best allocation
the solve had reported (each completed stage reports one), marked `time_limit` with the stage
it reached, or raises SolverFailed if none had arrived. HiGHS releases the interpreter while it
works, so the waiting thread wakes on time.

A thread stuck in native code cannot be stopped, only left behind: `abandoned_solve()` tells
the caller one was, and `commissioning solve` then ends its process with `os._exit` once its
files are written, which stops the stuck thread with it. (Until 2026-11 the solve ran in a
fresh child interpreter that was killed instead; that cost a second start-up and a second
import of the whole stack, 1-2 s of CPU on every cold London solve.) The API needs none of
this: each of its runs is a worker process of its own (commissioning.api.worker).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from commissioning.errors import SolverFailed
from commissioning.models import Scenario
from commissioning.results import RunResult

if TYPE_CHECKING:
    from commissioning.optimise.data import AllocationData

__all__ = ["GRACE_SECONDS", "abandoned_solve", "solve_within_time_limit"]

# Past the time limit the caller waits this long for the solve's own answer: it needs a moment
# to split the last stage's units across pots and build the tables.
GRACE_SECONDS = 5.0

# The solve stops starting solver calls this long before the caller stops waiting, so that an
# answer that respects its limit is always back in time.
_SOLVE_MARGIN_SECONDS = 2.0

_ABANDONED = threading.Event()

Answer = tuple[str, Any]


def abandoned_solve() -> bool:
    """Whether a solve was left running past its deadline in this process."""
    return _ABANDONED.is_set()


def solve_within_time_limit(
    scenario: Scenario,
    *,
    grace_seconds: float = GRACE_SECONDS,
    on_data: Callable[[AllocationData], None] | None = None,
    _stall_before_solve_seconds: float = 0.0,
    _stall_after_solve_seconds: float = 0.0,
) -> RunResult:
    """Solve `scenario`; return within its time limit + `grace_seconds`.

    `on_data` is passed to `optimise.solve` (the prepared allocation data, for re-solves). The
    `_stall_*` arguments are for tests of the deadline, standing in for a solver call that
    ignores its time limit: the solve waits that long before solving (so nothing is found), or
    after solving (having reported its run as progress, as a completed stage would).
    """
    limit = scenario.policy.solver.time_limit_seconds
    give_up_at = time.monotonic() + limit + grace_seconds
    answers: queue.SimpleQueue[Answer] = queue.SimpleQueue()
    left_behind = threading.Event()
    stalls = (_stall_before_solve_seconds, _stall_after_solve_seconds)
    job = (scenario, give_up_at - _SOLVE_MARGIN_SECONDS, stalls, on_data, answers, left_behind)
    threading.Thread(target=_solve, args=job, name="commissioning-solve", daemon=True).start()
    best: RunResult | None = None
    while True:
        try:
            kind, payload = answers.get(timeout=max(0.0, give_up_at - time.monotonic()))
        except queue.Empty:
            left_behind.set()  # still running past the deadline: leave it behind
            _ABANDONED.set()
            break
        if kind == "progress":
            best = payload
        elif kind == "done":
            return payload
        elif kind == "out_of_time" and best is not None:
            break  # a later stage ran out of time: the last completed stage stands
        elif kind == "out_of_time":
            raise SolverFailed(
                f"the time limit ran out before any allocation was found ({payload})"
            )
        else:
            raise payload
    if best is None:
        raise SolverFailed(f"the time limit of {limit:g} s ran out before any allocation was found")
    return _time_limited(best)


def _time_limited(run: RunResult) -> RunResult:
    stages = run.summary.get("stages") or []
    summary = {
        **run.summary,
        "status": "time_limit",
        "stage_reached": run.summary.get("stage_reached")
        or (stages[-1]["name"] if stages else None),
    }
    return replace(run, summary=summary)


def _solve(
    scenario: Scenario,
    stop_by: float,
    stalls: tuple[float, float],
    on_data: Callable[[AllocationData], None] | None,
    answers: queue.SimpleQueue[Answer],
    left_behind: threading.Event,
) -> None:
    """The solve's thread: every outcome goes to `answers`, exceptions included."""
    from commissioning.optimise import solve
    from commissioning.optimise.solver import TimeLimitReached, run_deadline

    stall_before, stall_after = stalls

    def progress(run: RunResult) -> None:
        answers.put(("progress", run))

    try:
        if left_behind.wait(stall_before):
            return
        with run_deadline(stop_by - time.monotonic()):
            run = solve(scenario, on_progress=progress, on_data=on_data)
        if stall_after > 0:
            progress(run)
            if left_behind.wait(stall_after):
                return
        answers.put(("done", run))
    except TimeLimitReached as exc:
        answers.put(("out_of_time", str(exc)))
    except BaseException as exc:  # raised again in the caller, with its own traceback
        answers.put(("error", exc))
