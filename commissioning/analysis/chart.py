"""The budget–outcome curve of a sweep, drawn as PNG and SVG.

Three panels share the swept value as their x axis: the lowest coverage (over every
benchmarked cell), the cells below benchmark, and the money left unspent (all pots, all
years). A one-figure money sweep marks its knee. The SVG carries its text as paths and links
to nothing, so it shows the same offline; both files are the same bytes on every run.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from commissioning.analysis.sweep import StepResult, Sweep, is_money_path

# No date (reruns give the same bytes) and no creator link; the DOCTYPE names a DTD on the web,
# which a validating reader would fetch, so it is removed (an SVG needs none).
SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
_DOCTYPE = re.compile(r"<!DOCTYPE[^>]*>\s*")


def x_values(sweep: Sweep) -> tuple[list[float], str]:
    """The first axis's value at every step, and its label: the figure itself when it is one
    number per step (a pot the same in every year, a unit cost, a rate), else % of the base."""
    axis = sweep.axes[0]
    columns = [k for k in sweep.base if k.startswith(_prefix(axis.path))]
    xs: list[float] = []
    for step in sweep.steps:
        values = {step.figures.get(c) for c in columns}
        value = values.pop() if len(values) == 1 else None
        if value is None:
            return _percent_axis(sweep)
        xs.append(float(value))
    money = isinstance(next(iter(sweep.base.values()), None), int) and is_money_path(axis.path)
    if money:
        per_year = " a year" if axis.path.startswith("pots.") else ""
        return [x / 100 for x in xs], f"{axis.path} (£{per_year})"
    return xs, axis.path


def _percent_axis(sweep: Sweep) -> tuple[list[float], str]:
    axis = sweep.axes[0]
    if axis.relative:
        return [float(s.point[0]) * 100 for s in sweep.steps], f"{axis.path} (% of scenario)"
    return [float(i) for i in range(len(sweep.steps))], f"{axis.path} (step)"


def _prefix(path: str) -> str:
    parts = path.split(".")
    return ".".join(parts[:2]) + "." if parts[0] == "pots" else path


def _measures(step: StepResult) -> tuple[float, float, float]:
    card = step.scorecard
    if card is None:
        return math.nan, math.nan, math.nan
    lowest = card.get("lowest_coverage")
    return (
        math.nan if lowest is None else lowest["ratio"] * 100,
        float(card["cells_below"]),
        card["unspent_pence"] / 100,
    )


def draw_curve(sweep: Sweep, out_dir: Path) -> list[Path]:
    """Write curve.png and curve.svg into out_dir (the caller's staging folder)."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    xs, label = x_values(sweep)
    figure = Figure(figsize=(8, 9))
    figure.subplots_adjust(left=0.14, right=0.97, top=0.93, bottom=0.07, hspace=0.12)
    axes = figure.subplots(3, 1, sharex=True)
    titles = ("Lowest coverage (%)", "Cells below benchmark", "£ unspent (all pots, all years)")
    series = _series(sweep, xs)
    for name, points in series.items():
        for panel, ax in enumerate(axes):
            ax.plot(
                [p[0] for p in points],
                [p[1][panel] for p in points],
                marker="o",
                markersize=3,
                label=name or None,
            )
    for ax, title in zip(axes, titles, strict=True):
        ax.set_ylabel(title)
        ax.grid(True, linewidth=0.3)
    axes[2].yaxis.set_major_formatter(FuncFormatter(_money_tick))
    axes[2].set_xlabel(label)
    if label.endswith("(£ a year)") or label.endswith("(£)"):
        axes[2].xaxis.set_major_formatter(FuncFormatter(_money_tick))
    _mark_knee(sweep, axes)
    if len(series) > 1:
        axes[0].legend(title=sweep.axes[1].path, fontsize="small")
    swept = " × ".join(a.path for a in sweep.axes)
    figure.suptitle(f"{sweep.scenario_name}\nsweep of {swept}", fontsize="small")
    written = []
    with matplotlib.rc_context({"svg.hashsalt": "commissioning", "svg.fonttype": "path"}):
        for suffix, metadata in (("png", {"Software": None}), ("svg", SVG_METADATA)):
            path = out_dir / f"curve.{suffix}"
            figure.savefig(path, format=suffix, dpi=100, metadata=metadata)
            written.append(path)
    svg = out_dir / "curve.svg"
    svg.write_text(_DOCTYPE.sub("", svg.read_text(encoding="utf-8")), encoding="utf-8")
    return written


def _money_tick(value: float, _position: object) -> str:
    # £4.36m reads at a glance where £4,358,333 crowds the axis.
    if abs(value) >= 1_000_000:
        return f"£{value / 1_000_000:,.2f}m"
    return f"£{value:,.0f}"


def _series(sweep: Sweep, xs: list[float]) -> dict[str, list[tuple[float, Any]]]:
    """One line per value of the second axis (one line in all for a one-figure sweep)."""
    lines: dict[str, list[tuple[float, Any]]] = {}
    for x, step in zip(xs, sweep.steps, strict=True):
        name = "" if len(sweep.axes) == 1 else _point_text(sweep, step.point[1])
        lines.setdefault(name, []).append((x, _measures(step)))
    return lines


def _point_text(sweep: Sweep, value: Any) -> str:
    axis = sweep.axes[1]
    if axis.relative:
        return f"{float(value) * 100:g}%"
    if isinstance(value, int) and is_money_path(axis.path):
        return f"£{value / 100:,.2f}"
    return str(value)


def _mark_knee(sweep: Sweep, axes: Any) -> None:
    knee = sweep.knees or {}
    pence = knee.get("smallest_budget_pence", knee.get("largest_unit_cost_pence"))
    if not knee.get("found") or pence is None:
        return
    _, label = x_values(sweep)
    if "£" not in label:
        return  # the x axis is not in money here: a knee in pence has no place on it
    for ax in axes:
        ax.axvline(pence / 100, color="black", linestyle="--", linewidth=0.8)
    axes[0].annotate(
        f"knee £{pence / 100:,.2f}",
        xy=(pence / 100, 0.02),
        xycoords=("data", "axes fraction"),
        rotation=90,
        fontsize="small",
        ha="right",
        va="bottom",
    )
