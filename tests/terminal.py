"""Run a command with its stderr on a pseudo-terminal, as a person at a terminal would see it
(progress bars draw only there); stdout is captured as usual."""

from __future__ import annotations

import os
import pty
import subprocess
from collections.abc import Sequence


def run_with_stderr_on_a_terminal(
    command: Sequence[str], timeout: float = 120
) -> tuple[int, str, str]:
    """The exit code, stdout and what the terminal showed on stderr."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    out = process.communicate(timeout=timeout)[0]
    os.close(leader)
    return process.returncode, out, seen.decode("utf-8", errors="replace")
