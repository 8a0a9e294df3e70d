"""A feasibility question the fairness rounds ask, and the count constraints they keep.

Shared by the rounds (`leximin`) and the models that answer them (`fairness_models`)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

Key = tuple[int, str]


@dataclass(frozen=True)
class Count:
    """At least `at_least` of these gates are on: the most cells that can rise above `level`."""

    gates: tuple[int, ...]
    at_least: int
    level: Fraction


@dataclass
class Question:
    """One feasibility question: every cell's first step (by position), the steps and gates of
    gated cells, which gates are shut or forced on, and an optional objective (maximise the
    gates in `count`, or a class's spare money)."""

    keys: list[Key]
    first: np.ndarray
    steps: dict[Key, list[int]]  # gated cells only
    gates: dict[Key, list[int]]  # gated cells only
    shut: set[int]
    forced: set[int]
    parents: dict[int, int | None]
    counts: list[Count]
    count: tuple[int, ...] = ()
    spare: tuple[int, str] | None = None  # (class index, year)
    impossible: bool = False  # an ungated cell asked beyond its top or cap
