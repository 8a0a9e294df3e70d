"""Solve in a child process that is killed at the deadline, so a run's time limit is real.

HiGHS does not always honour its own time limit (one call at 3,000 areas ran 8 minutes past
120 s in its root heuristics), and a thread stuck in native code cannot be stopped from inside
the process. So the CLI's and API's solve runs in a child: the parent waits for the answer until
the scenario's time limit plus `GRACE_SECONDS`, then kills the child and returns the best
allocation the child had sent (each completed stage sends one), marked `time_limit` with the
stage it reached, or raises SolverFailed if none had arrived.

The child is a fresh interpreter (`python -m commissioning.bounded_solve`), never a fork: the
parent may already hold running thread pools (polars' for reading area tables, HiGHS's if it
solved before), and a forked copy of a process with live threads can deadlock. Unlike
multiprocessing's "spawn" it does not re-run the caller's main script, so a script without an
`if __name__ == "__main__"` guard still works. The scenario goes in on stdin (pickled); progress
and the answer come back on a pipe. The fresh start costs the solver stack's import (measured:
about 1 s more than a fork, 2-4 s in all on a busy 2-core machine); it comes out of the grace,
since the parent's clock starts first. The child also stops if its parent dies (its stdin
closes).

This module does not import the solver stack: only the child does.
"""

from __future__ import annotations

import contextlib
import multiprocessing.connection
import os
import pickle
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import replace
from typing import Any

from commissioning.errors import InfeasibleScenario, ScenarioError, SolverFailed
from commissioning.models import Scenario
from commissioning.results import RunResult

__all__ = ["GRACE_SECONDS", "solve_within_time_limit"]

# Past the time limit the parent waits this long for the child's own answer before killing it:
# the child needs a moment to split the last stage's units across pots and build the tables,
# and a pipe carrying the result of a large scenario takes a moment to read.
GRACE_SECONDS = 5.0

# The child stops starting solver calls this long before the parent would kill it, so that an
# answer that respects its limit is always back in time.
_CHILD_MARGIN_SECONDS = 2.0


def solve_within_time_limit(
    scenario: Scenario,
    *,
    grace_seconds: float = GRACE_SECONDS,
    _stall_before_solve_seconds: float = 0.0,
    _stall_after_solve_seconds: float = 0.0,
) -> RunResult:
    """Solve `scenario` in a child process; return within its time limit + `grace_seconds`.

    The `_stall_*` arguments are for tests of the real kill, standing in for a solver call that
    ignores its time limit: the child sleeps that long before solving (so nothing is found), or
    after solving (having sent its run as progress, as a completed stage would).
    """
    limit = scenario.policy.solver.time_limit_seconds
    kill_at = time.monotonic() + limit + grace_seconds
    read_end, write_end = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-m", "commissioning.bounded_solve", str(write_end)],
        stdin=subprocess.PIPE,
        pass_fds=(write_end,),
        close_fds=True,
    )
    os.close(write_end)  # the child holds the only writing end: EOF means it is gone
    receiver = multiprocessing.connection.Connection(read_end, writable=False)
    best: RunResult | None = None
    try:
        assert child.stdin is not None
        stalls = (_stall_before_solve_seconds, _stall_after_solve_seconds)
        job = (scenario, kill_at - _CHILD_MARGIN_SECONDS, stalls)
        child.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        child.stdin.flush()  # stdin stays open: the child stops when it closes (parent gone)
        while (left := kill_at - time.monotonic()) > 0:
            if not receiver.poll(min(left, 1.0)):
                continue
            try:
                kind, payload = receiver.recv()
            except (EOFError, OSError):
                raise SolverFailed(
                    f"the solve stopped unexpectedly (exit code {child.poll()}) "
                    "before giving an answer"
                ) from None
            if kind == "progress":
                best = payload
            elif kind == "done":
                return payload
            elif kind == "out_of_time" and best is not None:
                break  # a later stage ran out of time: the last completed stage stands
            else:
                raise _rebuilt(kind, payload)
    finally:
        _stop(child)
        receiver.close()
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


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.kill()  # SIGKILL: a solver thread stuck in native code ignores anything gentler
    with contextlib.suppress(OSError):
        assert child.stdin is not None
        child.stdin.close()
    child.wait(timeout=10)


def _child_main(write_fd: int) -> None:
    """The child: read the job from stdin, solve, send progress and the answer down the pipe."""
    job = pickle.load(sys.stdin.buffer)
    scenario, stop_by, (stall_before, stall_after) = job
    threading.Thread(target=_exit_when_parent_goes, daemon=True).start()
    sender = multiprocessing.connection.Connection(write_fd, readable=False)

    from commissioning.optimise import solve
    from commissioning.optimise.solver import TimeLimitReached, run_deadline

    def progress(run: RunResult) -> None:
        sender.send(("progress", run))

    try:
        time.sleep(stall_before)
        with run_deadline(stop_by - time.monotonic()):
            run = solve(scenario, on_progress=progress)
        if stall_after > 0:
            progress(run)
            time.sleep(stall_after)
        sender.send(("done", run))
    except InfeasibleScenario as exc:
        sender.send(("infeasible", (exc.reasons, exc.gave_way)))
    except ScenarioError as exc:
        sender.send(("scenario", exc.problems))
    except TimeLimitReached as exc:
        sender.send(("out_of_time", str(exc)))
    except SolverFailed as exc:
        sender.send(("solver", str(exc)))
    except BaseException:
        sender.send(("crash", traceback.format_exc()))
    finally:
        sender.close()


def _exit_when_parent_goes() -> None:
    """The parent keeps our stdin open while it waits; end of file means it has gone."""
    sys.stdin.buffer.read()
    os._exit(1)


def _rebuilt(kind: str, payload: Any) -> Exception:
    """The child's error, as the exception the in-process solve would have raised."""
    if kind == "infeasible":
        reasons, gave_way = payload
        return InfeasibleScenario(reasons, gave_way)
    if kind == "scenario":
        return ScenarioError(payload)
    if kind == "out_of_time":
        return SolverFailed(f"the time limit ran out before any allocation was found ({payload})")
    if kind == "solver":
        return SolverFailed(payload)
    return RuntimeError(f"the solve failed unexpectedly:\n{payload}")


if __name__ == "__main__":
    _child_main(int(sys.argv[1]))
