"""A variant of a stored scenario as a form: pots per year and unit costs in pounds, benchmark
rates, the fairness rule and each formula grant's transition settings.

Each input is named by the scenario field it sets ("pots[1].amounts[0].amount_pence"), the same
path the engine's validation names in its problems (commissioning.errors.field_path), so every
message lands next to its own input. Pounds are converted to pence exactly (figures.py); the
rest of the checking is the engine's own models (scenario_io.scenario_from_data), not rules
repeated here.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from commissioning.errors import ScenarioError
from commissioning.models.policy import FairnessRule
from commissioning.scenario_io import scenario_from_data
from commissioning.web.figures import (
    FigureError,
    decimal_from_text,
    pence_from_text,
    pounds_text,
    whole_from_text,
)
from commissioning.web.figures import money as money_text
from commissioning.web.names import fairness_rule, indicator

Kind = Literal["text", "money", "decimal", "whole", "choice"]
FAIRNESS_RULES: tuple[str, ...] = get_args(FairnessRule)
NAME = "name"
_TOKEN = re.compile(r"([a-z_]+)|\[([0-9]+)\]")


@dataclass(frozen=True)
class Field:
    path: str  # the scenario field it sets, as the engine names it
    label: str
    kind: Kind
    value: str  # as shown in the input
    required: bool = True
    choices: tuple[str, ...] = ()
    hint: str = ""
    choice_words: tuple[tuple[str, str], ...] = ()  # a choice's code and what people call it

    def choice_label(self, choice: str) -> str:
        return dict(self.choice_words).get(choice, choice)

    @property
    def ident(self) -> str:
        """An HTML id for the input (paths hold brackets and dots)."""
        return "f-" + re.sub(r"[^a-z0-9]+", "-", self.path.lower()).strip("-")


@dataclass(frozen=True)
class Group:
    title: str
    fields: list[Field]


@dataclass
class Checked:
    """A submitted form: the values as typed, the problems by field, and the scenario data
    when there are none."""

    values: dict[str, str]
    problems: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)  # problems no input of the form sets
    warnings: list[str] = field(default_factory=list)
    data: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and not self.general


def _money_field(path: str, label: str, pence: Any, required: bool = True) -> Field:
    shown = pounds_text(pence) if isinstance(pence, int) else ""
    return Field(path, label, "money", shown, required, hint="£")


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def groups(data: Mapping[str, Any]) -> list[Group]:
    """The form's inputs for a scenario (as stored: areas inline), grouped as a commissioner
    thinks of them."""
    found = [Group("Name", [Field(NAME, "Name of the variant", "text", str(data["name"]))])]
    pots = [
        _money_field(
            f"pots[{i}].amounts[{j}].amount_pence",
            f"{pot['name']}, {amount['year']}",
            amount["amount_pence"],
        )
        for i, pot in enumerate(data.get("pots", []))
        for j, amount in enumerate(pot["amounts"])
    ]
    found.append(Group("Funding pots (£ a year)", pots))
    costs = [
        _money_field(
            f"services[{i}].unit_cost_pence",
            f"{service['name']}: one {service['unit']} a year",
            service["unit_cost_pence"],
        )
        for i, service in enumerate(data.get("services", []))
    ]
    found.append(Group("Unit costs (£)", costs))
    rates: list[Field] = []
    names = {s["id"]: s["name"] for s in data.get("services", [])}
    for i, benchmark in enumerate(data.get("benchmarks", [])):
        service = names.get(benchmark["service"], benchmark["service"])
        rates.append(
            Field(
                f"benchmarks[{i}].units",
                f"{service}: units",
                "decimal",
                _plain(benchmark["units"]),
            )
        )
        rates.append(
            Field(
                f"benchmarks[{i}].per",
                f"{service}: per how many {indicator(benchmark['basis'])}",
                "whole",
                _plain(benchmark["per"]),
            )
        )
    found.append(Group("Benchmark rates", rates))
    policy = data.get("policy") or {}
    found.append(
        Group(
            "Fairness rule",
            [
                Field(
                    "policy.fairness_rule",
                    "How money is shared when it is short",
                    "choice",
                    str(policy.get("fairness_rule", "leximin")),
                    choices=FAIRNESS_RULES,
                    choice_words=tuple((rule, fairness_rule(rule)) for rule in FAIRNESS_RULES),
                )
            ],
        )
    )
    for i, grant in enumerate(data.get("formula_grants", [])):
        transition = grant.get("transition") or {}
        base = f"formula_grants[{i}].transition"
        found.append(
            Group(
                f"Transition: {grant['name']}",
                [
                    _money_field(
                        f"{base}.min_grant_pence",
                        "Minimum grant to every area (£ a year)",
                        transition.get("min_grant_pence"),
                        required=False,
                    ),
                    Field(
                        f"{base}.max_loss_pct",
                        "Largest fall from last year (%)",
                        "decimal",
                        _plain(transition.get("max_loss_pct")),
                        required=False,
                    ),
                    Field(
                        f"{base}.max_gain_pct",
                        "Largest rise from last year (%)",
                        "decimal",
                        _plain(transition.get("max_gain_pct")),
                        required=False,
                    ),
                    Field(
                        f"{base}.max_below_target_pct",
                        "Furthest below the formula's target (%)",
                        "decimal",
                        _plain(transition.get("max_below_target_pct")),
                        required=False,
                    ),
                    Field(
                        f"{base}.commitment_years",
                        "Years a grant is committed for",
                        "whole",
                        _plain(transition.get("commitment_years", 1)),
                    ),
                ],
            )
        )
    return found


def _steps(path: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _TOKEN.findall(path)]


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    """Set (or, for None, remove) the field a path names, creating objects on the way."""
    steps = _steps(path)
    target: Any = data
    for step in steps[:-1]:
        if isinstance(step, str) and target.get(step) is None:
            target[step] = {}
        target = target[step]
    last = steps[-1]
    if value is None:
        if isinstance(target, dict):
            target.pop(last, None)
    else:
        target[last] = value


def _parse(one: Field, text: str) -> Any:
    text = text.strip()
    if not text:
        if one.required:
            raise FigureError("enter a value")
        return None
    if one.kind == "money":
        return pence_from_text(text)
    if one.kind == "decimal":
        return str(decimal_from_text(text))  # scenario files carry decimals as strings
    if one.kind == "whole":
        return whole_from_text(text)
    return text


# The engine's messages carry pence: pydantic's bounds and the value it got ("less than or
# equal to 10000000000000 (got 99999999999999900)"), or a rule quoting a pence field by name
# ("unit_cost_pence 4000001 × granularity 0.5 ...").
_BOUND = re.compile(r"\b((?:greater|less) than(?: or equal to)?) (-?[0-9]+)\b")
_GOT = re.compile(r"\(got '?(-?[0-9]+)'?\)")
_NAMED = re.compile(r"\b([a-z_]+_pence) (-?[0-9]+)\b")


def in_pounds(path: str, message: str, money: set[str]) -> tuple[str, str]:
    """An engine message about a field typed in pounds, with its pence shown as pounds; a
    message on a record that names one of its pence fields moves to that field's input."""
    named = _NAMED.search(message)
    if named and f"{path}.{named.group(1)}" in money:
        path = f"{path}.{named.group(1)}"
        message = _NAMED.sub(
            lambda m: (
                f"{m.group(1).removesuffix('_pence').replace('_', ' ')} "
                f"{money_text(int(m.group(2)))}"
            ),
            message,
            count=1,
        )
    if path in money:
        message = _BOUND.sub(lambda m: f"{m.group(1)} {money_text(int(m.group(2)))}", message)
        message = _GOT.sub(lambda m: f"(got {money_text(int(m.group(1)))})", message)
    return path, message


def check(base: Mapping[str, Any], form: Mapping[str, str]) -> Checked:
    """Apply a submitted form to the base scenario's data and validate the result with the
    engine's models; every problem is keyed by the input it belongs to where there is one."""
    fields = [f for g in groups(base) for f in g.fields]
    values = {f.path: str(form.get(f.path, f.value)) for f in fields}
    checked = Checked(values)
    data = copy.deepcopy(dict(base))
    for one in fields:
        try:
            _set(data, one.path, _parse(one, values[one.path]))
        except FigureError as exc:
            checked.problems.setdefault(one.path, []).append(str(exc))
    if checked.problems:
        return checked
    try:
        scenario = scenario_from_data(data, base_dir=None)
    except ScenarioError as exc:
        money = {f.path for f in fields if f.kind == "money"}
        known = {f.path for f in fields}
        for problem in exc.problems:
            path, message = in_pounds(problem.field, problem.message, money)
            if path in known:
                checked.problems.setdefault(path, []).append(message)
            else:
                checked.general.append(f"{path}: {message}" if path else message)
        return checked
    checked.warnings = scenario.warnings()
    checked.data = data
    return checked
