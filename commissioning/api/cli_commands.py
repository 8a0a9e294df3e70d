"""`commissioning serve` and `commissioning keys ...`: wired into the CLI by `register`."""

from __future__ import annotations

import argparse
import os
import re
import sys
from contextlib import closing
from dataclasses import replace
from pathlib import Path

from commissioning.store import (
    DEFAULT_STORE_PATH,
    ROLES,
    StoreLocation,
    StoreLocationError,
    default_store_path,
    store_location,
)

EXIT_BAD_INPUT = 2
AREA_CODE = re.compile(r"^[EWSN][0-9]{8}$")  # ASCII digits only


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `serve` and `keys` to the `commissioning` command's subparsers."""
    store_help = (
        "the store: a SQLite file, sqlite:///file or postgresql://user@host/db "
        f"(default: $COMMISSIONING_STORE, else {DEFAULT_STORE_PATH})"
    )

    serve = subparsers.add_parser("serve", help="run the HTTP API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--store", type=_store_arg, help=store_help)
    serve.add_argument(
        "--workers", type=int, help="solver worker processes (default: CPU cores − 1, at least 1)"
    )
    serve.add_argument(
        "--queue-size", type=int, default=8, help="runs that may wait for a worker (default 8)"
    )
    serve.add_argument(
        "--web-workers",
        type=int,
        help="web server processes answering requests (default: CPU cores, at least 1); "
        "they share the solver workers and the queue limit",
    )
    serve.add_argument(
        "--reference-scenario", type=Path, help="scenario file serving /reference (default: London)"
    )
    serve.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    serve.set_defaults(run=_serve)

    worker = subparsers.add_parser(
        "worker",
        help="solve queued runs from a PostgreSQL store (run one per core, on any machines)",
    )
    worker.add_argument(
        "--store", type=_store_arg, help="the PostgreSQL store (default: $COMMISSIONING_STORE)"
    )
    worker.add_argument("--name", help="the worker's name in logs (default: host:pid)")
    worker.add_argument(
        "--memory-mib",
        type=int,
        help="memory one worker may allocate (default: $COMMISSIONING_WORKER_MEMORY_MIB or 4096)",
    )
    worker.add_argument("--log-level", default="warning", help="log level (default warning)")
    worker.set_defaults(run=_worker)

    keys = subparsers.add_parser("keys", help="manage API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)

    create = key_commands.add_parser("create", help="create an API key and print it once")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--area", help="the borough's ONS code (borough_lead keys only)")
    create.add_argument("--label", default="", help="who or what the key is for")
    create.add_argument("--store", type=_store_arg, help=store_help)
    create.set_defaults(run=_keys_create)

    listing = key_commands.add_parser("list", help="list API keys (never their secrets)")
    listing.add_argument("--store", type=_store_arg, help=store_help)
    listing.set_defaults(run=_keys_list)

    revoke = key_commands.add_parser("revoke", help="revoke an API key by its id")
    revoke.add_argument("key_id", help="the key's id, as printed by `keys create` or `keys list`")
    revoke.add_argument("--store", type=_store_arg, help=store_help)
    revoke.set_defaults(run=_keys_revoke)


def shown_store(location: StoreLocation) -> str:
    """The store as a person may see it: a PostgreSQL URL without its password."""
    if isinstance(location, str):
        from commissioning.store.postgres import redacted

        return redacted(location)
    return str(location)


def _store_arg(text: str) -> StoreLocation:
    try:
        return store_location(text)
    except StoreLocationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from commissioning.api.app import create_app
    from commissioning.api.settings import (
        ApiSettings,
        default_reference_scenario,
        default_workers,
        with_store,
    )
    from commissioning.api.web_processes import check_port_free, run_web_processes
    from commissioning.api.web_workers import (
        PARENT_ENV,
        SETTINGS_ENV,
        default_web_workers,
        prepare_store,
        settings_to_env,
    )

    if not 0 < args.port < 65536:
        return _fail(f"--port {args.port} is not a port number")
    if args.workers is not None and args.workers < 1:
        return _fail("--workers must be at least 1")
    if args.queue_size < 0:
        return _fail("--queue-size must not be negative")
    if args.web_workers is not None and args.web_workers < 1:
        return _fail("--web-workers must be at least 1")
    try:  # worker limits come from the environment and may be mistyped there
        settings = ApiSettings(
            **with_store(args.store or default_store_path()),  # type: ignore[arg-type]
            workers=args.workers or default_workers(),
            queue_size=args.queue_size,
            reference_scenario=args.reference_scenario or default_reference_scenario(),
        )
    except ValueError as exc:
        return _fail(str(exc))
    web_workers = args.web_workers or default_web_workers()
    print(
        f"commissioning API on http://{args.host}:{args.port}/api/v1 "
        f"(docs: /schema; store: {shown_store(settings.store)}; web workers: {web_workers}; "
        f"solver workers: {settings.workers})",
        file=sys.stderr,
    )
    if web_workers == 1:
        if settings.store_url:  # unreachable or wrong: one plain error now, not a failed start-up
            from commissioning.store import open_store

            open_store(settings.store_url).close()
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
        return 0
    # Several web processes share one store and one set of solver slots (web_workers.py):
    # the store is recovered here, once, before any of them starts.
    try:
        check_port_free(args.host, args.port)
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    try:
        prepare_store(settings)
    except RuntimeError as exc:
        return _fail(str(exc))
    os.environ[SETTINGS_ENV] = settings_to_env(replace(settings, shared_queue=True))
    os.environ[PARENT_ENV] = str(os.getpid())
    return run_web_processes(web_workers, args.host, args.port, args.log_level)


def _worker(args: argparse.Namespace) -> int:
    import logging

    from commissioning.api.settings import (
        _from_env,
        default_run_time_limit_seconds,
        default_worker_memory_mib,
    )
    from commissioning.queue.context import default_worker_name
    from commissioning.queue.worker import (
        DEFAULT_HEARTBEAT_SECONDS,
        DEFAULT_STALLED_SECONDS,
        HEARTBEAT_ENV,
        STALLED_ENV,
        WorkerSettings,
        run_worker,
    )

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        settings = WorkerSettings(
            store=args.store or default_store_path(),
            name=args.name or default_worker_name(),
            memory_mib=args.memory_mib or default_worker_memory_mib(),
            time_limit_seconds=default_run_time_limit_seconds(),
            heartbeat_seconds=_from_env(HEARTBEAT_ENV, float, DEFAULT_HEARTBEAT_SECONDS),
            stalled_seconds=_from_env(STALLED_ENV, float, DEFAULT_STALLED_SECONDS),
        )
    except ValueError as exc:
        return _fail(str(exc))
    return run_worker(settings)


def _keys_create(args: argparse.Namespace) -> int:
    from commissioning.store import open_store

    if args.role == "borough_lead":
        if not args.area:
            return _fail("a borough_lead key needs --area, the borough's ONS code (e.g. E09000007)")
        if not AREA_CODE.match(args.area):
            return _fail(f"--area {args.area!r} is not an ONS area code like E09000007")
    elif args.area:
        return _fail(f"--area is only for borough_lead keys, not {args.role}")
    # Closed when done: a PostgreSQL store's connection pool is not left to the collector.
    with closing(open_store(args.store)) as store:
        key, secret = store.create_key(args.role, args.area, args.label)
    scope = f" for {key.area_code}" if key.area_code else ""
    print(f"created {key.role} key {key.id}{scope}; it is shown only now:", file=sys.stderr)
    print(secret)
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from commissioning.store import open_store

    with closing(open_store(args.store)) as store:
        keys = store.list_keys()
    for key in keys:
        state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
        if not key.revoked_at and key.expires_at:
            state = f"expires {key.expires_at}"
        print(
            f"{key.id}  {key.role:<12} {key.area_code or '-':<10} {state:<32} "
            f"{key.created_at}  {key.label}".rstrip()
        )
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    from commissioning.store import open_store

    with closing(open_store(args.store)) as store:
        revoked = store.revoke_key(args.key_id)
    if not revoked:
        return _fail(f"no active key {args.key_id}")
    print(f"revoked {args.key_id}")
    return 0
