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
source "$(dirname "$0")/_apt_install.sh"
install_missing ensure_postgres postgresql
