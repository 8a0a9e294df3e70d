"""The Sweep sheet: a sweep's steps and its knee, for people (sweep.xlsx beside sweep.csv).

The money a step swept is shown in pounds (exact, from whole pence), coverage as a percentage;
the full scorecard of every step stays in sweep.csv.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from commissioning.analysis.sweep import Sweep, is_money_path
from commissioning.excel import styles
from commissioning.excel.files import add_sheet, new_workbook, save_workbook
from commissioning.excel.layout import Column, SheetWriter, Value, pounds

SHEET = "Sweep"
# A sweep has no run date of its own; a fixed stamp keeps the file the same on every rerun.
STAMP = datetime(2000, 1, 1, tzinfo=UTC)


def write_sweep_workbook(sweep: Sweep, path: str | Path) -> Path:
    """A workbook holding the Sweep sheet alone, written atomically and reproducibly."""
    wb = new_workbook(
        f"Sweep of {sweep.scenario_name}",
        "VAWG commissioning: budget–outcome curve",
        STAMP,
    )
    write_sweep_sheet(add_sheet(wb, SHEET), sweep)
    return save_workbook(wb, path, STAMP)


def _figure(value: Any) -> Value:
    """A swept figure as a cell: money in whole pence becomes pounds, fractions decimals."""
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    if isinstance(value, int | Decimal | str) or value is None:
        return value
    return str(value)


def write_sweep_sheet(ws: Any, sweep: Sweep) -> None:
    w = SheetWriter(ws)
    paths = ", ".join(axis.path for axis in sweep.axes)
    w.title(
        f"Sweep of {paths}",
        f"Scenario: {sweep.scenario_name}. One row per step; every step is a full solve. "
        "The whole scorecard of each step is in sweep.csv.",
    )
    w.skip()
    knee = sweep.knees or {}
    if knee.get("found"):
        w.subtitle("Knee (found by bisection in pence, not read off the steps)")
        smallest = knee.get("smallest_budget_pence")
        pairs: list[tuple[str, Value, str | None]] = [("Figure", knee.get("path"), None)]
        if isinstance(smallest, int):
            pairs.append(
                ("Smallest amount with every borough at benchmark", pounds(smallest), styles.POUNDS)
            )
        cuts = knee.get("largest_cut_pence")
        if isinstance(cuts, list) and cuts:
            pairs.append(("Largest cut that keeps them there", pounds(int(cuts[0])), styles.POUNDS))
        less = knee.get("one_penny_less") or {}
        if less:
            pairs.append(
                (
                    "One penny less",
                    f"{less.get('cells_below')} cells below benchmark in "
                    f"{', '.join(less.get('boroughs_below') or []) or 'no borough'}",
                    None,
                )
            )
        w.key_values(pairs)
        w.skip()

    figure_names = list(dict.fromkeys(k for step in sweep.steps for k in step.figures))
    money = {name for name in figure_names if is_money_path(name)}
    columns = [Column("Step", styles.WHOLE)]
    columns += [
        Column(name, styles.POUNDS if name in money else None, width=22) for name in figure_names
    ]
    columns += [
        Column("Status", width=14),
        Column("Lowest coverage", styles.PERCENT),
        Column("Cells below benchmark", styles.WHOLE),
        Column("Boroughs below benchmark", styles.WHOLE),
        Column("Unspent (all pots, all years)", styles.POUNDS),
        Column("Reason", width=60, wrap=True),
    ]
    rows: list[list[Value]] = []
    for step in sweep.steps:
        card = step.scorecard or {}
        lowest = (card.get("lowest_coverage") or {}).get("ratio")
        row: list[Value] = [step.index + 1]
        for name in figure_names:
            value = step.figures.get(name)
            row.append(
                pounds(value) if name in money and isinstance(value, int) else _figure(value)
            )
        row += [
            step.status,
            None if lowest is None else Decimal(str(lowest)),
            card.get("cells_below"),
            card.get("boroughs_below_count"),
            pounds(card["unspent_pence"]) if "unspent_pence" in card else None,
            step.reason or None,
        ]
        rows.append(row)
    w.table(columns, rows, "tblSweep")
    w.finish()
