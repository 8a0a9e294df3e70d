"""What the engine needs from a store of API keys, scenarios and runs, whatever holds them.

The SQLite store is the default; the PostgreSQL store (store/postgres.py) implements the same
`Store`. Both stay picklable, because worker processes receive the store and open their own
connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, get_args, runtime_checkable

from commissioning.store.roles import Role

RunStatus = Literal["queued", "running", "succeeded", "failed", "infeasible", "cancelled"]
# What a run computes: one solve, a sweep of solves, or a Monte Carlo of solves.
RunKind = Literal["solve", "sweep", "uncertainty"]
RUN_KINDS: tuple[str, ...] = get_args(RunKind)
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
UNFINISHED: tuple[RunStatus, ...] = ("queued", "running")
FINISHED: tuple[RunStatus, ...] = ("succeeded", "failed", "infeasible")
# A run a commissioner stopped (POST /runs/{id}/cancel): finished, but not by its worker.
CANCELLED: RunStatus = "cancelled"

KEY_PREFIX = "cmk_"

INTERRUPTED_REASON = "interrupted: the server stopped before this run finished; start it again"


def new_secret() -> str:
    """A new API key: 256 random bits, URL-safe, with a recognisable prefix."""
    import secrets  # here, not at the top: the CLI's help text needs ROLES, not the crypto

    return KEY_PREFIX + secrets.token_urlsafe(32)


def check_key_scope(role: str, area_code: str | None) -> None:
    """A key's role must be known, and only a borough lead's key names an area (each store
    checks before storing: its table's CHECK would say it less plainly)."""
    from commissioning.store.roles import ROLES

    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if (role == "borough_lead") != (area_code is not None):
        raise ValueError("a borough_lead key needs an area code, and only a borough_lead key")


def hash_secret(secret: str) -> str:
    """SHA-256 of the key.

    Keys are 256-bit random strings, not passwords people choose, so there is no dictionary to
    attack and a slow, salted hash (scrypt, PBKDF2) would add nothing but a per-request cost
    (tens of milliseconds on every call). A plain SHA-256 is preimage-resistant for such inputs
    and lets the store find a key by an indexed lookup of its hash.
    """
    import hashlib

    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class ApiKey:
    """A stored API key (never the secret itself)."""

    id: str
    role: Role
    area_code: str | None
    label: str
    created_at: str
    revoked_at: str | None = None
    expires_at: str | None = None  # UTC, like created_at; past it the key is refused (401)


@dataclass(frozen=True)
class StoredScenario:
    id: str
    name: str
    content_hash: str
    body: str  # canonical scenario JSON, areas inline
    created_at: str
    created_by: str | None


@dataclass(frozen=True)
class RunRecord:
    id: str
    scenario_id: str
    scenario_name: str
    status: RunStatus
    reason: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    published_at: str | None
    published_by: str | None
    summary: dict[str, Any] | None
    created_by: str | None
    kind: RunKind = "solve"
    settings: dict[str, Any] | None = None  # a sweep's or uncertainty run's settings
    progress_done: int | None = None  # solves done of progress_total (sweeps, uncertainty)
    progress_total: int | None = None
    progress_stage: str | None = None  # the stage a running run has reached (None: not begun)

    @property
    def published(self) -> bool:
        return self.published_at is not None


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to which run, scenario or key, when and why (never a key's secret)."""

    id: int
    at: str
    action: str
    target_kind: str
    target_id: str
    key_id: str | None
    key_name: str
    role: str
    reason: str | None


# A claimed Idempotency-Key whose request never finished (the server stopped mid-request) is
# given up after this long, so a retry is not refused for the whole retention period.
ABANDONED_CLAIM = timedelta(minutes=10)


@dataclass(frozen=True)
class StoredResponse:
    """The answer first given to a POST with an Idempotency-Key (status None: still running)."""

    fingerprint: str
    status: int | None
    content_type: str | None
    location: str | None
    body: bytes | None
    created_at: str


_ANSWERS: dict[tuple[type, type], bool] = {}


class _ProtocolAnsweredPerClass(type(Protocol)):  # type: ignore[misc]
    """isinstance against a runtime protocol walks all its members on every call (Python 3.11:
    ~0.3 ms for Store, and the API's dependency checks ask twice per request). Whether a class
    implements the store does not change, so the answer is kept per class."""

    def __instancecheck__(cls, instance: object) -> bool:
        asked = (cls, type(instance))
        answer = _ANSWERS.get(asked)
        if answer is None:
            answer = _ANSWERS[asked] = super().__instancecheck__(instance)
        return answer


@runtime_checkable
class Store(Protocol, metaclass=_ProtocolAnsweredPerClass):
    """Keys, scenarios and runs. Every method is one transaction; run results live on disk."""

    @property
    def data_dir(self) -> Path: ...

    def initialise(self) -> None:
        """Create the tables and folders if they are missing (idempotent)."""

    # keys
    def create_key(
        self,
        role: Role,
        area_code: str | None = None,
        label: str = "",
        expires_at: str | None = None,
    ) -> tuple[ApiKey, str]:
        """Store a new key and return it with its secret, which is not kept anywhere."""
        ...

    def authenticate(self, secret: str) -> ApiKey | None: ...

    def list_keys(self) -> list[ApiKey]: ...

    def revoke_key(self, key_id: str) -> bool: ...

    # scenarios
    def add_scenario(
        self, name: str, body: str, content_hash: str, created_by: str | None
    ) -> StoredScenario: ...

    def get_scenario(self, scenario_id: str) -> StoredScenario | None: ...

    def list_scenarios(self, limit: int = 100, offset: int = 0) -> list[StoredScenario]: ...

    def count_scenarios(self) -> int:
        """How many scenarios list_scenarios would list over every page."""
        ...

    # runs
    def add_run(
        self,
        scenario_id: str,
        created_by: str | None,
        kind: RunKind = "solve",
        settings: dict[str, Any] | None = None,
    ) -> RunRecord: ...

    def get_run(self, run_id: str) -> RunRecord | None: ...

    def list_runs(
        self,
        *,
        published_only: bool = False,
        scenario_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[RunRecord]: ...

    def count_runs(self, *, published_only: bool = False, scenario_id: str | None = None) -> int:
        """How many runs list_runs would list with these filters over every page."""
        ...

    def mark_running(self, run_id: str, lease: str | None = None) -> bool:
        """queued -> running under `lease` (a token for this attempt); False if the run is no
        longer queued (e.g. failed at restart)."""
        ...

    def take_over_run(self, run_id: str, lease: str) -> bool:
        """queued/running -> running under a new `lease`: a retried job takes a run over from a
        worker that died (the old lease can then write nothing); False if it has finished."""
        ...

    def set_progress(self, run_id: str, lease: str, done: int, total: int) -> bool:
        """Record how many of a running run's solves are done; False if the lease has gone."""
        ...

    def set_stage(self, run_id: str, lease: str, stage: str) -> bool:
        """Record the stage a running run has reached; False if the lease has gone."""
        ...

    def ping(self) -> None:
        """Answer a trivial query, or raise (OSError, sqlite3.Error) if the store cannot."""
        ...

    def holds_lease(self, run_id: str, lease: str) -> bool:
        """Whether the run is still running under `lease` (a worker asks before it writes)."""
        ...

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        reason: str | None = None,
        summary: dict[str, Any] | None = None,
        lease: str | None = None,
    ) -> bool:
        """queued/running -> a finished status; False if it had already finished.

        With a lease the run must still be running under that lease: a worker from before a
        restart (whose run the new server failed) is refused, whatever it computed.
        """
        ...

    def publish_run(self, run_id: str, published_by: str | None) -> RunRecord | None:
        """Mark a succeeded run published (idempotent); None if it is not succeeded."""
        ...

    def fail_unfinished(self, reason: str, run_ids: list[str] | None = None) -> int:
        """Mark queued/running runs (all, or those given) failed; returns how many changed."""
        ...

    def count_unfinished(self) -> int:
        """How many runs are queued or running (what the run queue's limit counts)."""
        ...

    def run_dir(self, run_id: str) -> Path:
        """Where a worker writes a run's result directory on this machine (complete before the
        run is marked succeeded)."""
        ...

    def finished_run_dir(self, run_id: str) -> Path:
        """A succeeded run's result directory on this machine, to read (PostgreSQL: fetched
        from the database the first time, whichever machine solved the run)."""
        ...

    def recover(self) -> int:
        """At server start: fail runs left unfinished by a previous process; tidy leftovers."""
        ...

    # -- lifecycle and audit (schema 4) -----------------------------------------------------

    def get_key(self, key_id: str) -> ApiKey | None: ...

    def find_scenario(self, content_hash: str) -> StoredScenario | None:
        """The oldest stored scenario with this content, if any."""
        ...

    def cancel_run(self, run_id: str, reason: str | None = None) -> RunRecord | None:
        """queued/running -> cancelled; None if the run had already finished (or is unknown)."""
        ...

    def unpublish_run(self, run_id: str) -> bool:
        """Withdraw a published run (back to a draft); False if it was not published."""
        ...

    def delete_run(self, run_id: str) -> bool:
        """Remove a finished, unpublished run and its files; False if it is not one."""
        ...

    def delete_scenario(self, scenario_id: str) -> list[str] | None:
        """Remove a scenario and its finished draft runs (returning their ids); None if a run
        of it is published, queued or running."""
        ...

    def add_audit(
        self,
        action: str,
        target_kind: str,
        target_id: str,
        key_id: str | None,
        role: str,
        reason: str | None,
    ) -> AuditEntry: ...

    def list_audit(self, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """Newest first."""
        ...

    def count_audit(self) -> int:
        """How many entries list_audit would list over every page."""
        ...

    def reserve_response(
        self, key_id: str, idempotency_key: str, fingerprint: str, max_age_seconds: float
    ) -> StoredResponse | None:
        """Claim an Idempotency-Key for a request (None), or the response already stored for
        it, or one with status None while the first request is still being answered."""
        ...

    def keep_response(
        self,
        key_id: str,
        idempotency_key: str,
        status: int,
        content_type: str | None,
        location: str | None,
        body: bytes,
    ) -> None: ...

    def release_response(self, key_id: str, idempotency_key: str) -> None:
        """Forget a claim whose request failed, so that a retry runs again."""

    # -- web sessions (schema 5) -------------------------------------------------------------

    def end_session(self, session_id: str, key_id: str, remember_for: timedelta) -> None:
        """Record a web session as signed out, for every web process of the store; sessions
        signed out longer ago than `remember_for` (their lifetime) may be forgotten."""
        ...

    def session_ended(self, session_id: str) -> bool:
        """Whether the web session was signed out."""
        ...

    def shared_secret(self, name: str) -> bytes:
        """A random secret made once for this store and the same for every process and server
        using it (the web sessions' signing key)."""
        ...

    def close(self) -> None:
        """Close the connections this process holds open (the store stays usable: it reopens)."""
        ...
