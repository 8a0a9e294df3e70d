"""The HTTP API: a Litestar app over the same services the CLI and library use.

`create_app` is imported lazily so worker processes, which import the services, do not pay
for the web framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar import Litestar

    from commissioning.api.settings import ApiSettings


def create_app(settings: ApiSettings | None = None) -> Litestar:
    from commissioning.api.app import create_app as _create_app

    return _create_app(settings)


__all__ = ["create_app"]
