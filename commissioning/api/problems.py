"""RFC 9457 problem types of the API, and Litestar's parameter messages in plain words.

Every error the API returns is `application/problem+json`; its `type` is one of PROBLEM_TYPES
(stable relative URIs a client can switch on), its `title` that type's title, whatever the
occurrence; `detail` and `errors` say what was wrong this time.
"""

from __future__ import annotations

import enum
import re
import types
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from commissioning.errors import one_of

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    uri: str
    title: str
    status: int
    meaning: str  # for the API's description and the OpenAPI responses


INVALID_INPUT = ProblemType(
    "/problems/invalid-input",
    "Invalid input",
    400,
    "A parameter or body field breaks its rules; each entry of `errors` names the field "
    "(a dotted path or a parameter name) and the reason, listing the allowed values of a choice.",
)
INVALID_JSON = ProblemType(
    "/problems/invalid-json",
    "Body is not valid JSON",
    400,
    "The body does not parse as JSON (or repeats a key, or nests too deep).",
)
UNAUTHENTICATED = ProblemType(
    "/problems/unauthenticated",
    "Missing or unknown API key",
    401,
    "No API key, or an unknown, expired or revoked one (header X-API-Key).",
)
FORBIDDEN = ProblemType(
    "/problems/forbidden",
    "Outside the key's scope",
    403,
    "The key's role or borough does not cover this (drafts are commissioners' only).",
)
NOT_FOUND = ProblemType(
    "/problems/not-found",
    "Not found",
    404,
    "No such route, or no such scenario, run, table, file or area.",
)
METHOD_NOT_ALLOWED = ProblemType(
    "/problems/method-not-allowed",
    "Method not allowed",
    405,
    "The path exists but not with this method; the Allow header lists the methods it has.",
)
CONFLICT = ProblemType(
    "/problems/conflict",
    "Conflicts with the current state",
    409,
    "The run (or resource) is not in a state that allows this: still solving, failed, "
    "infeasible, or already changed.",
)
BODY_TOO_LARGE = ProblemType(
    "/problems/body-too-large",
    "Request body too large",
    413,
    "The request body is larger than the server's limit.",
)
UNSUPPORTED_MEDIA_TYPE = ProblemType(
    "/problems/unsupported-media-type",
    "Unsupported media type",
    415,
    "The body is not JSON (send Content-Type: application/json, UTF-8).",
)
BUSY = ProblemType(
    "/problems/busy",
    "Run queue full",
    429,
    "Every worker is busy and the queue is full; retry after the seconds in Retry-After.",
)
INTERNAL = ProblemType(
    "about:blank",
    "Internal Server Error",
    500,
    "A fault on the server (logged); never the caller's input.",
)

PROBLEM_TYPES = (
    INVALID_INPUT,
    INVALID_JSON,
    UNAUTHENTICATED,
    FORBIDDEN,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    CONFLICT,
    BODY_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    BUSY,
    INTERNAL,
)
_BY_STATUS = {kind.status: kind for kind in PROBLEM_TYPES if kind is not INVALID_JSON}


def problem_type(status: int) -> ProblemType:
    """The type of an error known only by its status; `about:blank` for any other status."""
    known = _BY_STATUS.get(status)
    if known is not None:
        return known
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return ProblemType("about:blank", phrase, status, "")


def problem_types_markdown() -> str:
    """The list of problem types, for the API's description."""
    return "\n".join(
        f"- `{kind.uri}` ({kind.status}, *{kind.title}*): {kind.meaning}" for kind in PROBLEM_TYPES
    )


# -- Litestar's (msgspec's) messages for path and query parameters ------------------------------

_KINDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "array": "a list",
    "object": "an object",
}
_BOUNDS = {">=": "at least", ">": "greater than", "<=": "at most", "<": "less than"}
_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"^Expected `(\w+)`, got `\w+`$"),
        lambda m: f"must be {_KINDS.get(m[1], m[1])}",
    ),
    (
        re.compile(r"^Expected `(?:int|float)` (>=|>|<=|<) (\S+)$"),
        lambda m: f"must be {_BOUNDS[m[1]]} {m[2]}",
    ),
    (
        re.compile(r"^Expected `str` of length (>=|>|<=|<) (\d+)$"),
        lambda m: f"must be {_BOUNDS[m[1]]} {m[2]} characters long",
    ),
    (
        re.compile(r"^Expected `str` matching regex '(.*)'$"),
        lambda m: f"must match the pattern {m[1]}",
    ),
]


def allowed_values(annotation: Any) -> list[str]:
    """The values a Literal or Enum annotation allows (through Annotated and Optional)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return allowed_values(get_args(annotation)[0])
    if origin is Literal:
        return [str(value) for value in get_args(annotation)]
    if origin is Union or origin is types.UnionType:
        return [value for arg in get_args(annotation) for value in allowed_values(arg)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation]
    return []


def parameter_message(message: str, choices: list[str], given: str | None) -> str:
    """A parameter's error in plain words: the allowed values of a choice, the bound broken."""
    got = f" (got {given!r})" if given is not None and len(given) <= 60 else ""
    if message.startswith("Invalid enum value") and choices:
        return f"{one_of(choices)}{got}"
    for pattern, plain in _REWRITES:
        found = pattern.match(message)
        if found:
            return f"{plain(found)}{got}"
    return message
