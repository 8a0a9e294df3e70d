"""The figures on the first sheet of a borough's workbook, worked out from the run's tables.

Kept apart from the writing so the sheet, its charts and the tests read one set of figures.
Money stays in whole pence here; coverage is rounded down to 0.1 %, as the borough paragraph
states it, so a cell short of benchmark never reads as 100 %.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from commissioning.excel.names import partner_codes, pot_names
from commissioning.models.base import year_start
from commissioning.results import RunResult
from commissioning.wording import amount, percent

# The borough paragraph's test for "short of benchmark": one status, one page.
SHORT = 1e-9


@dataclass(frozen=True)
class ServiceYear:
    """One benchmarked service in one year, in the borough."""

    service: str
    name: str
    unit: str
    year: str
    target_units: float
    existing_units: float
    bid_units: float
    funded_units: float
    total_units: float
    coverage: Decimal  # rounded down to 0.1 %
    below: bool
    cost_pence: int | None  # to reach benchmark; None: the run did not record it
    held_by: str  # the rule that keeps an unreachable cell below benchmark, else ""
    # Granules short × their cost, ignoring every rule (the explanations table; what the
    # borough paragraph counts): for a held cell, the price were its rule lifted.
    price_pence: int | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.unit})"


@dataclass(frozen=True)
class Source:
    """One stream of money to the borough: a pot's services, a grant or fixed commitments."""

    label: str
    pence: dict[str, int]  # by year
    last_year_pence: int | None  # the year before the first; None: not recorded

    def changes(self, years: list[str]) -> list[int | None]:
        """Change on the year before, per year; None where last year is not recorded."""
        before = [self.last_year_pence, *(self.pence.get(y, 0) for y in years[:-1])]
        return [
            None if b is None else self.pence.get(y, 0) - b
            for y, b in zip(years, before, strict=True)
        ]


@dataclass(frozen=True)
class GrantYear:
    """A formula grant to the borough in one year, with its target and last year's grant."""

    pot_name: str
    year: str
    allocated_pence: int
    target_pence: int
    previous_pence: int | None
    change_pence: int | None


@dataclass(frozen=True)
class FrontFigures:
    years: list[str]
    last_year: str
    services: list[ServiceYear]
    sources: list[Source]
    grants: list[GrantYear]
    unbenchmarked: list[str]  # sentences on services funded that have no benchmark
    bids: list[str]  # sentences on co-commissioning bids that deliver in the borough

    @property
    def total(self) -> Source:
        """Every source added up; last year only when every source recorded it."""
        last = [s.last_year_pence for s in self.sources]
        return Source(
            "Total",
            {y: sum(s.pence.get(y, 0) for s in self.sources) for y in self.years},
            None if None in last or not last else sum(p for p in last if p is not None),
        )

    def below(self) -> list[ServiceYear]:
        return [s for s in self.services if s.below]


def year_before(year: str) -> str:
    """'2019/20' -> '2018/19'."""
    start = year_start(year) - 1
    return f"{start}/{(start + 1) % 100:02d}"


def shown_coverage(ratio: float) -> Decimal:
    """The ratio as the paragraph states it (rounded down to 0.1 %), as a fraction."""
    return Decimal(percent(ratio).removesuffix(" %").replace(",", "")) / 100


def front_figures(run: RunResult, area_code: str, years: list[str]) -> FrontFigures:
    mine = pl.col("area_code") == area_code
    coverage = run.table("coverage").filter(mine)
    return FrontFigures(
        years=years,
        last_year=_last_year(run, years),
        services=_services(run, coverage, area_code),
        sources=_sources(run, area_code, years),
        grants=_grants(run, area_code),
        unbenchmarked=_unbenchmarked(run, coverage, years),
        bids=_bids(run, area_code),
    )


def _last_year(run: RunResult, years: list[str]) -> str:
    for grant in run.scenario.formula_grants:
        if grant.previous is not None:
            return grant.previous.year
    return year_before(years[0])


def _cell_costs(run: RunResult, area_code: str) -> dict[tuple[str, str], tuple[int, str]] | None:
    """(service, year) -> (cost to benchmark, rule holding it), from the cost_to_benchmark table."""
    table = run.tables.get("cost_to_benchmark")
    if table is None:
        return None
    rows = table.filter(pl.col("level") == "cell", pl.col("area_code") == area_code)
    return {
        (r["service"], r["year"]): (
            r["cost_pence"] or 0,
            (r["rule"] or "unreachable") if r["status"] == "unreachable" else "",
        )
        for r in rows.iter_rows(named=True)
    }


def _prices(run: RunResult, area_code: str) -> dict[tuple[str, str], int]:
    table = run.tables.get("explanations")
    if table is None:
        return {}
    rows = table.filter(pl.col("area_code") == area_code)
    return {(r["service"], r["year"]): r["shortfall_pence"] for r in rows.iter_rows(named=True)}


def _services(run: RunResult, coverage: pl.DataFrame, area_code: str) -> list[ServiceYear]:
    services = {s.id: s for s in run.scenario.services}
    order = {b.service: i for i, b in enumerate(run.scenario.benchmarks)}
    costs = _cell_costs(run, area_code)
    prices = _prices(run, area_code)
    cells = [r for r in coverage.iter_rows(named=True) if (r["target_units"] or 0) > 0]
    cells.sort(key=lambda r: (order.get(r["service"], len(order)), r["service"], r["year"]))
    found = []
    for r in cells:
        below = r["shortfall_units"] > SHORT
        cost, rule = (None, "") if costs is None else costs.get((r["service"], r["year"]), (0, ""))
        found.append(
            ServiceYear(
                service=r["service"],
                name=services[r["service"]].name,
                unit=services[r["service"]].unit,
                year=r["year"],
                target_units=r["target_units"],
                existing_units=r["existing_units"],
                bid_units=r["bid_units"],
                funded_units=r["funded_units"],
                total_units=r["total_units"],
                coverage=shown_coverage(r["coverage_ratio"]),
                below=below,
                cost_pence=0 if not below else cost,
                held_by=rule if below else "",
                price_pence=prices.get((r["service"], r["year"])),
            )
        )
    return found


def _by_pot_year(frame: pl.DataFrame, money: str) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for pot, year, pence in frame.select("pot", "year", money).iter_rows():
        found[pot][year] += pence
    return found


def _sources(run: RunResult, area_code: str, years: list[str]) -> list[Source]:
    """Services per pot, then grants, then fixed commitments naming the borough, pots in the
    scenario's order. Only the pots that pay the borough something appear."""
    mine = pl.col("area_code") == area_code
    names = pot_names(run)
    services = _by_pot_year(run.table("allocations").filter(mine), "cost_pence")
    grants = run.tables.get("grants")
    granted = {} if grants is None else _by_pot_year(grants.filter(mine), "allocated_pence")
    committed = _by_pot_year(run.table("commitments").filter(mine), "amount_pence")
    previous = {} if grants is None else _first_year_previous(grants.filter(mine), years[0])
    sources = []
    for kind, found in (("services", services), ("grant", granted), ("commitments", committed)):
        for pot in [p.id for p in run.scenario.pots if p.id in found]:
            label = {
                "services": f"{names[pot]}: services",
                "grant": f"{names[pot]}: grant",
                "commitments": f"{names[pot]}: fixed commitments",
            }[kind]
            last = previous.get(pot) if kind == "grant" else None
            sources.append(Source(label, dict(found[pot]), last))
    return sources


def _first_year_previous(grants: pl.DataFrame, first_year: str) -> dict[str, int | None]:
    rows = grants.filter(pl.col("year") == first_year)
    return {r["pot"]: r["previous_pence"] for r in rows.iter_rows(named=True)}


def _grants(run: RunResult, area_code: str) -> list[GrantYear]:
    grants = run.tables.get("grants")
    if grants is None:
        return []
    names = pot_names(run)
    return [
        GrantYear(
            pot_name=names.get(r["pot"], r["pot"]),
            year=r["year"],
            allocated_pence=r["allocated_pence"],
            target_pence=r["target_pence"],
            previous_pence=r["previous_pence"],
            change_pence=r["change_pence"],
        )
        for r in grants.filter(pl.col("area_code") == area_code).iter_rows(named=True)
    ]


def _unbenchmarked(run: RunResult, coverage: pl.DataFrame, years: list[str]) -> list[str]:
    """'Harmful practices training (no benchmark): 1 contract a year in 2019/20, 2020/21.'"""
    services = {s.id: s for s in run.scenario.services}
    funded: dict[str, dict[str, float]] = defaultdict(dict)
    for r in coverage.iter_rows(named=True):
        if not (r["target_units"] or 0) > 0 and (r["funded_units"] or 0) > 0:
            funded[r["service"]][r["year"]] = r["funded_units"]
    sentences = []
    for service, by_year in funded.items():
        s = services[service]
        parts = [f"{amount(by_year[y], s.unit)} in {y}" for y in years if y in by_year]
        sentences.append(f"{s.name} (no benchmark): {', '.join(parts)}.")
    return sentences


def _bids(run: RunResult, area_code: str) -> list[str]:
    """Selected bids delivering in the borough: their units are the borough's own, their cost
    is one contract shared by every partner, so it is no borough's money."""
    bids = run.tables.get("bids")
    if bids is None or bids.is_empty():
        return []
    found: dict[str, tuple[str, set[str], int]] = {}
    for r in bids.filter(pl.col("selected")).iter_rows(named=True):
        codes = partner_codes(r["partner_areas"])
        if area_code in codes:
            provider, years, _ = found.get(r["bid"], (r["provider"], set(), len(codes)))
            found[r["bid"]] = (provider, years | {r["year"]}, len(codes))
    sentences = []
    for provider, years, partners in found.values():
        shown = ", ".join(sorted(years))
        sentences.append(
            f"{provider} delivers services in {shown} under a co-commissioning bid shared by "
            f"{partners} "
            "partner boroughs; its units are in the Bid-funded column and its cost, one "
            "contract for all the partners, is not in these totals."
        )
    return sentences
