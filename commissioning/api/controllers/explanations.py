"""A borough's explanation: its paragraph per year and the reasons for its cells below benchmark."""

from __future__ import annotations

from dataclasses import asdict

from litestar import Controller, get
from litestar.di import NamedDependency

from commissioning.api.auth import roles
from commissioning.api.controllers.params import AreaCode, RunId
from commissioning.api.http_cache import IMMUTABLE
from commissioning.api.openapi import ApiOperation, error_responses
from commissioning.api.schemas import BoroughExplanationOut, CellExplanationOut
from commissioning.api.services import explanations
from commissioning.api.services.access import Principal
from commissioning.store import Store


class ExplanationController(Controller):
    path = "/runs/{run_id:str}/boroughs"
    tags = ("runs",)

    @get(
        "/{area_code:str}/explanation",
        summary="Explain a borough's allocation",
        cache_control=IMMUTABLE,
        operation_class=ApiOperation,
        sync_to_thread=True,
        opt=roles(),
        responses=error_responses(400, 404, 409),
    )
    def borough_explanation(
        self,
        run_id: RunId,
        area_code: AreaCode,
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> BoroughExplanationOut:
        """The borough's paragraph for each year (coverage per service, money from each pot and
        from bids, its grant and change, what it is short and what that costs) and the reason
        for each cell below benchmark. Roles: all; drafts are commissioners' only; a borough
        lead only for its own borough (403 otherwise)."""
        run, found = explanations.borough_explanation(store, principal, run_id, area_code)
        return BoroughExplanationOut(
            run_id=run.id,
            area_code=found.area_code,
            area_name=found.area_name,
            paragraphs=found.paragraphs,
            below_benchmark=[CellExplanationOut(**asdict(c)) for c in found.below_benchmark],
        )
