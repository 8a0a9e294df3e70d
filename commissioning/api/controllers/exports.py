"""Workbook downloads (.xlsx): the London workbook and one borough's workbook."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.response import File

from commissioning.api.auth import roles
from commissioning.api.controllers.params import AreaCode, RunId
from commissioning.api.http_cache import IMMUTABLE
from commissioning.api.openapi import XlsxOperation, error_responses, xlsx_response
from commissioning.api.services import exports
from commissioning.api.services.access import Principal
from commissioning.store import Store


def _file(workbook: exports.Workbook) -> File:
    return File(path=workbook.path, filename=workbook.filename, media_type=workbook.media_type)


class ExportController(Controller):
    path = "/runs/{run_id:str}/workbooks"
    tags = ("exports",)

    @get(
        "/london",
        summary="Download the London workbook",
        cache_control=IMMUTABLE,
        sync_to_thread=True,
        opt=roles("commissioner", "finance"),
        operation_class=XlsxOperation,
        responses={200: xlsx_response("The London workbook."), **error_responses(400, 404, 409)},
    )
    def london_workbook(
        self, run_id: RunId, store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> File:
        """The London workbook (.xlsx). Roles: commissioner, finance (published runs)."""
        return _file(exports.london_workbook(store, principal, run_id))

    @get(
        "/boroughs/{area_code:str}",
        summary="Download a borough's workbook",
        cache_control=IMMUTABLE,
        sync_to_thread=True,
        opt=roles(),
        operation_class=XlsxOperation,
        responses={200: xlsx_response("One borough's workbook."), **error_responses(400, 404, 409)},
    )
    def borough_workbook(
        self,
        run_id: RunId,
        area_code: AreaCode,
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> File:
        """One borough's workbook (.xlsx). Roles: all; a borough lead only for its own borough."""
        return _file(exports.borough_workbook(store, principal, run_id, area_code))
