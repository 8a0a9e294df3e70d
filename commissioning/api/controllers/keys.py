"""API keys through the API: commissioners make, list and revoke finance and borough-lead keys."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from commissioning.api.auth import roles
from commissioning.api.openapi import ApiOperation, error_responses, idempotent
from commissioning.api.openapi_bodies import body_operation
from commissioning.api.schemas_lifecycle import KeyCreated, KeyIn, KeyList, KeyOut, ReasonIn
from commissioning.api.services import keys
from commissioning.api.services.access import Principal
from commissioning.store import Store

KeyId = Annotated[
    str,
    PathParameter(
        pattern=r"^key_[0-9a-f]{12}$", description="Key id (key_ and 12 hex digits).", max_length=16
    ),
]


class KeyController(Controller):
    path = "/keys"
    tags = ("keys",)

    @post(
        "/",
        summary="Create a finance or borough-lead key",
        operation_class=idempotent(body_operation(KeyIn, required=True)),
        status_code=HTTP_201_CREATED,
        sync_to_thread=True,
        opt=roles("commissioner"),
        responses=error_responses(400, 409, 413, 415, 422),
    )
    def create_key(
        self,
        data: JSONBody[KeyIn],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> Response[KeyCreated]:
        """Make a key: `role` finance or borough_lead (with its `borough`), a `name`, and
        optionally `expires_at`, after which the key is refused (401). The answer holds the
        `secret` this once. Commissioner keys are made on the server (`commissioning keys
        create`): asking for one here is 400. Recorded in the audit log. Roles: commissioner.
        """
        key, secret = keys.create_key(
            store, principal, data.role, data.borough, data.name, data.expires_at
        )
        return Response(
            KeyCreated(**KeyOut.of(key).model_dump(), secret=secret),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/keys/{key.id}"},
        )

    @get(
        "/",
        summary="List keys",
        operation_class=ApiOperation,
        sync_to_thread=True,
        opt=roles("commissioner"),
        responses=error_responses(),
    )
    def list_keys(
        self, store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> KeyList:
        """Every key, of every role, with its expiry and revocation (never a secret).
        Roles: commissioner.
        """
        return KeyList(keys=[KeyOut.of(k) for k in keys.list_keys(store, principal)])

    @delete(
        "/{key_id:str}",
        summary="Revoke a key",
        operation_class=body_operation(ReasonIn, required=False),
        status_code=HTTP_204_NO_CONTENT,
        sync_to_thread=True,
        opt=roles("commissioner"),
        responses=error_responses(400, 404, 415),
    )
    def revoke_key(
        self,
        request: Request[Any, Any, Any],
        key_id: KeyId,
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
        data: JSONBody[ReasonIn | None] = None,
    ) -> None:
        """Revoke a finance or borough-lead key: from now on it is refused (401). Revoking it
        again changes nothing. A commissioner key is revoked on the server (403). Optional
        body `{"reason": ...}`. Recorded in the audit log. Roles: commissioner.
        """
        keys.revoke_key(store, principal, key_id, data.reason if data else None)
        request.app.state.key_cache.clear()  # this process refuses it at once (others: ≤ 5 s)
