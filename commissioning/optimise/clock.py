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
from typing import ParamSpec, TypeVar

__all__ = [
    "MODEL",
    "SOLVER",
    "building_models",
    "builds_a_model",
    "by_step",
    "current",
    "inside_highs",
    "run_clock",
    "step",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

SOLVER = "inside HiGHS"
MODEL = "building models"

_CLOCK: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "commissioning_run_clock", default=None
)
# Model building can call into HiGHS (a PuLP model is passed, then run) and steps nest within
# steps' totals; each name is counted once however deeply it nests.
_OPEN: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "commissioning_open_clocks", default=frozenset()
)

# The step a cross-cutting total is spent in, so each step's share can be told apart.
_OUTER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "commissioning_outer_step", default=None
)


@contextlib.contextmanager
def run_clock() -> Iterator[dict[str, float]]:
    """Seconds per step (and the cross-cutting totals) of everything timed inside the block."""
    seconds: dict[str, float] = {}
    token = _CLOCK.set(seconds)
    try:
        yield seconds
    finally:
        _CLOCK.reset(token)


@contextlib.contextmanager
def step(name: str) -> Iterator[None]:
    """Add the block's wall-clock seconds to `name` in the run's clock (if one is open)."""
    seconds = _CLOCK.get()
    open_names = _OPEN.get()
    cross_cutting = name in (SOLVER, MODEL)
    # A step inside another step is the outer step's time (the steps add up to the wall time);
    # the cross-cutting totals count wherever they are, once.
    if (
        seconds is None
        or name in open_names
        or (not cross_cutting and open_names - {SOLVER, MODEL})
    ):
        yield
        return
    token = _OPEN.set(open_names | {name})
    outer = _OUTER.get()
    outer_token = None if cross_cutting else _OUTER.set(name)
    started = time.perf_counter()
    try:
        yield
    finally:
        spent = time.perf_counter() - started
        seconds[name] = seconds.get(name, 0.0) + spent
        if cross_cutting and outer is not None:
            key = by_step(name, outer)
            seconds[key] = seconds.get(key, 0.0) + spent
        if outer_token is not None:
            _OUTER.reset(outer_token)
        _OPEN.reset(token)


def by_step(total: str, outer: str) -> str:
    """The key under which a cross-cutting total's share within one step is kept."""
    return f"{total} | {outer}"


def current() -> dict[str, float]:
    """The open run clock's figures so far (empty outside one)."""
    return dict(_CLOCK.get() or {})


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
