"""Every error is RFC 9457 problem details naming the field at fault; bad input never is a 500.

The problem types (and their titles) are in commissioning.api.problems.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
)
from litestar.types import ExceptionHandlersMap
from pydantic import ValidationError

from commissioning.api.problems import (
    INTERNAL,
    INVALID_INPUT,
    INVALID_JSON,
    PROBLEM_JSON,
    ProblemType,
    allowed_values,
    parameter_message,
    problem_type,
)
from commissioning.api.schemas import FieldError, ProblemDetails
from commissioning.api.services.access import Busy, Conflict, Forbidden, NotFound, ServiceError
from commissioning.errors import Problem, ScenarioError, plain_message, problems_from
from commissioning.strict_json import JsonInputError

log = logging.getLogger(__name__)

SHOWN_IN_DETAIL = 3
# Litestar's words for a required path, query, header or cookie parameter that is absent.
_MISSING = re.compile(r"^Missing required (\w+) parameter '([^']+)'")


def problem_response(
    request: Request[Any, Any, Any],
    kind: ProblemType,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ProblemDetails]:
    body = ProblemDetails(
        type=kind.uri,
        title=kind.title,
        status=kind.status,
        detail=detail,
        instance=request.url.path,
        errors=errors or [],
    )
    return Response(body, status_code=kind.status, media_type=PROBLEM_JSON, headers=headers)


def _summary(errors: list[FieldError]) -> str:
    """The first few field errors in one line, for `detail`."""
    shown = "; ".join(f"{e.field}: {e.message}" for e in errors[:SHOWN_IN_DETAIL])
    more = len(errors) - SHOWN_IN_DETAIL
    return f"{shown} (and {more} more)" if more > 0 else shown


def _field_from_key(key: str, source: str) -> str:
    """Litestar's 'pots.1.amounts.0' (or a parameter name) as 'pots[1].amounts[0]'."""
    path = ""
    for part in key.split("."):
        if part.isdigit():
            path += f"[{part}]"
        elif part:
            path += f".{part}" if path else part
    return path or source or "body"


def _parameter(request: Request[Any, Any, Any], key: str) -> tuple[list[str], str | None]:
    """A path or query parameter's allowed values (if it is a choice) and the value sent."""
    handler = request.scope.get("route_handler")
    parameters = getattr(getattr(handler, "parsed_fn_signature", None), "parameters", {})
    field = parameters.get(key) or next(
        (
            f
            for f in parameters.values()
            if key in {getattr(f.kwarg_definition, "query", None), f.name}
        ),
        None,
    )
    choices = allowed_values(field.raw) if field is not None else []
    given = request.path_params.get(key, request.query_params.get(key))
    return choices, None if given is None else str(given)


def _validation_errors(request: Request[Any, Any, Any], extra: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    if not isinstance(extra, list):
        return errors
    for item in extra:
        if not isinstance(item, dict):
            continue
        raw_source = item.get("source", "")  # "body", or a ParamType (a str enum)
        key, source = str(item.get("key", "")), str(getattr(raw_source, "value", raw_source))
        message = plain_message(str(item.get("message", "invalid value")))
        if source in {"path", "query"} and key:
            message = parameter_message(message, *_parameter(request, key))
        errors.append(FieldError(field=_field_from_key(key, source), message=message))
    return errors


def _http_exception(
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[ProblemDetails]:
    kind = problem_type(exc.status_code)
    headers = dict(exc.headers or {})
    if exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR:
        log.error("%s %s: %s", request.method, request.url.path, exc.detail)
        return problem_response(request, kind, "internal server error", headers=headers)
    errors = _validation_errors(request, exc.extra)
    detail = exc.detail
    if errors and exc.status_code == HTTP_400_BAD_REQUEST:
        detail = _summary(errors)  # not Litestar's "Validation failed for GET /…"
    elif not errors and (missing := _MISSING.match(exc.detail)):
        detail = f"the {missing[1]} parameter {missing[2]} is required"
        errors = [FieldError(field=missing[2], message="is required")]
    elif not errors and exc.status_code in (
        HTTP_400_BAD_REQUEST,
        HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    ):
        errors = [FieldError(field="body", message=exc.detail)]  # e.g. JSON that does not parse
    elif not errors and exc.status_code == HTTP_415_UNSUPPORTED_MEDIA_TYPE:
        errors = [FieldError(field="Content-Type", message=exc.detail)]
    if exc.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        limit = request.app.request_max_body_size
        detail = (
            f"the body is larger than the server's limit of {limit:,} bytes"
            if limit
            else exc.detail
        )
        errors = [FieldError(field="body", message=detail)]
    if isinstance(exc, NotFoundException) and exc.detail == "Not Found":
        detail = f"nothing at {request.url.path}"  # the router found no route
    if isinstance(exc, MethodNotAllowedException):
        allowed = headers.get("allow") or headers.get("Allow")
        detail = f"{request.method} is not allowed on {request.url.path}" + (
            f"; allowed: {allowed}" if allowed else ""
        )
    return problem_response(request, kind, detail, errors, headers)


def _problems(problems: list[Problem]) -> list[FieldError]:
    return [FieldError(field=p.field or "body", message=p.message) for p in problems]


def _scenario_error(
    request: Request[Any, Any, Any], exc: ScenarioError
) -> Response[ProblemDetails]:
    errors = _problems(exc.problems)
    detail = f"the scenario is not valid: {_summary(errors)}"
    return problem_response(request, INVALID_INPUT, detail, errors)


def _json_error(request: Request[Any, Any, Any], exc: JsonInputError) -> Response[ProblemDetails]:
    errors = _problems(exc.problems)
    return problem_response(request, INVALID_JSON, _summary(errors), errors)


def _pydantic_error(
    request: Request[Any, Any, Any], exc: ValidationError
) -> Response[ProblemDetails]:
    errors = _problems(problems_from(exc))
    return problem_response(request, INVALID_INPUT, _summary(errors), errors)


SERVICE_STATUS: dict[type[ServiceError], int] = {
    NotFound: HTTP_404_NOT_FOUND,
    Forbidden: HTTP_403_FORBIDDEN,
    Conflict: HTTP_409_CONFLICT,
    Busy: HTTP_429_TOO_MANY_REQUESTS,
}


def _service_error(request: Request[Any, Any, Any], exc: ServiceError) -> Response[ProblemDetails]:
    status = next(
        (code for kind, code in SERVICE_STATUS.items() if isinstance(exc, kind)),
        HTTP_400_BAD_REQUEST,
    )
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else None
    errors = [FieldError(field=exc.field, message=exc.message)] if exc.field else []
    return problem_response(request, problem_type(status), exc.message, errors, headers)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ProblemDetails]:
    log.exception("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, INTERNAL, "internal server error")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: _http_exception,
    JsonInputError: _json_error,
    ScenarioError: _scenario_error,
    ValidationError: _pydantic_error,
    ServiceError: _service_error,
    Exception: _unexpected,
}
