"""A borough's explanation: its paragraph for each year and the reason for each of its cells
below benchmark. The CLI prints it (`commissioning explain`) and the API returns it."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from commissioning.analysis.borough_paragraph import borough_paragraph
from commissioning.results import RunResult


@dataclass(frozen=True)
class CellExplanation:
    year: str
    service: str
    reason_code: str | None  # None for a run written before reason codes existed
    coverage_ratio: float | None
    shortfall_units: float
    shortfall_pence: int | None
    reason: str


@dataclass(frozen=True)
class BoroughExplanation:
    area_code: str
    area_name: str
    paragraphs: dict[str, str]  # year -> paragraph
    below_benchmark: list[CellExplanation]


def explain_borough(
    run: RunResult, area_code: str, years: list[str] | None = None
) -> BoroughExplanation:
    years = years or list(run.scenario.financial_years)
    area = next(a for a in run.scenario.areas if a.code == area_code)
    return BoroughExplanation(
        area_code=area.code,
        area_name=area.name,
        paragraphs={year: borough_paragraph(run, area_code, year) for year in years},
        below_benchmark=_below(run, area_code, years),
    )


def _below(run: RunResult, area_code: str, years: list[str]) -> list[CellExplanation]:
    explanations = run.tables.get("explanations")
    if explanations is not None:
        rows = explanations.filter(
            pl.col("area_code") == area_code,
            pl.col("year").is_in(years),
            pl.col("shortfall_units") > 1e-9,
        )
        return [
            CellExplanation(
                r["year"],
                r["service"],
                r["reason_code"],
                r["coverage_ratio"],
                r["shortfall_units"],
                r["shortfall_pence"],
                r["reason"],
            )
            for r in rows.sort("year", "service").iter_rows(named=True)
        ]
    # An older run: its coverage rows carry the sentence, without a code.
    rows = run.table("coverage").filter(
        pl.col("area_code") == area_code,
        pl.col("year").is_in(years),
        pl.col("target_units") > 0,
        pl.col("shortfall_units") > 1e-9,
    )
    return [
        CellExplanation(
            r["year"],
            r["service"],
            None,
            r["coverage_ratio"],
            r["shortfall_units"],
            None,
            r["explanation"],
        )
        for r in rows.sort("year", "service").iter_rows(named=True)
    ]


def explanation_text(explanation: BoroughExplanation) -> str:
    """The explanation for people: the paragraphs, then one line per cell below benchmark."""
    lines = [f"{explanation.area_name} ({explanation.area_code})"]
    for paragraph in explanation.paragraphs.values():
        lines += ["", paragraph]
    if explanation.below_benchmark:
        lines += ["", "Below benchmark, and why:"]
        for cell in explanation.below_benchmark:
            code = f"[{cell.reason_code}] " if cell.reason_code else ""
            lines.append(f"  {cell.year} {code}{cell.reason}")
    return "\n".join(lines)
