"""Signing in and out: an API key (checked as the API checks it) becomes a session cookie."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Response, Template

from commissioning.api.key_cache import KeyCache
from commissioning.web.context import secret_for, store_of, web_of
from commissioning.web.render import page, safe_next, see_other
from commissioning.web.session import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    Session,
    cookie,
    end_session,
)

PUBLIC = {"public": True}
MAX_KEY_LENGTH = 200


@get("/sign-in", opt=PUBLIC, sync_to_thread=False)
def sign_in_page(request: Request[Any, Any, Any], next: FromQuery[str | None] = None) -> Template:
    return page(request, "sign_in.html", next=safe_next(next), error=None)


@post("/sign-in", opt=PUBLIC)
async def sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    secret = str(form.get("api_key", "")).strip()
    target = safe_next(str(form.get("next", "")))
    store = store_of(request)
    key_cache: KeyCache = request.app.state.key_cache
    key = None
    if secret and len(secret) <= MAX_KEY_LENGTH:
        key = await anyio.to_thread.run_sync(key_cache.authenticate, store, secret)
    if key is None:
        message = "unknown or revoked API key" if secret else "enter your API key"
        return page(request, "sign_in.html", status_code=401, next=target, error=message)
    session = Session.new(key.id)  # a new nonce: tokens of the sign-in form die here
    response = see_other(target)
    response.set_cookie(cookie(request, SESSION_COOKIE, session.cookie_value(secret_for(store))))
    response.set_cookie(cookie(request, SIGN_IN_COOKIE, "", expire=True))
    return response


@post("/sign-out")
async def sign_out(request: Request[Any, Any, Any]) -> Response[Any]:
    """End the session on the server (every web process then refuses its cookie, copies
    included), and drop the cookie from this browser."""
    session = web_of(request).session  # the guard has checked the form's token
    if session is not None:
        await anyio.to_thread.run_sync(end_session, store_of(request), session)
    response = see_other("/sign-in")
    response.set_cookie(cookie(request, SESSION_COOKIE, "", expire=True))
    return response


HANDLERS = [sign_in_page, sign_in, sign_out]
