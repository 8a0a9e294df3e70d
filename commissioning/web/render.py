"""Pages as HTML: every template gets the signed-in context (`web`), and the sign-in form's
CSRF nonce cookie is set on the first page that needs it."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

from commissioning.web.context import web_of
from commissioning.web.session import SIGN_IN_COOKIE, cookie


def page(
    request: Request[Any, Any, Any],
    template: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    web = web_of(request)
    cookies = []
    if web.new_sign_in_nonce:
        cookies.append(cookie(request, SIGN_IN_COOKIE, web.nonce))
    return Template(
        template_name=template,
        context={"web": web, "nav": "", **context},
        status_code=status_code,
        cookies=cookies,
        headers=headers,
        media_type="text/html",
    )


def safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme): no open redirect after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def see_other(path: str) -> Redirect:
    """After a form: go to the page that shows the outcome (303, so a reload never reposts)."""
    return Redirect(path, status_code=303)
