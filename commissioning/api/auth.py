"""API keys: who the caller is (401 if nobody), and whether their role may use a route (403).

Each route lists its roles in `opt={"roles": ...}`; the guard looks the key up by its hash in
the store (in a thread, so the event loop never waits on the database), and remembers it for a
few seconds (`key_cache.KeyCache`: revoking a key must call its `clear()`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio.to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from commissioning.api.key_cache import KeyCache
from commissioning.api.services.access import Principal
from commissioning.store import ROLES, Store

MAX_KEY_LENGTH = 200


def roles(*allowed: str) -> dict[str, Any]:
    """Route `opt` naming the roles that may call it (none given: every role)."""
    return {"roles": tuple(allowed or ROLES)}


async def authorise(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    if connection.scope.get("method") == "OPTIONS":
        return  # Litestar's own answer (Allow, CORS preflight): no key sent, nothing revealed
    header: str = connection.app.state.settings.api_key_header
    challenge = {"WWW-Authenticate": f'ApiKey header="{header}"'}
    secret = connection.headers.get(header, "").strip()
    if not secret:
        message = f"missing API key: send it in the {header} header"
        raise NotAuthorizedException(
            message, headers=challenge, extra=[{"key": header, "message": message}]
        )
    store: Store = connection.app.state.store
    key_cache: KeyCache = connection.app.state.key_cache
    key = None
    if len(secret) <= MAX_KEY_LENGTH:
        # A key seen in the last few seconds needs neither the store nor a thread.
        key = key_cache.cached(secret)
        if key is None:
            key = await anyio.to_thread.run_sync(key_cache.authenticate, store, secret)
    if key is None:
        message = "unknown or revoked API key"
        raise NotAuthorizedException(
            message, headers=challenge, extra=[{"key": header, "message": message}]
        )
    principal = Principal(key_id=key.id, role=key.role, area_code=key.area_code)
    allowed: Sequence[str] = handler.opt.get("roles", ())
    if principal.role not in allowed:
        message = f"this needs the {' or '.join(allowed)} role; your key is {principal.role}"
        raise PermissionDeniedException(message, extra=[{"key": header, "message": message}])
    connection.state.principal = principal


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.state.principal
    return principal
