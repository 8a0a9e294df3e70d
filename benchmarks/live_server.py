"""A real server for the HTTP benchmarks: a process group on a free loopback port.

Started from the repository's code (its folder first on PYTHONPATH), ready once `ready_url`
answers 200, stopped with SIGINT to the whole group (web and solver processes), and killed if
it has not stopped 30 s later. The server's output goes to `log_path`, shown if it fails to start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve_command(*argv: str) -> list[str]:
    """`commissioning serve ARGV…` with this interpreter."""
    return [sys.executable, "-m", "commissioning", "serve", *argv]


def repository_env(**extra: str) -> dict[str, str]:
    """This environment with the repository's code first on PYTHONPATH."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, **extra}


@contextmanager
def running(
    command: list[str], log_path: Path, ready_url: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
            env=env if env is not None else repository_env(),
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server stopped:\n{log_path.read_text()}")
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # the server and its worker processes
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
