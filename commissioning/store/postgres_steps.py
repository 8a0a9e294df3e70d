"""The PostgreSQL store's record of the steps of sweeps and uncertainty runs solved as jobs.

The distributed queue (commissioning.queue) solves each step of an analysis as a job of its own,
on whichever worker takes it. A step's row counts the times a worker began it (`attempts`: 1
unless a worker died mid-step) and holds its result, written once: a step job that runs again
after its result was kept (its worker died before the queue heard) finds it and solves nothing.

A mixin of `PostgresStore`; the SQLite store has no such table (its runs are solved whole in
one worker process).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from commissioning.store.rows import now


class PostgresSteps:
    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[Any]: ...

        def _all(self, sql: str, params: Any = ()) -> list[Any]: ...

        def _count(self, sql: str, params: Any = ()) -> int: ...

    def begin_step(self, run_id: str, step: int, worker: str) -> bool:
        """Count an attempt at a step by `worker`; False if its result is already kept."""
        with self._write() as conn:
            row = conn.execute(
                "INSERT INTO run_steps (run_id, step, attempts, solved_by) VALUES (%s, %s, 1, %s) "
                "ON CONFLICT (run_id, step) DO UPDATE SET attempts = run_steps.attempts + 1, "
                "solved_by = EXCLUDED.solved_by WHERE run_steps.result IS NULL RETURNING attempts",
                (run_id, step, worker),
            ).fetchone()
        return row is not None

    def keep_step(self, run_id: str, step: int, result: bytes, solved_by: str) -> bool:
        """Keep a step's result unless one is kept already (the first one stays)."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE run_steps SET result = %s, solved_by = %s, solved_at = %s "
                "WHERE run_id = %s AND step = %s AND result IS NULL",
                (result, solved_by, now(), run_id, step),
            )
        return bool(cur.rowcount == 1)

    def solved_steps(self, run_id: str) -> int:
        return self._count(
            "SELECT COUNT(*) FROM run_steps WHERE run_id = %s AND result IS NOT NULL", (run_id,)
        )

    def step_results(self, run_id: str) -> dict[int, bytes]:
        rows = self._all(
            "SELECT step, result FROM run_steps WHERE run_id = %s AND result IS NOT NULL",
            (run_id,),
        )
        return {r["step"]: bytes(r["result"]) for r in rows}

    def step_attempts(self, run_id: str) -> dict[int, int]:
        """Step → how many times a worker began it (what the tests and operators check)."""
        rows = self._all("SELECT step, attempts FROM run_steps WHERE run_id = %s", (run_id,))
        return {r["step"]: r["attempts"] for r in rows}

    def forget_steps(self, run_id: str) -> None:
        """Drop a finished analysis's step results (its files now hold what they said)."""
        with self._write() as conn:
            conn.execute("UPDATE run_steps SET result = NULL WHERE run_id = %s", (run_id,))
