"""The London Summary sheet: the board's first screen, then where every pound went, then the
full scorecard and the facts of the run.

Top to bottom: plain sentences for the latest year; boroughs below benchmark, London's
coverage and the cost to reach benchmark per service and year; the same per year for all
services; money by pot, by year and by service; the scorecard; what was run.
"""

from __future__ import annotations

from collections import defaultdict

import polars as pl
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.analysis.scorecard import RULE_OBJECTIVE_LABEL
from commissioning.excel import run_facts, styles
from commissioning.excel.board_figures import COST_SOURCE, BoardFigures, board_figures, headlines
from commissioning.excel.fit import wrap_across
from commissioning.excel.layout import (
    Column,
    Formula,
    SheetWriter,
    Value,
    name_range,
    pounds,
    set_style,
)
from commissioning.excel.methodology_words import FAIRNESS_IN_WORDS
from commissioning.excel.names import pot_names, service_names
from commissioning.excel.summary_scorecard import (
    key_values_across,
    run_scorecard,
    write_scorecard,
    write_unfundable,
)
from commissioning.results import RunResult

__all__ = ["run_details", "run_scorecard", "write_summary"]

MONEY = ("budget_pence", "committed_pence", "allocated_pence", "unspent_pence")
# Named cells for the grand totals, so other workbooks and checks can refer to them by name.
TOTAL_NAMES = ("Total_Budget", "Total_Committed", "Total_Allocated", "Total_Unspent")
WIDTH = 8  # columns A to H: the sentences and wrapped values run across all of them
# The map is left out of a run whose areas are not London's boroughs; the Summary says why.
NO_MAP = "No London map: this run's areas are not the London boroughs."


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


def write_summary(ws: Worksheet, run: RunResult, coverage: pl.DataFrame, has_map: bool) -> None:
    """`coverage`: london_coverage.cells of the run; `has_map`: whether the workbook has the
    London map (the Summary says why not)."""
    writer = SheetWriter(ws)
    stamp = run_facts.run_date(run)
    writer.title("VAWG commissioning: London allocation")
    _paragraph(
        writer,
        f"Scenario: {run_facts.text(run, 'scenario', run.scenario.name)}. Run date: "
        + (stamp.strftime("%d %B %Y %H:%M") if stamp else run_facts.NOT_RECORDED)
        + ". Money in £; every figure equals the run's CSV files to the penny.",
        styles.NOTE_FONT,
    )
    card = run_scorecard(run)
    figures = board_figures(run, card, coverage)
    writer.skip()
    writer.subtitle("At a glance")
    for line in headlines(run, card, figures):
        _paragraph(writer, line)
    if not has_map:
        _paragraph(writer, NO_MAP, styles.NOTE_FONT)
    _coverage_by_service(writer, run, figures)
    _cost_by_year(writer, figures)
    _money(writer, run)
    _by_service(writer, run)
    write_scorecard(writer, run, card)
    writer.skip()
    writer.subtitle("About this run")
    key_values_across(writer, run_details(run))
    write_unfundable(writer, run, card)
    writer.finish(freeze="A3")


def _paragraph(writer: SheetWriter, text: str, font: Font | None = None) -> None:
    """A sentence across columns A to H, wrapped."""
    cell = writer.cell(writer.row, 1, text, font=font, fit=False)
    wrap_across(writer.ws, cell.row, 1, WIDTH)
    writer.row += 1


def _coverage_by_service(writer: SheetWriter, run: RunResult, figures: BoardFigures) -> None:
    names = service_names(run)
    writer.skip()
    writer.subtitle("Boroughs below benchmark, London's coverage and the cost to reach it")
    _paragraph(
        writer,
        "London coverage = all boroughs' units ÷ all boroughs' benchmark targets. Coverage is "
        "not capped here: 112% is 12% above benchmark (the scorecard below caps it at 100%). "
        f"Cost to reach benchmark: {COST_SOURCE[figures.exact_costs]}. Borough by borough: the "
        "Coverage by borough sheet.",
        styles.NOTE_FONT,
    )
    placement = writer.table(
        [
            Column("Service"),
            Column("Year"),
            Column("Boroughs below benchmark", styles.WHOLE),
            Column("Boroughs with a target", styles.WHOLE),
            Column("London coverage", styles.PERCENT),
            Column("Lowest coverage", styles.PERCENT),
            Column("Lowest borough"),
            Column("Cost to reach benchmark", styles.POUNDS),
        ],
        [
            [
                names.get(s.figures.service, s.figures.service),
                s.figures.year,
                s.figures.below,
                s.figures.boroughs,
                s.figures.london_ratio,
                s.figures.lowest_ratio,
                s.figures.lowest_borough,
                pounds(s.cost_pence),
            ]
            for s in figures.services
        ],
    )
    # Red only for below benchmark: the count of boroughs below and the lowest coverage.
    for i, s in enumerate(figures.services):
        if s.figures.below:
            for column in (3, 6):
                cell = writer.ws.cell(row=placement.first_row + i, column=column)
                set_style(cell, fill=styles.BELOW_BENCHMARK_FILL, font=styles.BELOW_BENCHMARK_FONT)


def _cost_by_year(writer: SheetWriter, figures: BoardFigures) -> None:
    writer.skip()
    writer.subtitle("All benchmarked services, by year")
    writer.table(
        [
            Column("Year"),
            Column("Boroughs below benchmark", styles.WHOLE),
            Column("Boroughs with a target", styles.WHOLE),
            Column("Cost to reach benchmark", styles.POUNDS),
            Column("New money needed after unspent", styles.POUNDS),
            Column("Cells a rule holds below benchmark", styles.WHOLE),
        ],
        [
            [
                y.year,
                len(y.boroughs_below),
                y.boroughs,
                pounds(y.cost_pence),
                pounds(y.extra_money_pence)
                if y.extra_money_pence is not None
                else "not worked out",
                y.unreachable,
            ]
            for y in figures.years
        ],
    )


def _money(writer: SheetWriter, run: RunResult) -> None:
    """Money by pot (with a live check column and named totals) and by year."""
    ws = writer.ws
    names = pot_names(run)
    by_pot: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    by_year: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in run.table("pots").iter_rows(named=True):
        names.setdefault(r["pot"], r["pot_name"])
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
        rows.append([names[pot], *[pounds(a) for a in amounts], _check(n)])
    total = start + len(rows)
    placement = writer.table(
        [Column("Pot"), *money, check],
        rows,
        total_row=[
            "Total",
            *[pounds(a) for a in grand],
            _check(total),
        ],
    )
    for k, name in enumerate(TOTAL_NAMES):
        name_range(ws, name, f"{'BCDE'[k]}{placement.last_row + 1}")

    writer.skip()
    writer.subtitle("Money by year, all pots")
    writer.table(
        [Column("Year"), *money],
        [[year, *[pounds(a) for a in amounts]] for year, amounts in sorted(by_year.items())],
        total_row=["Total", *[pounds(a) for a in grand]],
    )


def _check(row: int) -> Formula:
    """Budget − committed − allocated − unspent, to the penny: the amounts are exact, but a
    spreadsheet subtracts in binary and would show a red −£0.00."""
    return Formula(f"=ROUND(B{row}-C{row}-D{row}-E{row},2)")


def _by_service(writer: SheetWriter, run: RunResult) -> None:
    """Spend per service, all years: what pots committed first, and what the optimiser allocated.

    Commitments that buy no one service (a formula grant paid to areas) get a row of their own,
    named by the commitment, so the total is exactly the pots' committed plus allocated money.
    """
    names = service_names(run)
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
            names.get(s, s),
            pounds(committed[s]),
            pounds(allocated[s]),
            pounds(committed[s] + allocated[s]),
        ]
        for s in order
        if committed.get(s) or allocated.get(s)
    ]
    rows += [
        [name, pounds(amount), pounds(0), pounds(amount)]
        for name, amount in sorted(unserviced.items())
    ]
    total_committed = sum(committed.values()) + sum(unserviced.values())
    total_allocated = sum(allocated.values())
    writer.skip()
    writer.subtitle("Spend by service, all years")
    writer.table(
        [
            Column("Service or commitment"),
            Column("Fixed commitments", styles.POUNDS),
            Column("Allocated", styles.POUNDS),
            Column("Total", styles.POUNDS),
        ],
        rows,
        total_row=[
            "Total",
            pounds(total_committed),
            pounds(total_allocated),
            pounds(total_committed + total_allocated),
        ],
    )
