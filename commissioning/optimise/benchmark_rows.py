"""The rows of the `cost_to_benchmark` table (`benchmark_cost` says what they mean): one per
cell, and the sums of the cells by area, service, set of pots and year.

Built a column at a time from the lift's slot × year arrays; the string columns are taken
from a row per slot by index. Sums of floats are taken in row order, as a left-to-right `sum`
over the rows would be (np.bincount adds each group's weights in the order the rows come), so
every figure is the same to the last bit as summing the rows one by one.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from commissioning.explain_schemas import COST_TO_BENCHMARK_SCHEMA
from commissioning.optimise.benchmark_lift import TOLERANCE, Cell, Cells
from commissioning.optimise.data import AllocationData

AT, REACHABLE, UNREACHABLE = "at benchmark", "reachable", "unreachable"
_STATUS = (AT, REACHABLE, UNREACHABLE)  # by code 0, 1, 2


class CellRows:
    """The cell rows (benchmarked slots × years, then cells no pot may fund), with what their
    sums need: each row's year, and per slot its area, service and pots as numbers."""

    def __init__(
        self, data: AllocationData, cells: Cells, held: dict[Cell, str], lifted: np.ndarray
    ):
        self.years = years = data.years
        width = len(years)
        chosen = np.flatnonzero(cells.benchmarked)
        slots = [data.slots[i] for i in chosen.tolist()]
        now = cells.granules[chosen]
        size = cells.size[chosen, None]
        short = np.maximum(0.0, cells.target[chosen, None] - cells.existing[chosen] - now * size)
        bought = (lifted[chosen] - now).ravel()
        status = np.where(bought > 0, 1, 0).astype(np.int8)
        rule: list[str | None] = [None] * len(status)
        place = {i: k for k, i in enumerate(chosen.tolist())}
        for (i, year), why in held.items():
            r = place[i] * width + years.index(year)
            status[r], rule[r] = 2, why
        # Six decimals, as the CSV keeps them (a target's float tail is not a shortfall).
        units_short = np.zeros(len(status), dtype=np.float64)
        raw = short.ravel()
        some = np.flatnonzero((raw > TOLERANCE) & (status != 0))
        units_short[some] = [round(v, 6) for v in raw[some].tolist()]
        award = f"kept by the {data.scenario.policy.award_years}-year award"
        for r in np.flatnonzero((status == 1) & ~(units_short > 0)).tolist():
            rule[r] = award
        # A row of names per slot (then per cell no pot may fund: `_join_unfundable`), and
        # numbers for grouping the rows by area, service and pots.
        self.labels: list[tuple[str, str, str, str]] = [
            (s.area, s.area_name, s.service, "+".join(s.pots)) for s in slots
        ]
        self.ids: dict[str, dict[object, int]] = {"borough": {}, "service": {}, "pots": {}}
        self.row_label = np.repeat(np.arange(len(slots)), width)
        self.year_of = np.tile(np.arange(width), len(slots))
        self.codes = {
            level: np.repeat(self._codes(level, self.labels), width) for level in self.ids
        }
        self.status = status
        self.rule = rule
        self.units_short = units_short
        self.units_to_buy = bought * np.repeat(cells.size[chosen], width)
        self.granules = bought
        self.cost = bought * np.repeat(cells.cost[chosen], width)
        self.unfundable = _Unfundable(data)
        self._join_unfundable()
        self.sums = self.sums_by(self.year_of, width)

    def _codes(self, level: str, labels: list[tuple[str, str, str, str]]) -> np.ndarray:
        """A number per label for its area (code and name), service or pots."""
        ids = self.ids[level]
        if level == "borough":
            keys: list[object] = [(label[0], label[1]) for label in labels]
        else:
            keys = [label[2 if level == "service" else 3] for label in labels]
        return np.array([ids.setdefault(k, len(ids)) for k in keys], dtype=np.int64)

    def _join_unfundable(self) -> None:
        """Append the cells no pot may fund to the number columns."""
        extra = self.unfundable
        first = len(self.labels)
        self.labels += [(area, name, service, "") for area, name, service in extra.keys]
        self.row_label = np.concatenate(
            [self.row_label, np.arange(first, first + len(extra.keys), dtype=np.int64)]
        )
        self.year_of = np.concatenate([self.year_of, np.array(extra.year_of, dtype=np.int64)])
        labels = [(area, name, service, "") for area, name, service in extra.keys]
        for level in self.codes:
            more = self._codes(level, labels)
            self.codes[level] = np.concatenate([self.codes[level], more])
        self.status = np.concatenate([self.status, np.array(extra.status, dtype=np.int8)])
        self.rule = self.rule + extra.rule
        self.units_short = np.concatenate(
            [self.units_short, np.array(extra.units_short, dtype=np.float64)]
        )
        zeros = np.zeros(len(extra.status))
        self.units_to_buy = np.concatenate([self.units_to_buy, zeros])
        self.granules = np.concatenate([self.granules, zeros.astype(np.int64)])
        self.cost = np.concatenate([self.cost, zeros.astype(np.int64)])

    def frame(self) -> pl.DataFrame:
        """The cell rows, in the table's columns."""
        labels = pl.DataFrame(
            self.labels,
            schema={c: pl.String for c in ("area_code", "area_name", "service", "pots")},
            orient="row",
        )
        return (
            labels[self.row_label]
            .with_columns(
                pl.Series("year", list(self.years), dtype=pl.String).gather(self.year_of),
                pl.lit("cell", dtype=pl.String).alias("level"),
                pl.lit(None, dtype=pl.String).alias("pot"),
                pl.Series("status", [_STATUS[s] for s in self.status.tolist()], dtype=pl.String),
                pl.Series("rule", self.rule, dtype=pl.String),
                pl.Series("units_short", self.units_short, dtype=pl.Float64),
                pl.Series("units_to_buy", self.units_to_buy, dtype=pl.Float64),
                pl.Series("granules", self.granules, dtype=pl.Int64),
                pl.Series("cost_pence", self.cost, dtype=pl.Int64),
                pl.lit(None, dtype=pl.Int64).alias("extra_money_pence"),
                pl.Series("cells", (self.status != 0).astype(np.int64), dtype=pl.Int64),
                pl.Series("cells_unreachable", (self.status == 2).astype(np.int64), dtype=pl.Int64),
            )
            .select(COST_TO_BENCHMARK_SCHEMA.names())
        )

    def aggregate(self, level: str, keys: tuple[str, ...]) -> list[dict[str, object]]:
        """One row per year and value of `keys`, in the order the cell rows first show them."""
        width = len(self.years)
        key = self.codes[level] * width + self.year_of
        _, first, where = np.unique(key, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        sums = self.sums_by(rank[where.ravel()], len(order))
        columns = ("area_code", "area_name", "service", "pots")
        rows = []
        for g, r in enumerate(first[order].tolist()):
            label = dict(zip(columns, self.labels[self.row_label[r]], strict=True))
            row: dict[str, object] = {"level": level, "year": self.years[self.year_of[r]]}
            row.update({k: label[k] for k in keys})
            row.update({name: values[g] for name, values in sums.items()})
            rows.append(row)
        return rows

    def sums_by(self, group: np.ndarray, count: int) -> dict[str, list[object]]:
        """Per group: units short (all rows, to six decimals), reachable rows' units to buy,
        granules and cost, and how many rows count and how many are unreachable."""
        reachable = self.status == 1
        unreachable = self.status == 2
        shorts = np.bincount(group, weights=self.units_short, minlength=count).tolist()
        return {
            "units_short": [round(s, 6) for s in shorts],
            "units_to_buy": np.bincount(
                group, weights=np.where(reachable, self.units_to_buy, 0.0), minlength=count
            ).tolist(),
            "granules": _int_sums(group, np.where(reachable, self.granules, 0), count),
            "cost_pence": _int_sums(group, np.where(reachable, self.cost, 0), count),
            "cells": np.bincount(group[reachable | unreachable], minlength=count).tolist(),
            "cells_unreachable": np.bincount(group[unreachable], minlength=count).tolist(),
        }

    def year_sums(self, j: int) -> dict[str, object]:
        return {name: values[j] for name, values in self.sums.items()}


class _Unfundable:
    """The cell rows of benchmarked cells no pot may fund."""

    def __init__(self, data: AllocationData):
        names = {a.code: a.name for a in data.scenario.areas}
        self.keys: list[tuple[str, str, str]] = []
        self.year_of: list[int] = []
        self.status: list[int] = []
        self.rule: list[str | None] = []
        self.units_short: list[float] = []
        for area, service, target, base, extra in data.unfundable:
            for j, year in enumerate(data.years):
                short = round(max(0.0, target - base - dict(extra).get(year, 0.0)), 6)
                held = short > TOLERANCE
                self.keys.append((area, names[area], service))
                self.year_of.append(j)
                self.status.append(2 if held else 0)
                self.rule.append(f"no pot may fund {service} in this area" if held else None)
                self.units_short.append(short if held else 0.0)


def _int_sums(group: np.ndarray, values: np.ndarray, count: int) -> list[int]:
    total = np.zeros(count, dtype=np.int64)
    np.add.at(total, group, values.astype(np.int64))
    return total.tolist()


def table_rows(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Rows given one by one (sums, a pot's growth, a year's total), in the table's columns."""
    return pl.DataFrame(
        {c: [r.get(c) for r in rows] for c in COST_TO_BENCHMARK_SCHEMA},
        schema=COST_TO_BENCHMARK_SCHEMA,
    )
