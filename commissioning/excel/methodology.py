"""The Methodology sheet: how the numbers were made, in words, with every source and assumption.

For a borough workbook the same sheet is written with only that borough's own rows of any
per-area rule (limits, existing provision), so no other borough's figures appear.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.layout import SheetWriter, Value, pounds
from commissioning.excel.names import PAN_LONDON, area_names, service_names
from commissioning.excel.run_facts import fairness_rule, stages
from commissioning.fairness_rules import DEFINITIONS
from commissioning.models import Scenario
from commissioning.money import pounds as pounds_text
from commissioning.results import RunResult

FAIRNESS_IN_WORDS = {
    "leximin": (
        "Leximin, worst-off first: the money raises the lowest coverage of benchmark as high as "
        "the pots allow, then the next lowest, and so on, over every borough and benchmarked "
        "service, in whole units; coverage stops counting at the benchmark."
    ),
    "proportional_to_benchmark_cost": (
        "Proportional to benchmark cost: the lowest share of a borough's gap to benchmark that is "
        "funded is raised first, then the next lowest, and so on, so money follows the cost of "
        "reaching benchmark."
    ),
    "equal_shortfall": (
        "Equal shortfall: the largest shortfall against benchmark, as a share of target and "
        "weighted by need, is made as small as possible first, then the next largest, and so on."
    ),
}
# Column widths (characters) shared by every section so the sheet reads as one document.
WIDTHS = {"A": 30, "B": 34, "C": 16, "D": 16, "E": 55, "F": 45}
PARAGRAPH_CHARS = sum(WIDTHS.values())


def _units(value: Decimal | float) -> str:
    return f"{float(value):,.4g}"


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
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        self.ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(WIDTHS))
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
            cell.alignment = styles.HEADER_ALIGN
        for i, values in enumerate(rows, start=1):
            for j, (value, number_format) in enumerate(zip(values, formats, strict=True), start=1):
                cell = self.writer.cell(header_row + i, j, value, number_format, fit=False)
                cell.alignment = styles.WRAP
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
                f"{_units(b.units)} per {b.per:,} of {b.basis}",
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
    for sentence in _transition_rules(scenario, area_code, areas, services):
        doc.paragraph(sentence)

    grant_rules = _grant_rules(scenario)
    if grant_rules:
        doc.heading("Formula grants, fund splits and bid rounds")
        for sentence in grant_rules:
            doc.paragraph(sentence)

    doc.heading("Services and unit costs")
    doc.table(
        ["Service", "Name", "Unit cost a year", "Smallest purchase", "Cost source", "Assumption?"],
        [
            [
                s.id,
                s.name,
                pounds(s.unit_cost_pence),
                f"{_units(s.granularity)} {s.unit}",
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
                _eligible_services(p.eligible_services, services),
                _with_areas(p.source or "not given", p.eligible_areas, area_code),
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
    assumptions = _assumptions(scenario, area_code)
    if assumptions:
        doc.paragraph(
            "Figures marked as assumptions are illustrative, not published data. Check them "
            "before relying on the allocation:"
        )
        for text in assumptions:
            doc.paragraph(f"• {text}")
    else:
        doc.paragraph("The scenario marks no figure as an assumption.")

    doc.writer.finish(freeze="A3")
    styles.set_column_widths(ws, WIDTHS)


def _eligible_services(ids: list[str] | None, services: dict[str, str]) -> str:
    if ids is None:
        return "every service"
    if not ids:
        return "none (a grant paid to areas)"
    return ", ".join(services.get(s, s) for s in ids)


def _with_areas(source: str, eligible: list[str] | None, area_code: str | None) -> str:
    if eligible is None:
        return source
    if area_code is None:
        return f"{source} (restricted to {len(eligible)} areas)"
    verdict = "includes" if area_code in eligible else "does not include"
    return f"{source} (restricted to {len(eligible)} areas; {verdict} this borough)"


def _transition_rules(
    scenario: Scenario, area_code: str | None, areas: dict[str, str], services: dict[str, str]
) -> list[str]:
    policy = scenario.policy
    rules = []
    if policy.cap_at_benchmark_factor is not None:
        rules.append(
            f"Cap: no area gets more than {policy.cap_at_benchmark_factor} × its benchmark target."
        )
    else:
        rules.append("Cap: none beyond the budgets (no multiple-of-benchmark cap).")
    if policy.max_change_pct is not None:
        rules.append(
            f"Pace of change: an area's funded units of a service may move at most "
            f"{policy.max_change_pct}% from the year before (the previous allocation for the "
            "first year)."
        )
    else:
        rules.append(
            "Pace of change: no limit on how far an area's funding may move between years."
        )
    if policy.award_years > 1:
        rules.append(
            f"Awards last {policy.award_years} years: a unit funded in its first year stays funded."
        )
    else:
        rules.append("Awards are made one year at a time.")
    previous = [p for p in policy.previous_allocation if area_code is None or p.area == area_code]
    if previous:
        rules.append(
            f"A previous allocation is given for {len(previous)} area × service pairs; it is the "
            "starting point for the pace of change."
        )
    limits = [lim for lim in policy.area_limits if area_code is None or lim.area == area_code]
    for lim in limits:
        bounds = []
        if lim.min_units is not None:
            bounds.append(f"at least {_units(lim.min_units)} units")
        if lim.max_units is not None:
            bounds.append(f"at most {_units(lim.max_units)} units")
        if lim.min_pence is not None:
            bounds.append(f"at least {pounds_text(lim.min_pence)} a year")
        if lim.max_pence is not None:
            bounds.append(f"at most {pounds_text(lim.max_pence)} a year")
        what = services.get(lim.service, lim.service) if lim.service else "all services together"
        rules.append(f"Limit for {areas.get(lim.area, lim.area)}, {what}: {' and '.join(bounds)}.")
    if not limits:
        rules.append(
            "Floors and caps per area: none set" + (" for this borough." if area_code else ".")
        )
    return rules


def _grant_rules(scenario: Scenario) -> list[str]:
    """Formula grants with their transition policy, fund splits and bid rounds, in words."""
    rules = []
    for split in scenario.fund_splits:
        share = (
            f"{split.co_commissioning_pct}%"
            if split.co_commissioning_pct is not None
            else pounds_text(split.co_commissioning_pence or 0) + " a year"
        )
        direct = f"to {split.direct_pot}" if split.direct_pot else f"stays in {split.fund}"
        rules.append(
            f"Fund split: {share} of {split.fund} goes to co-commissioning "
            f"({split.co_commissioning_pot}); the rest {direct}."
            + (f" Source: {split.source}" if split.source else "")
        )
    for grant in scenario.formula_grants:
        t = grant.transition
        parts = [
            f"Formula grant '{grant.name}': all of pot {grant.pot} is paid to areas each year; "
            "each area's target is the pot shared by the need index"
            + (" of its own weights" if grant.need_weights else "")
            + ", to the penny."
        ]
        if t.is_empty:
            parts.append("No transition rules: grants equal targets.")
        if t.min_grant_pence is not None:
            parts.append(f"Minimum grant: {pounds_text(t.min_grant_pence)} a year per area.")
        if t.max_loss_pct is not None:
            parts.append(
                "Floor: no area's grant falls below its previous year's."
                if t.max_loss_pct == 0
                else f"Floor: no area's grant falls more than {t.max_loss_pct}% below its "
                "previous year's."
            )
        if t.max_gain_pct is not None:
            parts.append(f"Gains cap: no area's grant rises more than {t.max_gain_pct}% a year.")
        if t.max_below_target_pct is not None:
            parts.append(
                f"No area's grant is more than {t.max_below_target_pct}% below its target."
            )
        if t.commitment_years > 1:
            parts.append(f"Grants are committed for {t.commitment_years} years at a time.")
        if grant.previous is not None:
            parts.append(f"Previous grants are those of {grant.previous.year}.")
        if grant.source:
            parts.append(f"Source: {grant.source}")
        rules.append(" ".join(parts))
    for bid_round in scenario.bid_rounds:
        objective = (
            "the total score of the selected bids"
            if bid_round.objective == "score"
            else "each selected bid's score × its number of partner boroughs"
        )
        rule = (
            f"Bid round '{bid_round.name}': bids are paid from {bid_round.budget_pot}; the "
            f"selection maximises {objective} within the pot's money each year; bids need at "
            f"least {bid_round.min_partner_areas} partner borough(s)"
        )
        if bid_round.require_every_area_covered:
            rule += "; every eligible borough must be a partner of a selected bid"
        rule += "; overlapping services are allowed." if bid_round.allow_overlap else "."
        rules.append(rule)
    return rules


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


def _assumptions(scenario: Scenario, area_code: str | None) -> list[str]:
    found: list[str] = []
    for s in scenario.services:
        if s.cost_is_assumption:
            found.append(f"Unit cost of {s.name}: {s.cost_source or 'no source given'}")
    for p in scenario.pots:
        if p.is_assumption:
            found.append(f"Budget of {p.name}: {p.source or 'no source given'}")
    sources = sorted(
        {
            e.source or "no source given"
            for e in scenario.existing_provision
            if e.is_assumption and (area_code is None or e.area == area_code)
        }
    )
    found += [f"Existing provision: {source}" for source in sources]
    for grant in scenario.formula_grants:
        if grant.previous is not None and grant.previous.is_assumption:
            found.append(
                f"Previous grants of {grant.name}: {grant.previous.source or 'no source given'}"
            )
    for bid_round in scenario.bid_rounds:
        for bid in bid_round.bids:
            if bid.is_illustrative and (area_code is None or area_code in bid.partner_areas):
                found.append(f"Bid {bid.id} from {bid.provider} is illustrative, not a real bid.")
    return found
