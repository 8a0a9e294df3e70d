"""Seeded Monte Carlo over stated ranges: how sure is each borough of reaching its benchmark?

`--vary services.*.unit_cost=±10%` makes every service's unit cost uncertain within ±10 %,
each service drawn on its own. A draw multiplies every varied figure by its own factor, solves
the changed scenario with the engine's own `solve`, and keeps per year × borough × service the
units, the money and whether the cell ended below benchmark. The report gives the probability
of ending below benchmark and the 5–95 % range of units and £; with a budget pot named, also
the smallest budget of that pot that keeps every borough at benchmark in 95 % of draws.

Reproducible byte for byte: every factor is drawn up front, in the parent, from
`numpy.random.Generator(PCG64(seed))` in a fixed order (draw, then `--vary` in the order given,
then the items in scenario order), as a whole number of millionths of the half-width, so a
factor is an exact decimal. Workers only solve; results are kept in draw order, so the number
of worker processes cannot change a byte. Percentiles are nearest-rank (an actual draw's value,
never an interpolation), so pence stay whole pence.
"""

from __future__ import annotations

import math
import multiprocessing
import re
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl

from commissioning.analysis.overrides import OverrideError, apply_overrides, set_path
from commissioning.analysis.sweep import SHORT_OF_MONEY
from commissioning.errors import InfeasibleScenario, SolverFailed
from commissioning.models import Scenario
from commissioning.money import pounds

# Factors are drawn as k / STEPS of the half-width, k uniform on −STEPS…STEPS: fine enough to be
# uniform for any budget question, and exact as decimals.
STEPS = 1_000_000
BUDGET_PERCENTILE = 95
RANGE_PERCENTILES = (5, 50, 95)
BELOW = 1e-9  # shortfall in units above this is below benchmark (the scorecard's tolerance)
# The knee search doubles the pot up to this many times its stated budget before giving up.
KNEE_CEILING_FACTOR = 64

_COLLECTION_KEYS = {
    "services": "id",
    "pots": "id",
    "benchmarks": "service",
    "areas": "code",
    "ring_fences": "id",
    "commitments": "id",
}
_RANGE = re.compile(r"^(?P<path>[^=]+)=\s*(?:±|\+-|\+/-)\s*(?P<width>[0-9.]+)\s*%\s*$")

StepCallback = Callable[[int, int], None]


class UncertaintyError(ValueError):
    """Settings that cannot be used; `field` names the option at fault."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Range:
    """`path` varies uniformly within ± `half_width` (a fraction) of its value."""

    path: str
    half_width: Decimal

    @property
    def text(self) -> str:
        return f"{self.path}=±{_plain(self.half_width * 100)}%"


@dataclass(frozen=True)
class Settings:
    draws: int
    seed: int
    ranges: tuple[Range, ...]
    budget_pot: str | None = None


@dataclass(frozen=True)
class DrawOutcome:
    """What one draw's solve left in each cell (in the cell order of `Cells`)."""

    total_units: list[float]
    target_units: list[float]
    cost_pence: list[int]
    below: list[bool]
    knee_pence: int | None  # smallest budget of the budget pot with every cell at benchmark


@dataclass(frozen=True)
class UncertaintyResult:
    settings: Settings
    items: list[str]  # the concrete paths drawn, one column of `factors` each
    factors: list[list[Decimal]]  # per draw, per item
    cells: pl.DataFrame  # year, area_code, area_name, service (the row order of every draw)
    outcomes: list[DrawOutcome]

    def table(self) -> pl.DataFrame:
        """uncertainty.csv: per year × borough × service, the chance of ending below benchmark
        and the 5th, 50th and 95th percentile of units and £ over the draws."""
        n = len(self.outcomes)
        columns: dict[str, list[Any]] = {
            "draws": [],
            "draws_below": [],
            "probability_below": [],
        }
        for p in (5, 95):
            columns[f"target_units_p{p:02d}"] = []
        for measure in ("total_units", "cost_pence"):
            for p in RANGE_PERCENTILES:
                columns[f"{measure}_p{p:02d}"] = []
        for i in range(self.cells.height):
            below = sum(o.below[i] for o in self.outcomes)
            columns["draws"].append(n)
            columns["draws_below"].append(below)
            columns["probability_below"].append(round(below / n, 6))
            targets = sorted(o.target_units[i] for o in self.outcomes)
            for p in (5, 95):
                columns[f"target_units_p{p:02d}"].append(nearest_rank(targets, p))
            units = sorted(o.total_units[i] for o in self.outcomes)
            costs = sorted(o.cost_pence[i] for o in self.outcomes)
            for p in RANGE_PERCENTILES:
                columns[f"total_units_p{p:02d}"].append(nearest_rank(units, p))
                columns[f"cost_pence_p{p:02d}"].append(nearest_rank(costs, p))
        schema = {
            name: pl.Float64 if "units" in name or name == "probability_below" else pl.Int64
            for name in columns
        }
        return pl.concat([self.cells, pl.DataFrame(columns, schema=schema)], how="horizontal")

    def draws_table(self) -> pl.DataFrame:
        """uncertainty_draws.csv: one row per draw, with its cells below benchmark and knee."""
        rows = []
        for index, outcome in enumerate(self.outcomes):
            below = [i for i, b in enumerate(outcome.below) if b]
            areas = self.cells["area_code"]
            rows.append(
                {
                    "draw": index + 1,
                    "cells_below": len(below),
                    "boroughs_below": len({areas[i] for i in below}),
                    "allocated_pence": sum(outcome.cost_pence),
                    "budget_pot_knee_pence": outcome.knee_pence,
                }
            )
        schema = {
            "draw": pl.Int64,
            "cells_below": pl.Int64,
            "boroughs_below": pl.Int64,
            "allocated_pence": pl.Int64,
            "budget_pot_knee_pence": pl.Int64,
        }
        return pl.DataFrame(rows, schema=schema)

    def factors_table(self) -> pl.DataFrame:
        """uncertainty_factors.csv: every factor drawn (draw × varied figure), as exact decimals."""
        return pl.DataFrame(
            {
                "draw": [d + 1 for d in range(len(self.factors)) for _ in self.items],
                "path": [item for _ in self.factors for item in self.items],
                "factor": [_plain(f) for row in self.factors for f in row],
            },
            schema={"draw": pl.Int64, "path": pl.String, "factor": pl.String},
        )

    def budget(self) -> dict[str, Any] | None:
        """The budget that keeps every borough at benchmark in 95 % of draws: the nearest-rank
        95th percentile of the draws' knees (a draw whose knee was not found counts as above
        every budget, so too many of them leave no answer)."""
        pot = self.settings.budget_pot
        if pot is None:
            return None
        knees = [o.knee_pence for o in self.outcomes]
        found = sorted(k for k in knees if k is not None)
        rank = math.ceil(BUDGET_PERCENTILE * len(knees) / 100)
        pence = found[rank - 1] if rank <= len(found) else None
        return {
            "pot": pot,
            "percentile": BUDGET_PERCENTILE,
            "amount_pence": pence,
            "amount": None if pence is None else pounds(pence),
            "meaning": (
                f"with {pot} at this amount every year, every borough is at benchmark in at "
                f"least {BUDGET_PERCENTILE}% of draws (smallest such amount)"
            ),
            "draws_with_knee": len(found),
            "draws_without_knee": len(knees) - len(found),
            "knee_p05_pence": nearest_rank(found, 5) if found else None,
            "knee_p50_pence": nearest_rank(found, 50) if found else None,
        }

    def summary(self) -> dict[str, Any]:
        table = self.table()
        return {
            "analysis": "uncertainty",
            "draws": self.settings.draws,
            "seed": self.settings.seed,
            "vary": [r.text for r in self.settings.ranges],
            "items_drawn": len(self.items),
            "distribution": (
                f"uniform within ± the stated range, each item on its own; factor = 1 + width "
                f"× k/{STEPS}, k uniform on −{STEPS}…{STEPS}, drawn with numpy PCG64(seed) in "
                "draw, range, item order"
            ),
            "percentiles": "nearest rank (the value of an actual draw)",
            "cells": table.height,
            "cells_ever_below": int((table["draws_below"] > 0).sum()),
            "cells_below_in_half_the_draws": int((table["probability_below"] >= 0.5).sum()),
            "budget": self.budget(),
        }

    def write_into(self, folder: Path) -> None:
        """The files, into a folder that exists (the API's run folder being staged)."""
        from commissioning.outputs import csv_text, json_text

        tables = {
            "uncertainty": self.table(),
            "uncertainty_draws": self.draws_table(),
            "uncertainty_factors": self.factors_table(),
        }
        for name, frame in tables.items():
            (folder / f"{name}.csv").write_text(csv_text(frame), encoding="utf-8")
        (folder / "uncertainty.json").write_text(json_text(self.summary()), encoding="utf-8")

    def write(self, out_dir: str | Path) -> Path:
        """uncertainty.csv, uncertainty_draws.csv, uncertainty_factors.csv and
        uncertainty.json, all or nothing: `out_dir` is new, empty or a previous run folder."""
        from commissioning.safe_output import replace_run_folder

        return replace_run_folder(out_dir, self.write_into)


def nearest_rank(ordered: Sequence[Any], percent: int) -> Any:
    """The nearest-rank percentile of sorted values: the ⌈p/100 × n⌉-th smallest."""
    rank = max(1, math.ceil(percent * len(ordered) / 100))
    return ordered[rank - 1]


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- settings -------------------------------------------------------------------------------


def parse_range(text: str) -> Range:
    """`services.*.unit_cost=±10%` (also `+-10%`) → a Range; the half-width must be under 100 %."""
    match = _RANGE.match(text.strip())
    if match is None:
        raise UncertaintyError(
            "--vary", f"{text!r} is not PATH=±N% (e.g. services.*.unit_cost=±10%)"
        )
    try:
        width = Decimal(match.group("width")) / 100
    except InvalidOperation:
        raise UncertaintyError(
            "--vary", f"{text!r}: {match.group('width')!r} is not a number"
        ) from None
    if not 0 < width < 1:
        raise UncertaintyError("--vary", f"{text!r}: the range must be above 0% and below 100%")
    return Range(match.group("path").strip(), width)


def expand(scenario: Scenario, path: str) -> list[str]:
    """The concrete paths a range names: `services.*.unit_cost` is one path per service, each
    drawn on its own; a path without `*` is itself."""
    parts = path.split(".")
    if len(parts) < 3 or parts[1] != "*":
        return [path]
    key = _COLLECTION_KEYS.get(parts[0])
    if key is None:
        raise OverrideError(path, f"* stands for an id in {', '.join(_COLLECTION_KEYS)} only")
    ids = [str(getattr(item, key)) for item in getattr(scenario, parts[0])]
    return [".".join([parts[0], i, *parts[2:]]) for i in ids]


def check_settings(scenario: Scenario, settings: Settings) -> list[str]:
    """The concrete paths to draw, after checking every setting against the scenario (an
    unknown path or pot is an error naming it before any solve starts)."""
    if not 1 <= settings.draws <= 100_000:
        raise UncertaintyError("--draws", f"must be between 1 and 100,000, got {settings.draws}")
    if not 0 <= settings.seed < 2**63:
        raise UncertaintyError("--seed", f"must be a whole number from 0, got {settings.seed}")
    if not settings.ranges:
        raise UncertaintyError("--vary", "name at least one range, e.g. services.*.unit_cost=±10%")
    items = []
    for r in settings.ranges:
        expanded = expand(scenario, r.path)
        try:  # an unknown path fails here, named as the user wrote it
            apply_overrides(scenario, [(f"{item}.scale", "1") for item in expanded])
        except OverrideError as exc:
            raise OverrideError(r.path, exc.reason) from None
        items += expanded
    if settings.budget_pot is not None:
        pots = [p.id for p in scenario.pots]
        if settings.budget_pot not in pots:
            raise UncertaintyError(
                "--budget-pot", f"unknown pot {settings.budget_pot!r} (known: {', '.join(pots)})"
            )
    return items


def draw_factors(settings: Settings, items_per_range: list[int]) -> list[list[Decimal]]:
    """Every factor of every draw, in draw order then range then item (the seed fixes them)."""
    import numpy as np

    rng = np.random.Generator(np.random.PCG64(settings.seed))
    width = len(items_per_range) and sum(items_per_range)
    ks = rng.integers(-STEPS, STEPS, size=(settings.draws, width), endpoint=True)
    widths = [
        r.half_width
        for r, n in zip(settings.ranges, items_per_range, strict=True)
        for _ in range(n)
    ]
    return [
        [1 + w * Decimal(int(k)) / STEPS for w, k in zip(widths, row, strict=True)] for row in ks
    ]


# -- one draw -------------------------------------------------------------------------------

_base: Scenario | None = None
_budget_pot: str | None = None


def _start_worker(scenario: Scenario, budget_pot: str | None) -> None:
    global _base, _budget_pot
    _base, _budget_pot = scenario, budget_pot


def _solve_draw(index: int, items: list[str], factors: list[Decimal]) -> tuple[int, Any]:
    assert _base is not None
    scenario = apply_overrides(
        _base, [(f"{item}.scale", _plain(f)) for item, f in zip(items, factors, strict=True)]
    )
    try:
        probe = _probe(scenario)
        knee = None if _budget_pot is None else budget_knee(scenario, _budget_pot, probe)
    except (InfeasibleScenario, SolverFailed) as exc:
        return index, f"{type(exc).__name__}: {exc}"
    return index, (probe.cells, probe.outcome(knee))


@dataclass(frozen=True)
class _Probe:
    cells: pl.DataFrame
    total_units: list[float]
    target_units: list[float]
    cost_pence: list[int]
    below: list[bool]
    short_pence_by_year: dict[str, int]  # per year, what the cells below lack (whole granules)
    unspent_pence_by_pot_year: dict[tuple[str, str], int]

    short_of_money: int  # cells below benchmark for want of money (sweep.SHORT_OF_MONEY)

    @property
    def at_benchmark(self) -> bool:
        """Every borough at benchmark as the sweep's knee means it: no cell below for want of
        money (cells a named rule holds cannot be lifted by any budget)."""
        return self.short_of_money == 0

    def outcome(self, knee: int | None) -> DrawOutcome:
        return DrawOutcome(self.total_units, self.target_units, self.cost_pence, self.below, knee)


def _probe(scenario: Scenario) -> _Probe:
    from commissioning.optimise import solve

    run = solve(scenario)
    coverage = (
        run.table("coverage")
        .filter(pl.col("target_units") > 0)
        .sort("year", "area_code", "service")
    )
    below = [s > BELOW for s in coverage["shortfall_units"]]
    granule_cost = {
        s.id: (Fraction(s.unit_cost_pence) * Fraction(s.granularity), Fraction(s.granularity))
        for s in scenario.services
    }
    short: dict[str, int] = {}
    for row, is_below in zip(coverage.iter_rows(named=True), below, strict=True):
        if is_below:
            cost, granularity = granule_cost[row["service"]]
            granules = math.ceil(
                Fraction(row["shortfall_units"]) / granularity - Fraction(1, 10**6)
            )
            short[row["year"]] = short.get(row["year"], 0) + math.ceil(granules * cost)
    unspent = {
        (r["pot"], r["year"]): int(r["unspent_pence"])
        for r in run.table("pots").iter_rows(named=True)
    }
    short_of_money = sum(
        1 for code in run.table("explanations")["reason_code"].to_list() if code in SHORT_OF_MONEY
    )
    return _Probe(
        short_of_money=short_of_money,
        cells=coverage.select("year", "area_code", "area_name", "service"),
        total_units=coverage["total_units"].to_list(),
        target_units=coverage["target_units"].to_list(),
        cost_pence=[int(c) for c in coverage["funded_cost_pence"]],
        below=below,
        short_pence_by_year=short,
        unspent_pence_by_pot_year=unspent,
    )


def _at_amount(scenario: Scenario, pot: str, pence: int) -> _Probe | None:
    """The solve with `pot` at `pence` every year; None when that breaks a rule (e.g. less than
    the pot's fixed commitments), which counts as not at benchmark."""
    try:
        return _probe(set_path(scenario, f"pots.{pot}.amount", pence))
    except (OverrideError, InfeasibleScenario):
        return None


def _spare(scenario: Scenario, pot: str, probe: _Probe) -> int:
    """Money left unspent in the pots that share a service with `pot` (the least over the
    years): with everyone at benchmark, all of it could go from `pot` (the sweep's guess)."""
    every = [s.id for s in scenario.services]

    def funds(p: Any) -> set[str]:  # no list: the pot may fund every service
        return set(every if p.eligible_services is None else p.eligible_services)

    services = {s for p in scenario.pots if p.id == pot for s in funds(p)}
    sharing = {p.id for p in scenario.pots if services & funds(p)}
    spare: dict[str, int] = {}
    for (p, year), pence in probe.unspent_pence_by_pot_year.items():
        if p in sharing:
            spare[year] = spare.get(year, 0) + pence
    return min(spare.values(), default=0)


def budget_knee(scenario: Scenario, pot: str, first: _Probe | None = None) -> int | None:
    """The smallest amount of `pot` (the same every year, in pence) with every benchmarked
    cell at benchmark, or None if even KNEE_CEILING_FACTOR × its budget leaves one below.

    A bisection in pence, exact to the penny: the answer is where a solve puts everyone at
    benchmark and a solve one penny below does not (the knee's definition in
    commissioning.analysis.knee). Until both sides are known, each solve says where to look
    next (less the unspent money of the pots sharing a service when everyone is at benchmark,
    plus the cost of the missing granules when not; the step doubles while the side stays the
    same); a guess that passes is tried at the penny below, then the bracket is halved, so a
    knee costs about log2(bracket) solves. `first`: the solve at the stated budget, if done.
    """
    base = max((a.amount_pence for p in scenario.pots if p.id == pot for a in p.amounts), default=0)
    amount = base
    probe = first if first is not None else _at_amount(scenario, pot, base)
    low: int | None = None  # known to leave a cell below benchmark
    high: int | None = None  # known to put every cell at benchmark
    ceiling = max(base, 100) * KNEE_CEILING_FACTOR
    step = 0  # unbracketed: how far the last move went, doubled while the side stays the same
    first_inside = True
    while True:
        if probe is not None and probe.at_benchmark:
            high = amount
            move = -max(_spare(scenario, pot, probe), 1)
        else:
            low = amount
            lacking = max(probe.short_pence_by_year.values(), default=0) if probe else amount
            move = max(lacking, 1)
        if low is not None and high is not None:
            if high - low <= 1:
                return high
            # A guess that passed is checked at the penny below once; then plain halving.
            guess = high - 1 if first_inside and amount == high else (low + high) // 2
            first_inside = False
        elif high is None:
            if low is not None and low >= ceiling:
                return None
            step = max(move, 2 * step)
            guess = min(amount + step, ceiling)
        else:
            if amount == 0:
                return 0
            step = max(-move, 2 * step)
            guess = max(amount - step, 0)
        amount = guess
        probe = _at_amount(scenario, pot, amount)


# -- the run --------------------------------------------------------------------------------


def run_uncertainty(
    scenario: Scenario,
    settings: Settings,
    jobs: int = 1,
    on_step: StepCallback | None = None,
) -> UncertaintyResult:
    """Solve every draw (in `jobs` worker processes) and keep the outcomes in draw order."""
    items, factors = plan_draws(scenario, settings)
    total = settings.draws
    results: list[Any] = [None] * total
    done = 0
    if on_step is not None:
        on_step(0, total)
    if jobs <= 1:
        _start_worker(scenario, settings.budget_pot)
        for index, row in enumerate(factors):
            results[index] = _solve_draw(index, items, row)[1]
            done += 1
            if on_step is not None:
                on_step(done, total)
    else:
        method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        with ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=_start_worker,
            initargs=(scenario, settings.budget_pot),
        ) as pool:
            # A bounded window of draws in flight: the parent never holds 100,000 futures.
            pending: set[Future[tuple[int, Any]]] = set()
            rows = iter(enumerate(factors))
            for index, row in rows:
                pending.add(pool.submit(_solve_draw, index, items, row))
                if len(pending) >= 4 * jobs:
                    break
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    index, value = future.result()
                    results[index] = value
                    done += 1
                    if on_step is not None:
                        on_step(done, total)
                    following = next(rows, None)
                    if following is not None:
                        pending.add(pool.submit(_solve_draw, following[0], items, following[1]))
    return result_of_draws(settings, items, factors, results)


def plan_draws(scenario: Scenario, settings: Settings) -> tuple[list[str], list[list[Decimal]]]:
    """The items the ranges vary and every draw's factors (seeded: the same every time)."""
    items = check_settings(scenario, settings)
    counts = [len(expand(scenario, r.path)) for r in settings.ranges]
    return items, draw_factors(settings, counts)


def solve_draw(
    scenario: Scenario, budget_pot: str | None, items: list[str], factors: list[Decimal]
) -> Any:
    """One draw solved in this process: (cells, outcome), or the reason it could not be."""
    _start_worker(scenario, budget_pot)
    return _solve_draw(0, items, factors)[1]


def result_of_draws(
    settings: Settings, items: list[str], factors: list[list[Decimal]], results: list[Any]
) -> UncertaintyResult:
    """The uncertainty run made of its solved draws, in draw order (`solve_draw`'s answers)."""
    total = settings.draws
    failed = [(i, r) for i, r in enumerate(results) if isinstance(r, str)]
    if failed:
        index, reason = failed[0]
        raise UncertaintyError(
            "--vary",
            f"{len(failed)} of {total} draws could not be solved; draw {index + 1}: {reason}",
        )
    cells: pl.DataFrame = results[0][0]
    for index, (draw_cells, _) in enumerate(results):
        if not draw_cells.equals(cells):  # pragma: no cover - the varied figures keep cells
            raise RuntimeError(f"draw {index + 1} has other cells than draw 1")
    return UncertaintyResult(settings, items, factors, cells, [o for _, o in results])
