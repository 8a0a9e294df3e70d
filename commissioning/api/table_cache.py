"""The encoded bodies of succeeded runs' tables, kept in a small LRU in each web process.

A succeeded run's result directory never changes, so the bytes answering "table T of run R, as
caller C sees it, in representation X, with these query parameters" never change either: they
are built once (rows scoped to the caller's borough, turned into JSON or CSV) and then served as
they are. What may change — whether the run is still visible to the caller (published,
unpublished, deleted) — is checked on every request *before* the cache is consulted; the cache
only saves rebuilding the body.

The key carries everything the body depends on: run id, table, the caller's borough scope (None
for London-wide roles: a borough lead's rows never reach another caller), the representation
and the request's query parameters (sorted), so filters or pages are cached apart. Runs that
are not succeeded are never cached (they have no tables), and a body larger than a quarter of
the budget is served but not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.serialization import get_serializer
from litestar.utils.helpers import get_enum_string_value

DEFAULT_MAX_BYTES = 64 * 1024 * 1024

TableKey = tuple[str, str, str | None, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    media_type: str
    status_code: int
    headers: Mapping[str, str]

    def response(self) -> Response[bytes]:
        return Response(
            self.body,
            media_type=self.media_type,
            status_code=self.status_code,
            headers=dict(self.headers),
        )


def table_key(
    request: Request[Any, Any, Any],
    run_id: str,
    table: str,
    borough: str | None,
    representation: str,
) -> TableKey:
    query = tuple(
        sorted((k, v) for k, values in request.query_params.dict().items() for v in values)
    )
    return (run_id, table, borough, representation, query)


class TableCache:
    """LRU of CachedBody by TableKey, bounded by the bytes it holds; safe across threads."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[TableKey, CachedBody] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: TableKey) -> CachedBody | None:
        with self._lock:
            cached = self._bodies.get(key)
            if cached is None:
                self.misses += 1
                return None
            self._bodies.move_to_end(key)
            self.hits += 1
            return cached

    def put(self, key: TableKey, cached: CachedBody) -> None:
        size = len(cached.body)
        if size > self.max_bytes // 4:
            return
        with self._lock:
            old = self._bodies.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._bodies[key] = cached
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._bodies.popitem(last=False)
                self._bytes -= len(dropped.body)

    def clear(self) -> None:
        with self._lock:
            self._bodies.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._bodies)

    def respond(
        self,
        request: Request[Any, Any, Any],
        key: TableKey | None,
        build: Callable[[], Response[Any]],
    ) -> Response[Any]:
        """The cached answer for `key`, or `build()`'s, encoded and kept (when `key` is not
        None and the answer is a success)."""
        if key is not None and (cached := self.get(key)) is not None:
            return cached.response()
        response = build()
        status_code = response.status_code or request.route_handler.status_code or 200
        if key is None or not 200 <= status_code < 300:
            return response
        # What Litestar would send: the handler's default media type and its type encoders.
        media_type = get_enum_string_value(
            response.media_type or request.route_handler.media_type or MediaType.JSON
        )
        encoders = request.route_handler.resolve_type_encoders()
        body = response.render(response.content, media_type, get_serializer(encoders))
        cached = CachedBody(body, media_type, status_code, dict(response.headers))
        self.put(key, cached)
        return cached.response()
