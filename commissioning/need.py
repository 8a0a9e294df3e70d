"""Benchmark targets per area × service, and a need index per area, as polars tables."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from commissioning.models import Scenario

TARGETS_SCHEMA = pl.Schema(
    {
        "area_code": pl.String,
        "area_name": pl.String,
        "service": pl.String,
        "basis": pl.String,
        "basis_population": pl.Float64,
        "benchmark_units": pl.Float64,
        "benchmark_per": pl.Int64,
        "target_units": pl.Float64,
    }
)

NEED_SCHEMA = pl.Schema(
    {
        "area_code": pl.String,
        "area_name": pl.String,
        "need_share": pl.Float64,
        "need_index": pl.Float64,
    }
)


def area_table(scenario: Scenario) -> pl.DataFrame:
    """One row per area: code, name, group, and every indicator column (null where missing)."""
    columns = sorted({c for a in scenario.areas for c in a.indicators})
    return pl.DataFrame(
        [
            {
                "area_code": a.code,
                "area_name": a.name,
                "area_group": a.group,
                **{c: a.indicators.get(c) for c in columns},
            }
            for a in scenario.areas
        ],
        schema={
            "area_code": pl.String,
            "area_name": pl.String,
            "area_group": pl.String,
            **{c: pl.Float64 for c in columns},
        },
    )


def benchmark_targets(scenario: Scenario) -> pl.DataFrame:
    """Target units for every area × benchmarked service: basis population × units / per.

    Each target is worked out exactly (in Decimal) and rounded to float once, so it does not
    depend on how many other areas there are: polars divides a column by a broadcast scalar by
    multiplying by its reciprocal, which turned 87,500 × 4 / 100,000 into 3.5000000000000004
    (one granule too many once rounded up to half FTEs).
    """
    rows = [
        {
            "area_code": a.code,
            "area_name": a.name,
            "service": b.service,
            "basis": b.basis,
            "basis_population": basis,
            "benchmark_units": float(b.units),
            "benchmark_per": b.per,
            "target_units": None if basis is None else float(Decimal(basis) * b.units / b.per),
        }
        for b in scenario.benchmarks
        for a in scenario.areas
        for basis in [a.indicators.get(b.basis)]
    ]
    return pl.DataFrame(rows, schema=TARGETS_SCHEMA).sort("area_code", "service")


def need_index(scenario: Scenario) -> pl.DataFrame:
    """Need per area from the policy's weighted indicators.

    Each indicator is turned into the area's share of the total across the scenario's areas, so
    counts and scores of different sizes can be mixed; need_share is the weighted mean of those
    shares (summing to 1 over areas) and need_index rescales it so the average area scores 1.
    """
    weights = [(w.indicator, float(w.weight)) for w in scenario.policy.need_weights]
    total_weight = sum(w for _, w in weights)
    areas = area_table(scenario)
    share = pl.sum_horizontal(
        [
            (pl.col(ind) / pl.col(ind).sum()).fill_nan(0.0) * (w / total_weight)
            for ind, w in weights
            if w > 0
        ]
    )
    return (
        areas.select("area_code", "area_name", share.alias("need_share"))
        .with_columns(need_index=pl.col("need_share") * pl.len())
        .select(NEED_SCHEMA.names())
        .sort("area_code")
    )
