"""The interactive API docs, served offline: Swagger UI's scripts and styles come from the
swagger-ui-bundle package through the app itself, never from a CDN.

(Swagger UI 5: the spec is OpenAPI 3.1, which Swagger UI 4 cannot render. Scalar and Redoc
ship no Python package with their assets, so they are not offered.)
"""

from __future__ import annotations

from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

DOCS_ASSETS = "/schema/assets/swagger-ui"
"""Where the Swagger UI files are served (under /schema, outside the API's key guard)."""
ASSETS_CACHE = CacheControlHeader(public=True, max_age=24 * 3600)
"""The same files for everyone (no key needed), changing only with the package version."""


def swagger_assets() -> Router:
    """The package's Swagger UI files."""
    return create_static_files_router(
        path=DOCS_ASSETS,
        directories=[str(swagger_ui_path)],
        cache_control=ASSETS_CACHE,
        include_in_schema=False,
        name="swagger-ui-assets",
    )


def swagger_plugin() -> SwaggerRenderPlugin:
    return SwaggerRenderPlugin(
        js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{DOCS_ASSETS}/favicon-32x32.png'>",
    )
