"""Optimiser speed: the London fixture and a seeded England-scale scenario, ours vs naive.

    .venv/bin/python benchmarks/optimiser_speed.py [--naive-limit 120] [--repeats 5]

"naive" is a single max-min MIP with an integer variable per area × service × pot × year; the
"textbook" one has integer units per area × service × year and continuous pot money; both only
do the fairness stage. "ours" does all stages (fairness, shortfall, cost) and writes the outputs.
Figures go to stdout as a markdown table (paste into BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pulp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from commissioning.models import Scenario  # noqa: E402
from commissioning.optimise import solve as solve_scenario  # noqa: E402
from commissioning.optimise.data import build_data  # noqa: E402
from commissioning.optimise.solver import quiet_stdout  # noqa: E402
from commissioning.runs import write_run  # noqa: E402
from commissioning.scenario_io import load_scenario  # noqa: E402
from commissioning.synthetic import synthetic_scenario  # noqa: E402


def single_maxmin(
    scenario: Scenario, per_pot: bool, limit: float
) -> tuple[float, str, float | None, float]:
    """One MIP: maximise the lowest coverage (capped at benchmark) within budgets."""
    data = build_data(scenario)
    problem = pulp.LpProblem("naive", pulp.LpMaximize)
    level = problem.add_variable("level", lowBound=0, upBound=1)
    units: dict = {}
    spend_terms: dict = {(p, y): {} for p in data.pot_ids for y in data.years}
    for slot in data.slots:
        for y in data.years:
            if per_pot:
                parts = [
                    problem.add_variable(
                        f"n[{slot.index}][{p}][{y}]", lowBound=0, cat=pulp.LpInteger
                    )
                    for p in slot.pots
                ]
                for p, v in zip(slot.pots, parts, strict=True):
                    spend_terms[(p, y)][v] = slot.granule_cost
                units[(slot.index, y)] = pulp.LpAffineExpression({v: 1 for v in parts})
            else:
                n = problem.add_variable(f"n[{slot.index}][{y}]", lowBound=0, cat=pulp.LpInteger)
                units[(slot.index, y)] = pulp.LpAffineExpression({n: 1})
                cost = pulp.LpAffineExpression({n: slot.granule_cost})
                pays = {
                    p: problem.add_variable(f"m[{slot.index}][{p}][{y}]", lowBound=0)
                    for p in slot.pots
                }
                problem.addConstraint(
                    pulp.LpAffineExpression({v: 1 for v in pays.values()}) - cost == 0
                )
                for p, v in pays.items():
                    spend_terms[(p, y)][v] = 1
            if slot.benchmarked:
                problem.addConstraint(
                    float(slot.granule_units) * units[(slot.index, y)] - slot.target * level
                    >= -slot.existing
                )
    for (p, y), terms in spend_terms.items():
        problem.addConstraint(pulp.LpAffineExpression(terms) <= data.free_budget[(p, y)])
    problem.setObjective(pulp.LpAffineExpression({level: 1}))
    started = time.perf_counter()
    with quiet_stdout():
        problem.solve(pulp.HiGHS(msg=False, timeLimit=limit, gapRel=0.005, threads=1))
    seconds = time.perf_counter() - started
    gap = problem.solverModel.getInfo().mip_gap if hasattr(problem, "solverModel") else None
    proven = "optimal" if problem.sol_status == pulp.LpSolutionOptimal else "not proven"
    return seconds, proven, gap, level.varValue or 0.0


def ours(scenario: Scenario, repeats: int) -> tuple[list[float], list[float], dict]:
    """Seconds to solve (grants, bids, all stages, tables) and to write the run directory
    (CSVs, summary and the London workbook), per repeat."""
    solving, writing = [], []
    run = None
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            run = solve_scenario(scenario)
            solved = time.perf_counter()
            write_run(run, Path(tmp) / "run")
            solving.append(solved - started)
            writing.append(time.perf_counter() - solved)
    assert run is not None
    return solving, writing, run.summary


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--naive-limit", type=float, default=120.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    london = load_scenario(ROOT / "fixtures/london-2019/scenario.json")
    load_seconds = time.perf_counter() - started
    england = synthetic_scenario(areas=320, services=8, pots=5, years=3, seed=1)
    england32 = synthetic_scenario(areas=32, services=8, pots=5, years=3, seed=1)
    print("| instance | method | wall time (s) | status | gap | lowest level |")
    print("|---|---|---|---|---|---|")
    for label, scenario in (
        ("London fixture (32 × 6 services × 4 pots × 3 years)", london),
        ("synthetic 32 areas × 8 × 5 × 3 (seed 1)", england32),
        ("England scale: synthetic 320 areas × 8 × 5 × 3 (seed 1)", england),
    ):
        solving, writing, summary = ours(scenario, args.repeats)
        total = [a + b for a, b in zip(solving, writing, strict=True)]
        status = f"{summary['status']} | {summary['gap']:.4%} | {summary['fairness_level']:.4f}"
        method = f"ours: solve (all stages), median of {args.repeats}"
        print(f"| {label} | {method} | {_median(solving)} | {status} |")
        print(f"| {label} | ours: write CSVs + workbook | {_median(writing)} | | | |")
        print(f"| {label} | ours: end to end (solve + write) | {_median(total)} | | | |")
        for name, per_pot in (
            ("textbook: units per cell, pot money continuous", False),
            ("naive: integer per area × service × pot × year", True),
        ):
            seconds, proven, gap, level = single_maxmin(scenario, per_pot, args.naive_limit)
            gap_text = f"{gap:.4%}" if gap is not None and gap < 1e10 else "-"
            print(
                f"| {label} | {name}, fairness stage only | {seconds:.3f} | {proven} "
                f"| {gap_text} | {level:.4f} |"
            )
        sys.stdout.flush()
    print(f"\nReading and validating the London scenario file (CSV tables): {load_seconds:.3f} s.")


if __name__ == "__main__":
    main()
