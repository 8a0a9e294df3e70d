"""Human names for the ids in run tables (service, pot, area), from the run's own scenario."""

from __future__ import annotations

import re

from commissioning.results import RunResult

# Commitments with no area (the Havens, a formula grant) serve London as a whole.
PAN_LONDON = "London-wide"


def service_names(run: RunResult) -> dict[str, str]:
    return {s.id: s.name for s in run.scenario.services}


def pot_names(run: RunResult) -> dict[str, str]:
    return {p.id: p.name for p in run.scenario.pots}


def area_names(run: RunResult) -> dict[str, str]:
    return {a.code: a.name for a in run.scenario.areas}


def benchmarked_services(run: RunResult) -> list[str]:
    """Services with a benchmark, in the scenario's order (the order people set them out in)."""
    return [b.service for b in run.scenario.benchmarks]


def partner_codes(partner_areas: str | None) -> list[str]:
    """Area codes listed in a bid's partner_areas, whatever separator the bid used."""
    return [code for code in re.split(r"[;,|\s]+", partner_areas or "") if code]
