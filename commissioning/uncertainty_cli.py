"""`commissioning uncertainty`: a seeded Monte Carlo of the solve, and its headline report."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from commissioning.cli_common import DATA_ROOT_HELP, SET_HELP, CliError, with_settings


def register(commands: Any) -> None:
    uncertainty = commands.add_parser(
        "uncertainty",
        help="seeded Monte Carlo: the chance each borough ends below benchmark",
        description="Solve the scenario for many draws of uncertain figures (each drawn "
        "uniformly within its range, every matching item on its own) and report per "
        "year × borough × service the probability of ending below benchmark and the 5–95%% "
        "range of units and £. The same seed gives the same files, byte for byte, whatever "
        "--jobs.",
    )
    uncertainty.add_argument("scenario", help="scenario JSON file")
    uncertainty.add_argument("--draws", type=int, default=500, help="draws (default 500)")
    uncertainty.add_argument(
        "--vary",
        action="append",
        metavar="PATH=±N%%",
        help="a range (repeatable): services.*.unit_cost=±10%%, areas.*.female_16_plus=±3%%",
    )
    uncertainty.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    uncertainty.add_argument(
        "--budget-pot",
        metavar="POT",
        help="also find, per draw, the smallest budget of this pot with every borough at "
        "benchmark (bisection in pence), and report its 95th percentile",
    )
    uncertainty.add_argument("--out", help="output folder (default uncertainty-seed-SEED)")
    uncertainty.add_argument(
        "--jobs", type=int, help="worker processes (default: the number of cores)"
    )
    uncertainty.add_argument("--set", action="append", metavar="PATH=VALUE", help=SET_HELP)
    uncertainty.add_argument("--data-root", help=DATA_ROOT_HELP)
    uncertainty.set_defaults(run=_uncertainty)


def _uncertainty(args: argparse.Namespace) -> int:
    from commissioning.analysis.overrides import OverrideError
    from commissioning.analysis.uncertainty import (
        Settings,
        UncertaintyError,
        parse_range,
        run_uncertainty,
    )
    from commissioning.progress import progress_bar
    from commissioning.safe_output import check_run_folder
    from commissioning.scenario_io import load_scenario

    out = Path(args.out) if args.out else Path(f"uncertainty-seed-{args.seed}")
    check_run_folder(out.resolve())  # refuse before solving, not after
    if args.jobs is not None and args.jobs < 1:
        raise CliError(f"--jobs must be at least 1, got {args.jobs}")
    scenario = with_settings(load_scenario(args.scenario, data_root=args.data_root), args.set)
    try:
        settings = Settings(
            draws=args.draws,
            seed=args.seed,
            ranges=tuple(parse_range(text) for text in args.vary or []),
            budget_pot=args.budget_pot,
        )
        jobs = args.jobs or min(os.cpu_count() or 1, args.draws)
        with progress_bar(f"{args.draws} draws") as on_step:
            result = run_uncertainty(scenario, settings, jobs=jobs, on_step=on_step)
    except (UncertaintyError, OverrideError) as exc:
        raise CliError(f"--vary {exc}" if isinstance(exc, OverrideError) else str(exc)) from None
    folder = result.write(out)
    print(uncertainty_report(result))
    print(f"outputs written to {folder}")
    return 0


def uncertainty_report(result: Any) -> str:
    """The headline of an uncertainty run: how many cells risk ending below benchmark, the
    riskiest ones, and the budget for 95 % of draws."""
    import polars as pl

    from commissioning.money import pounds

    summary = result.summary()
    table = (
        result.table()
        .filter(pl.col("draws_below") > 0)
        .sort(
            "probability_below",
            "year",
            "area_code",
            "service",
            descending=[True, False, False, False],
        )
    )
    lines = [
        f"{summary['draws']} draws (seed {summary['seed']}): {', '.join(summary['vary'])}",
        f"cells ever below benchmark: {summary['cells_ever_below']} of {summary['cells']}",
    ]
    for row in table.head(10).iter_rows(named=True):
        lines.append(
            f"  {row['year']} {row['area_name']} {row['service']}: below benchmark in "
            f"{row['draws_below']} of {row['draws']} draws; funded "
            f"{pounds(row['cost_pence_p05'])}–{pounds(row['cost_pence_p95'])} (5–95%)"
        )
    budget = summary["budget"]
    if budget is not None:
        amount = budget["amount"] or "not found (too many draws never reach benchmark)"
        lines.append(
            f"{budget['pot']} keeping every borough at benchmark in {budget['percentile']}% "
            f"of draws: {amount} a year"
        )
    return "\n".join(lines)
