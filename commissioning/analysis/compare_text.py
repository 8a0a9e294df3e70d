"""A comparison of two runs as text a commissioner reads: pounds, percentages, borough names."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from commissioning.analysis.compare import RunComparison, ScorecardLine
from commissioning.money import pounds

LARGEST = 10  # boroughs listed by the size of their change in money


def _signed_pounds(pence: int) -> str:
    return ("+" if pence > 0 else "") + pounds(pence)


def _percent(ratio: Decimal) -> str:
    # Rounded down, as the scorecard does, so 99.96 % never shows as 100.0 %.
    return f"{(ratio * 100).quantize(Decimal('0.1'), rounding=ROUND_FLOOR)} %"


def _points(change: Decimal) -> str:
    points = (change * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    return f"{'+' if points > 0 else ''}{points} points"


def _number(value: Decimal) -> str:
    return f"{value:,f}"


def _scorecard_cells(line: ScorecardLine) -> tuple[str, str, str]:
    def shown(value: Decimal | None) -> str:
        if value is None:
            return "–"
        if line.kind == "pence":
            return pounds(int(value))
        if line.kind == "ratio":
            return _percent(value)
        return _number(value)

    change = line.change
    if change is None:
        moved = "–"
    elif line.kind == "pence":
        moved = _signed_pounds(int(change))
    elif line.kind == "ratio":
        moved = _points(change)
    else:
        moved = ("+" if change > 0 else "") + _number(change)
    return shown(line.base), shown(line.other), moved


def comparison_text(c: RunComparison, base_label: str = "base", other_label: str = "other") -> str:
    """The summary `commissioning compare` prints (every change is other − base)."""
    lines = [
        f"base:  {base_label} ({c.base_scenario})",
        f"other: {other_label} ({c.other_scenario})",
    ]
    if c.area_code:
        lines.append(f"cut to area {c.area_code}")
    if c.scorecard is not None:
        lines += ["", f"  {'scorecard':<48}{'base':>16}{'other':>16}{'change':>18}"]
        for line in c.scorecard:
            base, other, change = _scorecard_cells(line)
            lines.append(f"  {line.measure:<48}{base:>16}{other:>16}{change:>18}")

    lines.append("")
    for direction, heading in (("fell_below", "fell below"), ("reached", "reached")):
        years: dict[str, list[str]] = defaultdict(list)
        for x in c.crossings:
            if x.direction == direction:
                years[x.area_name].append(f"{x.year} {'/'.join(x.services)}")
        names = sorted(years)
        lines.append(f"boroughs that {heading} benchmark: {len(names)}")
        lines += [f"  {name}: {', '.join(years[name])}" for name in names]

    if c.pots is not None:
        lines += ["", "money by pot, all years (budget / allocated / unspent):"]
        by_pot: dict[str, list[int]] = {}
        names_of: dict[str, str] = {}
        for p in c.pots:
            sums = by_pot.setdefault(p.pot, [0] * 6)
            names_of[p.pot] = p.pot_name
            for i, value in enumerate(
                (
                    p.base_budget_pence,
                    p.other_budget_pence,
                    p.base_allocated_pence,
                    p.other_allocated_pence,
                    p.base_unspent_pence,
                    p.other_unspent_pence,
                )
            ):
                sums[i] += value
        for pot, s in by_pot.items():
            parts = [
                f"{what} {pounds(s[i])} → {pounds(s[i + 1])} ({_signed_pounds(s[i + 1] - s[i])})"
                for what, i in (("budget", 0), ("allocated", 2), ("unspent", 4))
                if s[i] != s[i + 1] or what == "budget"
            ]
            lines.append(f"  {names_of[pot]}: {'; '.join(parts)}")

    if c.grants:
        t = c.totals
        moved = sum(1 for g in c.grants if g.diff_allocated_pence)
        lines += [
            "",
            f"formula grants: target {pounds(t.base_grant_target_pence)} → "
            f"{pounds(t.other_grant_target_pence)} ({_signed_pounds(t.diff_grant_target_pence)}); "
            f"paid {pounds(t.base_grant_allocated_pence)} → "
            f"{pounds(t.other_grant_allocated_pence)} "
            f"({_signed_pounds(t.diff_grant_allocated_pence)}); {moved} area-years change",
        ]

    if c.bids is not None:
        lines.append("")
        if not c.bids:
            lines.append("bids: both runs select the same bids")
        for b in c.bids:
            lines.append(
                f"bid {b.bid} ({b.provider}) selected only in {b.selected_in}: "
                f"{', '.join(b.years)}, {pounds(b.cost_pence)}"
            )

    by_area: dict[str, int] = defaultdict(int)
    area_names: dict[str, str] = {}
    for r in c.rows:
        by_area[r.area_code] += r.diff_funded_cost_pence
        area_names[r.area_code] = r.area_name or r.area_code
    moved_areas = sorted(
        (a for a in by_area if by_area[a]), key=lambda a: (by_area[a], area_names[a])
    )
    lines += ["", f"funded money by borough, all years ({len(moved_areas)} change):"]
    for code in sorted(moved_areas, key=lambda a: (-abs(by_area[a]), area_names[a]))[:LARGEST]:
        lines.append(f"  {area_names[code]:<28}{_signed_pounds(by_area[code]):>16}")
    if len(moved_areas) > LARGEST:
        lines.append(f"  … and {len(moved_areas) - LARGEST} more (see --out)")

    t = c.totals
    lines += [
        "",
        f"total funded: {pounds(t.base_funded_cost_pence)} → {pounds(t.other_funded_cost_pence)} "
        f"({_signed_pounds(t.diff_funded_cost_pence)}); units {_number(t.base_funded_units)} → "
        f"{_number(t.other_funded_units)} ({'+' if t.diff_funded_units > 0 else ''}"
        f"{_number(t.diff_funded_units)}); cells below benchmark {t.base_cells_below} → "
        f"{t.other_cells_below}",
    ]
    return "\n".join(lines)
