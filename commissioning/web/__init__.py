"""The web workspace: pages for commissioners, finance and borough leads, served by the API's
own app (`commissioning serve`, at /) over the same services and role scoping.

`web_router()` is mounted beside /api/v1; `web_templates()` is the app's template config.
Pages are Jinja templates rendered on the server; htmx (shipped in static/, no CDN) checks the
variant form as you type and polls a run's progress; every page works without it.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Router
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from commissioning.web import (
    pages_analyses,
    pages_auth,
    pages_lifecycle,
    pages_runs,
    pages_scenarios,
)
from commissioning.web.context import web_guard
from commissioning.web.errors import WEB_EXCEPTION_HANDLERS
from commissioning.web.names import TEMPLATE_GLOBALS

HERE = Path(__file__).parent
STATIC_PATH = "/static"

# Pages hold private figures: never cached by anything shared, and nothing from elsewhere runs
# in them (scripts, styles and images from this server only; no inline script).
SECURITY_HEADERS = [
    ResponseHeader(
        name="Content-Security-Policy",
        value="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
]


def web_templates() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(TEMPLATE_GLOBALS)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def web_router() -> Router:
    pages = Router(
        "/",
        route_handlers=[
            *pages_auth.HANDLERS,
            *pages_scenarios.HANDLERS,
            *pages_runs.HANDLERS,
            *pages_analyses.HANDLERS,
            *pages_lifecycle.HANDLERS,
        ],
        guards=[web_guard],
        exception_handlers=WEB_EXCEPTION_HANDLERS,
        response_headers=SECURITY_HEADERS,
        cache_control=CacheControlHeader(private=True, no_store=True),
        include_in_schema=False,
    )
    static = create_static_files_router(
        STATIC_PATH,
        directories=[HERE / "static"],
        cache_control=CacheControlHeader(public=True, max_age=3600),
        include_in_schema=False,
    )
    return Router("/", route_handlers=[pages, static], include_in_schema=False)
