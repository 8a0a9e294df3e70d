"""Sweeps: solve a scenario at many values of one figure (or a grid of two) and score each.

An *axis* names a figure by its override path (`pots.mopac_direct`, `services.idva.unit_cost`,
`benchmarks.idva.units`, `areas.*.female_16_plus`; see commissioning.analysis.overrides) and
runs from one value to another in a number of evenly spaced steps, both ends included. The
ends are either both percentages of the scenario's own figure (`50%` … `130%`: every figure
the path names is multiplied by the exact factor, money rounded half up to whole pence) or
both absolute values (`£3m` … `£6m`, `380000000p`, `4.5`: the figure is set to the value,
money interpolated exactly and rounded half up to whole pence). Two axes make a grid, the
first axis outermost.

Every step is a full solve by the engine (`commissioning.optimise.solve`), never an estimate,
scored by `commissioning.analysis.scorecard`. Steps run in `jobs` processes at once: this one
and a pool of jobs − 1 workers started with "spawn" (forking a process whose polars or HiGHS
threads are live can deadlock). Each process imports the solver stack once, solves many steps
in-process and runs the grant and bid rounds once for all of them when the swept figure is
not one they read (commissioning.analysis.sweep_reuse). Results are kept in step order
whatever order they finish in, so the output is the same on every run.

A step that cannot be solved (the pot no longer covers its fixed commitments, say) is a row
with its status and reason and no scorecard: the curve shows where the scenario stops.

The exact knee points of a money axis are found by commissioning.analysis.knee.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from commissioning.analysis.overrides import (
    OverrideError,
    parse_value,
    scale_path,
    set_path,
)

if TYPE_CHECKING:
    from commissioning.models import Scenario

MAX_STEPS = 1000  # per axis, and for a whole grid: a sweep is a curve, not a search
# Reason codes (commissioning.optimise.reasons) of a cell below benchmark that more money in a
# pot that may fund it would lift; every other code names a rule that holds the cell.
SHORT_OF_MONEY = ("money", "ring_fence")

Progress = Callable[[int, int], None]  # (steps done, steps in all)


class SweepError(ValueError):
    """A sweep that cannot be set up; the message names the option or path at fault."""


# ---------------------------------------------------------------------------- axes


@dataclass(frozen=True)
class Axis:
    """One figure swept from `start` to `stop` in `steps` evenly spaced values.

    `relative`: the ends are factors of the scenario's own figure (Fractions); otherwise they
    are values of the figure itself (pence as int, or a Decimal/float for rates and counts)."""

    path: str
    start: Any
    stop: Any
    steps: int
    relative: bool
    text: tuple[str, str] = ("", "")  # the ends as given, for the record

    def points(self) -> list[Any]:
        """The step values in order: exact fractions of the base, or the figure's values."""
        if self.steps == 1:
            return [self.start]
        start, stop = Fraction(self.start), Fraction(self.stop)
        span = stop - start
        exact = [start + span * i / (self.steps - 1) for i in range(self.steps)]
        if self.relative:
            return exact
        return [_like(self.start, self.path, x) for x in exact]

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "from": self.text[0],
            "to": self.text[1],
            "steps": self.steps,
            "values": "percent of the scenario's figure" if self.relative else "absolute",
        }


def parse_axis(path: str, start: str, stop: str, steps: int | str) -> Axis:
    """An axis from the command line's words; SweepError names what is wrong."""
    path = path.strip()
    if not path:
        raise SweepError("--vary: give the path of a figure, e.g. pots.mopac_direct")
    if path.split(".")[0] == "policy":
        raise SweepError(f"{path}: policy settings cannot be swept; sweep a figure instead")
    if path.endswith(".scale"):
        raise SweepError(f"{path}: sweep the figure itself ({path[:-6]}); use % for factors")
    try:
        count = int(steps)
    except ValueError:
        raise SweepError(f"{path}: steps {steps!r} is not a whole number") from None
    if not 1 <= count <= MAX_STEPS:
        raise SweepError(f"{path}: steps must be between 1 and {MAX_STEPS}, got {count}")
    ends = (start.strip(), stop.strip())
    relative = [e.endswith("%") for e in ends]
    if relative[0] != relative[1]:
        raise SweepError(
            f"{path}: --from {start!r} and --to {stop!r} must both be percentages of the "
            "scenario's figure or both absolute values"
        )
    try:
        if relative[0]:
            low, high = (_percent(e) for e in ends)
        else:
            low, high = (parse_value(path, e) for e in ends)
    except ValueError as exc:
        raise SweepError(f"{path}: {exc}") from None
    return Axis(path, low, high, count, relative[0], ends)


def parse_axis_spec(spec: str) -> Axis:
    """`PATH:FROM:TO:STEPS`, e.g. `pots.mopac_direct:50%:130%:17` (the grid form of --vary)."""
    parts = spec.split(":")
    if len(parts) != 4:
        raise SweepError(
            f"--vary {spec!r}: write PATH:FROM:TO:STEPS, e.g. pots.mopac_direct:50%:130%:17 "
            "(or one --vary PATH with --from, --to and --steps)"
        )
    return parse_axis(*parts)


def _percent(text: str) -> Fraction:
    try:
        value = Fraction(Decimal(text[:-1].strip())) / 100
    except ArithmeticError:
        raise ValueError(f"{text!r} is not a percentage") from None
    if value < 0:
        raise ValueError(f"{text!r}: a percentage of the scenario's figure must not be negative")
    return value


def _like(example: Any, path: str, value: Fraction) -> Any:
    """An interpolated absolute value in the figure's own kind."""
    if isinstance(example, int):
        return _half_up(value)  # pence
    if isinstance(example, Decimal):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP).normalize()
    return float(value)


def _half_up(value: Fraction) -> int:
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def apply_point(scenario: Scenario, axis: Axis, point: Any) -> Scenario:
    """The scenario with the axis's figure at this step's value."""
    if axis.relative:
        return scale_path(scenario, axis.path, Fraction(point))
    return set_path(scenario, axis.path, point)


def grid(axes: Sequence[Axis]) -> list[tuple[Any, ...]]:
    """Every combination of the axes' points, the first axis outermost (row-major)."""
    combos: list[tuple[Any, ...]] = [()]
    for axis in axes:
        combos = [(*c, p) for c in combos for p in axis.points()]
    return combos


def check_axes(scenario: Scenario, axes: Sequence[Axis]) -> None:
    """Fail before any solve if a path is unknown or an end breaks a rule (OverrideError)."""
    if not 1 <= len(axes) <= 2:
        raise SweepError(f"--vary: give one figure, or two for a grid (got {len(axes)})")
    if len({a.path for a in axes}) != len(axes):
        raise SweepError("--vary: the two figures of a grid must be different paths")
    total = 1
    for axis in axes:
        total *= axis.steps
        apply_point(scenario, axis, axis.start)  # raises OverrideError naming the path
    if total > MAX_STEPS:
        raise SweepError(f"--vary: a grid of {total} steps is more than {MAX_STEPS}")


# ---------------------------------------------------------------------------- one step


@dataclass(frozen=True)
class StepResult:
    """One solved step: its status, the figures it set, and the scorecard (JSON) if solved.

    `short_of_money`: the (year, area code, service) of every benchmarked cell left below
    benchmark for want of money (reason code money or ring_fence); None if not solved."""

    index: int
    point: tuple[Any, ...]
    status: str
    reason: str
    figures: dict[str, Any]
    scorecard: dict[str, Any] | None
    short_of_money: tuple[tuple[str, str, str], ...] | None

    @property
    def cells_short_of_money(self) -> int | None:
        return None if self.short_of_money is None else len(self.short_of_money)

    @property
    def all_reachable_at_benchmark(self) -> bool:
        """No benchmarked cell is below benchmark for want of money (a solved step only)."""
        return self.scorecard is not None and not self.short_of_money

    def at_benchmark_where(self, reaches: Callable[[str, str], bool]) -> bool:
        """As above, counting only the cells (area, service) `reaches` names."""
        return self.scorecard is not None and not any(
            reaches(area, service) for _, area, service in self.short_of_money or ()
        )


def solve_step(
    scenario: Scenario, axes: Sequence[Axis], point: tuple[Any, ...], index: int = 0
) -> StepResult:
    """Solve the scenario at one grid point, in this process."""
    from commissioning.analysis.scorecard import scorecard
    from commissioning.errors import InfeasibleScenario, ScenarioError, SolverFailed
    from commissioning.optimise import solve

    changed = scenario
    try:
        for axis, value in zip(axes, point, strict=True):
            changed = apply_point(changed, axis, value)
    except OverrideError as exc:
        return StepResult(index, point, "invalid", str(exc), {}, None, None)
    figures = {k: v for axis in axes for k, v in figures_at(changed, axis.path).items()}
    try:
        run = solve(changed)
    except InfeasibleScenario as exc:
        lines = [line.strip().removeprefix("- ") for line in str(exc).splitlines()]
        reason = "; ".join(line.rstrip(":") for line in lines if line)
        return StepResult(index, point, "infeasible", reason, figures, None, None)
    except (SolverFailed, ScenarioError) as exc:
        return StepResult(index, point, "failed", str(exc), figures, None, None)
    short = tuple(
        (r["year"], r["area_code"], r["service"])
        for r in run.table("explanations").iter_rows(named=True)
        if r["reason_code"] in SHORT_OF_MONEY
    )
    status = str(run.summary.get("status", "optimal"))
    return StepResult(index, point, status, "", figures, scorecard(run).to_json(), short)


def is_money_path(path: str) -> bool:
    """Whether a swept path (or a figure it names) is money in pence: a pot or a unit cost."""
    return path.startswith("pots.") or path.endswith(".unit_cost")


def figures_at(scenario: Scenario, path: str) -> dict[str, Any]:
    """The figures a path names in this scenario, as CSV-ready exact values (pence as int,
    rates as decimal strings); an `*` area path gives the total over the areas it names."""
    parts = path.split(".")
    section, key = parts[0], parts[1] if len(parts) > 1 else ""
    if section == "pots":
        pot = next(p for p in scenario.pots if p.id == key)
        amounts = {a.year: a.amount_pence for a in pot.amounts}
        field = ".".join(parts[2:])
        years = [field[len("amount[") : -1].strip()] if "[" in field else scenario.financial_years
        return {f"pots.{key}.amount[{y}]": amounts.get(y, 0) for y in years}
    if section == "services":
        service = next(s for s in scenario.services if s.id == key)
        if parts[2] == "unit_cost":
            return {path: service.unit_cost_pence}
        return {path: str(service.granularity)}
    if section == "benchmarks":
        benchmark = next(b for b in scenario.benchmarks if b.service == key)
        return {path: str(benchmark.units)}
    if section == "areas":
        areas = [a for a in scenario.areas if key in ("*", a.code)]
        total = Fraction(0)
        for area in areas:
            total += Fraction(area.indicators[".".join(parts[2:])])
        label = path if key != "*" else f"{path} (total)"
        return {label: float(total) if total.denominator != 1 else int(total)}
    return {}


# ---------------------------------------------------------------------------- the pool

_WORKER_REUSE: list[ExitStack] = []  # held open for a worker's life: steps share their rounds


def _start_worker() -> None:
    # Import the solver stack once per worker, while the parent is still setting up.
    import commissioning.analysis.scorecard
    import commissioning.optimise  # noqa: F401
    from commissioning.analysis.sweep_reuse import reusing_rounds

    if not _WORKER_REUSE:
        stack = ExitStack()
        stack.enter_context(reusing_rounds())
        _WORKER_REUSE.append(stack)


def _noop() -> None:
    pass


@dataclass
class Solver:
    """Solves steps in `jobs` processes: this one and a warm pool of jobs − 1 spawned workers.

    The workers start as soon as the Solver is made, so they import the solver stack while
    the caller reads its scenario. This process solves steps too, taking them from the end of
    the queue while the workers take them from the front, so no core waits on a slow start.
    Use as a context manager; `map` keeps results in the order of the points given."""

    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    _pool: ProcessPoolExecutor | None = None
    _reuse: ExitStack = field(default_factory=ExitStack)
    _reusing: bool = False

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise SweepError(f"--jobs must be at least 1, got {self.jobs}")
        if self.jobs > 1:
            context = multiprocessing.get_context("spawn")
            workers = self.jobs - 1
            self._pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)
            # A pool started with spawn makes workers only as tasks arrive: one empty task per
            # worker starts them all now.
            for _ in range(workers):
                self._pool.submit(_noop)

    def __enter__(self) -> Solver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._reuse.close()
        self._reusing = False

    def _solve_here(
        self, scenario: Scenario, axes: Sequence[Axis], point: tuple[Any, ...], index: int
    ) -> StepResult:
        if not self._reusing:
            from commissioning.analysis.sweep_reuse import reusing_rounds

            self._reuse.enter_context(reusing_rounds())
            self._reusing = True
        return solve_step(scenario, axes, point, index)

    def map(
        self,
        scenario: Scenario,
        axes: Sequence[Axis],
        points: Sequence[tuple[Any, ...]],
        on_done: Callable[[StepResult], None] | None = None,
        first_index: int = 0,
    ) -> list[StepResult]:
        indexes = list(range(first_index, first_index + len(points)))
        results: dict[int, StepResult] = {}

        def report(future: Future[StepResult]) -> None:
            if on_done is not None and not future.cancelled() and future.exception() is None:
                on_done(future.result())

        futures: list[Future[StepResult]] = []
        if self._pool is not None:
            # The scenario travels with each task: pickling London takes about a millisecond.
            futures = [
                self._pool.submit(solve_step, scenario, axes, point, i)
                for i, point in zip(indexes, points, strict=True)
            ]
            for future in futures:
                future.add_done_callback(report)  # progress only: results are read below
        # Take steps from the back while the pool has not started them (cancel succeeds only
        # for a step still waiting in the queue).
        for k in reversed(range(len(points))):
            if futures and not futures[k].cancel():
                break
            results[indexes[k]] = self._solve_here(scenario, axes, points[k], indexes[k])
            if on_done is not None:
                on_done(results[indexes[k]])
        for k, future in enumerate(futures):
            if not future.cancelled():
                results[indexes[k]] = future.result()  # waits; re-raises a worker's crash
        return [results[i] for i in indexes]


# ---------------------------------------------------------------------------- the sweep


@dataclass(frozen=True)
class Sweep:
    scenario_name: str
    scenario_hash: str
    axes: tuple[Axis, ...]
    base: dict[str, Any]  # the figures each path names in the unchanged scenario
    steps: tuple[StepResult, ...]
    knees: dict[str, Any] | None


def run_sweep(
    scenario: Scenario,
    axes: Sequence[Axis],
    *,
    solver: Solver | None = None,
    on_progress: Progress | None = None,
    with_knee: bool = True,
) -> Sweep:
    """Solve every step (and, for one money axis, find the knee points exactly)."""
    check_axes(scenario, axes)
    points = grid(axes)
    own = solver is None
    pool = Solver() if solver is None else solver
    done = [0]
    total = [len(points)]
    lock = threading.Lock()  # steps finish in this thread and in the pool's result thread

    def tick(_: StepResult) -> None:
        with lock:
            done[0] += 1
            if on_progress is not None:
                on_progress(done[0], total[0])

    try:
        steps = pool.map(scenario, axes, points, tick)
        return sweep_of_steps(scenario, axes, steps, pool, tick, total, with_knee=with_knee)
    finally:
        if own:
            pool.close()


def sweep_of_steps(
    scenario: Scenario,
    axes: Sequence[Axis],
    steps: Sequence[StepResult],
    solver: Solver,
    on_done: Callable[[StepResult], None] | None = None,
    total: list[int] | None = None,
    *,
    with_knee: bool = True,
) -> Sweep:
    """The sweep made of its solved steps (in step order), with its knees found by `solver`
    (more solves) when they apply: the last part of `run_sweep`, also run by the distributed
    queue once every step has been solved as a job of its own (commissioning.queue)."""
    from commissioning.analysis.knee import find_knees, knee_applies

    knees = None
    if with_knee and knee_applies(axes):
        knees = find_knees(scenario, axes[0], steps, solver, on_done, total)
    base = {k: v for axis in axes for k, v in figures_at(scenario, axis.path).items()}
    return Sweep(scenario.name, scenario.content_hash(), tuple(axes), base, tuple(steps), knees)


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """A scorecard as (column, value) pairs: nested fields joined with '.', list items named by
    their service, pot, year or area (a list of names becomes one '; '-joined cell)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            yield prefix, "; ".join(str(v) for v in value)
            return
        for i, item in enumerate(value):
            yield from flatten(item, f"{prefix}.{_item_name(item, i)}")
    else:
        yield prefix, value


def _item_name(item: Any, index: int) -> str:
    if not isinstance(item, dict):
        return str(index)
    keys = [str(item[k]) for k in ("service", "pot", "area_code", "year") if k in item]
    return ".".join(keys) if keys else str(index)
