"""The PostgreSQL store's run files: kept in the database, copied to each machine that reads them.

A worker on any machine writes a run's folder in its own data folder; `finish_run` copies the
files into `run_files` in the transaction that marks the run succeeded (`_keep_files`), so a
run's result is stored once, whole, or not at all. A server reading a succeeded run fetches its
files into its own data folder the first time (`finished_run_dir`); they never change after.

A mixin of `PostgresStore`.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any


class PostgresRunFiles:
    if TYPE_CHECKING:

        @property
        def runs_dir(self) -> Path: ...

        def _all(self, sql: str, params: Any = ()) -> list[Any]: ...

    def _keep_files(self, conn: Any, run_id: str) -> None:
        """Copy the run's folder (written whole before this call) into run_files."""
        folder = self.run_dir(run_id)
        if not folder.is_dir():
            raise FileNotFoundError(f"run {run_id} has no folder {folder} to keep")
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO run_files (run_id, name, content) VALUES (%s, %s, %s)",
                [(run_id, p.relative_to(folder).as_posix(), p.read_bytes()) for p in files],
            )

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def finished_run_dir(self, run_id: str) -> Path:
        """The succeeded run's folder in this machine's data folder, fetched once if missing."""
        folder = self.run_dir(run_id)
        if folder.is_dir():
            return folder
        staging = folder.with_name(f".{run_id}.fetch-{os.getpid()}-{threading.get_ident()}")
        shutil.rmtree(staging, ignore_errors=True)
        rows = self._all(
            "SELECT name, content FROM run_files WHERE run_id = %s ORDER BY name", (run_id,)
        )
        if not rows:
            return folder  # not stored (yet): readers then find no file, as with SQLite
        for row in rows:
            path = staging / row["name"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(row["content"])
        try:
            staging.rename(folder)
        except OSError:  # another thread or process fetched it first: theirs is the same
            shutil.rmtree(staging, ignore_errors=True)
        return folder
