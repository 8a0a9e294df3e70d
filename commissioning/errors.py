"""Errors the engine reports to people: each problem is one line naming the field and the reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic is not loaded by `commissioning --version` and the like
    from pydantic import ValidationError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located by a dotted field path."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ScenarioError(Exception):
    """The scenario cannot be used as given; `problems` says every reason found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def field_path(loc: tuple[str | int, ...]) -> str:
    """('pots', 1, 'amounts', 0) -> 'pots[1].amounts[0]'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


# pydantic's literal and enum errors: "Input should be 'a', 'b' or 'c'".
_CHOICES = re.compile(r"^Input should be ('[^']*'(?:(?:, | or )'[^']*')+)")


def one_of(values: list[str] | tuple[str, ...]) -> str:
    """The allowed values, the same words wherever a value must be one of a list."""
    return f"must be one of: {', '.join(values)}"


def plain_message(message: str) -> str:
    """pydantic's message in the engine's words; a choice lists the allowed values plainly."""
    message = message.removeprefix("Value error, ")
    choices = _CHOICES.match(message)
    if choices:
        values = re.findall(r"'([^']*)'", choices.group(1))
        return one_of(values) + message[choices.end() :]
    return message


def problems_from(error: ValidationError) -> list[Problem]:
    problems = []
    for detail in error.errors(include_url=False):
        message = plain_message(detail["msg"])
        if detail["type"] != "scenario_rule" and "input" in detail:
            shown = repr(detail["input"])
            if len(shown) <= 60 and not isinstance(detail["input"], dict | list):
                message = f"{message} (got {shown})"
        problems.append(Problem(field_path(tuple(detail["loc"])), message))
    return problems


class InfeasibleScenario(Exception):
    """The scenario's rules cannot all hold; `reasons` says which, in the scenario's own terms."""

    def __init__(self, reasons: list[str], gave_way: list[str] | None = None):
        self.reasons = reasons
        self.gave_way = gave_way or []
        lines = ["the scenario's rules cannot all hold:", *(f"  - {r}" for r in reasons)]
        if self.gave_way:
            lines += ["to make it solvable these rules had to give way:"]
            lines += [f"  - {g}" for g in self.gave_way]
        super().__init__("\n".join(lines))


class SolverFailed(Exception):
    """The solver stopped without a usable integer solution (e.g. time limit with none found)."""
