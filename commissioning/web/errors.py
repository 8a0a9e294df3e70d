"""Errors on web pages are pages: the reason in plain words and the field at fault, with the
status the API would give. Nobody signed in is sent to the sign-in page instead."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect
from litestar.types import ExceptionHandlersMap

from commissioning.api.errors import SERVICE_STATUS
from commissioning.api.services.access import Busy, ServiceError
from commissioning.errors import ScenarioError
from commissioning.web.render import page, safe_next
from commissioning.web.session import SESSION_COOKIE, cookie

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


def _came_from(request: Request[Any, Any, Any]) -> str:
    """The page a form or an htmx request was sent from (this site's only), to return to
    after signing in again; a POST's own address is no page to return to."""
    if request.method in ("GET", "HEAD") and not request.headers.get("HX-Request"):
        return request.url.path
    sent_from = urlsplit(
        request.headers.get("HX-Current-URL") or request.headers.get("Referer", "")
    )
    if sent_from.netloc != request.url.netloc:
        return "/"
    return sent_from.path + (f"?{sent_from.query}" if sent_from.query else "")


def _sign_in_first(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[Any]:
    """Nobody signed in, or a session that has ended: a page sends the browser to sign in
    (303); a form is not taken, and the sign-in page comes back in its place (401)."""
    back = safe_next(_came_from(request))
    target = "/sign-in?next=" + quote(back, safe="/")
    response: Response[Any]
    if request.headers.get("HX-Request"):
        response = Response("", status_code=401, headers={"HX-Redirect": target})
    elif request.method in ("GET", "HEAD"):
        response = Redirect(target, status_code=303)
    else:
        response = page(
            request,
            "sign_in.html",
            status_code=401,
            next=back,
            error=None,
            notice="You are signed out, so that form was not sent: sign in and try again.",
        )
    if request.cookies.get(SESSION_COOKIE):  # signed out or expired: the browser may drop it
        response.set_cookie(cookie(request, SESSION_COOKIE, "", expire=True))
    return response


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
