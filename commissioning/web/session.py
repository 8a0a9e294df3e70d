"""Signing in to the web workspace: an API key becomes a signed session cookie, and every form
carries a CSRF token bound to that session.

The cookie holds the key's id (never its secret), when it was issued and a random nonce, signed
with HMAC-SHA256 under a secret kept beside the store (`web-session.secret`, made once, mode
0600), so every web process of one store accepts the same cookies. The key is looked up again
by its id on every request: a revoked or expired key ends its sessions at once. The nonce is
also the session's id: signing out records it in the store as ended (`end_session`), and
every web process refuses an ended session, so a copy of the cookie dies at sign-out too.

Cookies are HttpOnly and SameSite=Strict, and Secure whenever the request came over TLS
(uvicorn sets the scheme from X-Forwarded-Proto for a trusted proxy). A form's token is an HMAC
of the session's nonce (or, before sign-in, of a nonce cookie of its own), compared in constant
time; the nonce changes at sign-in, so a token seen before cannot be replayed after.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie

from commissioning.api.services.access import Principal
from commissioning.store import Store
from commissioning.store.rows import now

SESSION_COOKIE = "cm_session"
SIGN_IN_COOKIE = "cm_sign_in"  # the nonce of the sign-in form's token, before a session exists
CSRF_FIELD = "_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 8 * 3600  # a working day; then sign in again
SECRET_NAME = "web-session"  # the store keeps it (a file beside SQLite, a row in PostgreSQL)


def _sign(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Session:
    key_id: str
    issued: int
    nonce: str

    def cookie_value(self, secret: bytes) -> str:
        payload = f"v1.{self.key_id}.{self.issued}.{self.nonce}"
        return f"{payload}.{_sign(secret, payload)}"

    @classmethod
    def new(cls, key_id: str) -> Session:
        return cls(key_id, int(time.time()), secrets.token_hex(16))

    @classmethod
    def read(cls, value: str | None, secret: bytes, now: float | None = None) -> Session | None:
        """The session a cookie names, or None if it is forged, malformed or too old."""
        if not value or len(value) > 300:
            return None
        payload, _, signature = value.rpartition(".")
        if not hmac.compare_digest(signature, _sign(secret, payload)):
            return None
        parts = payload.split(".")
        if len(parts) != 4 or parts[0] != "v1" or not parts[2].isdigit():
            return None
        issued = int(parts[2])
        if (now if now is not None else time.time()) - issued > SESSION_SECONDS:
            return None
        return cls(parts[1], issued, parts[3])


def csrf_token(secret: bytes, nonce: str) -> str:
    return _sign(secret, f"csrf.{nonce}")[:40]


def token_matches(secret: bytes, nonce: str | None, given: str | None) -> bool:
    if not nonce or not given:
        return False
    return hmac.compare_digest(csrf_token(secret, nonce), given)


def is_tls(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    return connection.url.scheme == "https"


def cookie(
    connection: ASGIConnection[Any, Any, Any, Any], name: str, value: str, *, expire: bool = False
) -> Cookie:
    """A cookie the page's scripts cannot read and no other site's request carries."""
    return Cookie(
        key=name,
        value=value,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_tls(connection),
        max_age=0 if expire else None,
    )


def end_session(store: Store, session: Session) -> None:
    """Sign a session out on the server (blocking: a store write): its cookie, and any copy of
    it, is refused from now on. Ended sessions are remembered as long as a session lives."""
    store.end_session(session.nonce, session.key_id, timedelta(seconds=SESSION_SECONDS))


def principal_of(store: Store, session: Session) -> Principal | None:
    """The signed-in key as a principal, if it is still active and the session has not been
    signed out (blocking: store reads)."""
    if store.session_ended(session.nonce):
        return None
    key = store.get_key(session.key_id)
    if key is None or key.revoked_at is not None:
        return None
    if key.expires_at is not None and key.expires_at <= now():
        return None
    return Principal(key_id=key.id, role=key.role, area_code=key.area_code)
