"""A throw-away PostgreSQL cluster: for the tests, the benchmarks and trying the PostgreSQL store.

`throwaway_cluster()` runs the distribution's own server binaries (`initdb`, `pg_ctl`; installed
by scripts/ensure_postgres.sh) in a temporary folder, listening only on loopback at a free port
and on a socket inside that folder, and removes everything when it ends. Nothing touches a
cluster the machine already runs.

The server refuses to run as root, so as root it runs as the `postgres` user the package
creates (`runuser`), which then owns the temporary folder; as any other user it runs as that user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"
START_TIMEOUT_SECONDS = 60


class ClusterUnavailable(RuntimeError):
    """PostgreSQL's server binaries are missing or cannot run here (tests skip with this)."""


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    user: str
    folder: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database (name: letters, digits, underscores); its URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database name {name!r}: letters, digits and underscores only")
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def server_bin() -> Path:
    """The newest installed PostgreSQL's server binaries (Debian keeps them off PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ClusterUnavailable(
        "PostgreSQL's server binaries (initdb) are not installed: run scripts/ensure_postgres.sh"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ClusterUnavailable("running as root without runuser: cannot start PostgreSQL")
    return [runuser, "-u", SERVER_USER, "--"]


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ClusterUnavailable(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A running cluster with a trusted superuser on loopback, stopped and deleted at the end."""
    bin_dir = server_bin()
    prefix = _as_server_user()
    folder = Path(tempfile.mkdtemp(prefix="commissioning-pg-"))
    user = SERVER_USER if prefix else (os.environ.get("USER") or "postgres")
    if prefix:
        shutil.chown(folder, SERVER_USER)
    data = folder / "data"
    port = free_port()
    started = False
    try:
        _run(
            [
                *prefix,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                user,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",  # throw-away: durability of the test cluster does not matter
            ]
        )
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        _run(
            [
                *prefix,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "server.log"),
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "start",
            ]
        )
        started = True
        _wait_until_accepting(port)
        yield Cluster("127.0.0.1", port, user, folder)
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_accepting(port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise ClusterUnavailable(f"PostgreSQL did not listen on port {port}") from None
            time.sleep(0.05)
