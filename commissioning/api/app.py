"""The Litestar application: `create_app(settings)` wires store, run queue, guards and docs."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from commissioning import __version__
from commissioning.api.auth import authorise, provide_principal
from commissioning.api.body import JsonRequest
from commissioning.api.controllers import (
    AnalysisController,
    ExplanationController,
    ExportController,
    ReferenceController,
    RunController,
    ScenarioController,
)
from commissioning.api.controllers.audit import AuditController
from commissioning.api.controllers.keys import KeyController
from commissioning.api.controllers.lifecycle import (
    RunLifecycleController,
    ScenarioLifecycleController,
)
from commissioning.api.controllers.ops import health, ready
from commissioning.api.docs import swagger_assets, swagger_plugin
from commissioning.api.errors import EXCEPTION_HANDLERS
from commissioning.api.http_cache import REVALIDATE, HttpEdge, compression_config
from commissioning.api.idempotency import idempotency_middleware
from commissioning.api.key_cache import KeyCache
from commissioning.api.problems import problem_types_markdown
from commissioning.api.query_params import refuse_unknown_parameters
from commissioning.api.run_queues import run_queue_for
from commissioning.api.services.reference import reference_scenario
from commissioning.api.settings import ApiSettings
from commissioning.api.table_cache import TableCache
from commissioning.errors import ScenarioError
from commissioning.safe_output import remove_output_leftovers
from commissioning.store import Store, store_at
from commissioning.web import web_router, web_templates

API_PREFIX = "/api/v1"

DESCRIPTION = (
    """\
Allocate VAWG funding across London boroughs: store scenarios, solve them in worker processes,
read the results (JSON or CSV), download workbooks, compare runs and publish the chosen one.

Probes need no key: `GET /health` (liveness) and `GET /ready` (store and run queue), at the
root; everything under /api/v1 does.

Creating answers with a `Location` header. Send `Idempotency-Key: <a unique string>` with a POST
to retry it safely: the same key and request within 24 hours gets the first answer again
(`Idempotent-Replayed: true`) and creates nothing; the same key with another request is 422.
Storing a scenario already stored (same name and content) answers 200 with that scenario.
Publish, unpublish, cancel, delete and key changes are kept in an audit log (`/audit`).

Every call needs an API key in the `X-API-Key` header (`commissioning keys create`). Roles:
**commissioner** (everything, including drafts), **finance** (every published run, all formats),
**borough_lead** (published runs, only its own borough's rows and workbook). A missing or
unknown key is 401, a request outside the key's scope 403.

Every error is RFC 9457 problem details (`application/problem+json`):
`{type, title, status, detail, instance, errors: [{field, message}]}`. `type` is one of the
URIs below (switch on it, not on `detail`), `title` is the same for every problem of a type,
`status` is the HTTP status, `detail` says what was wrong this time, `instance` is the request
path, and `errors` names each field or parameter at fault (empty when none is); a value that
must be one of a list says which values are allowed. Problem types:

"""
    + problem_types_markdown()
    + "\n"
)


async def authorise_then_check_query(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The key first (an unknown caller learns nothing of a route's parameters), then the query.

    One guard rather than two: Litestar copies the route handler for every guard it calls,
    which was a tenth of a cached table's cost.
    """
    await authorise(connection, handler)
    await refuse_unknown_parameters(connection, handler)


def _state(name: str) -> Provide:
    def provide(state: State) -> Any:
        return state[name]

    return Provide(provide, sync_to_thread=False)


def check_reference(settings: ApiSettings) -> None:
    """Refuse to start without reference data rather than fail on the first request."""
    try:
        reference_scenario(settings.reference_scenario)
    except (OSError, ScenarioError) as exc:
        raise RuntimeError(
            f"cannot load the reference scenario {settings.reference_scenario}: {exc}"
        ) from exc


def _cors(settings: ApiSettings) -> CORSConfig | None:
    """CORS for the configured browser origins only; none configured: no CORS headers."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
        allow_headers=[settings.api_key_header, "Content-Type", "If-None-Match", "Idempotency-Key"],
        expose_headers=["ETag", "Location", "Retry-After", "Content-Disposition"],
        max_age=600,
    )


def create_app(settings: ApiSettings | None = None) -> Litestar:
    settings = settings or ApiSettings()
    store: Store = store_at(settings.store)
    run_queue = run_queue_for(settings, store)  # in-process pool, or the PostgreSQL queue

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        # Runs a previous process left queued or running can never finish: mark them failed.
        # With several web processes the parent has done so before starting them (another
        # web process's runs are not left over).
        if not settings.shared_queue:
            await anyio.to_thread.run_sync(store.recover)
            await anyio.to_thread.run_sync(remove_output_leftovers, store.data_dir)
            await anyio.to_thread.run_sync(check_reference, settings)
        await run_queue.open_async()
        # What start-up made (modules, the app, its routes) lives as long as the app: frozen,
        # the collector's full passes no longer walk it during requests (unfrozen, one pass took
        # about 90 ms on the 2-core machine, landing on whichever page was being answered).
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # an app closed in a longer-lived process (tests) can be collected
            await run_queue.close()
            store.close()

    api = Router(
        API_PREFIX,
        route_handlers=[
            ReferenceController,
            ScenarioController,
            RunController,
            ExportController,
            ExplanationController,
            AnalysisController,
            # lifecycle and audit (issue 14)
            RunLifecycleController,
            ScenarioLifecycleController,
            AuditController,
            KeyController,
        ],
        guards=[authorise_then_check_query],
        middleware=[idempotency_middleware],
        dependencies={
            "store": _state("store"),
            "settings": _state("settings"),
            "run_queue": _state("run_queue"),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        security=[{"ApiKey": []}],
        cache_control=REVALIDATE,  # routes of a succeeded run's data say IMMUTABLE
    )
    app = Litestar(
        # probes at the root, no key (controllers/ops.py); the docs' own assets (api/docs.py)
        route_handlers=[api, health, ready, swagger_assets(), web_router()],  # web: at /
        lifespan=[lifespan],
        state=State(
            {
                "settings": settings,
                "store": store,
                "run_queue": run_queue,
                "key_cache": KeyCache(),  # revoking a key must call its clear()
                "table_cache": TableCache(),
            }
        ),
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=web_templates(),  # the web workspace's pages (commissioning/web)
        request_class=JsonRequest,  # strict JSON bodies, 415 for anything else
        request_max_body_size=settings.max_body_bytes,
        compression_config=compression_config(),  # gzip, with the ETags and 304s inside it
        cors_config=_cors(settings),
        openapi_config=OpenAPIConfig(
            title="commissioning",
            version=__version__,
            description=DESCRIPTION,
            path="/schema",
            render_plugins=[swagger_plugin()],  # served from the package: no CDN
            use_handler_docstrings=True,
            components=Components(
                security_schemes={
                    "ApiKey": SecurityScheme(
                        type="apiKey",
                        name=settings.api_key_header,
                        security_scheme_in="header",
                        description="API key made with `commissioning keys create`.",
                    )
                }
            ),
        ),
        debug=settings.debug,
    )
    # HEAD must be seen before routing (Litestar answers 405 to HEAD on a GET route), so it
    # wraps the app's own handler rather than being a (per-route) middleware.
    app.asgi_handler = HttpEdge(
        app.asgi_handler, API_PREFIX, settings.api_key_header, settings.cors_origins
    )
    return app


def app_from_env() -> Litestar:
    """For `uvicorn --factory commissioning.api.app:app_from_env`: settings from the environment."""
    return create_app(ApiSettings())
