"""Scenarios: create, list and read (drafts: commissioners only)."""

from __future__ import annotations

import json
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, SkipValidation

from commissioning.api.auth import roles
from commissioning.api.controllers.params import Limit, Offset, ScenarioId
from commissioning.api.openapi import ApiOperation, error_responses
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
        operation_class=ApiOperation,
        sync_to_thread=True,
        opt=roles("commissioner"),
        responses=error_responses(400, 413, 415),
    )
    def create_scenario(
        self,
        data: SkipValidation[JSONBody[Scenario]],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> ScenarioCreated:
        """Store a scenario (the scenario file's schema, areas inline). Roles: commissioner.

        The body is validated as a whole: a 400 lists every problem, each naming its field
        (e.g. `pots[1].amounts[0].year`). The body must be strict JSON: no key given twice,
        no NaN, no number longer than 40 characters, at most 32 levels deep. `warnings` lists
        what is allowed but looks like a mistake.
        """
        raw: Any = data  # validated by the service, which reports every problem at once
        stored, warnings = scenarios.create_scenario_with_warnings(store, principal, raw)
        out = ScenarioOut.of(stored, json.loads(stored.body))
        return ScenarioCreated(**out.model_dump(), warnings=warnings)

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
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> ScenarioList:
        """Stored scenarios, newest first. Roles: commissioner."""
        found = scenarios.list_scenarios(store, principal, limit, offset)
        return ScenarioList(scenarios=[ScenarioOut.of(s, json.loads(s.body)) for s in found])

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
