"""The London Summary sheet: what was run, how well it solved, and where every pound went."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import polars as pl
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError

from commissioning.analysis.scorecard import (
    RULE_OBJECTIVE_LABEL,
    Coverage,
    Scorecard,
    scorecard,
)
from commissioning.excel import run_facts, styles
from commissioning.excel.layout import Column, Formula, SheetWriter, Value, name_range, pounds
from commissioning.excel.methodology_words import FAIRNESS_IN_WORDS
from commissioning.money import pounds as pounds_text
from commissioning.results import RunResult

MONEY = ("budget_pence", "committed_pence", "allocated_pence", "unspent_pence")
# Named cells for the grand totals, so other workbooks and checks can refer to them by name.
TOTAL_NAMES = ("Total_Budget", "Total_Committed", "Total_Allocated", "Total_Unspent")


def run_details(run: RunResult) -> list[tuple[str, Value, str | None]]:
    """The header facts shared by the London and borough summaries."""
    gap = run_facts.gap(run)
    stamp = run_facts.run_date(run)
    rule = run_facts.fairness_rule(run)
    details: list[tuple[str, Value, str | None]] = [
        ("Scenario", run_facts.text(run, "scenario", run.scenario.name), None),
        ("Scenario hash", run_facts.text(run, "scenario_hash"), None),
        ("Run date", stamp.strftime("%d %B %Y %H:%M") if stamp else run_facts.NOT_RECORDED, None),
        ("Financial years", ", ".join(run_facts.financial_years(run)), None),
        ("Solver", run_facts.solver(run), None),
        ("Solver status", run_facts.text(run, "status"), None),
        ("Optimality gap", gap if gap is not None else run_facts.NOT_RECORDED, "0.00%"),
        ("Fairness rule", FAIRNESS_IN_WORDS.get(rule, rule), None),
    ]
    level = run_facts.number(run, "fairness_level")
    if level is not None:
        # The rule's own measure, which is coverage only for leximin: the scorecard below
        # gives coverage for every rule.
        details.append((f"{RULE_OBJECTIVE_LABEL}: lowest level ({rule})", level, "0.000000"))
    for i, (name, objective, status) in enumerate(run_facts.stages(run), start=1):
        shown: Value = objective if isinstance(objective, int | float) else run_facts.NOT_RECORDED
        label = f"Stage {i}: {name}" + (f" ({status})" if status else "")
        details.append((label, shown, "#,##0.000000"))
    details.append(("Software", run_facts.versions(run), None))
    return details


def write_summary(ws: Worksheet, run: RunResult) -> None:
    writer = SheetWriter(ws)
    writer.title(
        "VAWG commissioning: London allocation",
        "Money in £; every total equals the run's CSV results to the penny. Filters, coverage "
        "and sources are on the other sheets.",
    )
    writer.skip()
    writer.key_values(run_details(run))
    writer.key_values([("Areas", len(run.scenario.areas), styles.WHOLE)])

    pots = run.table("pots")
    by_pot: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    by_year: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    pot_name: dict[str, str] = {}
    for r in pots.iter_rows(named=True):
        pot_name[r["pot"]] = r["pot_name"]
        for k, key in enumerate(MONEY):
            by_pot[r["pot"]][k] += r[key]
            by_year[r["year"]][k] += r[key]
    grand = [sum(v[k] for v in by_pot.values()) for k in range(len(MONEY))]

    money = [Column(h, styles.POUNDS) for h in ("Budget", "Committed", "Allocated", "Unspent")]
    check = Column("Check: budget − committed − allocated − unspent", styles.POUNDS)

    writer.skip()
    writer.subtitle("Money by pot, all years")
    start = writer.row + 1
    rows: list[list[Value]] = []
    for i, (pot, amounts) in enumerate(by_pot.items()):
        n = start + i
        rows.append(
            [pot, pot_name[pot], *[pounds(a) for a in amounts], Formula(f"=C{n}-D{n}-E{n}-F{n}")]
        )
    total_row_number = start + len(rows)
    placement = writer.table(
        [Column("Pot"), Column("Pot name", width=44), *money, check],
        rows,
        total_row=[
            "Total",
            "",
            *[pounds(a) for a in grand],
            Formula(
                f"=C{total_row_number}-D{total_row_number}-E{total_row_number}-F{total_row_number}"
            ),
        ],
    )
    for k, name in enumerate(TOTAL_NAMES):
        name_range(ws, name, f"{'CDEF'[k]}{placement.last_row + 1}")

    writer.skip()
    writer.subtitle("Money by year, all pots")
    writer.table(
        [Column("Year"), Column(""), *money],
        [[year, "", *[pounds(a) for a in amounts]] for year, amounts in sorted(by_year.items())],
        total_row=["Total", "", *[pounds(a) for a in grand]],
    )
    _by_service(writer, run)
    _scorecard(writer, run)
    writer.finish(freeze="A3")


def _by_service(writer: SheetWriter, run: RunResult) -> None:
    """Spend per service, all years: what pots committed first, and what the optimiser allocated.

    Commitments that buy no one service (a formula grant paid to areas) get a row of their own,
    so the total is exactly the pots' committed plus allocated money.
    """
    names = {s.id: s.name for s in run.scenario.services}
    committed: dict[str, int] = defaultdict(int)
    allocated: dict[str, int] = defaultdict(int)
    unserviced: dict[str, int] = defaultdict(int)
    for r in run.table("commitments").iter_rows(named=True):
        if r["service"]:
            committed[r["service"]] += r["amount_pence"]
        else:
            unserviced[r["name"]] += r["amount_pence"]
    by_service = (
        run.table("allocations")
        .group_by("service", maintain_order=True)
        .agg(pl.col("cost_pence").sum())
    )
    for service, pence in by_service.iter_rows():
        allocated[service] += pence
    order = [s.id for s in run.scenario.services]
    order += sorted((set(committed) | set(allocated)) - set(order))
    rows: list[list[Value]] = [
        [
            s,
            names.get(s, s),
            pounds(committed[s]),
            pounds(allocated[s]),
            pounds(committed[s] + allocated[s]),
        ]
        for s in order
        if committed.get(s) or allocated.get(s)
    ]
    rows += [
        ["commitment", name, pounds(amount), pounds(0), pounds(amount)]
        for name, amount in sorted(unserviced.items())
    ]
    total_committed = sum(committed.values()) + sum(unserviced.values())
    total_allocated = sum(allocated.values())
    writer.skip()
    writer.subtitle("Spend by service, all years")
    writer.table(
        [
            Column("Service"),
            Column("Service name"),
            Column("Fixed commitments", styles.POUNDS),
            Column("Allocated", styles.POUNDS),
            Column("Total", styles.POUNDS),
        ],
        rows,
        total_row=[
            "Total",
            "",
            pounds(total_committed),
            pounds(total_allocated),
            pounds(total_committed + total_allocated),
        ],
    )


SCORECARD_TITLE = "Scorecard: the same definitions for every fairness rule"


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


def _scorecard(writer: SheetWriter, run: RunResult) -> None:
    """The run's scorecard (commissioning.analysis.scorecard), as summary.json and the CLI."""
    card = run_scorecard(run)
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
        "purchasable amounts × "
        "their cost."
    )
    writer.key_values(
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
                (f"Held by a rule: {h.pot} {h.year}", f"{h.rule} ({pounds_text(h.pence)})", None)
                for h in usable.held
            ],
        ]
    )
    writer.skip()
    writer.subtitle("Scorecard: short of benchmark by service, all years")
    writer.table(
        [
            Column("Service"),
            Column("Units funded", styles.UNITS),
            Column("Units from bids", styles.UNITS),
            Column("Units short", styles.UNITS),
            Column("Granularity"),
            Column("Amounts short (rounded up)", styles.WHOLE),
            Column("Cost of one amount", styles.POUNDS),
            Column("£ short of benchmark", styles.POUNDS),
        ],
        [
            [
                s.service,
                s.units_funded,
                s.units_from_bids,
                s.units_short,
                s.granularity,
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
    writer.key_values(
        [
            (f"Boroughs below in {y.year}", ", ".join(y.boroughs_below) or "none", None)
            for y in card.years
        ]
    )
    if card.unfundable:
        writer.skip()
        writer.subtitle("Scorecard: benchmarked cells no pot may fund")
        # One row per cell, so as many as there are areas: written as a long table, last.
        writer.long_table(
            [
                Column("Year"),
                Column("Area"),
                Column("Area name"),
                Column("Service"),
                Column("Below benchmark"),
            ],
            pl.DataFrame(
                [c.model_dump() for c in card.unfundable],
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
