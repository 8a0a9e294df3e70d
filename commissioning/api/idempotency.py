"""`Idempotency-Key` on POSTs: a retry gets the first answer again instead of a second run.

A client that sends `Idempotency-Key: <its own unique string>` with a POST and retries it (a
timeout, a dropped connection) gets the original answer back, status, body and Location, with
`Idempotent-Replayed: true`, and nothing is created twice. Keys belong to the API key that sent
them and are kept for `RETENTION_SECONDS`. The same key with a different request (method, path,
query or body) is refused with 422; a retry while the first request is still being answered
gets 409. Only successful (2xx) answers are kept: after an error the retry runs again.

This follows draft-ietf-httpapi-idempotency-key-header. It is ASGI middleware on the API
router, so it sees each POST before its handler and the answer after, whatever the route.
"""

from __future__ import annotations

import hashlib
from typing import Any

import anyio.to_thread
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from commissioning.api.auth import MAX_KEY_LENGTH
from commissioning.store import Store

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
RETENTION_SECONDS = 24 * 60 * 60
MAX_LENGTH = 255


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


def _refuse(status: int, message: str) -> HTTPException:
    return HTTPException(
        status_code=status, detail=message, extra=[{"key": HEADER, "message": message}]
    )


def _fingerprint(scope: Any, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1")):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


def idempotency_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await app(scope, receive, send)
            return
        idempotency_key = _header(scope, HEADER)
        if idempotency_key is None:
            await app(scope, receive, send)
            return
        idempotency_key = idempotency_key.strip()
        if not 0 < len(idempotency_key) <= MAX_LENGTH or not idempotency_key.isprintable():
            raise _refuse(400, f"{HEADER} must be 1 to {MAX_LENGTH} printable characters")
        state: Any = scope["app"].state
        store: Store = state.store
        secret = (_header(scope, state.settings.api_key_header) or "").strip()
        api_key = None
        if secret and len(secret) <= MAX_KEY_LENGTH:
            api_key = await anyio.to_thread.run_sync(store.authenticate, secret)
        if api_key is None:
            await app(scope, receive, send)  # the guard answers 401
            return

        # Read the body (up to the server's limit) to fingerprint it, then hand it on.
        limit: int = state.settings.max_body_bytes
        chunks: list[ReceiveMessage] = []
        size, more = 0, True
        while more and size <= limit:
            message = await receive()
            chunks.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        if more or size > limit:  # too large: the app answers 413 without it being kept
            await app(scope, _replay(chunks, receive), send)
            return
        body = b"".join(m["body"] for m in chunks if m["type"] == "http.request")
        fingerprint = _fingerprint(scope, body)

        stored = await anyio.to_thread.run_sync(
            store.reserve_response, api_key.id, idempotency_key, fingerprint, RETENTION_SECONDS
        )
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise _refuse(
                    HTTP_422_UNPROCESSABLE_ENTITY,
                    f"this {HEADER} was used for a different request (method, path or body) "
                    "within the last 24 hours; use a new key for a new request",
                )
            if stored.status is None:
                raise _refuse(
                    HTTP_409_CONFLICT,
                    f"a request with this {HEADER} is still being answered; retry shortly",
                )
            headers = [(b"content-type", (stored.content_type or "application/json").encode())]
            if stored.location:
                headers.append((b"location", stored.location.encode()))
            headers.append((REPLAYED.lower().encode(), b"true"))
            start: Any = {
                "type": "http.response.start",
                "status": stored.status,
                "headers": headers,
            }
            await send(start)
            await send(
                {"type": "http.response.body", "body": stored.body or b"", "more_body": False}
            )
            return

        answer: dict[str, Any] = {"status": None, "headers": [], "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")
            await send(message)

        kept = False
        try:
            await app(scope, _replay(chunks, receive), capture)
            status = answer["status"]
            if status is not None and 200 <= status < 300:
                found = {k.lower(): v.decode("latin-1") for k, v in answer["headers"]}
                await anyio.to_thread.run_sync(
                    store.keep_response,
                    api_key.id,
                    idempotency_key,
                    status,
                    found.get(b"content-type"),
                    found.get(b"location"),
                    bytes(answer["body"]),
                )
                kept = True
        finally:
            if not kept:
                await anyio.to_thread.run_sync(store.release_response, api_key.id, idempotency_key)

    return middleware


def _replay(chunks: list[ReceiveMessage], receive: Receive) -> Receive:
    """A receive that gives the messages already read, then carries on with the real one."""
    pending = list(chunks)

    async def replay() -> ReceiveMessage:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
