"""HTTP done properly: strong ETags and 304s, Cache-Control, gzip, HEAD and one Vary header.

- Every 200 answer to a GET carries a strong ETag: a hash of the exact bytes sent (and their
  content type), so it changes whenever the representation does (JSON or CSV, a borough
  lead's rows or everyone's, other query parameters) and never otherwise. A GET whose
  `If-None-Match` names it is answered 304 with no body.
- Cache-Control is declared on the routes: `IMMUTABLE` on what a succeeded run will always
  answer (results, tables, scorecard, timing, explanations, comparisons, workbooks, analysis
  tables and files: errors such as 409 for a run still solving never carry it), `REVALIDATE`
  (the API's default) on everything that can change (a run's status, lists). Both are
  `private`: answers depend on the caller's key, so no shared cache may keep them.
- Bodies from `COMPRESS_FROM_BYTES` up are gzipped for clients that accept it. The ETag is
  taken before compression (Litestar's gzip stream carries a timestamp, so its bytes differ
  each second); a gzipped answer's ETag gets a `-gzip` suffix, keeping one strong ETag per
  representation, and `If-None-Match` matches either form. A body is gzipped once per ETag
  (cached), so a table read again and again costs no compression.
- HEAD is answered on every GET route: the request is served as a GET and the body dropped,
  so the headers (Content-Length, ETag, Cache-Control) are exactly those of the GET.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader, Headers, MutableScopeHeaders
from litestar.middleware.compression import CompressionMiddleware
from litestar.utils.scope.state import ScopeState

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

RESULT_MAX_AGE_SECONDS = 3600
"""How long a client may reuse a succeeded run's data without asking. The data never changes,
but access can (a run unpublished, a key revoked): an hour bounds how stale that can be."""

IMMUTABLE = CacheControlHeader(private=True, max_age=RESULT_MAX_AGE_SECONDS)
REVALIDATE = CacheControlHeader(private=True, no_cache=True)

COMPRESS_FROM_BYTES = 1024
GZIP_SUFFIX = "-gzip"
# Already compressed: gzipping them again costs time and saves nothing.
_COMPRESSED_TYPES = ("application/vnd.openxmlformats", "image/png", "application/zip")


def etag_of(body: bytes, content_type: str) -> str:
    digest = hashlib.blake2b(content_type.encode("latin-1"), digest_size=16)
    digest.update(b"\0")
    digest.update(body)
    return f'"{digest.hexdigest()}"'


class EtagMemo:
    """The ETags of the last few bodies answered, found by the body object's identity.

    The table cache answers every hit with the same bytes object, and hashing a 20 KB table was
    a tenth of a cached answer's cost. An entry holds its body, so an id is never reused while
    it is remembered; only bodies up to MAX_BODY are kept, to bound the memory held.
    """

    SIZE = 64
    MAX_BODY = 1 << 18

    def __init__(self) -> None:
        self.entries: OrderedDict[int, tuple[bytes, str, str]] = OrderedDict()

    def etag(self, body: bytes, content_type: str) -> str:
        if len(body) > self.MAX_BODY:
            return etag_of(body, content_type)
        found = self.entries.get(id(body))
        if found is not None and found[0] is body and found[1] == content_type:
            self.entries.move_to_end(id(body))
            return found[2]
        tag = etag_of(body, content_type)
        self.entries[id(body)] = (body, content_type, tag)
        if len(self.entries) > self.SIZE:
            self.entries.popitem(last=False)
        return tag


def _opaque(tag: str) -> str:
    """The tag compared: `W/` and the gzip suffix removed (If-None-Match compares weakly)."""
    tag = tag.strip().removeprefix("W/")
    suffix = f'{GZIP_SUFFIX}"'
    return f'{tag.removesuffix(suffix)}"' if tag.endswith(suffix) else tag


def matching_tag(if_none_match: str, etag: str) -> str | None:
    """The tag of `If-None-Match` that names `etag` (as the client sent it), or None."""
    for tag in (t.strip() for t in if_none_match.split(",")):
        if tag == "*":
            return etag
        if tag and _opaque(tag) == etag:
            return tag.removeprefix("W/")
    return None


def _method(scope: Scope) -> str:
    return str(scope.get("method", ""))  # websockets have none


def _headers(message: Any) -> MutableScopeHeaders:
    message.setdefault("headers", [])  # ASGI lets a start message leave its headers out
    return MutableScopeHeaders(message)


# Headers a 304 keeps (RFC 9110 15.4.5): the validators and caching metadata of the 200.
_NOT_MODIFIED_KEEPS = {b"cache-control", b"content-location", b"date", b"expires", b"vary"}


class ConditionalGet:
    """ASGI: buffers a GET's 200 answer, tags it with its ETag and answers 304 when it matches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.etags = EtagMemo()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _method(scope) != "GET":
            await self.app(scope, receive, send)
            return
        if_none_match = Headers.from_scope(scope).get("if-none-match")
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def send_tagged(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] != 200:
                    await send(message)
                    return
                start = dict(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = _headers(start)
            etag = self.etags.etag(body, headers.get("content-type") or "")
            matched = matching_tag(if_none_match, etag) if if_none_match else None
            if matched is not None:
                kept = [(k, v) for k, v in start["headers"] if k.lower() in _NOT_MODIFIED_KEEPS]
                await send(
                    {
                        "type": "http.response.start",
                        "status": 304,
                        "headers": [*kept, (b"etag", matched.encode("latin-1"))],
                    }
                )
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            headers["ETag"] = etag  # replaces a File's own (mtime-based) tag
            await send(start)  # type: ignore[arg-type]
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, send_tagged)


class CachingCompressionMiddleware(CompressionMiddleware):
    """Litestar's compression with ConditionalGet inside it (ETags of the uncompressed bytes)
    and the `-gzip` suffix added to the ETag of what it compressed."""

    def __init__(self, app: ASGIApp, config: CompressionConfig) -> None:
        super().__init__(app=ConditionalGet(app), config=config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_suffixed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = _headers(message)
                etag = headers.get("etag")
                if etag and headers.get("content-encoding") and etag.endswith('"'):
                    headers["ETag"] = f'{etag[:-1]}{GZIP_SUFFIX}"'
            await send(message)

        await super().__call__(scope, receive, send_suffixed)

    def create_compression_send_wrapper(
        self, send: Send, compression_encoding: Any, scope: Scope
    ) -> Send:
        litestar_compressing = super().create_compression_send_wrapper(
            send, compression_encoding, scope
        )
        start: Message | None = None
        forward: Send | None = None  # chosen at the first body message

        async def send_compressed(message: Message) -> None:
            nonlocal start, forward
            if message["type"] == "http.response.start":
                start = message
                return
            if forward is None and start is not None:
                headers = _headers(start)
                body = cast("bytes", message.get("body", b""))
                etag = headers.get("etag")
                if (headers.get("content-type") or "").startswith(_COMPRESSED_TYPES):
                    forward = send
                elif (
                    etag
                    and compression_encoding == "gzip"
                    and not message.get("more_body", False)
                    and len(body) >= self.config.minimum_size
                ):
                    # ConditionalGet's one-message answer: gzip it once per ETag.
                    zipped = _GZIPPED.get(etag, body, self.config.gzip_compress_level)
                    headers["Content-Encoding"] = "gzip"
                    headers["Content-Length"] = str(len(zipped))
                    headers.extend_header_value("vary", "Accept-Encoding")
                    ScopeState.from_scope(scope).response_compressed = True
                    await send(start)
                    await send({"type": "http.response.body", "body": zipped, "more_body": False})
                    return
                else:
                    forward = litestar_compressing
                await forward(start)
            await (forward or litestar_compressing)(message)

        return send_compressed


class _GzipCache:
    """Gzipped bodies by ETag (the hash of the bytes): a table read again and again is
    compressed once. Bounded by the bytes it keeps; mtime 0, so the same bytes every time."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.kept = 0
        self.entries: OrderedDict[str, bytes] = OrderedDict()

    def get(self, etag: str, body: bytes, level: int) -> bytes:
        zipped = self.entries.get(etag)
        if zipped is not None:
            self.entries.move_to_end(etag)
            return zipped
        zipped = gzip.compress(body, compresslevel=level, mtime=0)
        if len(zipped) <= self.max_bytes // 8:
            self.entries[etag] = zipped
            self.kept += len(zipped)
            while self.kept > self.max_bytes:
                self.kept -= len(self.entries.popitem(last=False)[1])
        return zipped


_GZIPPED = _GzipCache(max_bytes=32 * 1024 * 1024)


def compression_config() -> CompressionConfig:
    return CompressionConfig(
        backend="gzip",
        minimum_size=COMPRESS_FROM_BYTES,
        gzip_compress_level=6,  # zlib's default: most of level 9's saving at a third of the time
        middleware_class=CachingCompressionMiddleware,
    )


def _merge_vary(message: Message, extra: Iterable[str]) -> None:
    """One Vary header naming each field once (compression and CORS each add or reset it)."""
    headers = _headers(message)
    names: list[str] = []
    for value in headers.getall("vary", []):
        names.extend(n.strip() for n in value.split(","))
    names.extend(extra)
    seen: dict[str, str] = {}
    for name in names:
        if name:
            seen.setdefault(name.lower(), name)
    if seen:
        del headers["vary"]
        headers["Vary"] = ", ".join(seen.values())


def _drop_cors(message: Message) -> None:
    headers = _headers(message)
    for name in {n.lower() for n in headers if n.lower().startswith("access-control-")}:
        del headers[name]


def _untyped(path: str) -> str:
    """A route's path without its parameters' types (`{run_id:str}` as `{run_id}`), as the
    request's path template has it."""
    return re.sub(r"\{([^}:]+):[^}]*\}", r"{\1}", path)


class HttpEdge:
    """ASGI, around the whole app (before routing): HEAD served as GET without its body; the
    Vary header an API answer needs (it depends on the key, Accept and Accept-Encoding, and on
    Origin when CORS is on); no CORS headers at all for an origin that is not allowed; an
    Allow header naming every method of the route."""

    def __init__(
        self,
        app: ASGIApp,
        api_prefix: str,
        api_key_header: str,
        cors_origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.api_prefix = api_prefix
        self.cors_origins = frozenset(cors_origins)
        cors_vary = ("Origin",) if self.cors_origins else ()
        self.api_vary = ("Accept", "Accept-Encoding", api_key_header, *cors_vary)
        self.other_vary = cors_vary
        self._methods: dict[str, frozenset[str]] | None = None

    def _fix_allow(self, scope: Scope, message: Message) -> None:
        """Allow (OPTIONS, 405) lists every method of the route, HEAD wherever GET is.

        Litestar's OPTIONS answer names only the methods of the handlers declared with its
        own handler, not all of the path's (GET and POST of /runs are two handlers)."""
        headers = _headers(message)
        allow = headers.get("allow")
        if not allow:
            return
        if self._methods is None:
            app = scope.get("litestar_app")
            routes = getattr(app, "routes", [])
            # One path may be served by routes of several controllers (GET /runs/{id} and
            # DELETE /runs/{id}): Allow names the methods of all of them.
            methods_by_path: dict[str, set[str]] = {}
            for route in routes:
                path = _untyped(route.path)
                methods_by_path.setdefault(path, set()).update(getattr(route, "methods", ()))
            self._methods = {path: frozenset(m) for path, m in methods_by_path.items()}
        template = _untyped(str(scope.get("path_template", "")))
        methods = set(self._methods.get(template) or (m.strip() for m in allow.split(",")))
        if "GET" in methods:
            methods.add("HEAD")
        headers["Allow"] = ", ".join(sorted(methods))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = _method(scope) == "HEAD"
        vary = self.api_vary if scope["path"].startswith(self.api_prefix) else self.other_vary
        origin = Headers.from_scope(scope).get("origin")
        foreign = origin is not None and origin not in self.cors_origins

        # A copy: the server keeps its own scope, and must still know the request was HEAD.
        inner = cast("Scope", {**scope, "method": "GET"}) if head else scope

        async def send_edge(message: Message) -> None:
            if message["type"] == "http.response.start":
                _merge_vary(message, vary)
                self._fix_allow(inner, message)
                if foreign:
                    _drop_cors(message)
            elif head and message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(inner, receive, send_edge)
