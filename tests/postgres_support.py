"""A throw-away PostgreSQL cluster for the tests that need one, and a fresh database per test.

The cluster starts once per test session, on first use (scripts/test installs the server with
scripts/ensure_postgres.sh); without PostgreSQL's binaries those tests skip, saying why.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from commissioning.store.pg_cluster import Cluster, ClusterUnavailable, throwaway_cluster

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    try:
        with throwaway_cluster() as cluster:
            yield cluster
    except ClusterUnavailable as exc:
        pytest.skip(f"no PostgreSQL here: {exc}")


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> str:
    """The URL of a new, empty database of the session's cluster."""
    return postgres_cluster.create_database(f"test_{next(_numbers)}")
