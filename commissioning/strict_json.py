"""One strict JSON reader for scenario files and API bodies.

Python's `json` accepts things no scenario means: a key given twice (the last silently wins),
NaN and Infinity, integers of thousands of digits (which `int` refuses past 4,300 digits with a
bare ValueError), and nesting deep enough to exhaust the stack. This reader refuses each of them
as a `Problem` naming where it is, so the CLI and the API report them like any other bad field.
"""

from __future__ import annotations

import json
import math
from typing import Any

from commissioning.errors import Problem, ScenarioError, field_path

MAX_DEPTH = 32
"""Deepest nesting accepted; a scenario needs 8 (bid_rounds[0].bids[0].services[0].areas)."""
MAX_NUMBER_CHARACTERS = 40
"""Longest number accepted; money tops out at 14 digits, and no count needs more."""


class JsonInputError(ScenarioError):
    """The text is not the strict JSON this project reads; `problems` says where and why."""


class _Refused:
    """Stands in for a value the parser must not build; the walk after parsing reports it."""

    def __init__(self, reason: str):
        self.reason = reason


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys it was given more than once."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object(pairs)
    if len(result) != len(pairs):
        counts: dict[str, int] = {}
        for key, _ in pairs:
            counts[key] = counts.get(key, 0) + 1
        result.repeated = tuple(key for key, n in counts.items() if n > 1)
    return result


def _integer(text: str) -> int | _Refused:
    if len(text) > MAX_NUMBER_CHARACTERS:
        return _Refused(f"a number of {len(text)} digits is too long to be real")
    return int(text)


def _float(text: str) -> float | _Refused:
    if len(text) > MAX_NUMBER_CHARACTERS:
        return _Refused(f"a number written with {len(text)} characters is too long to be real")
    value = float(text)
    if not math.isfinite(value):
        return _Refused(f"{text} is too large to be a number")
    return value


def _constant(text: str) -> _Refused:
    return _Refused(f"{text} is not a number JSON allows")


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line} column {column}"


def _problem(where: str, message: str) -> JsonInputError:
    return JsonInputError([Problem(where, message)])


def parse_json(data: bytes | str, where: str = "") -> Any:
    """Parse strict JSON: UTF-8, no repeated keys, no NaN, numbers of sane length, shallow.

    `where` names the whole document in problems that have no field (e.g. "body"); problems
    inside the document name their field path, e.g. `areas[3].name`.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _problem(
                where,
                f"is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at offset {exc.start} "
                f"cannot be decoded (save the file as UTF-8)",
            ) from None
    text = data.removeprefix("\ufeff")  # a byte-order mark some editors write is harmless
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        raise _problem(where, f"is not valid JSON: {_position(text, exc.pos)}: {exc.msg}") from None
    except RecursionError:
        raise _problem(where, f"is nested more than {MAX_DEPTH} levels deep") from None
    problems = list(_refusals(value, where))
    if problems:
        raise JsonInputError(problems)
    return value


def _refusals(root: Any, where: str) -> list[Problem]:
    """Every refused value, repeated key and too-deep container, by field path (iteratively)."""
    problems: list[Problem] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), root)]
    while stack:
        loc, value = stack.pop()
        field = field_path(loc) or where
        if isinstance(value, _Refused):
            problems.append(Problem(field, value.reason))
        elif isinstance(value, dict | list):
            if len(loc) >= MAX_DEPTH:
                problems.append(Problem(field, f"is nested more than {MAX_DEPTH} levels deep"))
                continue
            if isinstance(value, _Object):
                problems += [
                    Problem(field, f"key {key!r} is given more than once") for key in value.repeated
                ]
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack += [((*loc, k), v) for k, v in items]
    return sorted(problems, key=lambda p: p.field)
