"""The PostgreSQL store's schema: numbered SQL migrations, applied in order on start.

Each file `migrations/postgres/NNNN_name.sql` is applied once, in its own transaction, and
recorded in `schema_migrations` in that same transaction: a migration that fails leaves the
database as it was. Servers and workers starting together take a transaction-level advisory
lock first, so one applies what is missing and the others then find nothing to do. A database
recording a migration this version does not know was made by a newer version: refused, as the
SQLite store refuses a newer file, rather than guessed at.

Migration 0002 is the run queue's own schema (procrastinate's `schema.sql` for the installed
version); upgrading procrastinate adds a migration with its published migration SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

# Any constant works: it only has to be the same for every process migrating this database.
MIGRATION_LOCK = 7_274_521_013


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped with this version, in order."""
    folder = resources.files("commissioning.store") / "migrations" / "postgres"
    found = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        number, _, rest = entry.name.partition("_")
        sql = entry.read_text(encoding="utf-8")
        if rest == "procrastinate.sql":
            sql = _procrastinate_schema()
        found.append(Migration(int(number), rest.removesuffix(".sql"), sql))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"PostgreSQL migrations are not numbered 1..n: {versions}")
    return found


def _procrastinate_schema() -> str:
    from procrastinate.schema import SchemaManager

    return str(SchemaManager.get_schema())


SCHEMA_VERSION = 2


def migrate(conn: Any) -> list[int]:
    """Apply the migrations this database lacks (idempotent); the versions applied now."""
    known = migrations()
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        newer = sorted(done - {m.version for m in known})
        if newer:
            raise RuntimeError(
                f"the database was migrated by a newer version (migration {newer[-1]}); "
                "upgrade commissioning first"
            )
        for migration in known:
            if migration.version in done:
                continue
            conn.execute(migration.sql.encode("utf-8"))  # bytes: no %-placeholders parsed
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) "
                "VALUES (%s, %s, to_char(now() AT TIME ZONE 'UTC', "
                '\'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\'))',
                (migration.version, migration.name),
            )
            applied_now.append(migration.version)
    return applied_now
