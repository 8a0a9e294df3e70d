"""`commissioning sweep`: the budget–outcome curve of one figure, or a grid of two, and its knee.

Two ways to name what varies:

    commissioning sweep SCEN --vary pots.mopac_direct --from 50% --to 130% --steps 17
    commissioning sweep SCEN --vary pots.mopac_direct:50%:130%:9 \\
                             --vary services.idva.unit_cost:£35k:£45k:5

The second form (PATH:FROM:TO:STEPS) is the one a grid of two figures needs; the first is for
one. FROM and TO are both percentages of the scenario's own figure or both absolute values
(money with £ or p: £3.8m, £250k, 380000000p; plain numbers for rates and populations).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from commissioning.analysis.sweep import Axis, Sweep

VARY_HELP = (
    "the figure to sweep: PATH with --from/--to/--steps, or PATH:FROM:TO:STEPS (give two for a "
    "grid). Paths: pots.ID (its amount every year), services.ID.unit_cost, "
    "benchmarks.SERVICE.units, areas.CODE|*.INDICATOR"
)


def register(commands: Any) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="solve a scenario across a range of one figure (or a grid of two): the curve, "
        "its knee points, sweep.csv and charts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument("scenario", help="scenario JSON file")
    sweep.add_argument("--data-root", metavar="DIR", help="also read area tables from DIR")
    sweep.add_argument("--vary", action="append", required=True, metavar="PATH", help=VARY_HELP)
    sweep.add_argument("--from", dest="start", metavar="VALUE", help="first value: 50%% or £3m")
    sweep.add_argument("--to", dest="stop", metavar="VALUE", help="last value: 130%% or £6m")
    sweep.add_argument("--steps", metavar="N", help="number of values, both ends included")
    sweep.add_argument(
        "--out",
        default="sweep",
        help="folder for sweep.csv, sweep.json, curve.png and curve.svg: new, empty, or a "
        "previous sweep's (default: ./sweep)",
    )
    sweep.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="processes solving steps at once (default: the number of cores)",
    )
    sweep.set_defaults(run=_sweep)


def axes_from_args(args: argparse.Namespace) -> list[Axis]:
    from commissioning.analysis.sweep import SweepError, parse_axis, parse_axis_spec

    ranged = [args.start, args.stop, args.steps]
    if any(v is not None for v in ranged):
        if len(args.vary) != 1 or ":" in args.vary[0]:
            raise SweepError(
                "--from/--to/--steps go with one --vary PATH; for a grid write each figure as "
                "--vary PATH:FROM:TO:STEPS"
            )
        missing = [
            n for n, v in zip(("--from", "--to", "--steps"), ranged, strict=True) if v is None
        ]
        if missing:
            raise SweepError(f"--vary {args.vary[0]}: give {', '.join(missing)} as well")
        return [parse_axis(args.vary[0], args.start, args.stop, args.steps)]
    return [parse_axis_spec(spec) for spec in args.vary]


def _sweep(args: argparse.Namespace) -> int:
    from commissioning.analysis.overrides import OverrideError
    from commissioning.analysis.sweep import Solver, SweepError, run_sweep
    from commissioning.analysis.sweep_files import check_sweep_folder, write_sweep
    from commissioning.cli_common import CliError
    from commissioning.progress import progress_bar
    from commissioning.scenario_io import load_scenario

    out = Path(args.out)
    try:
        # The workers start importing the solver first, while this process checks the options
        # and reads the scenario; a mistake found meanwhile stops them.
        with Solver(args.jobs) as solver:
            axes = axes_from_args(args)
            check_sweep_folder(out)
            scenario = load_scenario(args.scenario, data_root=args.data_root)
            with progress_bar("solving steps") as on_progress:
                sweep = run_sweep(scenario, axes, solver=solver, on_progress=on_progress)
        written = write_sweep(sweep, out)
    except OverrideError as exc:
        raise CliError(f"--vary {exc}") from None
    except SweepError as exc:
        raise CliError(str(exc)) from None
    print(report(sweep))
    print(f"outputs written to {written[0].parent}")
    return 0


def report(sweep: Sweep) -> str:
    """One line per step (the swept value, lowest coverage, cells below, £ unspent), the knee."""
    from commissioning.analysis.sweep_files import exact_text
    from commissioning.money import pounds

    lines = [f"sweep of {', '.join(a.path for a in sweep.axes)}: {len(sweep.steps)} steps"]
    for step in sweep.steps:
        value = " × ".join(
            _point_text(a, p, exact_text) for a, p in zip(sweep.axes, step.point, strict=True)
        )
        card = step.scorecard
        if card is None:
            lines.append(f"  {value}: {step.status}: {step.reason}")
            continue
        lowest = (card.get("lowest_coverage") or {}).get("percent", "n/a")
        lines.append(
            f"  {value}: lowest coverage {lowest}, {card['cells_below']} cells below benchmark, "
            f"{pounds(card['unspent_pence'])} unspent"
        )
    knee = sweep.knees
    if knee is not None and knee.get("found") and knee["kind"] == "pot":
        cut, share = knee["largest_cut_pence"][0], knee["largest_cut_percent"][0]
        below = knee["one_penny_less"]["cells_short_of_money"] if knee["one_penny_less"] else 0
        change = (
            f"a cut of up to {pounds(cut)}, {share}"
            if cut is not None
            else f"{pounds(knee['rise_needed_pence'][0])} more than now"
        )
        lines.append(
            f"knee: every borough at benchmark from {pounds(knee['smallest_budget_pence'])} a "
            f"year in {knee['path']} ({change}); one penny less and {below} cells it can fund "
            "fall below"
        )
    elif knee is not None and knee.get("found"):
        lines.append(
            f"knee: every borough at benchmark up to a unit cost of "
            f"{pounds(knee['largest_unit_cost_pence'])} ({knee['path']})"
        )
    elif knee is not None:
        lines.append(f"knee: not found: {knee['why']}")
    return "\n".join(lines)


def _point_text(axis: Axis, point: Any, exact: Any) -> str:
    from commissioning.money import pounds

    if axis.relative:
        return f"{axis.path} {exact(point * 100)}%"
    if isinstance(point, int) and (axis.path.startswith("pots.") or "unit_cost" in axis.path):
        return f"{axis.path} {pounds(point)}"
    return f"{axis.path} {exact(point)}"
