"""Sweeps: exact knees checked by direct solves, reruns byte-identical, the CLI's doors."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from terminal import run_with_stderr_on_a_terminal

from commissioning.analysis.overrides import OverrideError, scale_path, set_path
from commissioning.analysis.scorecard import scorecard
from commissioning.analysis.sweep import (
    Solver,
    SweepError,
    parse_axis,
    parse_axis_spec,
    run_sweep,
)
from commissioning.analysis.sweep_files import FILES, csv_text, write_sweep
from commissioning.cli import main
from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.scenario_io import load_scenario

ROOT = Path(__file__).resolve().parents[1]
LONDON = ROOT / "fixtures" / "london-2019" / "scenario.json"
MOPAC = "pots.mopac_direct"


@pytest.fixture(scope="module")
def london() -> Scenario:
    return load_scenario(LONDON)


@pytest.fixture(scope="module")
def mopac_sweep(london: Scenario):  # type: ignore[no-untyped-def]
    # 70% fails (cells below benchmark), 90% and 110% pass: the knee lies between 70% and 90%.
    with Solver(2) as solver:
        return run_sweep(london, [parse_axis(MOPAC, "70%", "110%", "3")], solver=solver)


def test_axis_points_are_exact(london: Scenario) -> None:
    relative = parse_axis(MOPAC, "50%", "130%", 17)
    assert relative.points()[0] == Fraction(1, 2)
    assert relative.points()[1] == Fraction(11, 20)
    assert relative.points()[-1] == Fraction(13, 10)
    absolute = parse_axis(MOPAC, "£1", "£2", 4)  # 100p to 200p in thirds: half up
    assert absolute.points() == [100, 133, 167, 200]
    rate = parse_axis("benchmarks.idva.units", "4", "5", 3)
    assert rate.points() == [Decimal("4"), Decimal("4.5"), Decimal("5")]


def test_knee_equals_direct_solves(london: Scenario, mopac_sweep) -> None:  # type: ignore[no-untyped-def]
    knee = mopac_sweep.knees
    assert knee["found"] and knee["kind"] == "pot"
    budget = knee["smallest_budget_pence"]
    assert 0.7 * 546_500_000 < budget < 0.9 * 546_500_000  # not a grid value: found between
    at_knee = scorecard(solve(set_path(london, MOPAC, budget)))
    one_penny_less = scorecard(solve(set_path(london, MOPAC, budget - 1)))
    assert at_knee.cells_below == 0 and at_knee.boroughs_below == []
    assert at_knee.lowest_coverage is not None and at_knee.lowest_coverage.ratio == 1.0
    assert one_penny_less.cells_below > 0 and one_penny_less.boroughs_below
    assert knee["largest_cut_pence"] == [546_500_000 - budget] * 3
    assert knee["rise_needed_pence"] == [0, 0, 0]
    assert knee["at_knee"]["cells_below"] == 0
    assert knee["one_penny_less"]["cells_below"] == one_penny_less.cells_below


def test_swept_steps_equal_direct_solves(london: Scenario, mopac_sweep) -> None:  # type: ignore[no-untyped-def]
    # The steps reuse the grant and bid rounds between solves: the scorecard must not change.
    for step in mopac_sweep.steps[:2]:
        direct = scorecard(solve(scale_path(london, MOPAC, step.point[0]))).to_json()
        assert step.scorecard == direct


def test_sweep_files_identical_across_reruns(london: Scenario, mopac_sweep, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Solver(1) as solver:  # solved again, in this process this time
        again = run_sweep(london, [parse_axis(MOPAC, "70%", "110%", "3")], solver=solver)
    write_sweep(mopac_sweep, tmp_path / "a")
    write_sweep(again, tmp_path / "b")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    svg = (tmp_path / "a" / "curve.svg").read_text()
    # Only the namespace names may look like addresses: nothing is loaded from anywhere.
    addresses = set(re.findall(r"https?://[^\"' <]*", svg))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert "<!DOCTYPE" not in svg and "<text" not in svg  # text drawn as paths, no fonts
    header, first = csv_text(mopac_sweep).splitlines()[:2]
    assert header.startswith("step,pots.mopac_direct factor,pots.mopac_direct.amount[2019/20]")
    assert first.startswith("1,0.7,382550000,382550000,382550000,optimal")


def test_grid_of_two_figures(london: Scenario) -> None:
    axes = [
        parse_axis_spec("services.idva.unit_cost:£40k:£44k:2"),
        parse_axis_spec("areas.*.female_16_plus:100%:103%:2"),
    ]
    with Solver(1) as solver:
        sweep = run_sweep(london, axes, solver=solver)
    assert [s.point for s in sweep.steps] == [
        (4_000_000, Fraction(1)),
        (4_000_000, Fraction(103, 100)),
        (4_400_000, Fraction(1)),
        (4_400_000, Fraction(103, 100)),
    ]
    assert sweep.knees is None
    cells = [s.scorecard["cells_below"] for s in sweep.steps if s.scorecard is not None]
    assert cells[0] == 0 and len(cells) == 4
    units = [s.figures["services.idva.unit_cost"] for s in sweep.steps]
    assert units == [4_000_000, 4_000_000, 4_400_000, 4_400_000]


def test_bad_axes_are_refused(london: Scenario) -> None:
    with pytest.raises(SweepError, match="both be percentages"):
        parse_axis(MOPAC, "50%", "£3m", 3)
    with pytest.raises(SweepError, match="has no unit"):
        parse_axis(MOPAC, "3800000", "4000000", 3)
    with pytest.raises(SweepError, match=r"PATH:FROM:TO:STEPS"):
        parse_axis_spec("pots.mopac_direct:50%:130%")
    with pytest.raises(OverrideError, match=r"pots\.nope"):
        run_sweep(london, [parse_axis("pots.nope", "50%", "100%", 2)], solver=Solver(1))


def test_cli_unknown_path_exits_2_naming_it(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    args = ["sweep", str(LONDON), "--vary", "pots.nope", "--from", "50%", "--to", "100%"]
    code = main([*args, "--steps", "3", "--out", str(tmp_path / "s"), "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "pots.nope" in err and "unknown pot 'nope'" in err and "mopac_direct" in err
    assert not (tmp_path / "s").exists()
    code = main(["sweep", str(LONDON), "--vary", MOPAC, "--from", "50%", "--out", str(tmp_path)])
    assert code == 2 and "--to, --steps" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("mine")
    code = main(["sweep", str(LONDON), "--vary", f"{MOPAC}:90%:100%:2", "--out", str(tmp_path)])
    assert code == 2 and "notes.txt" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def _cli(tmp_path: Path, name: str) -> list[str]:
    return [
        sys.executable, "-m", "commissioning.cli", "sweep", str(LONDON),
        "--vary", "benchmarks.idva.units:4:4:1", "--jobs", "1", "--out", str(tmp_path / name),
    ]  # fmt: skip


def test_no_progress_bar_when_not_a_terminal(tmp_path: Path) -> None:
    done = subprocess.run(_cli(tmp_path, "piped"), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert "━" not in done.stdout + done.stderr and "solving steps" not in done.stderr
    assert "benchmarks.idva.units 4: lowest coverage 100.0%" in done.stdout
    assert sorted(p.name for p in (tmp_path / "piped").iterdir()) == sorted(FILES)


def test_progress_bar_when_a_terminal(tmp_path: Path) -> None:
    # The same command with stderr on a terminal draws the bar: the test above can fail.
    code, _, seen = run_with_stderr_on_a_terminal(_cli(tmp_path, "tty"))
    assert code == 0
    assert "solving steps" in seen and "\x1b" in seen


def test_rounds_are_reused_only_when_nothing_they_read_changed(london: Scenario) -> None:
    from commissioning.analysis.sweep_reuse import rounds_key

    key = rounds_key(london)
    assert rounds_key(scale_path(london, MOPAC, Fraction(1, 2))) == key  # no round reads it
    assert rounds_key(scale_path(london, "pots.lcpf", Fraction(9, 10))) != key  # grant pot
    assert rounds_key(scale_path(london, "services.idva.unit_cost", Fraction(2))) != key
    assert rounds_key(scale_path(london, "areas.*.female_16_plus", Fraction(2))) != key


def test_sweep_sheet_reads_back_with_the_knee_and_every_step(mopac_sweep, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import openpyxl

    write_sweep(mopac_sweep, tmp_path / "s", charts=False)
    ws = openpyxl.load_workbook(tmp_path / "s" / "sweep.xlsx")["Sweep"]
    cells = [row for row in ws.iter_rows(values_only=True) if any(v is not None for v in row)]
    labels = {row[0]: row[1] for row in cells}
    knee = mopac_sweep.knees
    assert Decimal(str(labels["Smallest amount with every borough at benchmark"])) == (
        Decimal(knee["smallest_budget_pence"]) / 100
    )
    header = next(i for i, row in enumerate(cells) if row[0] == "Step")
    steps = cells[header + 1 : header + 1 + len(mopac_sweep.steps)]
    assert [row[0] for row in steps] == [s.index + 1 for s in mopac_sweep.steps]
    for row, step in zip(steps, mopac_sweep.steps, strict=True):
        pence = step.figures["pots.mopac_direct.amount[2019/20]"]
        assert Decimal(str(row[1])) == Decimal(pence) / 100
        assert row[4] == step.status
        assert row[6] == step.scorecard["cells_below"]
