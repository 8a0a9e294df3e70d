"""The audit log: who published, unpublished, cancelled, deleted, made or revoked what."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency

from commissioning.api.auth import roles
from commissioning.api.controllers.params import Limit, Offset
from commissioning.api.controllers.table_params import next_offset_link
from commissioning.api.openapi import ApiOperation, error_responses
from commissioning.api.schemas_lifecycle import AuditEntryOut, AuditList
from commissioning.api.services import audit
from commissioning.api.services.access import Principal
from commissioning.store import Store


class AuditController(Controller):
    path = "/audit"
    tags = ("audit",)

    @get(
        "/",
        summary="Read the audit log",
        operation_class=ApiOperation,
        sync_to_thread=True,
        opt=roles("commissioner"),
        responses=error_responses(400),
    )
    def list_audit(
        self,
        request: Request[Any, Any, Any],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> AuditList:
        """Every publish, unpublish, cancel and delete, and every key made or revoked through
        the API, newest first: the acting key's id and name (never its secret), its role, the
        UTC time, the action, the target and the reason given. `total` and `next` page as
        on the other lists. Roles: commissioner.
        """
        found = audit.entries(store, principal, limit, offset)
        total = audit.count(store, principal)
        return AuditList(
            entries=[AuditEntryOut.of(e) for e in found],
            total=total,
            next=next_offset_link(request, offset, limit, total),
        )
