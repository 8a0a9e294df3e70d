"""The Methodology sheet: how the numbers were made, in words, with every source and assumption.

For a borough workbook the same sheet is written with only that borough's own rows of any
per-area rule (limits, existing provision), so no other borough's figures appear.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.layout import SheetWriter, Value, merge_across, pounds, set_style
from commissioning.excel.methodology_words import (
    FAIRNESS_IN_WORDS,
    assumptions,
    eligible_services,
    grant_rules,
    transition_rules,
    units_text,
    with_areas,
)
from commissioning.excel.names import PAN_LONDON, area_names, service_names
from commissioning.excel.run_facts import fairness_rule, stages
from commissioning.fairness_rules import DEFINITIONS
from commissioning.models import Scenario
from commissioning.results import RunResult

# Column widths (characters) shared by every section so the sheet reads as one document.
WIDTHS = {"A": 30, "B": 34, "C": 16, "D": 16, "E": 55, "F": 45}
PARAGRAPH_CHARS = sum(WIDTHS.values())


class _Document:
    def __init__(self, ws: Worksheet):
        self.writer = SheetWriter(ws)
        self.ws = ws

    def heading(self, text: str) -> None:
        self.writer.skip()
        self.writer.subtitle(text)

    def paragraph(self, text: str) -> None:
        row = self.writer.row
        cell = self.writer.cell(row, 1, text, fit=False)
        set_style(cell, alignment=styles.WRAP)
        merge_across(self.ws, row, len(WIDTHS))
        # Excel does not grow merged rows to fit, so size them from the text.
        lines = sum(
            max(1, math.ceil(len(part) * 1.1 / PARAGRAPH_CHARS)) for part in text.split("\n")
        )
        self.ws.row_dimensions[row].height = 15 * lines
        self.writer.row += 1

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[Value]], formats: Sequence[str | None]
    ) -> None:
        if not rows:
            self.paragraph("None in this scenario.")
            return
        header_row = self.writer.row
        for j, text in enumerate(headers, start=1):
            cell = self.writer.cell(
                header_row, j, text, font=styles.HEADER_FONT, fill=styles.HEADER_FILL, fit=False
            )
            set_style(cell, alignment=styles.HEADER_ALIGN)
        for i, values in enumerate(rows, start=1):
            for j, (value, number_format) in enumerate(zip(values, formats, strict=True), start=1):
                cell = self.writer.cell(header_row + i, j, value, number_format, fit=False)
                set_style(cell, alignment=styles.WRAP)
        self.writer.row = header_row + len(rows) + 1


def write_methodology(ws: Worksheet, run: RunResult, area_code: str | None = None) -> None:
    scenario = run.scenario
    services = service_names(run)
    areas = area_names(run)
    doc = _Document(ws)
    doc.writer.title(
        "Methodology",
        "How this allocation was made, in words; every benchmark, weight, rule and assumption "
        "comes from the scenario file.",
    )

    doc.heading("What was decided")
    doc.paragraph(
        f"Scenario: {scenario.name}. It shares {len(scenario.pots)} funding pots across "
        f"{len(scenario.areas)} areas and {len(scenario.services)} services for the financial "
        f"years {', '.join(scenario.financial_years)}."
    )
    if scenario.description:
        doc.paragraph(scenario.description)
    doc.paragraph(
        "Order of decisions: fixed commitments are paid from their pots first; ring-fences set "
        "minimum spends; then units of each service are bought where boroughs fall short of the "
        "benchmark, following the fairness rule below. Existing provision counts toward coverage. "
        "Money is carried in whole pence, so every total reconciles exactly."
    )
    run_stages = stages(run)
    if run_stages:
        doc.paragraph(
            "The solver worked in stages, each keeping the result of the one before: "
            + "; ".join(f"{i}. {name}" for i, (name, _, _) in enumerate(run_stages, start=1))
            + "."
        )

    doc.heading("Benchmarks (how much of a service an area needs)")
    doc.paragraph(
        "A benchmark is a rate: units of a service per so many people of a basis population. "
        "Target units for an area = basis population ÷ per × units."
    )
    doc.table(
        ["Service", "Rate", "Units", "Per", "Source", "Edition"],
        [
            [
                services.get(b.service, b.service),
                f"{units_text(b.units)} per {b.per:,} of {b.basis}",
                b.units,
                b.per,
                b.source,
                b.edition,
            ]
            for b in scenario.benchmarks
        ],
        [None, None, styles.UNITS, styles.WHOLE, None, None],
    )

    doc.heading("Need weights (the need index)")
    total_weight = sum((w.weight for w in scenario.policy.need_weights), Decimal(0))
    doc.paragraph(
        "Each indicator becomes an area's share of the London total; the need share is the "
        "weighted mean of those shares and the need index rescales it so the average area is 1."
    )
    doc.table(
        ["Indicator", "Weight", "Share of the index"],
        [
            [w.indicator, w.weight, (w.weight / total_weight) if total_weight else None]
            for w in scenario.policy.need_weights
        ],
        [None, "0.00##", styles.PERCENT],
    )

    doc.heading("Fairness rule")
    rule = fairness_rule(run)
    doc.paragraph(FAIRNESS_IN_WORDS.get(rule, f"Fairness rule: {rule}."))
    if rule in DEFINITIONS:
        doc.paragraph(f"Definition: {DEFINITIONS[rule]}.")
    if scenario.policy.service_priorities:
        doc.paragraph(
            "Service priorities (the level is divided by the weight, so a higher weight is lifted "
            "sooner; unlisted services weigh 1): "
            + "; ".join(
                f"{services.get(p.service, p.service)} {p.weight}"
                for p in scenario.policy.service_priorities
            )
            + "."
        )

    doc.heading("Transition rules")
    for sentence in transition_rules(scenario, area_code, areas, services):
        doc.paragraph(sentence)

    grant_sentences = grant_rules(scenario)
    if grant_sentences:
        doc.heading("Formula grants, fund splits and bid rounds")
        for sentence in grant_sentences:
            doc.paragraph(sentence)

    doc.heading("Services and unit costs")
    doc.table(
        ["Service", "Name", "Unit cost a year", "Smallest purchase", "Cost source", "Assumption?"],
        [
            [
                s.id,
                s.name,
                pounds(s.unit_cost_pence),
                f"{units_text(s.granularity)} {s.unit}",
                s.cost_source or "not given",
                s.cost_is_assumption,
            ]
            for s in scenario.services
        ],
        [None, None, styles.POUNDS, None, None, None],
    )

    doc.heading("Funding pots")
    doc.table(
        ["Pot", "Name", "Budget, all years", "Eligible services", "Source", "Assumption?"],
        [
            [
                p.id,
                p.name,
                pounds(sum(a.amount_pence for a in p.amounts)),
                eligible_services(p.eligible_services, services),
                with_areas(p.source or "not given", p.eligible_areas, area_code),
                p.is_assumption,
            ]
            for p in scenario.pots
        ],
        [None, None, styles.POUNDS, None, None, None],
    )

    doc.heading("Fixed commitments and ring-fences")
    commitments = [
        c for c in scenario.commitments if area_code is None or c.area in (None, area_code)
    ]
    doc.table(
        ["Commitment", "Pot", "Amount a year", "Years", "Source", "Area"],
        [
            [
                c.name,
                c.pot,
                pounds(c.amount_pence),
                ", ".join(c.years) if c.years else "every year",
                c.source or "not given",
                areas.get(c.area, c.area) if c.area else PAN_LONDON,
            ]
            for c in commitments
        ],
        [None, None, styles.POUNDS, None, None, None],
    )
    fences = [
        f
        for f in scenario.ring_fences
        if area_code is None or f.areas is None or area_code in f.areas
    ]
    doc.table(
        ["Ring-fence", "Pot", "Minimum a year", "Years", "Source", "Services"],
        [
            [
                f.name,
                f.pot,
                pounds(f.min_amount_pence),
                ", ".join(f.years) if f.years else "every year",
                f.source or "not given",
                ", ".join(services.get(s, s) for s in f.services),
            ]
            for f in fences
        ],
        [None, None, styles.POUNDS, None, None, None],
    )

    doc.heading("Existing provision (already funded from elsewhere)")
    doc.table(
        ["Service", "Areas", "Units", "", "Source", "Assumption?"],
        _existing_rows(scenario, area_code, services),
        [None, styles.WHOLE, styles.UNITS, None, None, None],
    )

    doc.heading("Assumptions")
    assumed = assumptions(scenario, area_code)
    if assumed:
        doc.paragraph(
            "Figures marked as assumptions are illustrative, not published data. Check them "
            "before relying on the allocation:"
        )
        for text in assumed:
            doc.paragraph(f"• {text}")
    else:
        doc.paragraph("The scenario marks no figure as an assumption.")

    doc.writer.finish(freeze="A3")
    styles.set_column_widths(ws, WIDTHS)


def _existing_rows(
    scenario: Scenario, area_code: str | None, services: dict[str, str]
) -> list[list[Value]]:
    grouped: dict[tuple[str, str, bool], list[Decimal]] = defaultdict(list)
    for e in scenario.existing_provision:
        if area_code is None or e.area == area_code:
            grouped[(e.service, e.source or "not given", e.is_assumption)].append(e.units)
    return [
        [services.get(service, service), len(units), sum(units, Decimal(0)), "", source, assumption]
        for (service, source, assumption), units in sorted(grouped.items())
    ]
