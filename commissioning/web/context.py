"""Who is signed in to the web workspace, checked before every page and form.

`web_guard` runs before each web route: it reads the session cookie (session.py), looks the key
and the session up in the store, refuses a page or form to nobody (→ sign-in; a signed-out
session is nobody) and refuses any POST whose CSRF token does not match the session's. Roles
are not decided here: every page calls the API's services with the principal, and they say
what the role may see (services/access.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import anyio.to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from commissioning.api.services.access import Principal
from commissioning.store import Store
from commissioning.web.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    SECRET_NAME,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    Session,
    csrf_token,
    principal_of,
    token_matches,
)

ROLE_WORDS = {"commissioner": "Commissioner", "finance": "Finance"}


@dataclass(frozen=True)
class WebContext:
    """What every template gets as `web`."""

    principal: Principal | None
    session: Session | None
    nonce: str  # the CSRF nonce: the session's, or the sign-in form's own
    csrf: str
    new_sign_in_nonce: bool  # the sign-in nonce cookie must be set on the answer
    area_name: str | None = None

    @property
    def role_text(self) -> str:
        if self.principal is None:
            return ""
        if self.principal.borough:
            return f"Borough lead, {self.area_name or self.principal.borough}"
        return ROLE_WORDS.get(self.principal.role, self.principal.role)


def secret_for(store: Store) -> bytes:
    """The sessions' signing key: the store's, so every web process and server shares it."""
    return _secret_of(cast(Any, store))


@lru_cache(maxsize=8)
def _secret_of(store: Any) -> bytes:  # Any: a Store is hashable by identity, as every object
    secret: bytes = store.shared_secret(SECRET_NAME)
    return secret


def store_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Store:
    store: Store = connection.app.state.store
    return store


def _area_name(connection: ASGIConnection[Any, Any, Any, Any], code: str | None) -> str | None:
    if code is None:
        return None
    from commissioning.api.services.reference import reference_scenario

    try:
        scenario = reference_scenario(connection.app.state.settings.reference_scenario)
    except Exception:  # the name is a courtesy: the code is shown without it
        return None
    return next((a.name for a in scenario.areas if a.code == code), None)


async def web_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    if connection.scope.get("method") == "OPTIONS":
        return  # Litestar's own answer (Allow): nothing of anyone's is in it
    store = store_of(connection)
    secret = secret_for(store)
    session = Session.read(connection.cookies.get(SESSION_COOKIE), secret)
    principal = None
    if session is not None:
        principal = await anyio.to_thread.run_sync(principal_of, store, session)
        if principal is None:
            session = None
    if session is not None:
        nonce, fresh = session.nonce, False
    else:
        given = connection.cookies.get(SIGN_IN_COOKIE, "")
        fresh = not (given.isalnum() and len(given) == 32)
        nonce = secrets.token_hex(16) if fresh else given
    connection.state.web = WebContext(
        principal,
        session,
        nonce,
        csrf_token(secret, nonce),
        fresh,
        _area_name(connection, principal.borough if principal else None),
    )
    if principal is None and not handler.opt.get("public"):
        # Before the form's token: a signed-out or expired session is told to sign in again
        # (401), on every page and form alike, and nothing it sent is read.
        raise NotAuthorizedException("sign in to see this page")
    if connection.scope.get("method") == "POST":
        request = (
            connection
            if isinstance(connection, Request)
            else Request(connection.scope, connection.receive)
        )
        sent = connection.headers.get(CSRF_HEADER)
        if sent is None:
            form = await request.form()
            sent = str(form.get(CSRF_FIELD, ""))
        if fresh or not token_matches(secret, nonce, sent):
            raise PermissionDeniedException(
                "this form has expired or did not come from this site: reload the page and "
                "try again",
                extra=[{"key": CSRF_FIELD, "message": "missing or wrong CSRF token"}],
            )


def web_of(request: Request[Any, Any, Any]) -> WebContext:
    context: WebContext = request.state.web
    return context


def principal_or_fail(request: Request[Any, Any, Any]) -> Principal:
    principal = web_of(request).principal
    if principal is None:  # pragma: no cover - the guard refuses these requests first
        raise NotAuthorizedException("sign in to see this page")
    return principal
