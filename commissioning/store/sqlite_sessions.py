"""The SQLite store's record of web sessions that have been signed out (schema 5),
and the secrets its web processes share (the sessions' signing key).

A web session is a signed cookie (commissioning.web.session), valid on its own until it
expires; signing out records the session's id here, and every web process of the store looks
it up on each request, so a copy of the cookie is refused from that moment. A row is kept only
as long as its session could still have been valid, then forgotten at a later sign-out.

A mixin of `SqliteStore`, like `SqliteLifecycle`: it uses the store's own transactions.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from commissioning.store.rows import ago, now


class SqliteSessions:
    if TYPE_CHECKING:

        @property
        def data_dir(self) -> Path: ...

        def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def end_session(self, session_id: str, key_id: str, remember_for: timedelta) -> None:
        """Record a session as signed out (idempotent), and forget the sessions signed out
        longer ago than `remember_for` (the longest a session lives: they have expired)."""
        cut_off = ago(remember_for)
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

    def shared_secret(self, name: str) -> bytes:
        """A random 256-bit secret made once for the store (a file `NAME.secret` in its data
        folder, made by whichever process gets there first: O_EXCL, the others read it)."""
        path = self.data_dir / f"{name}.secret"
        for _ in range(50):
            try:
                return bytes.fromhex(path.read_text(encoding="ascii").strip())
            except FileNotFoundError:
                pass
            except ValueError:
                time.sleep(0.01)  # another process is writing it
                continue
            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(handle, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(32))
        raise RuntimeError(f"cannot read the store's secret {path}")
