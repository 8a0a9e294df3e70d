"""The fairness step against a direct-highspy floor (a benchmark, not a test).

    .venv/bin/python benchmarks/fairness_floor.py [--repeats 5] [--areas 320]

The floor is the fairness step with everything but HiGHS taken away: every model the step
hands to HiGHS is recorded as it is run (columns, rows, bounds, costs, kinds, options and any
starting solution), and the same sequence is then replayed straight through highspy, the way
a program written directly against it would ask: one `Highs` per model the step kept, changing
only bounds, costs and kinds between questions when the matrix is unchanged (HiGHS then starts
from its last basis, as in the step), passing the whole model when it is new or has grown.
What the replay does not do is decide which questions to ask; any fairness search, however
written, needs that too, so the floor is a lower bound. Each replayed answer is checked
against the recorded one (model status, and the objective within 1e-6).

Figures: the fairness step (`timing.json` `step_seconds`), its time inside HiGHS
(`solver_seconds_by_step`), the replay, each the median of `--repeats` in-process solves after
a warm-up; the ratio is the step over the replay. Prints a markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highspy
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from commissioning.models import Scenario  # noqa: E402
from commissioning.optimise import clock, solve  # noqa: E402
from commissioning.optimise.solver_context import quiet_stdout  # noqa: E402
from commissioning.scenario_io import load_scenario  # noqa: E402
from commissioning.synthetic import synthetic_scenario  # noqa: E402

STEP = "fairness"


@dataclass
class Call:
    """One `Highs.run` of the fairness step, as HiGHS was asked it."""

    model: int  # which Highs object asked (id), so the replay keeps one per model too
    lp: dict[str, Any]
    options: Any
    start: tuple[Any, ...] | None
    status: str
    objective: float


def _lp_arrays(h: highspy.Highs) -> dict[str, Any]:
    lp = h.getLp()
    matrix = lp.a_matrix_
    return {
        "cols": lp.num_col_,
        "rows": lp.num_row_,
        "cost": np.array(lp.col_cost_),
        "col_lower": np.array(lp.col_lower_),
        "col_upper": np.array(lp.col_upper_),
        "row_lower": np.array(lp.row_lower_),
        "row_upper": np.array(lp.row_upper_),
        "format": matrix.format_,
        "start": np.array(matrix.start_),
        "index": np.array(matrix.index_),
        "value": np.array(matrix.value_),
        "integrality": list(lp.integrality_),
        "sense": lp.sense_,
        "offset": lp.offset_,
    }


def record(scenario: Scenario) -> list[Call]:
    """Solve once, recording every HiGHS run made inside the fairness step."""
    calls: list[Call] = []
    starts: dict[int, tuple[Any, ...]] = {}
    real_run, real_set = highspy.Highs.run, highspy.Highs.setSolution

    def set_solution(self: highspy.Highs, *args: Any) -> Any:
        if clock._STEP.get() == STEP:
            starts[id(self)] = tuple(np.array(a) if hasattr(a, "__len__") else a for a in args)
        return real_set(self, *args)

    def run(self: highspy.Highs) -> Any:
        if clock._STEP.get() != STEP:
            return real_run(self)
        lp, options, start = _lp_arrays(self), self.getOptions(), starts.pop(id(self), None)
        status = real_run(self)
        calls.append(
            Call(
                id(self),
                lp,
                options,
                start,
                str(self.getModelStatus()),
                float(self.getInfo().objective_function_value),
            )
        )
        return status

    highspy.Highs.run, highspy.Highs.setSolution = run, set_solution  # type: ignore[method-assign]
    try:
        solve(scenario)
    finally:
        highspy.Highs.run, highspy.Highs.setSolution = real_run, real_set  # type: ignore[method-assign]
    return calls


def _same_matrix(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["cols"] == b["cols"]
        and a["rows"] == b["rows"]
        and a["format"] == b["format"]
        and np.array_equal(a["start"], b["start"])
        and np.array_equal(a["index"], b["index"])
        and np.array_equal(a["value"], b["value"])
        and a["sense"] == b["sense"]
    )


def _new_model(lp: dict[str, Any], options: Any) -> highspy.Highs:
    with quiet_stdout():  # HiGHS prints its banner on creation
        h = highspy.Highs()
    h.passOptions(options)
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = lp["cols"], lp["rows"]
    model.col_cost_, model.offset_, model.sense_ = lp["cost"], lp["offset"], lp["sense"]
    model.col_lower_, model.col_upper_ = lp["col_lower"], lp["col_upper"]
    model.row_lower_, model.row_upper_ = lp["row_lower"], lp["row_upper"]
    model.a_matrix_.format_ = lp["format"]
    model.a_matrix_.start_ = lp["start"]
    model.a_matrix_.index_ = lp["index"]
    model.a_matrix_.value_ = lp["value"]
    model.a_matrix_.num_col_, model.a_matrix_.num_row_ = lp["cols"], lp["rows"]
    if lp["integrality"]:
        model.integrality_ = lp["integrality"]
    h.passModel(model)
    return h


def replay(calls: list[Call]) -> float:
    """Seconds to ask the recorded questions straight through highspy; checks the answers."""
    plans: list[tuple[Call, bool]] = []
    last: dict[int, dict[str, Any]] = {}
    for call in calls:  # which calls need a whole new model: decided before the clock starts
        previous = last.get(call.model)
        plans.append((call, previous is None or not _same_matrix(previous, call.lp)))
        last[call.model] = call.lp
    models: dict[int, highspy.Highs] = {}
    answers = []
    started = time.perf_counter()
    for call, new in plans:
        lp = call.lp
        if new:
            h = models[call.model] = _new_model(lp, call.options)
        else:
            h = models[call.model]
            cols = np.arange(lp["cols"], dtype=np.int32)
            rows = np.arange(lp["rows"], dtype=np.int32)
            h.changeColsBounds(lp["cols"], cols, lp["col_lower"], lp["col_upper"])
            h.changeRowsBounds(lp["rows"], rows, lp["row_lower"], lp["row_upper"])
            h.changeColsCost(lp["cols"], cols, lp["cost"])
            if lp["integrality"]:
                h.changeColsIntegrality(lp["cols"], cols, np.array(lp["integrality"]))
            h.passOptions(call.options)
        if call.start is not None:
            h.setSolution(*call.start)
        h.run()
        answers.append((h.getModelStatus(), h.getInfo().objective_function_value))
    seconds = time.perf_counter() - started
    for call, (status, objective) in zip(calls, answers, strict=True):
        assert str(status) == call.status, (status, call.status)
        if call.status.endswith("kOptimal"):
            scale = max(1.0, abs(call.objective))
            assert abs(objective - call.objective) <= 1e-6 * scale, (objective, call.objective)
    return seconds


def measure(name: str, scenario: Scenario, repeats: int) -> str:
    solve(scenario)  # warm-up: imports and caches
    steps, inside, floors = [], [], []
    for _ in range(repeats):
        timing = solve(scenario).timing  # the step's own figures, without the recording
        steps.append(timing["step_seconds"][STEP])
        inside.append(timing["solver_seconds_by_step"].get(STEP, 0.0))
        calls = record(scenario)
        floors.append(replay(calls))
    step, highs, floor = (statistics.median(x) for x in (steps, inside, floors))
    return (
        f"| {name} | {step:.3f} | {highs:.3f} | {floor:.3f} | {len(calls)} | {step / floor:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--areas", type=int, default=320)
    args = parser.parse_args()
    with quiet_stdout():
        version = highspy.Highs().version()
    print(f"Python {platform.python_version()}, HiGHS {version}, {platform.machine()}")
    print(
        "| scenario | fairness step s | inside HiGHS s | direct-highspy replay s | "
        "HiGHS runs | step ÷ replay |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    london = load_scenario(ROOT / "fixtures" / "london-2019" / "scenario.json")
    print(measure("London fixture (32 boroughs)", london, args.repeats))
    synthetic = synthetic_scenario(args.areas)
    label = f"synthetic {args.areas} areas × 8 services × 5 pots × 3 years"
    print(measure(label, synthetic, args.repeats))


if __name__ == "__main__":
    main()
