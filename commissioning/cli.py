"""The `commissioning` command: validate, solve and describe scenarios from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from commissioning import __version__
from commissioning.errors import InfeasibleScenario, ScenarioError, SolverFailed
from commissioning.models import ScenarioFile
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
    scenario = load_scenario(args.scenario, data_root=args.data_root)
    _warn(scenario.warnings())
    run, out_dir = solve_to_directory(scenario, Path(args.out))
    print(report(run))
    print(f"outputs written to {out_dir}")
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
    solve.set_defaults(run=_solve)

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

    schema = commands.add_parser("schema", help="print the JSON Schema of the scenario file")
    schema.set_defaults(run=_schema)

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
