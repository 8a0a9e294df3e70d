"""Start and watch N web processes that each listen on the same port (SO_REUSEPORT).

uvicorn's own `workers=N` shares one listening socket: whichever process wakes first accepts
every waiting connection, so 16 keep-alive clients landed 16/0 or 10/6 on two processes
(`ss -tnp`, measured), and the busier one set the tail latency. With a socket of its own in
each process, the kernel spreads new connections across them by their addresses.

The parent binds the port once first, so a port in use is one clear error rather than N
failing children. A web process that dies is started again, unless they keep dying (then the
server stops with an error rather than looping). SIGINT/SIGTERM stop them all gracefully.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType

APP = "commissioning.api.web_workers:app_for_web_worker"
BACKLOG = 2048
STOP_GRACE_SECONDS = 20.0
RESTARTS_PER_MINUTE = 5  # more than this and something is wrong with every start, not one


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _serve_one(host: str, port: int, log_level: str) -> None:
    """One web process: its own socket on the shared port, one uvicorn server on it."""
    import uvicorn

    sock = _listening_socket(host, port)
    sock.listen(BACKLOG)
    config = uvicorn.Config(APP, factory=True, host=host, port=port, log_level=log_level)
    uvicorn.Server(config).run(sockets=[sock])


def check_port_free(host: str, port: int) -> None:
    """OSError (e.g. address in use) if the web processes could not listen on host:port."""
    probe = _listening_socket(host, port)
    probe.close()  # bound only, never listening: no connection was ever routed to it


def run_web_processes(count: int, host: str, port: int, log_level: str) -> int:
    """Run `count` web processes until SIGINT/SIGTERM; the exit status for the command."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked threads
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def start() -> BaseProcess:
        process = context.Process(
            target=_serve_one, args=(host, port, log_level), name="commissioning-web"
        )
        process.start()
        return process

    processes = [start() for _ in range(count)]
    restarts: list[float] = []
    status = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, process in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < 60] + [now]
                if len(restarts) > RESTARTS_PER_MINUTE:
                    print(
                        f"web processes keep stopping (last exit code {process.exitcode}); "
                        "stopping the server",
                        file=sys.stderr,
                    )
                    status, stopping = 1, True
                    break
                print(
                    f"a web process stopped (exit code {process.exitcode}); starting another",
                    file=sys.stderr,
                )
                processes[i] = start()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in hand
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
