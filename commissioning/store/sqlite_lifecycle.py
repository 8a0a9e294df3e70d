"""The SQLite store's lifecycle half: cancel, unpublish and delete runs and scenarios, the audit
log, stored answers to Idempotency-Keys, and looking keys and scenarios up (schema 4).

A mixin of `SqliteStore`, kept apart so that each module stays about one thing; it uses the
store's own transactions (`_read`, `_write`) and run directories.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

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


class SqliteLifecycle:
    if TYPE_CHECKING:
        path: Path

        def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def run_dir(self, run_id: str) -> Path: ...

    # -- lookups ---------------------------------------------------------------------------

    def get_key(self, key_id: str) -> ApiKey | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return key_from_row(row) if row else None

    def find_scenario(self, content_hash: str) -> StoredScenario | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT * FROM scenarios WHERE content_hash = ? ORDER BY created_at, id LIMIT 1",
                (content_hash,),
            ).fetchone()
        return scenario_from_row(row) if row else None

    # -- runs and scenarios ----------------------------------------------------------------

    def cancel_run(self, run_id: str, reason: str | None = None) -> RunRecord | None:
        with self._write() as conn:
            marks = ", ".join("?" for _ in UNFINISHED)
            cur = conn.execute(
                f"UPDATE runs SET status = ?, reason = ?, finished_at = ?, lease = NULL "
                f"WHERE id = ? AND status IN ({marks})",
                (CANCELLED, reason, now(), run_id, *UNFINISHED),
            )
            row = select_run(conn, run_id) if cur.rowcount == 1 else None
        return run_from_row(row) if row else None

    def unpublish_run(self, run_id: str) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET published_at = NULL, published_by = NULL "
                "WHERE id = ? AND published_at IS NOT NULL",
                (run_id,),
            )
        return cur.rowcount == 1

    def _deletable(self, conn: sqlite3.Connection, where: str, value: str) -> list[str] | None:
        """The ids of the runs matching `where`, or None if one is published or unfinished."""
        rows = conn.execute(
            f"SELECT id, status, published_at FROM runs WHERE {where}", (value,)
        ).fetchall()
        if any(r["published_at"] is not None or r["status"] in UNFINISHED for r in rows):
            return None
        return [r["id"] for r in rows]

    def _set_aside(self, run_ids: list[str]) -> list[Path]:
        """Rename run directories to hidden names (what `recover` tidies if we stop here)."""
        hidden = []
        for run_id in run_ids:
            folder = self.run_dir(run_id)
            if folder.exists():
                target = folder.with_name(f".{run_id}.deleted")
                folder.rename(target)
                hidden.append(target)
        return hidden

    def delete_run(self, run_id: str) -> bool:
        with self._write() as conn:
            run_ids = self._deletable(conn, "id = ?", run_id)
            if not run_ids:
                return False
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            hidden = self._set_aside(run_ids)
        for folder in hidden:
            shutil.rmtree(folder, ignore_errors=True)
        return True

    def delete_scenario(self, scenario_id: str) -> list[str] | None:
        with self._write() as conn:
            run_ids = self._deletable(conn, "scenario_id = ?", scenario_id)
            if run_ids is None:
                return None
            conn.execute("DELETE FROM runs WHERE scenario_id = ?", (scenario_id,))
            conn.execute("DELETE FROM scenarios WHERE id = ?", (scenario_id,))
            hidden = self._set_aside(run_ids)
        for folder in hidden:
            shutil.rmtree(folder, ignore_errors=True)
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
        with self._write() as conn:
            # The key's name as it is now, copied: the entry keeps it whatever happens later.
            cur = conn.execute(
                "INSERT INTO audit_log (at, action, target_kind, target_id, key_id, key_name, "
                "role, reason) VALUES (?, ?, ?, ?, ?, "
                "COALESCE((SELECT label FROM api_keys WHERE id = ?), ''), ?, ?)",
                (now(), action, target_kind, target_id, key_id, key_id, role, reason),
            )
            row = conn.execute("SELECT * FROM audit_log WHERE id = ?", (cur.lastrowid,)).fetchone()
        return audit_from_row(row)

    def list_audit(self, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return [audit_from_row(r) for r in rows]

    def count_audit(self) -> int:
        with self._read() as conn:
            count: int = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
        return count

    # -- idempotency -----------------------------------------------------------------------

    def reserve_response(
        self, key_id: str, idempotency_key: str, fingerprint: str, max_age_seconds: float
    ) -> StoredResponse | None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ? "
                "OR (status IS NULL AND created_at < ?)",
                (ago(timedelta(seconds=max_age_seconds)), ago(ABANDONED_CLAIM)),
            )
            row = conn.execute(
                "SELECT * FROM idempotency_keys WHERE key_id = ? AND idempotency_key = ?",
                (key_id, idempotency_key),
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO idempotency_keys (key_id, idempotency_key, fingerprint, "
                    "created_at) VALUES (?, ?, ?, ?)",
                    (key_id, idempotency_key, fingerprint, now()),
                )
                return None
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
                "UPDATE idempotency_keys SET status = ?, content_type = ?, location = ?, "
                "body = ? WHERE key_id = ? AND idempotency_key = ?",
                (status, content_type, location, body, key_id, idempotency_key),
            )

    def release_response(self, key_id: str, idempotency_key: str) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM idempotency_keys WHERE key_id = ? AND idempotency_key = ? "
                "AND status IS NULL",
                (key_id, idempotency_key),
            )
