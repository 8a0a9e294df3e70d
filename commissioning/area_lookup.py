"""Find a run's area from what a person types: a borough's name or its ONS code.

Every command that takes `--borough` uses this one lookup, so "Camden", "camden", " CAMDEN " and
"E09000007" mean the same everywhere, and a near miss ("Camdn", "kensington") is answered with
the names it was probably meant to be rather than a bare "unknown".
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from commissioning.models import Area

# Close enough to suggest: difflib's ratio (2 × matching characters ÷ both lengths). 0.75 keeps
# one or two slips in a borough name ("Camdn", "Hackny", "Lambath") and drops unrelated words
# ("Narnia" scores 0.5 against "Barnet").
NAME_CUTOFF = 0.75
MOST_SUGGESTIONS = 3
# A complete ONS code: a real area (E09000001 is the City of London), just not one of this run's,
# so no other code is suggested for it: every code is one digit away from several others.
_WHOLE_CODE = re.compile(r"[a-z]\d{8}")


class UnknownBorough(LookupError):
    """A borough name or code that is not one of the run's areas; `suggestions` holds the
    areas it was probably meant to be (empty when nothing is close)."""

    def __init__(self, message: str, given: str, suggestions: Sequence[Area] = ()):
        super().__init__(message)
        self.given = given
        self.suggestions = tuple(suggestions)


def normalised(text: str) -> str:
    """Case, spacing and "&" for "and" do not matter: "Barking & Dagenham" is the borough."""
    return " ".join(text.replace("&", " and ").split()).casefold()


def find_area_code(areas: Sequence[Area], name_or_code: str) -> str:
    """The code of the area named or coded `name_or_code`, or UnknownBorough saying what was
    probably meant (or listing the areas when nothing is close)."""
    wanted = normalised(name_or_code)
    for area in areas:
        if wanted in (area.code.casefold(), normalised(area.name)):
            return area.code
    names = ", ".join(a.name for a in areas)
    if _WHOLE_CODE.fullmatch(wanted):
        raise UnknownBorough(
            f"unknown borough {name_or_code!r}: no area of this run has that ONS code; "
            f"the run's boroughs are: {names}",
            name_or_code,
        )
    suggestions = close_areas(areas, wanted)
    if suggestions:
        if _looks_like_code(wanted):
            options = [f'"{a.code}" ({a.name})' for a in suggestions]
        else:
            options = [f'"{a.name}"' for a in suggestions]
        raise UnknownBorough(
            f"unknown borough {name_or_code!r}: did you mean {_or(options)}?",
            name_or_code,
            suggestions,
        )
    raise UnknownBorough(
        f"unknown borough {name_or_code!r}; the run's boroughs are: {names} "
        "(give a name or an ONS code)",
        name_or_code,
    )


def close_areas(areas: Sequence[Area], wanted: str) -> list[Area]:
    """The areas `wanted` (already normalised) most likely stands for, best first.

    A whole word of a longer name counts first ("kensington", "thames"), since people shorten
    borough names that way; then spelling slips in a name; code-like input is matched against
    codes one typing slip away (a digit missing, extra or wrong: "E0900007").
    """
    if not wanted:
        return []
    by_word = [a for a in areas if wanted in _word_runs(normalised(a.name))]
    if by_word:
        return by_word[:MOST_SUGGESTIONS]
    if _looks_like_code(wanted):
        return [a for a in areas if _one_slip_apart(wanted, a.code.casefold())][:MOST_SUGGESTIONS]
    keys = {normalised(a.name): a for a in areas}
    close = difflib.get_close_matches(wanted, list(keys), n=MOST_SUGGESTIONS, cutoff=NAME_CUTOFF)
    return [keys[key] for key in close]


def _looks_like_code(text: str) -> bool:
    """A letter then mostly digits, as an ONS code typed with a slip ("E0900007", "E09O00007")."""
    return (
        7 <= len(text) <= 11
        and text[0].isalpha()
        and text.isalnum()
        and sum(c.isdigit() for c in text) >= 5
    )


def _one_slip_apart(a: str, b: str) -> bool:
    """Edit distance exactly one: one character inserted, deleted or replaced."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _word_runs(name: str) -> set[str]:
    """Every run of whole consecutive words of a name: "kingston upon thames" gives "kingston",
    "upon thames", "kingston upon" and so on."""
    words = name.split()
    return {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}


def _or(options: list[str]) -> str:
    return options[0] if len(options) == 1 else ", ".join(options[:-1]) + " or " + options[-1]
