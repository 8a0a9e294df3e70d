"""What the `commissioning` commands share: the user's-mistake error, `--set`, warnings, help.

It imports only the standard library when loaded, so cli.py, sweep_cli.py and uncertainty_cli.py
all import it (cheaply, for `--help`) and none of them needs to import another.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from commissioning.models import Scenario


class CliError(Exception):
    """A problem the user can fix; printed as one line each, exit code 2."""


def warn(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def with_settings(scenario: Scenario, settings: list[str] | None) -> Scenario:
    """The scenario with each `--set PATH=VALUE` applied, or CliError naming the bad one."""
    if not settings:
        return scenario
    from commissioning.analysis.overrides import OverrideError, apply_overrides

    pairs: list[tuple[str, str]] = []
    for setting in settings:
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
