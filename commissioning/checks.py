"""What `validate` says beyond the schema: arithmetic impossibilities and traps, before any solve.

A scenario can be valid field by field and still be impossible (commitments above a pot) or
quietly self-defeating (a benchmark no pot may fund). These checks are cheap arithmetic on the
optimiser's own data, so they agree with what a solve would find, without running a solver.
They see fund splits but not formula grant pay-outs or bid selections, which only a solve
decides: a scenario they pass can still be infeasible, but one they fail is never feasible.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from commissioning.models import Scenario

if TYPE_CHECKING:
    from commissioning.optimise.data import AllocationData


@dataclass(frozen=True)
class ScenarioChecks:
    impossible: list[str] = field(default_factory=list)
    """Rules that cannot all hold, in the commissioner's words (the solve would fail on them)."""
    warnings: list[str] = field(default_factory=list)
    """Allowed but probably mistakes, each starting with the field it concerns."""


def check_scenario(scenario: Scenario) -> ScenarioChecks:
    # The optimiser (pulp, highspy) loads only when a scenario is checked, not on import.
    from commissioning.optimise.data import build_data
    from commissioning.optimise.prechecks import impossibilities

    data = build_data(_after_fund_splits(scenario))
    return ScenarioChecks(
        impossible=impossibilities(data),
        warnings=[
            *scenario.warnings(),
            *_unreachable_caps(data),
            *_unfundable_benchmarks(scenario, data),
        ],
    )


def _after_fund_splits(scenario: Scenario) -> Scenario:
    """The scenario with each pot's money as its fund splits leave it."""
    if not scenario.fund_splits:
        return scenario
    from commissioning.optimise.formula_grant import effective_pot_amounts
    from commissioning.optimise.funding_rounds import pots_with_amounts

    pots = pots_with_amounts(scenario, effective_pot_amounts(scenario))
    return scenario.model_copy(update={"pots": pots})


def _listed(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _unreachable_caps(data: AllocationData) -> list[str]:
    """Cells below benchmark whose cap at benchmark × factor leaves room for less than one
    granule: the cap holds them at zero funded units, below the benchmark it was meant to allow."""
    factor = data.scenario.policy.cap_at_benchmark_factor
    if factor is None:
        return []
    stuck: dict[str, list[str]] = defaultdict(list)
    granule: dict[str, str] = {}
    for slot in data.slots:
        if not slot.benchmarked or slot.existing >= slot.target:
            continue
        room = float(factor) * slot.target - slot.existing
        if room + 1e-9 < float(slot.granule_units):
            stuck[slot.service].append(f"{slot.area} ({slot.area_name})")
            granule[slot.service] = f"{slot.granule_units}"
    return [
        f"policy.cap_at_benchmark_factor: a cap of {factor} × benchmark leaves room for less "
        f"than one granule ({granule[service]} units) of {service!r} in {_listed(areas)}, so "
        "they can never be funded and stay below benchmark; raise the factor or the granularity"
        for service, areas in stuck.items()
    ]


def _unfundable_benchmarks(scenario: Scenario, data: AllocationData) -> list[str]:
    """Benchmarked services that no pot may fund in some areas: they can only ever have their
    existing provision there."""
    names = {a.code: a.name for a in scenario.areas}
    missing: dict[str, list[str]] = defaultdict(list)
    for area, service, *_ in data.unfundable:
        missing[service].append(f"{area} ({names[area]})")
    warnings = []
    for i, benchmark in enumerate(scenario.benchmarks):
        areas = missing.get(benchmark.service)
        if not areas:
            continue
        where = "any area" if len(areas) == len(scenario.areas) else _listed(areas)
        warnings.append(
            f"benchmarks[{i}]: no pot may fund {benchmark.service!r} in {where}, so its "
            "benchmark can be met there only by existing provision; check the pots' "
            "eligible_services and eligible_areas"
        )
    return warnings
