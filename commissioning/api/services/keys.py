"""API keys managed through the API: commissioners make and revoke finance and borough-lead
keys (with an optional expiry); commissioner keys are made only on the server, with
`commissioning keys create`, so a leaked commissioner key cannot mint more of its kind."""

from __future__ import annotations

from datetime import UTC, datetime

from commissioning.api.services import audit
from commissioning.api.services.access import (
    Forbidden,
    NotFound,
    Principal,
    ServiceError,
    require,
)
from commissioning.store import ApiKey, Store
from commissioning.store.interface import Role
from commissioning.store.rows import utc_text

MANAGED_ROLES: tuple[Role, ...] = ("finance", "borough_lead")


class BadKey(ServiceError):
    """A key request that cannot be honoured as asked (answered 400, naming the field)."""


def create_key(
    store: Store,
    principal: Principal,
    role: Role,
    area_code: str | None,
    name: str,
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    """A new key and its secret (shown once); audited, without the secret."""
    require(principal, "commissioner")
    if role not in MANAGED_ROLES:
        raise Forbidden(
            f"the API makes {' and '.join(MANAGED_ROLES)} keys only; make a {role} key on the "
            "server with `commissioning keys create`",
            field="role",
        )
    if role == "borough_lead" and area_code is None:
        raise BadKey("a borough_lead key needs the borough's area code", field="borough")
    if role != "borough_lead" and area_code is not None:
        raise BadKey(f"only a borough_lead key has a borough, not a {role} key", field="borough")
    expiry = None
    if expires_at is not None:
        if expires_at <= datetime.now(UTC):
            raise BadKey("expires_at must be in the future", field="expires_at")
        expiry = utc_text(expires_at)
    key, secret = store.create_key(role, area_code, name, expiry)
    audit.record(store, principal, "create_key", "key", key.id)
    return key, secret


def list_keys(store: Store, principal: Principal) -> list[ApiKey]:
    require(principal, "commissioner")
    return store.list_keys()


def revoke_key(store: Store, principal: Principal, key_id: str, reason: str | None) -> None:
    """Revoke a finance or borough-lead key (revoking one again changes nothing)."""
    require(principal, "commissioner")
    key = store.get_key(key_id)
    if key is None:
        raise NotFound(f"no key {key_id}", field="key_id")
    if key.role not in MANAGED_ROLES:
        raise Forbidden(
            f"{key_id} is a {key.role} key; revoke it on the server with `commissioning keys "
            "revoke`",
            field="key_id",
        )
    if store.revoke_key(key_id):
        audit.record(store, principal, "revoke_key", "key", key_id, reason)
