"""A funding round in one object, with every cross-reference checked when it is built."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from commissioning.errors import field_path
from commissioning.models.area import Area
from commissioning.models.base import (
    MAX_AREAS,
    YEAR_LIST_SCHEMA,
    FinancialYear,
    Note,
    Record,
    Text,
    is_well_formed_year,
    year_start,
)
from commissioning.models.bids import BidRound
from commissioning.models.funding import ExistingProvision, FixedCommitment, FundingPot, RingFence
from commissioning.models.grant_checks import grant_problems
from commissioning.models.grants import FormulaGrant, FundSplit
from commissioning.models.policy import Policy
from commissioning.models.service import Benchmark, Service

Problem = tuple[tuple[str | int, ...], str, Any]

MAX_POPULATION = 100_000_000
"""Largest basis population of one area (the most populous local authority has ~1 million)."""
MAX_TARGET_UNITS = 10_000
"""Largest benchmark target of one service in one area (London's largest is under 30 FTE)."""
USUAL_PER = 1_000
"""A benchmark rate per fewer people than this is almost always a typo (for 100,000)."""


class ScenarioCore(Record):
    """The parts of a scenario that are the same in a file and in memory (all but the areas)."""

    name: Text
    description: Note = ""
    financial_years: list[FinancialYear] = Field(
        min_length=1, max_length=10, json_schema_extra=YEAR_LIST_SCHEMA
    )
    services: list[Service] = Field(min_length=1, max_length=50)
    benchmarks: list[Benchmark] = Field(default_factory=list)
    pots: list[FundingPot] = Field(default_factory=list)
    commitments: list[FixedCommitment] = Field(default_factory=list)
    ring_fences: list[RingFence] = Field(default_factory=list)
    existing_provision: list[ExistingProvision] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)
    fund_splits: list[FundSplit] = Field(default_factory=list)
    formula_grants: list[FormulaGrant] = Field(default_factory=list)
    bid_rounds: list[BidRound] = Field(default_factory=list)


class Scenario(ScenarioCore):
    """Everything one allocation run needs: years, areas, services, benchmarks, pots and rules."""

    areas: list[Area] = Field(min_length=1, max_length=MAX_AREAS)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        problems = list(_problems(self))
        if problems:
            raise ValidationError.from_exception_data(
                "Scenario",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("scenario_rule", message),
                        loc=loc,
                        input=value,
                    )
                    for loc, message, value in problems
                ],
            )
        return self

    # Lookups used everywhere inside the engine.
    def service(self, service_id: str) -> Service:
        return next(s for s in self.services if s.id == service_id)

    def area(self, code: str) -> Area:
        return next(a for a in self.areas if a.code == code)

    def pot(self, pot_id: str) -> FundingPot:
        return next(p for p in self.pots if p.id == pot_id)

    def committed_pence(self, pot_id: str, year: str) -> int:
        """Fixed commitments charged to a pot in a year (paid before anything else)."""
        return sum(c.amount_pence for c in self.commitments if c.pot == pot_id and c.runs_in(year))

    def warnings(self) -> list[str]:
        """Things that are allowed but usually mistakes, each naming its field in plain words."""
        return [f"{field_path(loc)}: {message}" for loc, message in _warnings(self)]

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON form: the same scenario always hashes the same."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


def _warnings(s: Scenario) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for i, b in enumerate(s.benchmarks):
        if b.per < USUAL_PER:
            yield (
                ("benchmarks", i, "per"),
                f"the {b.service!r} benchmark is {b.units} per {b.per:,} people; rates are "
                "usually per 100,000 (or per 1,000 at least), so check this is not a typo",
            )


def _duplicates(values: Iterable[str]) -> list[str]:
    return sorted(v for v, n in Counter(values).items() if n > 1)


def _repeats(field: str, key: str, values: list[str]) -> Iterator[Problem]:
    """Each entry whose key was already used, located at the repeat, e.g. services[6].id."""
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in first:
            yield (
                (field, i, key),
                f"duplicate {key} {value!r}: {field}[{first[value]}] already has it",
                value,
            )
        else:
            first[value] = i


def _listed(areas: list[Area], limit: int = 4) -> str:
    shown = ", ".join(f"{a.code} ({a.name})" for a in areas[:limit])
    return shown + (f" and {len(areas) - limit} more" if len(areas) > limit else "")


def _known(loc: tuple[str | int, ...], value: str, known: set[str], what: str) -> Iterator[Problem]:
    if value not in known:
        sample = ", ".join(sorted(known)[:6]) + (", …" if len(known) > 6 else "")
        yield loc, f"unknown {what} {value!r} (known: {sample})", value


def _problems(s: Scenario) -> Iterator[Problem]:
    years = set(s.financial_years)
    area_codes = {a.code for a in s.areas}
    service_ids = {sv.id for sv in s.services}
    pot_ids = {p.id for p in s.pots}

    yield from _year_problems(s)
    for field, key, values in (
        ("areas", "code", [a.code for a in s.areas]),
        ("services", "id", [sv.id for sv in s.services]),
        ("pots", "id", [p.id for p in s.pots]),
        ("commitments", "id", [c.id for c in s.commitments]),
        ("ring_fences", "id", [r.id for r in s.ring_fences]),
        ("benchmarks", "service", [b.service for b in s.benchmarks]),
    ):
        yield from _repeats(field, key, values)

    for i, b in enumerate(s.benchmarks):
        yield from _known(("benchmarks", i, "service"), b.service, service_ids, "service")
        missing = [a for a in s.areas if a.indicators.get(b.basis) is None]
        if missing:
            yield (
                ("benchmarks", i, "basis"),
                f"column {b.basis!r} has no value for {len(missing)} of {len(s.areas)} areas: "
                f"{_listed(missing)}",
                b.basis,
            )
        for area in s.areas:
            basis = area.indicators.get(b.basis)
            if basis is not None and basis <= 0:
                yield (
                    ("benchmarks", i, "basis"),
                    f"area {area.code} ({area.name}) has basis population {basis:g} in "
                    f"{b.basis!r}; it must be above zero",
                    basis,
                )
        yield from _size_problems(s, i, b)

    for i, pot in enumerate(s.pots):
        for j, amount in enumerate(pot.amounts):
            if amount.year not in years:
                yield (
                    ("pots", i, "amounts", j, "year"),
                    f"year {amount.year} is not in financial_years",
                    amount.year,
                )
        for dup in _duplicates(a.year for a in pot.amounts):
            yield ("pots", i, "amounts"), f"pot {pot.id!r} has two amounts for {dup}", dup
        for j, sid in enumerate(pot.eligible_services or []):
            yield from _known(("pots", i, "eligible_services", j), sid, service_ids, "service")
        for j, code in enumerate(pot.eligible_areas or []):
            yield from _known(("pots", i, "eligible_areas", j), code, area_codes, "area")

    for i, c in enumerate(s.commitments):
        yield from _known(("commitments", i, "pot"), c.pot, pot_ids, "pot")
        for j, y in enumerate(c.years or []):
            if y not in years:
                yield ("commitments", i, "years", j), f"year {y} is not in financial_years", y
        if c.service is not None:
            yield from _known(("commitments", i, "service"), c.service, service_ids, "service")
        if c.area is not None:
            yield from _known(("commitments", i, "area"), c.area, area_codes, "area")

    for i, r in enumerate(s.ring_fences):
        yield from _known(("ring_fences", i, "pot"), r.pot, pot_ids, "pot")
        for j, sid in enumerate(r.services):
            yield from _known(("ring_fences", i, "services", j), sid, service_ids, "service")
        for j, code in enumerate(r.areas or []):
            yield from _known(("ring_fences", i, "areas", j), code, area_codes, "area")
        for j, y in enumerate(r.years or []):
            if y not in years:
                yield ("ring_fences", i, "years", j), f"year {y} is not in financial_years", y

    seen: set[tuple[str, str]] = set()
    for i, e in enumerate(s.existing_provision):
        yield from _known(("existing_provision", i, "area"), e.area, area_codes, "area")
        yield from _known(("existing_provision", i, "service"), e.service, service_ids, "service")
        if (e.area, e.service) in seen:
            yield ("existing_provision", i), f"second entry for {e.area} × {e.service}", e.service
        seen.add((e.area, e.service))

    yield from _policy_problems(s, area_codes, service_ids)
    yield from grant_problems(s)


def _size_problems(s: Scenario, i: int, b: Benchmark) -> Iterator[Problem]:
    """Populations and targets no real area has: they would make the optimiser's work grow with
    the size of the numbers (every granule up to a target), so they stop here, named."""
    too_big: list[tuple[Area, Decimal]] = []
    for k, area in enumerate(s.areas):
        basis = area.indicators.get(b.basis)
        if basis is None or basis <= 0:
            continue
        if basis > MAX_POPULATION:
            yield (
                ("areas", k, "indicators", b.basis),
                f"{area.code} ({area.name}) has a population of {basis:,.0f} in {b.basis!r}, "
                f"the basis of the {b.service!r} benchmark; no area has more than 100 million "
                "people",
                basis,
            )
        else:
            target = b.target_units(basis)
            if target > MAX_TARGET_UNITS:
                too_big.append((area, target))
    if too_big:
        area, target = max(too_big, key=lambda pair: pair[1])
        more = f" (and {len(too_big) - 1} more areas)" if len(too_big) > 1 else ""
        yield (
            ("benchmarks", i),
            f"the {b.service!r} benchmark ({b.units} per {b.per:,}) gives {area.code} "
            f"({area.name}) a target of {target:,.1f} units{more}; no area needs more than "
            f"{MAX_TARGET_UNITS:,} units of a service: check units and per",
            str(target),
        )


def _year_problems(s: Scenario) -> Iterator[Problem]:
    for i, y in enumerate(s.financial_years):
        if not is_well_formed_year(y):
            yield ("financial_years", i), f"{y!r} is not a financial year like 2019/20", y
    for dup in _duplicates(s.financial_years):
        yield ("financial_years",), f"year {dup} appears twice", dup
    if not all(is_well_formed_year(y) for y in s.financial_years):
        return  # consecutiveness means nothing until every year is well formed
    starts = [year_start(y) for y in s.financial_years]
    if starts != list(range(starts[0], starts[0] + len(starts))):
        yield (
            ("financial_years",),
            f"years must be consecutive and in order, got {', '.join(s.financial_years)}",
            s.financial_years,
        )


def _policy_problems(s: Scenario, area_codes: set[str], service_ids: set[str]) -> Iterator[Problem]:
    policy = s.policy
    for i, w in enumerate(policy.need_weights):
        for area in s.areas:
            value = area.indicators.get(w.indicator)
            if value is None:
                yield (
                    ("policy", "need_weights", i, "indicator"),
                    f"area {area.code} ({area.name}) has no value in column {w.indicator!r}",
                    w.indicator,
                )
                break
            if value < 0:
                yield (
                    ("policy", "need_weights", i, "indicator"),
                    f"area {area.code} has negative {w.indicator!r} ({value:g}); need "
                    "indicators must be counts or non-negative scores",
                    value,
                )
                break
        else:
            if w.weight > 0 and all(a.indicators[w.indicator] == 0 for a in s.areas):
                yield (
                    ("policy", "need_weights", i, "indicator"),
                    f"{w.indicator!r} is zero in every area, so it cannot share out need; "
                    "give it weight 0 or choose another indicator",
                    w.indicator,
                )
    if sum(w.weight for w in policy.need_weights) <= 0:
        yield ("policy", "need_weights"), "need weights must not all be zero", 0
    for i, p in enumerate(policy.service_priorities):
        yield from _known(
            ("policy", "service_priorities", i, "service"), p.service, service_ids, "service"
        )
    for i, lim in enumerate(policy.area_limits):
        yield from _known(("policy", "area_limits", i, "area"), lim.area, area_codes, "area")
        if lim.service is not None:
            yield from _known(
                ("policy", "area_limits", i, "service"), lim.service, service_ids, "service"
            )
    for i, prev in enumerate(policy.previous_allocation):
        yield from _known(
            ("policy", "previous_allocation", i, "area"), prev.area, area_codes, "area"
        )
        yield from _known(
            ("policy", "previous_allocation", i, "service"), prev.service, service_ids, "service"
        )
    if policy.max_change_pct is not None and not policy.previous_allocation:
        yield (
            ("policy", "max_change_pct"),
            "pace of change needs a previous_allocation to measure change from",
            str(policy.max_change_pct),
        )
