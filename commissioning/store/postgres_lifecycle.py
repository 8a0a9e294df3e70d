"""The PostgreSQL store's lifecycle half: cancel, unpublish and delete runs and scenarios, the
audit log, stored answers to Idempotency-Keys, signed-out web sessions and shared secrets.

A mixin of `PostgresStore`, as `SqliteLifecycle` is of the SQLite store, with the same promises;
rows that two requests could race for are locked (`FOR UPDATE`) or inserted with `ON CONFLICT`.
"""

from __future__ import annotations

import secrets
import shutil
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commissioning.store.interface import (
    ABANDONED_CLAIM,
    CANCELLED,
    UNFINISHED,
    ApiKey,
    AuditEntry,
    RunRecord,
    StoredResponse,
    StoredScenario,
)
from commissioning.store.rows import (
    ago,
    audit_from_row,
    key_from_row,
    now,
    response_from_row,
    run_from_row,
    scenario_from_row,
    select_run,
)


class PostgresLifecycle:
    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[Any]: ...

        def _write(self) -> AbstractContextManager[Any]: ...

        def _one(self, sql: str, params: Any = ()) -> Any: ...

        def _all(self, sql: str, params: Any = ()) -> list[Any]: ...

        def _count(self, sql: str, params: Any = ()) -> int: ...

        def run_dir(self, run_id: str) -> Path: ...

    # -- lookups ---------------------------------------------------------------------------

    def get_key(self, key_id: str) -> ApiKey | None:
        row = self._one("SELECT * FROM api_keys WHERE id = %s", (key_id,))
        return key_from_row(row) if row else None

    def find_scenario(self, content_hash: str) -> StoredScenario | None:
        row = self._one(
            "SELECT * FROM scenarios WHERE content_hash = %s ORDER BY created_at, id LIMIT 1",
            (content_hash,),
        )
        return scenario_from_row(row) if row else None

    # -- runs and scenarios ----------------------------------------------------------------

    def cancel_run(self, run_id: str, reason: str | None = None) -> RunRecord | None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = %s, reason = %s, finished_at = %s, lease = NULL "
                "WHERE id = %s AND status = ANY(%s)",
                (CANCELLED, reason, now(), run_id, list(UNFINISHED)),
            )
            if cur.rowcount != 1:
                return None
            row = select_run(conn, run_id, "%s")
        return run_from_row(row)

    def unpublish_run(self, run_id: str) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET published_at = NULL, published_by = NULL "
                "WHERE id = %s AND published_at IS NOT NULL",
                (run_id,),
            )
        return bool(cur.rowcount == 1)

    @staticmethod
    def _deletable(conn: Any, where: str, value: str) -> list[str] | None:
        """The ids of the runs matching `where` (locked), or None if one is published or
        unfinished."""
        rows = conn.execute(
            f"SELECT id, status, published_at FROM runs WHERE {where} FOR UPDATE", (value,)
        ).fetchall()
        if any(published is not None or status in UNFINISHED for _, status, published in rows):
            return None
        return [run_id for run_id, _, _ in rows]

    def _forget_local_copies(self, run_ids: list[str]) -> None:
        for run_id in run_ids:
            folder = self.run_dir(run_id)
            if folder.exists():
                hidden = folder.with_name(f".{run_id}.deleted")
                folder.rename(hidden)
                shutil.rmtree(hidden, ignore_errors=True)

    def delete_run(self, run_id: str) -> bool:
        with self._write() as conn:
            run_ids = self._deletable(conn, "id = %s", run_id)
            if not run_ids:
                return False
            conn.execute("DELETE FROM runs WHERE id = %s", (run_id,))  # files cascade
        self._forget_local_copies(run_ids)
        return True

    def delete_scenario(self, scenario_id: str) -> list[str] | None:
        with self._write() as conn:
            conn.execute("SELECT id FROM scenarios WHERE id = %s FOR UPDATE", (scenario_id,))
            run_ids = self._deletable(conn, "scenario_id = %s", scenario_id)
            if run_ids is None:
                return None
            conn.execute("DELETE FROM runs WHERE scenario_id = %s", (scenario_id,))
            conn.execute("DELETE FROM scenarios WHERE id = %s", (scenario_id,))
        self._forget_local_copies(run_ids)
        return run_ids

    # -- audit log -------------------------------------------------------------------------

    def add_audit(
        self,
        action: str,
        target_kind: str,
        target_id: str,
        key_id: str | None,
        role: str,
        reason: str | None,
    ) -> AuditEntry:
        from psycopg.rows import dict_row

        with self._write() as conn, conn.cursor(row_factory=dict_row) as cur:
            # The key's name as it is now, copied: the entry keeps it whatever happens later.
            row = cur.execute(
                "INSERT INTO audit_log (at, action, target_kind, target_id, key_id, key_name, "
                "role, reason) VALUES (%s, %s, %s, %s, %s, "
                "COALESCE((SELECT label FROM api_keys WHERE id = %s), ''), %s, %s) RETURNING *",
                (now(), action, target_kind, target_id, key_id, key_id, role, reason),
            ).fetchone()
        return audit_from_row(row)

    def list_audit(self, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        rows = self._all(
            "SELECT * FROM audit_log ORDER BY id DESC LIMIT %s OFFSET %s", (limit, offset)
        )
        return [audit_from_row(r) for r in rows]

    def count_audit(self) -> int:
        return self._count("SELECT COUNT(*) FROM audit_log")

    # -- idempotency -----------------------------------------------------------------------

    def reserve_response(
        self, key_id: str, idempotency_key: str, fingerprint: str, max_age_seconds: float
    ) -> StoredResponse | None:
        from psycopg.rows import dict_row

        with self._write() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "DELETE FROM idempotency_keys WHERE created_at < %s "
                "OR (status IS NULL AND created_at < %s)",
                (ago(timedelta(seconds=max_age_seconds)), ago(ABANDONED_CLAIM)),
            )
            claimed = cur.execute(
                "INSERT INTO idempotency_keys (key_id, idempotency_key, fingerprint, "
                "created_at) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING key_id",
                (key_id, idempotency_key, fingerprint, now()),
            ).fetchone()
            if claimed is not None:
                return None
            row = cur.execute(
                "SELECT * FROM idempotency_keys WHERE key_id = %s AND idempotency_key = %s",
                (key_id, idempotency_key),
            ).fetchone()
        return response_from_row(row)

    def keep_response(
        self,
        key_id: str,
        idempotency_key: str,
        status: int,
        content_type: str | None,
        location: str | None,
        body: bytes,
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE idempotency_keys SET status = %s, content_type = %s, location = %s, "
                "body = %s WHERE key_id = %s AND idempotency_key = %s",
                (status, content_type, location, body, key_id, idempotency_key),
            )

    def release_response(self, key_id: str, idempotency_key: str) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM idempotency_keys WHERE key_id = %s AND idempotency_key = %s "
                "AND status IS NULL",
                (key_id, idempotency_key),
            )

    # -- web sessions and shared secrets ---------------------------------------------------

    def end_session(self, session_id: str, key_id: str, remember_for: timedelta) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM ended_sessions WHERE ended_at < %s", (ago(remember_for),))
            conn.execute(
                "INSERT INTO ended_sessions (session_id, key_id, ended_at) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (session_id, key_id, now()),
            )

    def session_ended(self, session_id: str) -> bool:
        row = self._one(
            "SELECT 1 AS ended FROM ended_sessions WHERE session_id = %s", (session_id,)
        )
        return row is not None

    def shared_secret(self, name: str) -> bytes:
        """A random 256-bit secret made once for the store: every server signs with it."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO store_secrets (name, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (name, secrets.token_bytes(32)),
            )
            row = conn.execute(
                "SELECT value FROM store_secrets WHERE name = %s", (name,)
            ).fetchone()
        return bytes(row[0])
