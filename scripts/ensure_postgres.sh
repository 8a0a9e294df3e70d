#!/usr/bin/env bash
# Install PostgreSQL (the distribution's package: server binaries initdb, pg_ctl, postgres) if it
# is missing. The PostgreSQL store's tests and tests/test_queue_postgres.py start a throw-away
# cluster of their own from these binaries (commissioning/store/pg_cluster.py); nothing here
# starts a server or touches the package's own cluster.
#
# Idempotent: when the binaries are present it does nothing (no apt-get at all). It never fails
# its caller: when it cannot install (not root and no sudo, no apt-get, no network) it says so on
# stderr and the PostgreSQL tests then skip with that reason.
set -uo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_postgres: cannot install postgresql: no apt-get on this machine" >&2
    exit 0
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        echo "ensure_postgres: cannot install postgresql: not root and no sudo" >&2
        exit 0
    fi
fi
echo "ensure_postgres: installing postgresql" >&2
if ! "${as_root[@]}" apt-get update -qq >&2 \
    || ! DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq postgresql >&2; then
    echo "ensure_postgres: apt-get could not install postgresql" >&2
fi
exit 0
