"""Schemas of the tables that explain a run: cost to benchmark, marginal value, binding rules.

Kept apart from the modules that compute them (which import the solver) so that reading a run
directory never imports the solver stack.
"""

from __future__ import annotations

import polars as pl

# One table with a `level` column; see commissioning.optimise.benchmark_cost for the levels.
COST_TO_BENCHMARK_SCHEMA = pl.Schema(
    {
        "level": pl.String,  # cell | borough | service | pots | pot | london
        "year": pl.String,
        "area_code": pl.String,
        "area_name": pl.String,
        "service": pl.String,
        "pots": pl.String,  # the pots that may fund the cells, "+"-joined
        "pot": pl.String,  # level pot: the pot whose budget must grow
        "status": pl.String,  # cell rows: at benchmark | reachable | unreachable
        "rule": pl.String,  # what holds an unreachable cell (or the award that lifts one)
        "units_short": pl.Float64,
        "units_to_buy": pl.Float64,
        "granules": pl.Int64,
        "cost_pence": pl.Int64,  # price of the granules that reach benchmark (reachable cells)
        "extra_money_pence": pl.Int64,  # pot and london rows: what the pots must grow by
        "cells": pl.Int64,  # cells short of benchmark (or lifted by an award)
        "cells_unreachable": pl.Int64,
    }
)

# One row per pot × year × change × service (service "all": the totals of that change); see
# commissioning.analysis.marginal.
MARGINAL_SCHEMA = pl.Schema(
    {
        "pot": pl.String,
        "pot_name": pl.String,
        "year": pl.String,
        "change_pence": pl.Int64,  # +£10,000 … or a cut (negative)
        "service": pl.String,
        "units_change": pl.Float64,
        "cells_changed": pl.Int64,  # cells whose units rise (or, for a cut, fall)
        "cells_to_benchmark": pl.Int64,  # cells lifted to (or, for a cut, dropped from) benchmark
        "money_change_pence": pl.Int64,  # change in money allocated to top-ups
        "lowest_coverage_before": pl.Float64,
        "lowest_coverage_after": pl.Float64,
        "status": pl.String,  # ok | the reason there is no answer
        "method": pl.String,  # how the answer was found (re-solve, or the proof that spares one)
    }
)

# One row per named rule row and year; see commissioning.optimise.binding.
BINDING_SCHEMA = pl.Schema(
    {
        "year": pl.String,
        "family": pl.String,  # the define_* rule family: pot_budget, ring_fence, area_cap, …
        "constraint": pl.String,  # the row's name in the model, after its scenario record
        "description": pl.String,  # the model's own words for the row
        "area_code": pl.String,
        "pot": pl.String,
        "sense": pl.String,  # "<=" or ">="
        "measure": pl.String,  # "pence" or "granules"
        "limit": pl.Float64,
        "value": pl.Float64,
        "slack": pl.Float64,
        "slack_pence": pl.Int64,  # money rows only
        "binding": pl.Boolean,
        "blocks_next_granule": pl.Boolean,
    }
)

EXPLAIN_SORT_KEYS: dict[str, list[str]] = {
    "cost_to_benchmark": ["year", "level", "area_code", "service", "pots", "pot"],
    "marginal": ["pot", "year", "change_pence", "service"],
    "binding": ["year", "family", "constraint"],
}
