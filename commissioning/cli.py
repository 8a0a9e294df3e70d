"""The `commissioning` command: validate, solve and describe scenarios from the shell."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from commissioning import __version__
from commissioning.cli_common import DATA_ROOT_HELP, SET_HELP, CliError, warn, with_settings

# Each command imports what it needs when it runs: pydantic and the models, polars, the solver
# and openpyxl cost about a second to import, and `--version`, `--help` or `validate` should not
# pay for what they never use (tests/test_cli_imports.py checks this).
if TYPE_CHECKING:
    from collections.abc import Sequence


EXIT_BAD_INPUT = 2


def _validate(args: argparse.Namespace) -> int:
    from commissioning.checks import check_scenario
    from commissioning.errors import InfeasibleScenario
    from commissioning.scenario_io import load_scenario

    scenario = load_scenario(args.scenario, data_root=args.data_root)

    checks = check_scenario(scenario)
    if checks.impossible:
        raise InfeasibleScenario(checks.impossible)
    warn(checks.warnings)
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
    from commissioning.runs import report, solve_to_directory
    from commissioning.safe_output import check_run_folder
    from commissioning.scenario_io import load_scenario

    check_run_folder(Path(args.out).resolve())  # refuse before solving, not after
    scenario = with_settings(load_scenario(args.scenario, data_root=args.data_root), args.set)
    warn(scenario.warnings())
    run, out_dir = solve_to_directory(scenario, Path(args.out), excel_csv=args.excel_csv)
    print(report(run))
    print(f"outputs written to {out_dir}")
    return 0


def _variant(args: argparse.Namespace) -> int:
    from commissioning.safe_output import staged_file
    from commissioning.scenario_io import load_scenario, scenario_json

    scenario = with_settings(load_scenario(args.scenario, data_root=args.data_root), args.set)
    warn(scenario.warnings())
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
    from commissioning.area_lookup import UnknownBorough
    from commissioning.excel import export_workbook

    try:
        path = export_workbook(args.run_dir, args.out, args.borough)
    except UnknownBorough as exc:
        raise CliError(f"--borough: {exc}") from None
    print(f"workbook written to {path}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    from commissioning.analysis.borough_paragraph import find_area_code
    from commissioning.analysis.explain import explain_borough, explanation_text
    from commissioning.area_lookup import UnknownBorough
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


def _resolve(args: argparse.Namespace) -> int:
    from commissioning.scenario_io import load_scenario, scenario_json

    sys.stdout.write(scenario_json(load_scenario(args.scenario, data_root=args.data_root)))
    return 0


def _schema(args: argparse.Namespace) -> int:
    import json

    from commissioning.models import ScenarioFile

    print(json.dumps(ScenarioFile.model_json_schema(), indent=2, ensure_ascii=False))
    return 0


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
    solve.add_argument(
        "--excel-csv",
        action="store_true",
        help="also write the tables for Excel users into OUT/excel/: UTF-8 with a byte-order "
        "mark, and a pounds column (e.g. cost_pounds, 1234.56) beside each pence column; the "
        "plain CSVs are unchanged",
    )
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
        metavar="NAME|CODE",
        help="one borough, by name or ONS code, e.g. Camden or E09000007 (case and spacing "
        "ignored; default: the London workbook)",
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

    from commissioning.uncertainty_cli import register as register_uncertainty

    register_uncertainty(commands)

    schema = commands.add_parser("schema", help="print the JSON Schema of the scenario file")
    schema.set_defaults(run=_schema)

    from commissioning.sweep_cli import register as register_sweep

    register_sweep(commands)

    from commissioning.api.cli_commands import register

    register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    one_polars_thread()
    args = build_parser().parse_args(argv)
    try:
        code = int(args.run(args))
    except Exception as exc:
        reported = _reported(exc, getattr(args, "scenario", ""))
        if reported is None:
            raise
        code = reported
    if argv is None:
        end_if_a_solve_was_left_running(code)
    return code


def end_if_a_solve_was_left_running(code: int) -> None:
    """A solve past its deadline may still be running in native code (see
    commissioning.bounded_solve): once everything is written, end the process at once, which
    stops it, rather than wait for it at exit."""
    bounded = sys.modules.get("commissioning.bounded_solve")
    if bounded is not None and bounded.abandoned_solve():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def one_polars_thread() -> None:
    """Run polars on one thread in the command and every process it starts (they inherit the
    environment), unless POLARS_MAX_THREADS says otherwise.

    The tables here are small (at most a few hundred thousand rows) and the solve itself is
    single-threaded, so polars' thread pool only adds work: on the 2-core build machine one
    thread made a 320-area `solve` 18 % cheaper in CPU and in wall time, and 1,000 and 3,000
    areas 7-8 % (benchmarks/scaling.py, BENCHMARKS.md). Polars reads the setting when it is
    first imported, which in the command is after this (it imports what it uses lazily).
    """
    os.environ.setdefault("POLARS_MAX_THREADS", "1")


def _reported(exc: Exception, source: str) -> int | None:
    """Print a problem the user can act on and return the exit code (None: not one of those).

    The exception classes are imported here, once something has gone wrong, so that
    `--version` and `--help` do not load them (errors.py brings in dataclasses and inspect).
    """
    from commissioning.errors import InfeasibleScenario, ScenarioError, SolverFailed
    from commissioning.safe_output import OutputRefused

    if isinstance(exc, ScenarioError):
        for problem in exc.problems:
            print(f"error: {source}: {problem}" if source else f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(exc, InfeasibleScenario):
        for line in str(exc).splitlines():
            print(f"infeasible: {line.strip()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(exc, SolverFailed):
        print(f"error: solver: {exc}", file=sys.stderr)
        return 3
    if isinstance(exc, CliError | OutputRefused):
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(exc, OSError):
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_BAD_INPUT
    return None


if __name__ == "__main__":
    sys.exit(main())
