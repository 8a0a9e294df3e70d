"""One borough's year in a short paragraph of plain English, written from a run's tables: its
coverage per service against benchmark, what each pot and the co-commissioning bids give it,
its grant and the change, and what it is short and what that would cost. The CLI
(`commissioning explain`), the borough workbook and the API all use this one function."""

from __future__ import annotations

from typing import Any

import polars as pl

from commissioning import area_lookup
from commissioning.area_lookup import UnknownBorough
from commissioning.money import pounds
from commissioning.results import RunResult
from commissioning.wording import amount, percent

__all__ = ["UnknownBorough", "borough_paragraph", "find_area_code"]


def find_area_code(run: RunResult, name_or_code: str) -> str:
    """The area code for a borough of the run given by code or by name (case and spacing
    ignored); UnknownBorough with "did you mean" otherwise (see commissioning.area_lookup)."""
    return area_lookup.find_area_code(run.scenario.areas, name_or_code)


def borough_paragraph(run: RunResult, area_code: str, year: str) -> str:
    """The paragraph for one borough and year (raises UnknownBorough for a code not in the run,
    ValueError for a year not in it)."""
    area = next((a for a in run.scenario.areas if a.code == area_code), None)
    if area is None:
        find_area_code(run, area_code)  # raises, listing the valid names
        raise AssertionError("unreachable")
    if year not in run.scenario.financial_years:
        years = ", ".join(run.scenario.financial_years)
        raise ValueError(f"year {year!r} is not in this run; its years are: {years}")
    services = {s.id: s for s in run.scenario.services}
    cells = (
        run.table("coverage")
        .filter(
            pl.col("area_code") == area_code, pl.col("year") == year, pl.col("target_units") > 0
        )
        .sort("service")
        .to_dicts()
    )
    sentences = [f"{area.name}, {year}."]
    if cells:
        parts = [
            f"{services[c['service']].name} {percent(c['coverage_ratio'])} "
            f"({amount(c['total_units'], '').strip()} of "
            f"{amount(c['target_units'], services[c['service']].unit)})"
            for c in cells
        ]
        sentences.append("Coverage against benchmark: " + "; ".join(parts) + ".")
    sentences += _money(run, area_code, year, cells)
    sentences += _grants(run, area_code, year)
    sentences += _short(run, area_code, year, cells)
    return " ".join(sentences)


def _money(run: RunResult, area_code: str, year: str, cells: list[dict[str, Any]]) -> list[str]:
    pots = {p.id: p.name for p in run.scenario.pots}
    paid = (
        run.table("allocations")
        .filter(pl.col("area_code") == area_code, pl.col("year") == year)
        .group_by("pot")
        .agg(pl.col("cost_pence").sum())
        .sort("cost_pence", "pot", descending=[True, False])
    )
    sentences = []
    if paid.height:
        parts = [f"{pounds(r['cost_pence'])} from {pots[r['pot']]}" for r in paid.to_dicts()]
        total = int(paid["cost_pence"].sum())
        sentences.append(f"It receives {pounds(total)} for services: " + ", ".join(parts) + ".")
    else:
        sentences.append("It receives nothing from the pots for services.")
    services = {s.id: s for s in run.scenario.services}
    bid_parts = [
        f"{amount(c['bid_units'], services[c['service']].unit)} of {services[c['service']].name}"
        for c in cells
        if (c.get("bid_units") or 0) > 1e-9
    ]
    selected = _selected_bids(run, area_code, year)
    if bid_parts or selected:
        through = f" by {'; '.join(selected)}" if selected else ""
        what = ", ".join(bid_parts) if bid_parts else "services"
        sentences.append(f"Co-commissioning bids{through} give it {what}.")
    return sentences


def _selected_bids(run: RunResult, area_code: str, year: str) -> list[str]:
    """The providers of the selected bids the area is a partner in (a reader knows who the
    provider is; the bid's id is the scenario file's key)."""
    bids = run.tables.get("bids")
    if bids is None or bids.is_empty():
        return []
    providers = {b.id: b.provider for r in run.scenario.bid_rounds for b in r.bids}
    rows = bids.filter(pl.col("selected"), pl.col("year") == year).to_dicts()
    chosen = {r["bid"] for r in rows if area_code in (r["partner_areas"] or "").split(";")}
    return sorted(providers.get(bid, bid) for bid in chosen)


def _grants(run: RunResult, area_code: str, year: str) -> list[str]:
    grants = run.tables.get("grants")
    if grants is None:
        return []
    pots = {p.id: p.name for p in run.scenario.pots}
    sentences = []
    for r in grants.filter(pl.col("area_code") == area_code, pl.col("year") == year).to_dicts():
        text = f"Its {pots.get(r['pot'], r['pot'])} grant is {pounds(r['allocated_pence'])}"
        change = r["change_pence"]
        if r["previous_pence"]:
            if change == 0:
                text += ", the same as the year before"
            else:
                direction = "up" if change > 0 else "down"
                pct = f" ({abs(r['change_pct']):.1f} %)" if r["change_pct"] is not None else ""
                text += f", {direction} {pounds(abs(change))}{pct} on the year before"
        sentences.append(text + ".")
    return sentences


def _short(run: RunResult, area_code: str, year: str, cells: list[dict[str, Any]]) -> list[str]:
    services = {s.id: s for s in run.scenario.services}
    below = [c for c in cells if c["shortfall_units"] > 1e-9]
    if not cells:
        return []
    if not below:
        return ["It is at or above benchmark in every benchmarked service."]
    costs = _shortfall_pence(run, area_code, year)
    parts = []
    for c in below:
        s = services[c["service"]]
        cost = costs.get(c["service"])
        price = f" ({pounds(cost)})" if cost is not None else ""
        parts.append(f"{s.name} by {amount(c['shortfall_units'], s.unit)}{price}")
    text = f"It is short of benchmark in {len(below)} of {len(cells)} services: " + "; ".join(parts)
    if len(costs) == len(below):
        text += (
            f". Reaching benchmark would cost {pounds(sum(costs.values()))} a year, bought at "
            "each service's granularity"
        )
    return [text + "."]


def _shortfall_pence(run: RunResult, area_code: str, year: str) -> dict[str, int]:
    """Granules short × granule cost per service, from the explanations table when present."""
    explanations = run.tables.get("explanations")
    if explanations is None:
        return {}
    rows = explanations.filter(
        pl.col("area_code") == area_code, pl.col("year") == year, pl.col("shortfall_pence") > 0
    )
    return {r["service"]: r["shortfall_pence"] for r in rows.to_dicts()}
