"""The workspace's pictures as SVG drawn on the server: the London tile map, coverage bars and
the budget–outcome curve. No JavaScript and no chart library: the page works offline and the
same figures are in the tables beside each picture for screen readers.

Colour is never the only cue: every tile and bar carries its figure as text, below-benchmark
tiles have a heavier dashed outline, and the text colour on each fill meets WCAG AA contrast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from commissioning.london_tiles import COLUMNS, ROWS, TILES
from commissioning.web.figures import money, percent
from commissioning.web.text_width import text_width

# (lowest ratio of the band, fill, text colour, legend words); white on the dark fills is
# 6.5:1 and 6.3:1, near-black on the light ones over 9:1.
BANDS: tuple[tuple[float, str, str, str], ...] = (
    (1.25, "#2166ac", "#ffffff", "125 % of benchmark or more"),
    (1.0, "#92c5de", "#1a1a1a", "at benchmark (100–125 %)"),
    (0.9, "#f4a582", "#1a1a1a", "below benchmark (90–100 %)"),
    (0.0, "#b2182b", "#ffffff", "well below benchmark (under 90 %)"),
)
NO_DATA = ("#e6e6e6", "#333333")


def band(ratio: float | None) -> tuple[str, str]:
    """Fill and text colour for a coverage ratio (None: no figure to show)."""
    if ratio is None:
        return NO_DATA
    for lowest, fill, ink, _ in BANDS:
        if ratio >= lowest:
            return fill, ink
    return BANDS[-1][1], BANDS[-1][2]


@dataclass(frozen=True)
class AreaFigure:
    """One borough's coverage in the service and year shown (None: not shown to this user)."""

    code: str
    name: str
    ratio: float | None
    below: bool = False


def _svg_open(width: int, height: int, title: str, desc: str, ident: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart" role="img" aria-labelledby="{ident}-t {ident}-d" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
    )


def tile_map(figures: Sequence[AreaFigure], title: str, ident: str = "map") -> Markup:
    """The squared London map: one tile per borough (commissioning.london_tiles), coloured by
    coverage; tiles of areas not in `figures` are drawn blank."""
    size, gap, pad = 58, 4, 2
    width = COLUMNS * (size + gap) + pad * 2
    height = ROWS * (size + gap) + pad * 2
    by_code = {f.code: f for f in figures}
    below = sum(1 for f in figures if f.below)
    shown = sum(1 for f in figures if f.ratio is not None)
    desc = f"{shown} boroughs shown, {below} below benchmark. The table below has every figure."
    parts = [_svg_open(width, height, title, desc, ident)]
    for tile in TILES:
        figure = by_code.get(tile.code)
        x = pad + tile.column * (size + gap)
        y = pad + tile.row * (size + gap)
        ratio = figure.ratio if figure else None
        fill, ink = band(ratio)
        name = figure.name if figure else tile.abbreviation
        label = f"{name}: {percent(ratio)} of benchmark" if ratio is not None else f"{name}"
        outline = (
            'stroke="#1a1a1a" stroke-width="3" stroke-dasharray="5 3"'
            if figure and figure.below
            else 'stroke="#ffffff" stroke-width="1"'
        )
        parts.append(
            f'<g class="tile" data-area="{tile.code}" data-band="{fill}"><title>{escape(label)}'
            f'</title><rect x="{x}" y="{y}" width="{size}" height="{size}" rx="3" fill="{fill}" '
            f"{outline}/>"
            f'<text x="{x + size / 2}" y="{y + 24}" text-anchor="middle" font-size="16" '
            f'font-weight="700" fill="{ink}">{tile.abbreviation}</text>'
        )
        if ratio is not None:
            shown_percent = percent(ratio).replace(" %", "%")
            parts.append(
                f'<text x="{x + size / 2}" y="{y + 45}" text-anchor="middle" font-size="14" '
                f'fill="{ink}">{escape(shown_percent)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def coverage_bars(figures: Sequence[AreaFigure], title: str, ident: str = "bars") -> Markup:
    """Horizontal bars, lowest coverage first, with the benchmark (100 %) marked. The name
    and figure columns are as wide as their longest text needs (Hammersmith and Fulham, say),
    so no label is cut off at any page width: the picture scales as a whole."""
    rows = sorted((f for f in figures if f.ratio is not None), key=lambda f: (f.ratio, f.name))
    bar_width, row_height, top, font_size, gap = 200, 22, 24, 13, 8
    label_width = gap * 2 + math.ceil(max([40.0, *(text_width(f.name, font_size) for f in rows)]))
    value_width = gap + math.ceil(
        max([40.0, *(text_width(percent(f.ratio), font_size) for f in rows)])
    )
    width = label_width + bar_width + value_width
    height = top + row_height * max(1, len(rows)) + 8
    most = max([1.5, *(f.ratio or 0 for f in rows)])
    most = min(most, 3.0)  # a borough far above benchmark is drawn to the edge, figure in text

    def x_of(ratio: float) -> float:
        return label_width + bar_width * min(ratio, most) / most

    below = sum(1 for f in rows if f.below)
    desc = f"{len(rows)} boroughs, lowest coverage first; {below} below benchmark."
    parts = [_svg_open(width, height, title, desc, ident)]
    benchmark_x = x_of(1.0)
    parts.append(
        f'<text x="{benchmark_x}" y="14" text-anchor="middle" font-size="12" fill="#1a1a1a">'
        "benchmark</text>"
    )
    for i, figure in enumerate(rows):
        y = top + i * row_height
        ratio = figure.ratio or 0.0
        fill, _ = band(ratio)
        parts.append(
            f'<g class="bar" data-area="{figure.code}"><title>{escape(figure.name)}: '
            f"{percent(ratio)} of benchmark</title>"
            f'<text x="{label_width - gap}" y="{y + 15}" text-anchor="end" '
            f'font-size="{font_size}" '
            f'fill="#1a1a1a">{escape(figure.name)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{x_of(ratio) - label_width:.1f}" '
            f'height="{row_height - 6}" fill="{fill}" stroke="#1a1a1a" stroke-width="0.5"/>'
            f'<text x="{label_width + bar_width + 6}" y="{y + 15}" font-size="{font_size}" '
            f'fill="#1a1a1a">{escape(percent(ratio))}</text></g>'
        )
    parts.append(
        f'<line x1="{benchmark_x}" y1="{top - 4}" x2="{benchmark_x}" y2="{height - 4}" '
        'stroke="#1a1a1a" stroke-width="2" stroke-dasharray="4 3"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class CurvePoint:
    budget_pence: int
    lowest_ratio: float | None  # None: the step did not solve
    cells_below: int | None


def sweep_curve(
    points: Sequence[CurvePoint], knee_pence: int | None, title: str, ident: str = "curve"
) -> Markup:
    """The budget–outcome curve: lowest coverage against the swept budget, the knee marked."""
    width, height = 640, 320
    left, right, top, bottom = 70, 20, 20, 50
    solved = [p for p in points if p.lowest_ratio is not None]
    budgets = [p.budget_pence for p in points] + ([knee_pence] if knee_pence else [])
    low, high = (min(budgets), max(budgets)) if budgets else (0, 1)
    high = high if high > low else low + 1
    floor = min([0.8, *(p.lowest_ratio or 1.0 for p in solved)])

    def x_of(pence: int) -> float:
        return left + (width - left - right) * (pence - low) / (high - low)

    def y_of(ratio: float) -> float:
        ratio = min(ratio, 1.0)
        return top + (height - top - bottom) * (1.0 - (ratio - floor) / (1.0 - floor))

    knee_words = f" The knee is at {money(knee_pence)} a year." if knee_pence else ""
    desc = f"{len(points)} budgets from {money(low)} to {money(high)}.{knee_words}"
    parts = [_svg_open(width, height, title, desc, ident)]
    parts.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
        'stroke="#1a1a1a"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#1a1a1a"/>'
    )
    for ratio in (floor, (floor + 1.0) / 2, 1.0):
        y = y_of(ratio)
        parts.append(
            f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" font-size="12" '
            f'fill="#1a1a1a">{escape(percent(ratio))}</text>'
            f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" stroke="#bbbbbb" '
            'stroke-width="0.5"/>'
        )
    for pence, anchor in ((low, "start"), ((low + high) // 2, "middle"), (high, "end")):
        parts.append(
            f'<text x="{x_of(pence)}" y="{height - bottom + 18}" text-anchor="{anchor}" '
            f'font-size="12" fill="#1a1a1a">{escape(money(pence))}</text>'
        )
    parts.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 8}" text-anchor="middle" '
        'font-size="12" fill="#1a1a1a">budget a year</text>'
    )
    if solved:
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{x_of(p.budget_pence):.1f},{y_of(p.lowest_ratio or 0):.1f}"
            for i, p in enumerate(solved)
        )
        parts.append(f'<path d="{path}" fill="none" stroke="#2166ac" stroke-width="2.5"/>')
        for p in solved:
            parts.append(
                f'<circle cx="{x_of(p.budget_pence):.1f}" cy="{y_of(p.lowest_ratio or 0):.1f}" '
                f'r="4" fill="#2166ac"><title>{escape(money(p.budget_pence))}: lowest '
                f"coverage {escape(percent(p.lowest_ratio))}, {p.cells_below} cells below"
                "</title></circle>"
            )
    if knee_pence:
        x = x_of(knee_pence)
        parts.append(
            f'<line class="knee" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - bottom}" '
            'stroke="#b2182b" stroke-width="2" stroke-dasharray="6 3"/>'
            f'<text x="{x + (-4 if x > width * 0.7 else 4):.1f}" y="{height - bottom - 8}" '
            f'text-anchor="{"end" if x > width * 0.7 else "start"}" font-size="12" '
            'fill="#8c1422">knee '
            f"{escape(money(knee_pence))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
