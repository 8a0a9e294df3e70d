"""Rows of either store as records, and the values new rows are given (ids, timestamps).

Both stores have the same tables and columns, and read rows by column name (sqlite3.Row, or
psycopg's dict rows) or, for runs, by position in RUN_COLUMNS; only the placeholder of a
query differs (`?` in SQLite, `%s` in PostgreSQL).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from commissioning.store.interface import (
    ApiKey,
    AuditEntry,
    RunRecord,
    StoredResponse,
    StoredScenario,
)

Row = Any  # a sqlite3.Row or a psycopg dict row: columns read by name

RUN_COLUMNS = (
    "runs.id, runs.scenario_id, scenarios.name, runs.status, runs.reason, runs.created_at, "
    "runs.started_at, runs.finished_at, runs.published_at, runs.published_by, runs.summary, "
    "runs.created_by, runs.kind, runs.settings, runs.progress_done, runs.progress_total,"
    " runs.progress_stage"
)


def utc_text(moment: datetime) -> str:
    """A time in the store's format (UTC, milliseconds, Z): stored times compare as text, so
    every time written or compared goes through here."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> str:
    return utc_text(datetime.now(UTC))


def ago(delta: timedelta) -> str:
    """The time `delta` before now, in the store's format (for cut-offs)."""
    return utc_text(datetime.now(UTC) - delta)


def new_id() -> str:
    return uuid.uuid4().hex


def select_run(conn: Any, run_id: str, mark: str = "?") -> Any:
    """The run's row (RUN_COLUMNS), or None; `mark` is the driver's placeholder."""
    return conn.execute(
        f"SELECT {RUN_COLUMNS} FROM runs JOIN scenarios ON scenarios.id = runs.scenario_id "
        f"WHERE runs.id = {mark}",
        (run_id,),
    ).fetchone()


def key_from_row(row: Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        role=row["role"],
        area_code=row["area_code"],
        label=row["label"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        expires_at=row["expires_at"],
    )


def scenario_from_row(row: Row) -> StoredScenario:
    return StoredScenario(
        id=row["id"],
        name=row["name"],
        content_hash=row["content_hash"],
        body=row["body"],
        created_at=row["created_at"],
        created_by=row["created_by"],
    )


@lru_cache(maxsize=256)
def _summary(text: str) -> dict[str, Any]:
    """A finished run's summary, parsed once per text: it never changes once written, and the
    API reads the run on every request (parsing it cost more than the rest of the request).
    Shared between the records of one run, so it is read-only to its users."""
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def run_from_row(row: Row) -> RunRecord:
    assert row is not None
    return RunRecord(
        id=row[0],
        scenario_id=row[1],
        scenario_name=row[2],
        status=row[3],
        reason=row[4],
        created_at=row[5],
        started_at=row[6],
        finished_at=row[7],
        published_at=row[8],
        published_by=row[9],
        summary=_summary(row[10]) if row[10] else None,
        created_by=row[11],
        kind=row[12],
        settings=json.loads(row[13]) if row[13] else None,
        progress_done=row[14],
        progress_total=row[15],
        progress_stage=row[16],
    )


def audit_from_row(row: Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=row["at"],
        action=row["action"],
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        key_id=row["key_id"],
        key_name=row["key_name"],
        role=row["role"],
        reason=row["reason"],
    )


def response_from_row(row: Row) -> StoredResponse:
    return StoredResponse(
        fingerprint=row["fingerprint"],
        status=row["status"],
        content_type=row["content_type"],
        location=row["location"],
        body=bytes(row["body"]) if row["body"] is not None else None,  # memoryview in psycopg
        created_at=row["created_at"],
    )
