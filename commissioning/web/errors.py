"""Errors on web pages are pages: the reason in plain words and the field at fault, with the
status the API would give. Nobody signed in is sent to the sign-in page instead."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect
from litestar.types import ExceptionHandlersMap

from commissioning.api.errors import SERVICE_STATUS
from commissioning.api.services.access import Busy, ServiceError
from commissioning.errors import ScenarioError
from commissioning.web.render import page

log = logging.getLogger(__name__)

TITLES = {
    400: "That cannot be done as asked",
    401: "Sign in first",
    403: "Not for your role or borough",
    404: "Not found",
    409: "Not yet",
    429: "The run queue is full",
    500: "Something went wrong",
}


def _error_page(
    request: Request[Any, Any, Any], status: int, message: str, field: str = ""
) -> Response[Any]:
    if getattr(request.state, "web", None) is None:  # the guard itself failed: no context
        return Response(message, status_code=status, media_type="text/plain")
    title = TITLES.get(status, "Error")
    return page(
        request, "error.html", status_code=status, title=title, message=message, field=field
    )


def _sign_in_first(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[Any]:
    target = "/sign-in?next=" + quote(request.url.path, safe="/")
    if request.headers.get("HX-Request"):
        return Response("", status_code=401, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotAuthorizedException):
        return _sign_in_first(request, exc)
    status = exc.status_code
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc.detail)
        return _error_page(request, status, "internal server error")
    return _error_page(request, status, exc.detail)


def _service(request: Request[Any, Any, Any], exc: ServiceError) -> Response[Any]:
    status = next((s for kind, s in SERVICE_STATUS.items() if isinstance(exc, kind)), 400)
    response = _error_page(request, status, exc.message, exc.field)
    if isinstance(exc, Busy):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _scenario(request: Request[Any, Any, Any], exc: ScenarioError) -> Response[Any]:
    return _error_page(request, 400, "; ".join(str(p) for p in exc.problems))


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(request, 500, "internal server error")


WEB_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: _http,
    ServiceError: _service,
    ScenarioError: _scenario,
    Exception: _unexpected,
}
