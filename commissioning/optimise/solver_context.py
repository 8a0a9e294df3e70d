"""What a run's solver calls share: its deadline, its retry log, and silence from HiGHS.

A run opens `run_deadline` and `retry_log` once; every solver call inside reads them
(`optimise.solver.run`), so the calls share one time limit and the summary lists every call
that needed more than its first attempt.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import sys
import time
from collections.abc import Iterator

__all__ = [
    "current_retry_log",
    "quiet_stdout",
    "remaining_seconds",
    "retry_log",
    "run_deadline",
    "run_limit",
]


@functools.cache
def _devnull() -> int:
    """One descriptor on /dev/null for the process (a search silences HiGHS hundreds of times)."""
    return os.open(os.devnull, os.O_WRONLY)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """HiGHS prints a banner on fd 1 even with msg=False; keep CLI and JSON output clean."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(_devnull(), 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


# --- the run's deadline ---------------------------------------------------------------------

_DEADLINE: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "commissioning_solve_deadline", default=None
)


@contextlib.contextmanager
def run_deadline(seconds: float | None) -> Iterator[None]:
    """Within this block every solve gets at most the time left of `seconds` from now (an outer
    deadline that ends sooner still wins), so a run's solves share one time limit instead of
    each getting a fresh one."""
    if seconds is None:
        yield
        return
    ends = time.monotonic() + seconds
    outer = _DEADLINE.get()
    if outer is not None and outer[0] <= ends:
        ends, seconds = outer
    token = _DEADLINE.set((ends, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining_seconds() -> float | None:
    """Seconds left before the run's deadline (None: no deadline set)."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline[0] - time.monotonic()


_RETRIES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "commissioning_solver_retries", default=None
)


@contextlib.contextmanager
def retry_log() -> Iterator[list[str]]:
    """Collect, for the run's summary, every solve that needed more than its first attempt or
    kept its warm start: one line each, naming the attempts and their outcomes. A confirmed
    infeasible verdict is routine (the fairness search asks for levels that cannot be reached)
    and is not logged."""
    log: list[str] = []
    token = _RETRIES.set(log)
    try:
        yield log
    finally:
        _RETRIES.reset(token)


def current_retry_log() -> list[str] | None:
    """The open retry log (None outside `retry_log`)."""
    return _RETRIES.get()


def run_limit() -> float | None:
    """The run's whole time limit in seconds (None: no deadline set)."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline[1]
