"""`commissioning solve --set` and `commissioning variant`: what-ifs from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_cli import run_cli

from commissioning.analysis.overrides import apply_overrides
from commissioning.cli import main
from commissioning.models import Scenario
from commissioning.scenario_io import load_scenario

SETTINGS = [
    ("pots.mopac_direct.amount", "£3,800,000"),
    ("pots.victims_fund.scale", "0.7"),
    ("services.idva.unit_cost", "£45,000"),
    ("policy.fairness_rule", "leximin"),
    ("areas.*.female_16_plus.scale", "103%"),
]


def _set_args(settings: list[tuple[str, str]]) -> list[str]:
    return [arg for path, value in settings for arg in ("--set", f"{path}={value}")]


def test_variant_round_trips_to_the_same_scenario(
    london_scenario_path: Path,
    london_scenario: Scenario,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "variant.json"
    assert (
        main(["variant", str(london_scenario_path), *_set_args(SETTINGS), "--out", str(out)]) == 0
    )
    expected = apply_overrides(london_scenario, SETTINGS)
    assert expected.content_hash()[:12] in capsys.readouterr().out
    assert load_scenario(out).content_hash() == expected.content_hash()
    # Areas are inline: the file carries no CSV paths to break when copied.
    data = json.loads(out.read_text(encoding="utf-8"))
    assert "area_data" not in data and len(data["areas"]) == len(london_scenario.areas)
    assert main(["validate", str(out)]) == 0


def test_variant_copied_elsewhere_still_validates_and_solves(
    london_scenario_path: Path, london_scenario: Scenario, tmp_path: Path
) -> None:
    made = tmp_path / "made" / "variant.json"
    assert (
        main(["variant", str(london_scenario_path), *_set_args(SETTINGS), "--out", str(made)]) == 0
    )
    moved = tmp_path / "elsewhere" / "deeper" / "copy.json"
    moved.parent.mkdir(parents=True)
    shutil.copy(made, moved)
    shutil.rmtree(made.parent)  # nothing of the original folder is left to lean on

    assert run_cli("validate", moved).returncode == 0
    # The real command, with one more --set on top of the variant: the run is of exactly the
    # scenario the overrides make in-process.
    more = [("pots.lcpf.amount[2021/22]", "£5.4m")]
    solved = run_cli("solve", moved, *_set_args(more), "--out", tmp_path / "run")
    assert solved.returncode == 0, solved.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    expected = apply_overrides(london_scenario, [*SETTINGS, *more])
    assert summary["scenario_hash"] == expected.content_hash()


def test_a_bad_set_exits_2_and_writes_nothing(london_scenario_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cases = {
        "pots.mopac_direct.amount=3800000": "error: --set pots.mopac_direct.amount: '3800000' has "
        "no unit",
        "pots.nope.scale=0.5": "error: --set pots.nope.scale: unknown pot 'nope' (known: "
        "mopac_direct, victims_fund, lcpf",
        "services.idva.unit_cost=£40,000.01": "error: --set services.idva.unit_cost: breaks a rule",
        "policy.fairness_rule": "error: --set 'policy.fairness_rule': write PATH=VALUE",
    }
    for setting in cases:
        for command in (["solve", "--out", str(out)], ["variant", "--out", str(out)]):
            code = main([command[0], str(london_scenario_path), "--set", setting, *command[1:]])
            assert code == 2
        assert not out.exists()
    result = run_cli("solve", london_scenario_path, "--set", "pots.nope.scale=0.5", "--out", out)
    assert result.returncode == 2
    assert result.stderr.startswith(cases["pots.nope.scale=0.5"])
    assert "Traceback" not in result.stderr and not out.exists()
