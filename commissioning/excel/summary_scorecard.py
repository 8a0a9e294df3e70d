"""The full scorecard on the London Summary (commissioning.analysis.scorecard), as summary.json
and the CLI give it, with services and pots by name."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from pydantic import ValidationError

from commissioning.analysis.scorecard import Coverage, Scorecard, scorecard
from commissioning.excel import styles
from commissioning.excel.fit import wrap_across
from commissioning.excel.layout import Column, SheetWriter, Value, pounds, set_style
from commissioning.excel.names import pot_names, service_names
from commissioning.money import pounds as pounds_text
from commissioning.results import RunResult

SCORECARD_TITLE = "Scorecard: the same definitions for every fairness rule"
VALUE_COLUMNS = (2, 8)  # key values run across columns B to H


def _shown(coverage: Coverage | None) -> Value:
    """Coverage as the scorecard states it: rounded down, so below benchmark never shows 100%."""
    return None if coverage is None else Decimal(coverage.percent.removesuffix("%")) / 100


def run_scorecard(run: RunResult) -> Scorecard:
    """The scorecard `runs.with_scorecard` put in the summary, else the run's own, worked out.

    The summary's is the same figures (it is computed from the tables at the precision their
    CSV files keep), and working it out again was a fifth of the workbook's time.
    """
    recorded = run.summary.get("scorecard")
    if isinstance(recorded, dict):
        try:
            return Scorecard.model_validate(recorded)
        except ValidationError:
            pass  # written by another version: work it out from the tables
    return scorecard(run)


def key_values_across(writer: SheetWriter, pairs: list[tuple[str, Value, str | None]]) -> None:
    """Label in column A, the value across B to H (so long text wraps in one wide cell)."""
    first = writer.row
    writer.key_values(pairs)
    for row in range(first, writer.row):
        wrap_across(writer.ws, row, *VALUE_COLUMNS)
        # A value on several lines reads from the top, level with its label; a label longer
        # than the widest column wraps too.
        set_style(writer.ws.cell(row=row, column=1), alignment=styles.WRAP)


def write_scorecard(writer: SheetWriter, run: RunResult, card: Scorecard) -> None:
    services = service_names(run)
    pots = pot_names(run)
    usable = card.affordability
    ratio: Value = (
        card.highest_over_lowest
        if card.highest_over_lowest is not None
        else "not defined (the lowest coverage is 0)"
    )
    writer.skip()
    writer.subtitle(SCORECARD_TITLE)
    writer.note(
        "A cell is a borough × benchmarked service × year; coverage = min(1, (existing + bid + "
        "funded units) ÷ benchmark target). £ short = units short rounded up to whole "
        "purchasable amounts × their cost."
    )
    wrap_across(writer.ws, writer.row - 1, 1, VALUE_COLUMNS[1])  # wrapped within the tables' width
    key_values_across(
        writer,
        [
            ("Benchmarked cells", card.benchmarked_cells, styles.WHOLE),
            (
                "Lowest coverage, all benchmarked cells",
                _shown(card.lowest_coverage),
                styles.PERCENT,
            ),
            (
                "Lowest coverage, cells some pot may fund",
                _shown(card.lowest_coverage_fundable),
                styles.PERCENT,
            ),
            ("Cells no pot may fund (counted above)", card.unfundable_cells, styles.WHOLE),
            ("Cells below benchmark", card.cells_below, styles.WHOLE),
            ("Boroughs below benchmark", card.boroughs_below_count, styles.WHOLE),
            ("Boroughs below benchmark, by name", ", ".join(card.boroughs_below) or "none", None),
            ("Spread of coverage: Gini coefficient", card.gini, "0.000"),
            ("Spread of coverage: highest ÷ lowest", ratio, "0.000"),
            ("Money unspent, all pots and years", pounds(card.unspent_pence), styles.POUNDS),
            (
                "Unspent money a below-benchmark cell could have used",
                pounds(usable.unspent_usable_pence),
                styles.POUNDS,
            ),
            *[
                (
                    f"Held by a rule: {pots.get(h.pot, h.pot)} {h.year}",
                    f"{h.rule} ({pounds_text(h.pence)})",
                    None,
                )
                for h in usable.held
            ],
        ],
    )
    writer.skip()
    writer.subtitle("Scorecard: short of benchmark by service, all years")
    writer.table(
        [
            Column("Service"),
            Column("Units funded", styles.UNITS),
            Column("Units from bids", styles.UNITS),
            Column("Units short", styles.UNITS),
            Column("Granularity", "General"),
            Column("Amounts short (rounded up)", styles.WHOLE),
            Column("Cost of one amount", styles.POUNDS),
            Column("£ short of benchmark", styles.POUNDS),
        ],
        [
            [
                services.get(s.service, s.service_name),
                s.units_funded,
                s.units_from_bids,
                s.units_short,
                Decimal(s.granularity),
                s.granules_short,
                pounds(s.granule_cost_pence),
                pounds(s.short_pence),
            ]
            for s in card.services
        ],
        total_row=["Total", None, None, None, None, None, None, pounds(card.short_pence)],
    )
    writer.skip()
    writer.subtitle("Scorecard: below benchmark by year")
    writer.table(
        [
            Column("Year"),
            Column("Benchmarked cells", styles.WHOLE),
            Column("Cells below", styles.WHOLE),
            Column("Boroughs below", styles.WHOLE),
            Column("Lowest coverage", styles.PERCENT),
        ],
        [
            [
                y.year,
                y.benchmarked_cells,
                y.cells_below,
                y.boroughs_below_count,
                _shown(y.lowest_coverage),
            ]
            for y in card.years
        ],
    )
    writer.skip()
    key_values_across(
        writer,
        [
            (f"Boroughs below in {y.year}", ", ".join(y.boroughs_below) or "none", None)
            for y in card.years
        ],
    )


def write_unfundable(writer: SheetWriter, run: RunResult, card: Scorecard) -> None:
    """Benchmarked cells no pot may fund: one row per cell, so as many as there are areas,
    written as a long table (the last cells of the sheet)."""
    if not card.unfundable:
        return
    services = service_names(run)
    writer.skip()
    writer.subtitle("Scorecard: benchmarked cells no pot may fund")
    writer.long_table(
        [
            Column("Year"),
            Column("Area code"),
            Column("Borough"),
            Column("Service"),
            Column("Below benchmark"),
        ],
        pl.DataFrame(
            [
                {**c.model_dump(), "service": services.get(c.service, c.service)}
                for c in card.unfundable
            ],
            schema={
                "year": pl.String,
                "area_code": pl.String,
                "area_name": pl.String,
                "service": pl.String,
                "below_benchmark": pl.Boolean,
            },
            orient="row",
        ),
    )
