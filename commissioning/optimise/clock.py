"""Where a solve's time goes, step by step, so timing.json accounts for all of it.

A run opens one `run_clock`; each step of the solve (`step`) adds its wall-clock seconds to it.
A step inside another step counts as the outer step's time, so the steps add up to the run's
wall time. Two totals cut across the steps: `inside_highs` (time inside HiGHS's own `run`) and
`building_models` (building PuLP models and handing them to HiGHS). Outside a run clock a step
or total costs nothing and records nothing (the analysis modules re-solve without one).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

__all__ = [
    "MODEL",
    "SOLVER",
    "RunClock",
    "building_models",
    "builds_a_model",
    "current",
    "inside_highs",
    "run_clock",
    "step",
    "watch_steps",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

SOLVER = "inside HiGHS"
MODEL = "building models"
_TOTALS = (SOLVER, MODEL)


@dataclass
class RunClock:
    """Seconds per step in the order first reached, per cross-cutting total, and each total's
    share within each step."""

    steps: dict[str, float] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)
    by_step: dict[str, dict[str, float]] = field(default_factory=dict)

    def copy(self) -> RunClock:
        return RunClock(
            dict(self.steps),
            dict(self.totals),
            {total: dict(shares) for total, shares in self.by_step.items()},
        )


_CLOCK: contextvars.ContextVar[RunClock | None] = contextvars.ContextVar(
    "commissioning_run_clock", default=None
)
# The step being timed (None: none), and the totals being timed: a step inside a step is the
# outer step's time, and a total inside itself (a model built while building one) counts once.
_STEP: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "commissioning_clock_step", default=None
)
_OPEN_TOTALS: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "commissioning_clock_totals", default=frozenset()
)
# Told the name of each step as it begins (the API's worker records a run's stage from it).
_WATCHER: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "commissioning_clock_watcher", default=None
)


@contextlib.contextmanager
def run_clock() -> Iterator[RunClock]:
    """The seconds of everything timed inside the block."""
    clock = RunClock()
    token = _CLOCK.set(clock)
    try:
        yield clock
    finally:
        _CLOCK.reset(token)


def step(name: str) -> contextlib.AbstractContextManager[None]:
    """Add the block's wall-clock seconds to step `name` (or to the total `name`, for SOLVER
    and MODEL) in the run's clock, if one is open."""
    return _total(name) if name in _TOTALS else _step(name)


@contextlib.contextmanager
def watch_steps(watcher: Callable[[str], None]) -> Iterator[None]:
    """Call `watcher(name)` as each step of a run clock opened inside the block begins (not
    steps inside steps): progress for a caller, without the solve knowing who is watching."""
    token = _WATCHER.set(watcher)
    try:
        yield
    finally:
        _WATCHER.reset(token)


@contextlib.contextmanager
def _step(name: str) -> Iterator[None]:
    clock = _CLOCK.get()
    if clock is None or _STEP.get() is not None:
        yield
        return
    watcher = _WATCHER.get()
    if watcher is not None:
        watcher(name)
    token = _STEP.set(name)
    started = time.perf_counter()
    try:
        yield
    finally:
        clock.steps[name] = clock.steps.get(name, 0.0) + time.perf_counter() - started
        _STEP.reset(token)


@contextlib.contextmanager
def _total(name: str) -> Iterator[None]:
    clock = _CLOCK.get()
    open_totals = _OPEN_TOTALS.get()
    if clock is None or name in open_totals:
        yield
        return
    token = _OPEN_TOTALS.set(open_totals | {name})
    started = time.perf_counter()
    try:
        yield
    finally:
        spent = time.perf_counter() - started
        clock.totals[name] = clock.totals.get(name, 0.0) + spent
        outer = _STEP.get()
        if outer is not None:
            shares = clock.by_step.setdefault(name, {})
            shares[outer] = shares.get(outer, 0.0) + spent
        _OPEN_TOTALS.reset(token)


def current() -> RunClock:
    """The open run clock's figures so far (empty outside one)."""
    clock = _CLOCK.get()
    return RunClock() if clock is None else clock.copy()


def inside_highs() -> contextlib.AbstractContextManager[None]:
    return step(SOLVER)


def building_models() -> contextlib.AbstractContextManager[None]:
    return step(MODEL)


def builds_a_model(build: Callable[_P, _R]) -> Callable[_P, _R]:
    """Count a function's time as building models."""

    @functools.wraps(build)
    def timed(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with building_models():
            return build(*args, **kwargs)

    return timed
