"""Uncertainty runs: seeded draws, real solves, byte-identical files, the budget knee, the CLI."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from terminal import run_with_stderr_on_a_terminal

from commissioning.analysis.overrides import OverrideError, set_path
from commissioning.analysis.uncertainty import (
    Settings,
    UncertaintyError,
    _probe,
    draw_factors,
    nearest_rank,
    parse_range,
    run_uncertainty,
)
from commissioning.models import Scenario
from commissioning.scenario_io import load_scenario

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "london-2019" / "scenario.json"
_SCRIPT = Path(sys.executable).with_name("commissioning")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "commissioning.cli"]
RANGES = ("services.*.unit_cost=±10%", "areas.*.female_16_plus=±3%")
# A London MOPAC direct budget a little above its knee: some draws fall below benchmark.
TIGHT = "pots.mopac_direct.amount=£4,400,000"


@pytest.fixture(scope="module")
def london() -> Scenario:
    return load_scenario(FIXTURE)


def settings(draws: int = 4, seed: int = 1, budget_pot: str | None = None) -> Settings:
    return Settings(draws, seed, tuple(parse_range(r) for r in RANGES), budget_pot)


def test_ranges_are_parsed_exactly_and_bad_ones_name_the_option() -> None:
    assert parse_range("services.*.unit_cost=±10%").half_width == Decimal("0.1")
    assert parse_range("areas.*.female_16_plus = +-2.5%").half_width == Decimal("0.025")
    for bad in ("services.*.unit_cost=10%", "services.*.unit_cost=±0%", "x=±100%", "=±5%"):
        with pytest.raises(UncertaintyError, match="--vary"):
            parse_range(bad)


def test_factors_are_exact_seeded_and_within_range() -> None:
    first = draw_factors(settings(draws=50), [8, 32])
    assert first == draw_factors(settings(draws=50), [8, 32])
    assert first != draw_factors(settings(draws=50, seed=2), [8, 32])
    for row in first:
        assert all(Decimal("0.9") <= f <= Decimal("1.1") for f in row[:8])
        assert all(Decimal("0.97") <= f <= Decimal("1.03") for f in row[8:])
    # Draw order is draw, then range, then item: a longer run starts with the shorter one.
    assert draw_factors(settings(draws=10), [8, 32]) == first[:10]


def test_nearest_rank_is_a_value_of_a_draw() -> None:
    values = list(range(1, 21))
    assert [nearest_rank(values, p) for p in (5, 50, 95, 100)] == [1, 10, 19, 20]
    assert nearest_rank([7], 5) == 7


def test_unknown_paths_and_pots_fail_before_any_solve(london: Scenario) -> None:
    wrong = Settings(2, 1, (parse_range("services.*.unit_kost=±10%"),))
    with pytest.raises(OverrideError, match="unit_kost"):
        run_uncertainty(london, wrong)
    with pytest.raises(UncertaintyError, match="--budget-pot: unknown pot 'nope'"):
        run_uncertainty(london, settings(budget_pot="nope"))


def test_same_seed_same_bytes_whatever_the_jobs(london: Scenario, tmp_path: Path) -> None:
    from commissioning.analysis.overrides import apply_overrides

    tight = apply_overrides(london, [tuple(TIGHT.split("=", 1))])  # type: ignore[list-item]
    one = run_uncertainty(tight, settings(draws=6), jobs=1)
    again = run_uncertainty(tight, settings(draws=6), jobs=1)
    two = run_uncertainty(tight, settings(draws=6), jobs=2)
    folders = [r.write(tmp_path / name) for r, name in ((one, "a"), (again, "b"), (two, "c"))]
    names = sorted(p.name for p in folders[0].iterdir())
    assert names == [
        ".commissioning-run",
        "uncertainty.csv",
        "uncertainty.json",
        "uncertainty_draws.csv",
        "uncertainty_factors.csv",
    ]
    for name in names:
        first = (folders[0] / name).read_bytes()
        assert first == (folders[1] / name).read_bytes() == (folders[2] / name).read_bytes()

    table = pl.read_csv(folders[0] / "uncertainty.csv")
    assert table.height == 192  # 32 boroughs × 2 benchmarked services × 3 years
    # The tight budget leaves some cells below in some draws, and the figures are consistent.
    assert table["draws_below"].sum() > 0
    assert (table["probability_below"] == (table["draws_below"] / table["draws"]).round(6)).all()
    assert (table["cost_pence_p05"] <= table["cost_pence_p50"]).all()
    assert (table["cost_pence_p50"] <= table["cost_pence_p95"]).all()
    # Each draw is a real solve of its own changed scenario: draw 1 solved directly agrees.
    factors = pl.read_csv(folders[0] / "uncertainty_factors.csv", infer_schema_length=0)
    first_draw = factors.filter(pl.col("draw") == "1")
    changed = apply_overrides(
        tight, [(f"{p}.scale", f) for p, f in first_draw.select("path", "factor").iter_rows()]
    )
    direct = _probe(changed)
    assert one.outcomes[0].cost_pence == direct.cost_pence
    assert one.outcomes[0].below == direct.below


def test_the_budget_knee_is_exact_to_the_penny(london: Scenario) -> None:
    from commissioning.analysis.overrides import apply_overrides

    result = run_uncertainty(london, settings(draws=1, budget_pot="mopac_direct"))
    knee = result.outcomes[0].knee_pence
    assert knee is not None and 0 < knee < 546_500_000
    budget = result.budget()
    assert budget is not None and budget["amount_pence"] == knee  # the only draw's knee
    # Solved directly, the draw's own scenario is at benchmark at the knee, not a penny below.
    drawn = apply_overrides(
        london,
        [(f"{p}.scale", f) for p, f in result.factors_table().select("path", "factor").iter_rows()],
    )
    at_knee = _probe(set_path(drawn, "pots.mopac_direct.amount", knee))
    below = _probe(set_path(drawn, "pots.mopac_direct.amount", knee - 1))
    assert at_knee.at_benchmark and not any(at_knee.below)
    assert not below.at_benchmark


def test_the_budget_for_95_percent_of_draws_is_the_nearest_rank_knee() -> None:
    from commissioning.analysis.uncertainty import DrawOutcome, UncertaintyResult

    knees = [None, *range(100, 119)]  # 20 draws, one never at benchmark
    outcomes = [DrawOutcome([], [], [], [], k) for k in knees]
    result = UncertaintyResult(settings(20, budget_pot="pot"), [], [], pl.DataFrame(), outcomes)
    budget = result.budget()
    # ⌈0.95 × 20⌉ = 19th smallest, counting the draw without a knee as above every budget.
    assert budget is not None and budget["amount_pence"] == 118
    assert budget["draws_without_knee"] == 1
    outcomes[1] = DrawOutcome([], [], [], [], None)
    two_missing = UncertaintyResult(
        settings(20, budget_pot="pot"), [], [], pl.DataFrame(), outcomes
    )
    assert two_missing.budget()["amount_pence"] is None  # type: ignore[index]


def _cli(*args: str, tty: bool = False) -> tuple[int, str, str]:
    command = [*COMMAND, "uncertainty", str(FIXTURE), *args]
    if not tty:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout, done.stderr
    return run_with_stderr_on_a_terminal(command)


def test_cli_writes_the_files_and_draws_a_bar_only_on_a_terminal(tmp_path: Path) -> None:
    args = ["--draws", "3", "--vary", RANGES[0], "--set", TIGHT, "--jobs", "1"]
    code, out, err = _cli(*args, "--out", str(tmp_path / "plain"))
    assert code == 0, err
    assert "3 draws (seed 1)" in out and "cells ever below benchmark" in out
    assert err == ""  # no bar, no escape codes when stderr is not a terminal
    code, out, err = _cli(*args, "--out", str(tmp_path / "tty"), tty=True)
    assert code == 0, err
    assert "3/3" in err and "ETA" in err
    for name in ("uncertainty.csv", "uncertainty.json", "uncertainty_draws.csv"):
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "tty" / name).read_bytes()


def test_cli_bad_input_is_exit_2_naming_the_option(tmp_path: Path) -> None:
    code, _, err = _cli("--vary", "services.*.unit_cost=10%", "--out", str(tmp_path / "x"))
    assert code == 2 and "--vary" in err and "Traceback" not in err
    code, _, err = _cli("--vary", "services.*.nope=±5%", "--out", str(tmp_path / "y"))
    assert code == 2 and "--vary services.*.nope: unknown field 'nope'" in err
    code, _, err = _cli("--vary", RANGES[0], "--budget-pot", "x", "--out", str(tmp_path / "z"))
    assert code == 2 and "--budget-pot: unknown pot 'x'" in err
