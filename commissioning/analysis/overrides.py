"""Change a scenario by naming what to change: `pots.mopac_direct.amount=£3,800,000`.

A what-if should not mean hand-editing JSON in pence. A path names one figure of the scenario
in the commissioner's words (pot, service, benchmark, area, policy, ring-fence, commitment by
id); the changed scenario is validated again in full, so every model rule still holds and a
broken rule is reported against the path that broke it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from pydantic import BaseModel, ValidationError

from commissioning.errors import problems_from
from commissioning.models import Scenario

Loc = tuple[str | int, ...]


class OverrideError(ValueError):
    """A setting that cannot be applied; the message names the path and the reason."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


# ---------------------------------------------------------------------------- values

_MONEY = re.compile(r"£\s*([0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)\s*(k|m|bn)?", re.IGNORECASE)
_PENCE = re.compile(r"([0-9][0-9,]*)\s*p", re.IGNORECASE)
_MULTIPLIER = {None: 1, "k": 1_000, "m": 1_000_000, "bn": 1_000_000_000}
_GROUPING = re.compile(r"[0-9]{1,3}(,[0-9]{3})*(\.[0-9]*)?")


def parse_money(text: str) -> int:
    """Money in pence from '£3,800,000', '£3.8m', '£250k', '£1.2bn' or '380000000p'.

    A bare number is refused: 3800000 could be pounds or pence, and guessing wrong is a
    hundredfold error in a budget.
    """
    raw = text.strip()
    pounds = _MONEY.fullmatch(raw)
    if pounds is not None:
        number, suffix = pounds.group(1), pounds.group(2)
        _check_grouping(number, text)
        value = Decimal(number.replace(",", "")) * _MULTIPLIER[suffix and suffix.lower()] * 100
        if value != value.to_integral_value():
            raise ValueError(f"{text!r} is not a whole number of pence")
        return int(value)
    pence = _PENCE.fullmatch(raw)
    if pence is not None:
        _check_grouping(pence.group(1), text)
        return int(pence.group(1).replace(",", ""))
    if _looks_numeric(raw):
        raise ValueError(
            f"{text!r} has no unit: write pounds with £ (£3,800,000, £3.8m, £250k) "
            "or pence with p (380000000p)"
        )
    raise ValueError(f"{text!r} is not an amount of money (e.g. £3,800,000, £3.8m or 380000000p)")


def _check_grouping(number: str, text: str) -> None:
    # "3,5" is a decimal comma somewhere else in Europe; only thousands separators are allowed.
    if "," in number and not _GROUPING.fullmatch(number):
        raise ValueError(f"{text!r}: commas may only separate thousands (3,800,000)")


def _looks_numeric(text: str) -> bool:
    try:
        Decimal(text.replace(",", ""))
    except InvalidOperation:
        return False
    return True


def parse_fraction(text: str) -> Fraction:
    """An exact factor from '0.7', '70%' or '3/4'."""
    raw = text.strip()
    try:
        if raw.endswith("%"):
            return Fraction(Decimal(raw[:-1].strip())) / 100
        return Fraction(raw) if "/" in raw else Fraction(Decimal(raw))
    except (InvalidOperation, ValueError, ZeroDivisionError):
        raise ValueError(f"{text!r} is not a number or percentage (e.g. 0.7 or 70%)") from None


def _parse_decimal(text: str) -> Decimal:
    raw = text.strip().replace(",", "") if _GROUPING.fullmatch(text.strip()) else text.strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return value


# ---------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class _Target:
    """One figure a path names: where it sits in the scenario's data, and what kind it is."""

    loc: Loc
    kind: str  # money | decimal | indicator | policy | granularity


_COLLECTIONS = {
    "pots": ("pot", "id"),
    "services": ("service", "id"),
    "benchmarks": ("benchmark", "service"),
    "areas": ("area", "code"),
    "ring_fences": ("ring-fence", "id"),
    "commitments": ("commitment", "id"),
}
_FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    # path field -> (model field, kind)
    "pots": {"amount": ("amounts", "money")},
    "services": {
        "unit_cost": ("unit_cost_pence", "money"),
        "granularity": ("granularity", "granularity"),
    },
    "benchmarks": {"units": ("units", "decimal")},
    "ring_fences": {"min_amount": ("min_amount_pence", "money")},
    "commitments": {"amount": ("amount_pence", "money")},
}
_SECTIONS = sorted([*_COLLECTIONS, "policy"])
_YEAR_INDEX = re.compile(r"(\w+)\[([^\]]*)\]")


def _known(values: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f", … ({len(values)} in all)" if len(values) > limit else "")


def _split(path: str) -> list[str]:
    # "areas.E09000007.female_16_plus" -- ids, codes and years never contain dots.
    return [part.strip() for part in path.strip().split(".")]


def _targets(data: dict[str, Any], path: str) -> list[_Target]:
    """Every figure `path` names (several when an id is `*`), or OverrideError."""
    parts = _split(path)
    section = parts[0]
    if section == "policy":
        return [_policy_target(data, path, parts)]
    if section not in _COLLECTIONS:
        raise OverrideError(path, f"unknown section {section!r} (known: {', '.join(_SECTIONS)})")
    what, key = _COLLECTIONS[section]
    items: list[dict[str, Any]] = data[section]
    ids = [str(item[key]) for item in items]
    if len(parts) < 3:
        raise OverrideError(path, f"name a {what} and a field, e.g. {_example(section, ids)}")
    wanted = parts[1]
    if wanted == "*":
        indexes = list(range(len(items)))
        if not indexes:
            raise OverrideError(path, f"the scenario has no {section}")
    elif wanted in ids:
        indexes = [ids.index(wanted)]
    else:
        raise OverrideError(path, f"unknown {what} {wanted!r} (known: {_known(ids)})")
    field = ".".join(parts[2:])
    if section == "areas":
        return [_area_target(data, path, i, field) for i in indexes]
    return [t for i in indexes for t in _field_targets(data, path, section, i, field)]


def _example(section: str, ids: list[str]) -> str:
    first = ids[0] if ids else "ID"
    field = "female_16_plus" if section == "areas" else next(iter(_FIELDS[section]))
    return f"{section}.{first}.{field}"


def _field_targets(
    data: dict[str, Any], path: str, section: str, index: int, field: str
) -> Iterator[_Target]:
    fields = _FIELDS[section]
    year = None
    indexed = _YEAR_INDEX.fullmatch(field)
    if indexed is not None and section == "pots":
        field, year = indexed.group(1), indexed.group(2).strip()
    if field not in fields:
        extra = ["amount[<year>]", "scale"] if section == "pots" else []
        known = [*fields, *extra, *(f"{f}.scale" for f in fields if f != "granularity")]
        raise OverrideError(path, f"unknown field {field!r} (known: {', '.join(known)})")
    model_field, kind = fields[field]
    if section != "pots":
        yield _Target((section, index, model_field), kind)
        return
    amounts: list[dict[str, Any]] = data["pots"][index]["amounts"]
    if year is None:
        for j in range(len(amounts)):
            yield _Target(("pots", index, "amounts", j, "amount_pence"), "money")
        return
    years = [str(y) for y in data["financial_years"]]
    if year not in years:
        raise OverrideError(
            path, f"year {year!r} is not in the scenario (years: {', '.join(years)})"
        )
    listed = [str(a["year"]) for a in amounts]
    if year not in listed:
        # A pot with no money in that year gets a budget for it: the path says which year.
        amounts.append({"year": year, "amount_pence": 0})
        amounts.sort(key=lambda a: years.index(str(a["year"])) if a["year"] in years else 99)
        listed = [str(a["year"]) for a in amounts]
    yield _Target(("pots", index, "amounts", listed.index(year), "amount_pence"), "money")


def _area_target(data: dict[str, Any], path: str, index: int, field: str) -> _Target:
    indicators: dict[str, Any] = data["areas"][index]["indicators"]
    if field not in indicators:
        area = data["areas"][index]
        raise OverrideError(
            path,
            f"area {area['code']} ({area['name']}) has no indicator {field!r} "
            f"(indicators: {_known(sorted(indicators))})",
        )
    return _Target(("areas", index, "indicators", field), "indicator")


def _policy_target(data: dict[str, Any], path: str, parts: list[str]) -> _Target:
    from commissioning.models.policy import Policy, SolverOptions

    if len(parts) < 2:
        raise OverrideError(path, f"name a policy field (known: {', '.join(Policy.model_fields)})")
    model: type[BaseModel] = Policy
    loc: Loc = ("policy",)
    for depth, name in enumerate(parts[1:], start=1):
        if name not in model.model_fields:
            where = ".".join(parts[:depth])
            raise OverrideError(
                path, f"{where} has no field {name!r} (known: {', '.join(model.model_fields)})"
            )
        loc = (*loc, name)
        if model is Policy and name == "solver":
            model = SolverOptions
            if depth == len(parts) - 1:
                raise OverrideError(
                    path, f"name a solver setting (known: {', '.join(SolverOptions.model_fields)})"
                )
        elif depth != len(parts) - 1:
            raise OverrideError(path, f"policy.{name} has no fields inside it")
    return _Target(loc, "policy")


# ---------------------------------------------------------------------------- data access


def _get(data: Any, loc: Loc) -> Any:
    for part in loc:
        data = data[part]
    return data


def _put(data: Any, loc: Loc, value: Any) -> None:
    _get(data, loc[:-1])[loc[-1]] = value


def parse_value(path: str, text: str) -> Any:
    """The value `text` means at `path`: money for amounts and costs, a factor for `.scale`,
    a number for rates and indicators, and for policy the field's own kind (text for rules)."""
    parts = _split(path)
    if parts[-1] == "scale":
        return parse_fraction(text)
    if parts[0] == "policy":
        return _policy_value(parts[-1], text)
    if parts[0] == "areas":
        return float(_parse_decimal(text))
    if parts[0] in ("benchmarks",) or parts[-1] == "granularity":
        return _parse_decimal(text)
    return parse_money(text)


def _policy_value(name: str, text: str) -> Any:
    raw = text.strip()
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg}") from None
    if raw.lower() in ("none", "null"):
        return None
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if not _looks_numeric(raw.rstrip("%")):
        return raw
    if raw.endswith("%"):
        # max_change_pct is already a percentage; a gap of 0.5% is the fraction 0.005.
        number = _parse_decimal(raw[:-1])
        value = number if name.endswith("_pct") else number / 100
    else:
        value = _parse_decimal(raw)
    if name in ("threads", "award_years"):
        if value != value.to_integral_value():
            raise ValueError(f"{text!r} is not a whole number")
        return int(value)
    if name in ("relative_gap", "time_limit_seconds"):
        return float(value)
    return value


# ---------------------------------------------------------------------------- applying

_Change = Callable[[dict[str, Any], _Target, Any], Any]


def _dump(scenario: Scenario) -> dict[str, Any]:
    return scenario.model_dump(mode="python")


def _rebuild(data: dict[str, Any], touched: list[tuple[str, list[Loc]]]) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = problems_from(exc)
        for problem, error in zip(problems, exc.errors(include_url=False), strict=True):
            loc = tuple(error["loc"])
            for path, locs in touched:
                if any(_related(loc, t) for t in locs):
                    raise OverrideError(path, f"breaks a rule: {problem}") from None
        # A rule checked elsewhere (a benchmark's basis, say) broke: the caller finds which.
        raise _Unplaced(touched[-1][0], f"breaks a rule: {problems[0]}") from None


class _Unplaced(OverrideError):
    """A broken rule whose location is none of the changed figures."""


def _related(a: Loc, b: Loc) -> bool:
    """Does a rule broken at `a` concern the figure at `b` (one lies inside the other)?"""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _apply(data: dict[str, Any], path: str, change: _Change) -> list[Loc]:
    targets = _targets(data, path)
    for target in targets:
        try:
            _put(data, target.loc, change(data, target, _get(data, target.loc)))
        except OverrideError:
            raise
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise OverrideError(path, str(exc)) from None
    return [t.loc for t in targets]


def apply_overrides(scenario: Scenario, settings: Sequence[tuple[str, str]]) -> Scenario:
    """The scenario with each `(path, text)` setting applied in order, validated again in full.

    A path ending `.scale` multiplies the figure (`pots.ID.scale=0.7`,
    `areas.*.female_16_plus.scale=103%`); money is rounded to whole pence, half up.
    """
    if not settings:
        return scenario
    data = _dump(scenario)
    touched: list[tuple[str, list[Loc]]] = []
    for path, text in settings:
        parts = _split(path)
        try:
            value = parse_value(path, text)
        except ValueError as exc:
            # An unknown path is the first thing to say, before what its value should look like.
            base = ".".join(parts[:-1]) if parts[-1] == "scale" else path
            try:
                _targets(data, _numeric_path(base) if parts[-1] == "scale" else base)
            except OverrideError as unknown:
                raise OverrideError(path, unknown.reason) from None
            raise OverrideError(path, str(exc)) from None
        if parts[-1] == "scale":
            base = ".".join(parts[:-1])
            locs = _apply_scale(data, path, base, value)
        else:
            locs = _apply(data, path, _setter(value))
        touched.append((path, locs))
    try:
        return _rebuild(data, touched)
    except _Unplaced as exc:
        # The first setting after which the scenario no longer holds is the one to name.
        for count in range(1, len(settings)):
            apply_overrides(scenario, settings[:count])
        raise OverrideError(exc.path, exc.reason) from None


def _apply_scale(data: dict[str, Any], path: str, base: str, factor: Fraction) -> list[Loc]:
    if _split(base)[0] == "policy":
        raise OverrideError(path, "policy settings cannot be scaled; set them instead")
    if factor < 0:
        raise OverrideError(path, f"a scale factor must not be negative, got {factor}")
    try:
        return _apply(data, _numeric_path(base), lambda d, t, old: _scaled(d, t, old, factor))
    except OverrideError as exc:
        raise OverrideError(path, exc.reason) from None


def _numeric_path(path: str) -> str:
    # `pots.ID` alone is the pot's budget: the figure a sweep or a scale means.
    parts = _split(path)
    if parts[0] == "pots" and len(parts) == 2:
        return f"{path}.amount"
    return path


def set_path(scenario: Scenario, path: str, value: Any) -> Scenario:
    """The scenario with the figure at `path` set to `value`, already parsed: pence as int,
    Decimal or Fraction for rates and granularity, a number for indicators, anything pydantic
    accepts for a policy field. `pots.ID` means the pot's budget every year."""
    data = _dump(scenario)
    locs = _apply(data, _numeric_path(path), _setter(value))
    return _rebuild(data, [(path, locs)])


def scale_path(scenario: Scenario, path: str, factor: Fraction) -> Scenario:
    """The scenario with every figure at `path` multiplied by `factor` exactly, then rounded:
    money half up to whole pence (a unit cost to the nearest cost whose granule is still whole
    pence), rates to 6 decimal places. `path` has no `.scale` suffix."""
    data = _dump(scenario)
    locs = _apply_scale(data, path, path, Fraction(factor))
    return _rebuild(data, [(path, locs)])


def _setter(value: Any) -> _Change:
    return lambda _data, target, _old: _set(value, target)


def _set(value: Any, target: _Target) -> Any:
    if target.kind == "money":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"money must be whole pence (an int), got {value!r}")
        return value
    if target.kind in ("decimal", "granularity"):
        return value if isinstance(value, Decimal) else _decimal(Fraction(value))
    if target.kind == "indicator":
        return float(value)
    return value


def _scaled(data: dict[str, Any], target: _Target, old: Any, factor: Fraction) -> Any:
    if target.kind == "money":
        step = _cost_step(data, target.loc)
        return _round_half_up(Fraction(old) * factor / step) * step
    if target.kind in ("decimal", "granularity"):
        return _decimal(Fraction(old) * factor)
    if target.kind == "indicator":
        return float(Fraction(old) * factor)
    raise ValueError("only numbers can be scaled")


def _cost_step(data: dict[str, Any], loc: Loc) -> int:
    """Smallest change of this figure that keeps it valid: a unit cost times its granularity
    must be whole pence, so a 0.5 FTE service moves in steps of 2p; everything else in 1p."""
    if loc[0] == "services" and loc[-1] == "unit_cost_pence":
        granularity = Fraction(data["services"][loc[1]]["granularity"])
        return granularity.denominator
    return 1


def _round_half_up(value: Fraction) -> int:
    if value < 0:
        return -_round_half_up(-value)
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def _decimal(value: Fraction, places: int = 6) -> Decimal:
    """A rate as a Decimal of at most `places` decimals (the models' limit), without a
    needless exponent or trailing zeros (4, not 4.000000 or 4E+0)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{rounded:f}"
    return Decimal(text.rstrip("0").rstrip(".") if "." in text else text)
