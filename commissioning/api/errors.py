"""Every error is JSON naming the field at fault; nothing malformed reaches a 500."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
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

from commissioning.api.schemas import ErrorBody, FieldError
from commissioning.api.services.access import Busy, Conflict, Forbidden, NotFound, ServiceError
from commissioning.errors import Problem, ScenarioError, problems_from
from commissioning.strict_json import JsonInputError

log = logging.getLogger(__name__)


def error_response(
    status_code: int,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ErrorBody]:
    return Response(
        ErrorBody(status_code=status_code, detail=detail, errors=errors or []),
        status_code=status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _field_from_key(key: str, source: str) -> str:
    """Litestar's 'pots.1.amounts.0' (or a parameter name) as 'pots[1].amounts[0]'."""
    path = ""
    for part in key.split("."):
        if part.isdigit():
            path += f"[{part}]"
        elif part:
            path += f".{part}" if path else part
    return path or source or "body"


def _validation_errors(extra: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                errors.append(
                    FieldError(
                        field=_field_from_key(
                            str(item.get("key", "")), str(item.get("source", ""))
                        ),
                        message=str(item.get("message", "invalid value")),
                    )
                )
    return errors


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    if exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR:
        log.error("%s %s: %s", request.method, request.url.path, exc.detail)
    errors = _validation_errors(exc.extra)
    if not errors and exc.status_code in (HTTP_400_BAD_REQUEST, HTTP_413_REQUEST_ENTITY_TOO_LARGE):
        errors = [FieldError(field="body", message=exc.detail)]  # e.g. JSON that does not parse
    if not errors and exc.status_code == HTTP_415_UNSUPPORTED_MEDIA_TYPE:
        errors = [FieldError(field="Content-Type", message=exc.detail)]
    return error_response(exc.status_code, exc.detail, errors, dict(exc.headers or {}))


def _problems(problems: list[Problem]) -> list[FieldError]:
    return [FieldError(field=p.field or "body", message=p.message) for p in problems]


def _scenario_error(_: Request[Any, Any, Any], exc: ScenarioError) -> Response[ErrorBody]:
    return error_response(
        HTTP_400_BAD_REQUEST, "the scenario is not valid", _problems(exc.problems)
    )


def _json_error(_: Request[Any, Any, Any], exc: JsonInputError) -> Response[ErrorBody]:
    return error_response(
        HTTP_400_BAD_REQUEST, "the body is not valid JSON", _problems(exc.problems)
    )


def _pydantic_error(_: Request[Any, Any, Any], exc: ValidationError) -> Response[ErrorBody]:
    return error_response(HTTP_400_BAD_REQUEST, "invalid input", _problems(problems_from(exc)))


SERVICE_STATUS: dict[type[ServiceError], int] = {
    NotFound: HTTP_404_NOT_FOUND,
    Forbidden: HTTP_403_FORBIDDEN,
    Conflict: HTTP_409_CONFLICT,
    Busy: HTTP_429_TOO_MANY_REQUESTS,
}


def _service_error(_: Request[Any, Any, Any], exc: ServiceError) -> Response[ErrorBody]:
    status = next(
        (code for kind, code in SERVICE_STATUS.items() if isinstance(exc, kind)),
        HTTP_400_BAD_REQUEST,
    )
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else None
    errors = [FieldError(field=exc.field, message=exc.message)] if exc.field else []
    return error_response(status, exc.message, errors, headers)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.exception("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "internal server error")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: _http_exception,
    JsonInputError: _json_error,
    ScenarioError: _scenario_error,
    ValidationError: _pydantic_error,
    ServiceError: _service_error,
    Exception: _unexpected,
}
