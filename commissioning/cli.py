"""The `commissioning` command: validate, solve and describe scenarios from the shell."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from commissioning import __version__
from commissioning.errors import InfeasibleScenario, ScenarioError, SolverFailed
from commissioning.models import Scenario, ScenarioFile
from commissioning.safe_output import OutputRefused, check_run_folder
from commissioning.scenario_io import load_scenario

EXIT_BAD_INPUT = 2


class CliError(Exception):
    """A problem the user can fix; printed as one line each, exit code 2."""


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, data_root=args.data_root)
    from commissioning.checks import check_scenario

    checks = check_scenario(scenario)
    if checks.impossible:
        raise InfeasibleScenario(checks.impossible)
    _warn(checks.warnings)
    years = ", ".join(scenario.financial_years)
    print(f"ok: {scenario.name}")
    print(
        f"  {len(scenario.areas)} areas, {len(scenario.services)} services, "
        f"{len(scenario.benchmarks)} benchmarks, {len(scenario.pots)} pots, "
        f"{len(scenario.commitments)} fixed commitments, {len(scenario.ring_fences)} ring-fences; "
        f"years {years}"
    )
    return 0


def _solve(args: argparse.Namespace) -> int:
    from commissioning.runs import report, solve_to_directory  # solver loads only when solving

    check_run_folder(Path(args.out).resolve())  # refuse before solving, not after
    scenario = _with_settings(load_scenario(args.scenario, data_root=args.data_root), args.set)
    _warn(scenario.warnings())
    run, out_dir = solve_to_directory(scenario, Path(args.out))
    print(report(run))
    print(f"outputs written to {out_dir}")
    return 0


def _with_settings(scenario: Scenario, settings: list[str] | None) -> Scenario:
    """The scenario with each `--set PATH=VALUE` applied, or CliError naming the bad one."""
    from commissioning.analysis.overrides import OverrideError, apply_overrides

    pairs: list[tuple[str, str]] = []
    for setting in settings or []:
        path, equals, value = setting.partition("=")
        if not equals or not path.strip() or not value.strip():
            raise CliError(
                f"--set {setting!r}: write PATH=VALUE, e.g. pots.mopac_direct.amount=£3,800,000"
            )
        pairs.append((path.strip(), value.strip()))
    try:
        return apply_overrides(scenario, pairs)
    except OverrideError as exc:
        raise CliError(f"--set {exc}") from None


def _variant(args: argparse.Namespace) -> int:
    from commissioning.safe_output import staged_file
    from commissioning.scenario_io import scenario_json

    scenario = _with_settings(load_scenario(args.scenario, data_root=args.data_root), args.set)
    _warn(scenario.warnings())
    # Areas are written inline, so the file needs nothing beside it wherever it is copied.
    with staged_file(args.out) as handle:
        handle.write(scenario_json(scenario).encode("utf-8"))
    print(f"variant written to {args.out} (scenario hash {scenario.content_hash()[:12]})")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from commissioning.analysis.compare import compare_runs
    from commissioning.analysis.compare_text import comparison_text
    from commissioning.results import RunResult

    runs = []
    for label, folder in (("RUN_A", args.run_a), ("RUN_B", args.run_b)):
        if not (Path(folder) / "summary.json").is_file():
            raise CliError(
                f"{label} {folder} is not a run directory written by `commissioning solve`"
            )
        runs.append(RunResult.read(folder))
    comparison = compare_runs(runs[0], runs[1])
    print(comparison_text(comparison, args.run_a, args.run_b))
    if args.out:
        from commissioning.excel.compare_sheet import write_compare_workbook
        from commissioning.excel.run_facts import workbook_timestamp

        stamp = max(workbook_timestamp(run) for run in runs)
        print(f"workbook written to {write_compare_workbook(comparison, args.out, stamp)}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from commissioning.excel import UnknownAreaError, export_workbook

    try:
        path = export_workbook(args.run_dir, args.out, args.borough)
    except UnknownAreaError as exc:
        raise CliError(str(exc)) from None
    print(f"workbook written to {path}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    from commissioning.analysis.borough_paragraph import UnknownBorough, find_area_code
    from commissioning.analysis.explain import explain_borough, explanation_text
    from commissioning.results import RunResult

    run_dir = Path(args.run_dir)
    if not (run_dir / "summary.json").is_file():
        raise CliError(f"{run_dir} is not a run directory written by `commissioning solve`")
    run = RunResult.read(run_dir)
    years = list(run.scenario.financial_years)
    if args.year is not None and args.year not in years:
        raise CliError(
            f"--year {args.year!r} is not in this run; its years are: {', '.join(years)}"
        )
    try:
        codes = (
            [find_area_code(run, args.borough)]
            if args.borough is not None
            else [a.code for a in run.scenario.areas]
        )
    except UnknownBorough as exc:
        raise CliError(f"--borough: {exc}") from None
    chosen = [args.year] if args.year is not None else years
    texts = [explanation_text(explain_borough(run, code, chosen)) for code in codes]
    print("\n\n".join(texts))
    return 0


def _uncertainty(args: argparse.Namespace) -> int:
    from commissioning.analysis.overrides import OverrideError
    from commissioning.analysis.uncertainty import (
        Settings,
        UncertaintyError,
        parse_range,
        run_uncertainty,
    )
    from commissioning.progress import progress_bar

    out = Path(args.out) if args.out else Path(f"uncertainty-seed-{args.seed}")
    check_run_folder(out.resolve())  # refuse before solving, not after
    if args.jobs is not None and args.jobs < 1:
        raise CliError(f"--jobs must be at least 1, got {args.jobs}")
    scenario = _with_settings(load_scenario(args.scenario, data_root=args.data_root), args.set)
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


def _resolve(args: argparse.Namespace) -> int:
    from commissioning.scenario_io import scenario_json

    sys.stdout.write(scenario_json(load_scenario(args.scenario, data_root=args.data_root)))
    return 0


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(ScenarioFile.model_json_schema(), indent=2, ensure_ascii=False))
    return 0


DATA_ROOT_HELP = (
    "also read area tables (area_data) from this folder; by default they must be inside the "
    "scenario's folder"
)


SET_HELP = (
    "change one figure before solving (repeatable): pots.ID.amount=£3,800,000, "
    "pots.ID.amount[2020/21]=380000000p, pots.ID.scale=0.7, services.ID.unit_cost=£45,000, "
    "services.ID.granularity=0.5, benchmarks.SERVICE.units=4.5, areas.CODE|*.INDICATOR=79013, "
    "areas.*.INDICATOR.scale=103%%, policy.fairness_rule=leximin, "
    "policy.solver.relative_gap=0.001, "
    "ring_fences.ID.min_amount=£200k, commitments.ID.amount=£2.2m"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="commissioning",
        description="Allocate VAWG funding pots across areas and services, and explain why.",
    )
    parser.add_argument("--version", action="version", version=f"commissioning {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check a scenario file and summarise it")
    validate.add_argument("scenario", help="scenario JSON file")
    validate.add_argument("--data-root", metavar="DIR", help=DATA_ROOT_HELP)
    validate.set_defaults(run=_validate)

    solve = commands.add_parser("solve", help="solve a scenario and write its outputs")
    solve.add_argument("scenario", help="scenario JSON file")
    solve.add_argument("--data-root", metavar="DIR", help=DATA_ROOT_HELP)
    solve.add_argument(
        "--out",
        required=True,
        help="run folder to write: new, empty, or a previous run (replaced atomically); "
        "a folder holding anything else is refused",
    )
    solve.add_argument("--set", action="append", metavar="PATH=VALUE", help=SET_HELP)
    solve.set_defaults(run=_solve)

    variant = commands.add_parser(
        "variant",
        help="write a copy of a scenario with some figures changed (areas inline, self-contained)",
    )
    variant.add_argument("scenario", help="base scenario JSON file")
    variant.add_argument("--data-root", metavar="DIR", help=DATA_ROOT_HELP)
    variant.add_argument("--set", action="append", metavar="PATH=VALUE", help=SET_HELP)
    variant.add_argument("--out", required=True, help="scenario file to write (.json)")
    variant.set_defaults(run=_variant)

    compare = commands.add_parser(
        "compare", help="what changed between two solved runs (RUN_B − RUN_A), to the penny"
    )
    compare.add_argument("run_a", metavar="RUN_A", help="base run directory written by `solve`")
    compare.add_argument("run_b", metavar="RUN_B", help="run directory to compare with it")
    compare.add_argument("--out", metavar="FILE.xlsx", help="also write a workbook (Compare sheet)")
    compare.set_defaults(run=_compare)

    export = commands.add_parser(
        "export", help="write the London workbook, or one borough's, from a solved run directory"
    )
    export.add_argument("run_dir", help="run directory written by `solve`")
    export.add_argument(
        "--borough",
        metavar="AREA_CODE",
        help="ONS code of one area, e.g. E09000007 (default: the London workbook)",
    )
    export.add_argument("--out", required=True, help="workbook file to write (.xlsx)")
    export.set_defaults(run=_export)

    explain = commands.add_parser(
        "explain",
        help="print each borough's paragraph and why each cell below benchmark is there",
    )
    explain.add_argument("run_dir", help="run directory written by `solve`")
    explain.add_argument(
        "--borough", metavar="NAME|CODE", help="one borough, by name or ONS code (default: all)"
    )
    explain.add_argument("--year", metavar="YEAR", help="one financial year, e.g. 2019/20")
    explain.set_defaults(run=_explain)

    resolve = commands.add_parser(
        "resolve",
        help="print the scenario with its CSV area data inline (the body the API accepts)",
    )
    resolve.add_argument("scenario", help="scenario JSON file")
    resolve.add_argument("--data-root", metavar="DIR", help=DATA_ROOT_HELP)
    resolve.set_defaults(run=_resolve)

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

    schema = commands.add_parser("schema", help="print the JSON Schema of the scenario file")
    schema.set_defaults(run=_schema)

    from commissioning.sweep_cli import register as register_sweep

    register_sweep(commands)

    from commissioning.api.cli_commands import register

    register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ScenarioError as exc:
        source = getattr(args, "scenario", "")
        for problem in exc.problems:
            print(f"error: {source}: {problem}" if source else f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InfeasibleScenario as exc:
        for line in str(exc).splitlines():
            print(f"infeasible: {line.strip()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SolverFailed as exc:
        print(f"error: solver: {exc}", file=sys.stderr)
        return 3
    except (CliError, OutputRefused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
