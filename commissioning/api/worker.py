"""One API run, solved in its own process: `python -m commissioning.api.worker RUN_ID ...`.

The server starts one of these per run (see `queue.py`) and hands it the store, pickled, on
stdin. A process of its own means a solve that runs out of memory, crashes or overruns takes
only its own run with it. Before anything heavy is imported the worker

- ties its life to the server's: the kernel kills it when the server dies (Linux
  `PR_SET_PDEATHSIG`), and a watchdog thread notices a new parent where that is not available;
- caps the memory it may allocate, so a runaway solve fails here rather than exhausting the
  machine (and the kernel's OOM killer choosing some other process).

Exit status: 0 when the run's outcome is recorded (whatever it is), `EXIT_OUT_OF_MEMORY` when
the solve hit the memory cap; anything else is a crash the server records for the run.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import pickle
import signal
import sys
import threading
import time

EXIT_OUT_OF_MEMORY = 86
# Solves yield the CPU to the web server: with every core solving, /health and /ready (and
# every other request) still answer at once. Alone on a core a solve runs at full speed.
WORKER_NICENESS = 10
PARENT_CHECK_SECONDS = 0.5
PR_SET_PDEATHSIG = 1

# Tests only: with this variable set, a run of a scenario named "memory hog: native" or "memory
# hog: python" asks for a terabyte, as a runaway solve would (in Rust or in Python).
MEMORY_HOG_ENV = "COMMISSIONING_TEST_MEMORY_HOG"
MEMORY_HOG_NAMES = ("memory hog: native", "memory hog: python")


def worker_command(run_id: str, lease: str, memory_mib: int) -> list[str]:
    """The command line the server runs (the run id in it lets an operator find the process)."""
    return [
        sys.executable,
        "-m",
        "commissioning.api.worker",
        run_id,
        "--lease",
        lease,
        "--parent",
        str(os.getpid()),
        "--memory-mib",
        str(memory_mib),
    ]


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before prctl took effect; then we were already re-parented.
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup: a stale worker must not write

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _cap_memory(memory_mib: int) -> None:
    """Cap what the solve may allocate.

    On Linux RLIMIT_DATA counts what the process allocates (heap and private writable
    mappings); RLIMIT_AS would also count address space merely reserved, which grows with the
    core count (thread stacks, malloc arenas: a London solve reserves 1.3 GB on 2 cores while
    using 120 MB) and so would fail small solves on big machines. Elsewhere RLIMIT_AS is the
    nearest the platform offers.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not a POSIX system: no limit can be set
        return
    limit = memory_mib * 1024 * 1024
    kind = resource.RLIMIT_DATA if sys.platform.startswith("linux") else resource.RLIMIT_AS
    try:
        resource.setrlimit(kind, (limit, limit))
    except (ValueError, OSError) as exc:  # pragma: no cover - e.g. a lower hard limit
        print(f"worker: could not cap memory at {memory_mib} MiB: {exc}", file=sys.stderr)


def _yield_to_the_server() -> None:
    """Run at a lower priority than the server that started us (see WORKER_NICENESS)."""
    try:
        os.nice(WORKER_NICENESS)
    except (AttributeError, OSError) as exc:  # pragma: no cover - not POSIX, or not allowed
        print(f"worker: could not lower its priority: {exc}", file=sys.stderr)


def _memory_hog_for_tests(store: object, run_id: str) -> None:
    if not os.environ.get(MEMORY_HOG_ENV):
        return
    run = store.get_run(run_id)  # type: ignore[attr-defined]
    if run is None or run.scenario_name not in MEMORY_HOG_NAMES:
        return
    if run.scenario_name.endswith("native"):
        import polars as pl

        pl.int_range(0, 1 << 40, eager=True)  # Rust aborts the process when this fails
    bytearray(1 << 40)  # raises MemoryError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m commissioning.api.worker")
    parser.add_argument("run_id")
    parser.add_argument("--lease", required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--memory-mib", type=int, required=True)
    args = parser.parse_args(argv)
    _die_with_parent(args.parent)
    _cap_memory(args.memory_mib)
    _yield_to_the_server()
    store = pickle.load(sys.stdin.buffer)  # from the server that started us, never a user
    try:
        _memory_hog_for_tests(store, args.run_id)
        from commissioning.api.services import runs

        runs.execute_run(store, args.run_id, args.lease)
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    return 0


if __name__ == "__main__":
    status = main()
    # The outcome is in the store: skip the interpreter's teardown (unloading polars and HiGHS
    # takes a noticeable time) so the server gets the worker slot back at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
