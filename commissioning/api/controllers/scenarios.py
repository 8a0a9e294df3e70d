"""Scenarios: create, list and read (drafts: commissioners only)."""

from __future__ import annotations

import json
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody, SkipValidation
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from commissioning.api.auth import roles
from commissioning.api.controllers.params import Limit, Offset, ScenarioId
from commissioning.api.controllers.table_params import next_offset_link
from commissioning.api.openapi import ApiOperation, error_responses, idempotent
from commissioning.api.schemas import ScenarioCreated, ScenarioDetail, ScenarioList, ScenarioOut
from commissioning.api.services import scenarios
from commissioning.api.services.access import Principal
from commissioning.models import Scenario
from commissioning.store import Store


class ScenarioController(Controller):
    path = "/scenarios"
    tags = ("scenarios",)

    @post(
        "/",
        summary="Create a scenario",
        operation_class=idempotent(ApiOperation),
        sync_to_thread=True,
        opt=roles("commissioner"),
        status_code=HTTP_201_CREATED,
        responses={
            200: ResponseSpec(
                ScenarioCreated,
                description="The same scenario (name and content) was stored already: that "
                "one, with its Location; nothing new is stored.",
                generate_examples=False,
            ),
            **error_responses(400, 409, 413, 415, 422),
        },
    )
    def create_scenario(
        self,
        data: SkipValidation[JSONBody[Scenario]],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> Response[ScenarioCreated]:
        """Store a scenario (the scenario file's schema, areas inline). Roles: commissioner.

        The body is validated as a whole: a 400 lists every problem, each naming its field
        (e.g. `pots[1].amounts[0].year`). The body must be strict JSON: no key given twice,
        no NaN, no number longer than 40 characters, at most 32 levels deep. `warnings` lists
        what is allowed but looks like a mistake.

        201 with a Location header; the same scenario (name and content) stored again answers
        200 with the one already stored instead of a duplicate.
        """
        raw: Any = data  # validated by the service, which reports every problem at once
        stored, warnings, new = scenarios.store_scenario(store, principal, raw)
        out = ScenarioOut.of(stored, json.loads(stored.body))
        return Response(
            ScenarioCreated(**out.model_dump(), warnings=warnings),
            status_code=HTTP_201_CREATED if new else HTTP_200_OK,
            headers={"Location": f"/api/v1/scenarios/{stored.id}"},
        )

    @get(
        "/",
        summary="List scenarios",
        operation_class=ApiOperation,
        sync_to_thread=True,
        opt=roles("commissioner"),
        responses=error_responses(400),
    )
    def list_scenarios(
        self,
        request: Request[Any, Any, Any],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> ScenarioList:
        """Stored scenarios, newest first. Roles: commissioner.

        `total` counts every stored scenario; `next` links to the next page (`offset` moved on
        by `limit`), null on the last page.
        """
        found = scenarios.list_scenarios(store, principal, limit, offset)
        total = scenarios.count_scenarios(store, principal)
        return ScenarioList(
            scenarios=[ScenarioOut.of(s, json.loads(s.body)) for s in found],
            total=total,
            next=next_offset_link(request, offset, limit, total),
        )

    @get(
        "/{scenario_id:str}",
        summary="Get a scenario",
        operation_class=ApiOperation,
        sync_to_thread=True,
        opt=roles("commissioner"),
        responses=error_responses(400, 404),
    )
    def get_scenario(
        self,
        scenario_id: ScenarioId,
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> ScenarioDetail:
        """One stored scenario in full. Roles: commissioner."""
        stored = scenarios.get_scenario(store, principal, scenario_id)
        body = json.loads(stored.body)
        return ScenarioDetail(**ScenarioOut.of(stored, body).model_dump(), scenario=body)
