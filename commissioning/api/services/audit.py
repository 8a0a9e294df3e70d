"""The audit log: who published, unpublished, cancelled or deleted what, and who made or revoked
which key, when and why. Entries name the acting key by id and name, never by its secret."""

from __future__ import annotations

from typing import Literal

from commissioning.api.services.access import Principal, require
from commissioning.store import Store
from commissioning.store.interface import AuditEntry

Action = Literal["publish", "unpublish", "cancel", "delete", "create_key", "revoke_key"]
Target = Literal["run", "scenario", "key"]


def record(
    store: Store,
    principal: Principal,
    action: Action,
    target_kind: Target,
    target_id: str,
    reason: str | None = None,
) -> AuditEntry:
    return store.add_audit(action, target_kind, target_id, principal.key_id, principal.role, reason)


def entries(
    store: Store, principal: Principal, limit: int = 100, offset: int = 0
) -> list[AuditEntry]:
    """Newest first. Commissioners only."""
    require(principal, "commissioner")
    return store.list_audit(limit=limit, offset=offset)


def count(store: Store, principal: Principal) -> int:
    """How many entries `entries` shows over every page."""
    require(principal, "commissioner")
    return store.count_audit()
