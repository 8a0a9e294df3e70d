"""Bodies of the lifecycle, audit and key routes (pydantic, so the OpenAPI spec shows the rules)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from commissioning.api.schemas import AREA_CODE, Out
from commissioning.store import ApiKey
from commissioning.store.interface import AuditEntry

# Not stripped: the spec must say exactly what is accepted (\S: at least one visible character).
Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1000, pattern=r"\S"),
    Field(description="Why, in plain words; kept in the audit log."),
]


class ReasonIn(BaseModel):
    """An optional reason for publishing, cancelling or deleting."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class UnpublishIn(BaseModel):
    """Withdrawing published figures needs a reason."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["finance", "borough_lead"] = Field(
        description="finance or borough_lead (commissioner keys are made on the server only)."
    )
    borough: (
        Annotated[str, StringConstraints(pattern=AREA_CODE, min_length=9, max_length=9)] | None
    ) = Field(None, description="The borough's ONS code: borough_lead keys only, and required.")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")] = Field(
        description="Who or what the key is for (shown in the audit log)."
    )
    expires_at: AwareDatetime | None = Field(
        None, description="When the key stops working (with a time zone); none: never."
    )


class KeyOut(Out):
    id: str
    name: str
    role: str
    borough: str | None
    created_at: str
    expires_at: str | None
    revoked_at: str | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(
            id=key.id,
            name=key.label,
            role=key.role,
            borough=key.area_code,
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
        )


class KeyCreated(KeyOut):
    secret: str = Field(description="The key itself: shown this once, kept nowhere.")


class KeyList(Out):
    keys: list[KeyOut]


class AuditEntryOut(Out):
    id: int
    at: str = Field(description="UTC time of the action.")
    action: Literal["publish", "unpublish", "cancel", "delete", "create_key", "revoke_key"]
    target_kind: Literal["run", "scenario", "key"]
    target_id: str
    key_id: str | None = Field(description="The acting key's id (never its secret).")
    key_name: str = Field(description="The acting key's name when it acted.")
    role: str
    reason: str | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls.model_validate(entry, from_attributes=True)


class AuditList(Out):
    entries: list[AuditEntryOut]
    total: int | None = Field(None, description="Audit entries over every page.")
    next: str | None = Field(
        None, description="Relative link to the next page (same filters); null on the last."
    )
