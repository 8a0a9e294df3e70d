"""The SQLite store's record of web sessions that have been signed out (schema 5).

A web session is a signed cookie (commissioning.web.session), valid on its own until it
expires; signing out records the session's id here, and every web process of the store looks
it up on each request, so a copy of the cookie is refused from that moment. A row is kept only
as long as its session could still have been valid, then forgotten at a later sign-out.

A mixin of `SqliteStore`, like `SqliteLifecycle`: it uses the store's own transactions.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from commissioning.store.sqlite_rows import now, utc_text


class SqliteSessions:
    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def end_session(self, session_id: str, key_id: str, remember_for: timedelta) -> None:
        """Record a session as signed out (idempotent), and forget the sessions signed out
        longer ago than `remember_for` (the longest a session lives: they have expired)."""
        cut_off = utc_text(datetime.now(UTC) - remember_for)
        with self._write() as conn:
            conn.execute("DELETE FROM ended_sessions WHERE ended_at < ?", (cut_off,))
            conn.execute(
                "INSERT OR IGNORE INTO ended_sessions (session_id, key_id, ended_at) "
                "VALUES (?, ?, ?)",
                (session_id, key_id, now()),
            )

    def session_ended(self, session_id: str) -> bool:
        with self._read() as conn:
            row = conn.execute(
                "SELECT 1 FROM ended_sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
        return row is not None
