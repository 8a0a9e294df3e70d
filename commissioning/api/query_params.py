"""Refuse query parameters a route does not declare (400 naming the parameter).

Without this a misspelt or unsupported parameter (`?limt=5`, `?area_code=…` on a route that
cannot filter) is silently ignored and the caller believes it was applied. The allowed names
come from the handler's own signature (its kwargs model, dependencies included), so a route
never has to list them twice.
"""

from __future__ import annotations

import weakref
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import ValidationException
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.routes import HTTPRoute

# Per route handler, worked out on its first request; gone with the app that holds it.
_ALLOWED: weakref.WeakKeyDictionary[HTTPRouteHandler, frozenset[str]] = weakref.WeakKeyDictionary()


def declared_query_parameters(
    connection: ASGIConnection[Any, Any, Any, Any], handler: HTTPRouteHandler
) -> frozenset[str]:
    """The query parameter names (aliases) the handler and its dependencies accept."""
    known = _ALLOWED.get(handler)
    if known is None:
        route = next(
            r
            for r in connection.app.routes
            if isinstance(r, HTTPRoute) and handler in r.route_handlers
        )
        model = handler.create_kwargs_model(path_parameters=route.path_parameters)
        # Litestar merges the dependencies' query parameters into the handler's model.
        names = frozenset(p.field_alias for p in model.expected_query_params)
        known = _ALLOWED.setdefault(handler, names)
    return known


async def refuse_unknown_parameters(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: every query parameter must be one the route declares."""
    if connection.scope.get("method") == "OPTIONS":
        return  # Litestar's own answer (Allow, CORS preflight) takes no parameters
    original = connection.route_handler  # guards get a copy; the routes hold the original
    if not isinstance(original, HTTPRouteHandler):
        return
    allowed = declared_query_parameters(connection, original)
    unknown = sorted(set(connection.query_params) - allowed)
    if unknown:
        accepted = ", ".join(sorted(allowed)) or "none"
        raise ValidationException(
            f"unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            extra=[
                {
                    "key": name,
                    "source": "query",
                    "message": f"this route takes no parameter {name!r}; it takes: {accepted}",
                }
                for name in unknown
            ],
        )
