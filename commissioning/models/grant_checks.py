"""Cross-reference checks for formula grants, fund splits and bid rounds.

`grant_problems` is called from the scenario's own checker and yields (loc, message, value) the
same way: every message names the field (through loc) and the offending value.

It reads the scenario through `GrantedScenario`, the parts it needs, rather than importing
`Scenario`: scenario.py imports this module, and the dependency runs that one way only
(tests/test_model_imports.py refuses an import circle among the models).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from commissioning.models.base import is_well_formed_year, year_start
from commissioning.models.grants import split_pot_amounts
from commissioning.models.policy import NeedWeight

if TYPE_CHECKING:
    from commissioning.models.area import Area
    from commissioning.models.bids import BidRound
    from commissioning.models.funding import FixedCommitment, FundingPot
    from commissioning.models.grants import FormulaGrant, FundSplit
    from commissioning.models.service import Service

Problem = tuple[tuple[str | int, ...], str, Any]


class GrantedScenario(Protocol):
    """What the grant, split and bid-round checks read from a scenario (Scenario has it all)."""

    @property
    def financial_years(self) -> Sequence[str]: ...
    @property
    def areas(self) -> Sequence[Area]: ...
    @property
    def services(self) -> Sequence[Service]: ...
    @property
    def pots(self) -> Sequence[FundingPot]: ...
    @property
    def commitments(self) -> Sequence[FixedCommitment]: ...
    @property
    def fund_splits(self) -> Sequence[FundSplit]: ...
    @property
    def formula_grants(self) -> Sequence[FormulaGrant]: ...
    @property
    def bid_rounds(self) -> Sequence[BidRound]: ...


def bid_commitment_id(bid_id: str) -> str:
    """Id of the fixed commitment a selected bid becomes (bid ids are at most 60 characters)."""
    return f"bid_{bid_id}"


def grant_problems(s: GrantedScenario) -> Iterator[Problem]:
    """Every problem with the scenario's fund_splits, formula_grants and bid_rounds."""
    yield from _split_problems(s)
    yield from _formula_grant_problems(s)
    yield from _bid_round_problems(s)


def _repeats(loc: tuple[str | int, ...], key: str, values: Sequence[str]) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in first:
            yield (
                (*loc, i, key),
                f"duplicate {key} {value!r}: {_path(loc)}[{first[value]}] already has it",
                value,
            )
        else:
            first[value] = i


def _path(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _known(loc: tuple[str | int, ...], value: str, known: set[str], what: str) -> Iterator[Problem]:
    if value not in known:
        sample = ", ".join(sorted(known)[:6]) + (", …" if len(known) > 6 else "")
        yield loc, f"unknown {what} {value!r} (known: {sample or 'none'})", value


def _listed(codes: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" and {len(codes) - limit} more" if len(codes) > limit else "")


def _years(loc: tuple[str | int, ...], values: Sequence[str], years: set[str]) -> Iterator[Problem]:
    seen: set[str] = set()
    for j, y in enumerate(values):
        if y not in years:
            yield (*loc, j), f"year {y} is not in financial_years", y
        elif y in seen:
            yield (*loc, j), f"year {y} appears twice", y
        seen.add(y)


def _split_problems(s: GrantedScenario) -> Iterator[Problem]:
    pot_ids = {p.id for p in s.pots}
    years = set(s.financial_years)
    yield from _repeats(("fund_splits",), "id", [f.id for f in s.fund_splits])
    for i, split in enumerate(s.fund_splits):
        loc: tuple[str | int, ...] = ("fund_splits", i)
        yield from _known((*loc, "fund"), split.fund, pot_ids, "pot")
        yield from _known(
            (*loc, "co_commissioning_pot"), split.co_commissioning_pot, pot_ids, "pot"
        )
        if split.co_commissioning_pot == split.fund:
            yield (
                (*loc, "co_commissioning_pot"),
                f"the co-commissioning pot {split.co_commissioning_pot!r} is the fund itself",
                split.co_commissioning_pot,
            )
        if split.direct_pot is not None:
            yield from _known((*loc, "direct_pot"), split.direct_pot, pot_ids, "pot")
            if split.direct_pot in (split.fund, split.co_commissioning_pot):
                yield (
                    (*loc, "direct_pot"),
                    f"the direct pot {split.direct_pot!r} must differ from the fund and the "
                    "co-commissioning pot (omit it to keep the direct share in the fund)",
                    split.direct_pot,
                )
        yield from _years((*loc, "years"), split.years or [], years)
    _, issues = split_pot_amounts(s.pots, s.fund_splits, s.financial_years)
    for issue in issues:
        split = s.fund_splits[issue.index]
        field = "co_commissioning_pence" if split.co_commissioning_pence is not None else "years"
        yield ("fund_splits", issue.index, field), issue.message, split.co_commissioning_pence


def _weight_problems(
    loc: tuple[str | int, ...], weights: Sequence[NeedWeight], areas: Sequence[Area]
) -> Iterator[Problem]:
    for i, w in enumerate(weights):
        missing = [a.code for a in areas if a.indicators.get(w.indicator) is None]
        if missing:
            yield (
                (*loc, i, "indicator"),
                f"column {w.indicator!r} has no value for {len(missing)} of {len(areas)} areas: "
                f"{_listed(missing)}",
                w.indicator,
            )
            continue
        negative = [a.code for a in areas if a.indicators[w.indicator] < 0]
        if negative:
            yield (
                (*loc, i, "indicator"),
                f"{w.indicator!r} is negative in {_listed(negative)}; need indicators must be "
                "counts or non-negative scores",
                w.indicator,
            )
        elif w.weight > 0 and all(a.indicators[w.indicator] == 0 for a in areas):
            yield (
                (*loc, i, "indicator"),
                f"{w.indicator!r} is zero in every area, so it cannot share out need",
                w.indicator,
            )
    if weights and sum(w.weight for w in weights) <= 0:
        yield loc, "need weights must not all be zero", 0


def _formula_grant_problems(s: GrantedScenario) -> Iterator[Problem]:
    pots = {p.id: p for p in s.pots}
    area_codes = {a.code for a in s.areas}
    first_year = s.financial_years[0]
    yield from _repeats(("formula_grants",), "id", [g.id for g in s.formula_grants])
    yield from _repeats(("formula_grants",), "pot", [g.pot for g in s.formula_grants])
    for i, grant in enumerate(s.formula_grants):
        loc: tuple[str | int, ...] = ("formula_grants", i)
        pot = pots.get(grant.pot)
        if pot is None:
            yield from _known((*loc, "pot"), grant.pot, set(pots), "pot")
            continue
        if pot.kind != "area_grant":
            yield (
                (*loc, "pot"),
                f"pot {pot.id!r} is of kind {pot.kind!r}; a formula grant pays out an "
                "'area_grant' pot",
                pot.id,
            )
        eligible = pot.eligible_areas
        areas = [a for a in s.areas if eligible is None or a.code in eligible]
        if grant.need_weights is not None:
            yield from _weight_problems((*loc, "need_weights"), grant.need_weights, areas)

        policy = grant.transition
        for field in ("max_loss_pct", "max_gain_pct"):
            value = getattr(policy, field)
            if value is not None and grant.previous is None:
                yield (
                    (*loc, "transition", field),
                    f"{field} {value} measures change from last year, so it needs the previous "
                    "year's grants (previous)",
                    str(value),
                )
        if grant.previous is None:
            continue
        prev = grant.previous
        if (
            is_well_formed_year(prev.year)
            and is_well_formed_year(first_year)
            and year_start(prev.year) != year_start(first_year) - 1
        ):
            yield (
                (*loc, "previous", "year"),
                f"previous year {prev.year} is not the year before {first_year}",
                prev.year,
            )
        codes = [a.area for a in prev.amounts]
        yield from _repeats((*loc, "previous", "amounts"), "area", codes)
        grant_codes = {a.code for a in areas}
        for j, code in enumerate(codes):
            if code not in area_codes:
                yield from _known(
                    (*loc, "previous", "amounts", j, "area"), code, area_codes, "area"
                )
            elif code not in grant_codes:
                yield (
                    (*loc, "previous", "amounts", j, "area"),
                    f"area {code} may not receive grants from pot {pot.id!r} (eligible_areas)",
                    code,
                )
        if policy.max_loss_pct is not None or policy.max_gain_pct is not None:
            missing = sorted(grant_codes - set(codes))
            if missing:
                yield (
                    (*loc, "previous", "amounts"),
                    f"no previous grant for {len(missing)} of {len(grant_codes)} areas: "
                    f"{_listed(missing)}; give 0 for an area that had none",
                    missing[0],
                )


def _bid_round_problems(s: GrantedScenario) -> Iterator[Problem]:
    pots = {p.id: p for p in s.pots}
    services = {sv.id: sv for sv in s.services}
    area_codes = {a.code for a in s.areas}
    years = set(s.financial_years)
    grant_pots = {g.pot for g in s.formula_grants}
    commitment_ids = {c.id for c in s.commitments}

    yield from _repeats(("bid_rounds",), "id", [r.id for r in s.bid_rounds])
    yield from _repeats(("bid_rounds",), "budget_pot", [r.budget_pot for r in s.bid_rounds])
    first_bid: dict[str, tuple[int, int]] = {}
    for i, round_ in enumerate(s.bid_rounds):
        loc: tuple[str | int, ...] = ("bid_rounds", i)
        pot = pots.get(round_.budget_pot)
        if pot is None:
            yield from _known((*loc, "budget_pot"), round_.budget_pot, set(pots), "pot")
        elif pot.kind == "area_grant":
            yield (
                (*loc, "budget_pot"),
                f"pot {pot.id!r} is an area_grant pot (paid to areas as a grant); bids are paid "
                "from a commissioned_services pot",
                pot.id,
            )
        elif pot.id in grant_pots:
            yield (
                (*loc, "budget_pot"),
                f"pot {pot.id!r} is paid out by a formula grant, so nothing is left for bids",
                pot.id,
            )
        for j, bid in enumerate(round_.bids):
            bloc: tuple[str | int, ...] = (*loc, "bids", j)
            if bid.id in first_bid:
                ri, bj = first_bid[bid.id]
                yield (
                    (*bloc, "id"),
                    f"duplicate bid id {bid.id!r}: bid_rounds[{ri}].bids[{bj}] already has it",
                    bid.id,
                )
            else:
                first_bid[bid.id] = (i, j)
            if bid_commitment_id(bid.id) in commitment_ids:
                yield (
                    (*bloc, "id"),
                    f"a selected bid {bid.id!r} becomes commitment "
                    f"{bid_commitment_id(bid.id)!r}, which is already a commitment id",
                    bid.id,
                )
            yield from _repeats((*bloc, "partner_areas"), "area", bid.partner_areas)
            for k, code in enumerate(bid.partner_areas):
                if code not in area_codes:
                    yield from _known((*bloc, "partner_areas", k), code, area_codes, "area")
                elif pot is not None and not _may_fund_area(pot, code):
                    yield (
                        (*bloc, "partner_areas", k),
                        f"pot {pot.id!r} may not fund area {code} (eligible_areas)",
                        code,
                    )
            yield from _years((*bloc, "years"), bid.years, years)
            partners = set(bid.partner_areas)
            for m, line in enumerate(bid.services):
                lloc: tuple[str | int, ...] = (*bloc, "services", m)
                service = services.get(line.service)
                if service is None:
                    yield from _known((*lloc, "service"), line.service, set(services), "service")
                elif pot is not None and not _may_fund_service(pot, line.service):
                    yield (
                        (*lloc, "service"),
                        f"pot {pot.id!r} may not fund service {line.service!r} (eligible_services)",
                        line.service,
                    )
                for k, code in enumerate(line.areas or []):
                    if code not in partners:
                        yield (
                            (*lloc, "areas", k),
                            f"area {code} is not one of the bid's partner_areas",
                            code,
                        )
                if service is not None and line.annual_cost_pence is None:
                    n = len(line.areas) if line.areas is not None else len(bid.partner_areas)
                    cost = line.units_per_area * service.unit_cost_pence * n
                    if cost != cost.to_integral_value():
                        yield (
                            (*lloc, "units_per_area"),
                            f"{line.units_per_area} units × {service.unit_cost_pence} pence × "
                            f"{n} areas is not a whole number of pence; give annual_cost_pence",
                            str(line.units_per_area),
                        )


def _may_fund_area(pot: FundingPot, code: str) -> bool:
    return pot.eligible_areas is None or code in pot.eligible_areas


def _may_fund_service(pot: FundingPot, service: str) -> bool:
    return pot.eligible_services is None or service in pot.eligible_services
