"""Reference data: the areas, services and benchmarks of the reference scenario (every role)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from commissioning.api.auth import roles
from commissioning.api.openapi import ApiOperation, error_responses
from commissioning.api.schemas import (
    AreaOut,
    BenchmarkOut,
    ReferenceAreas,
    ReferenceBenchmarks,
    ReferenceServices,
    ServiceOut,
)
from commissioning.api.services.reference import reference_scenario
from commissioning.api.settings import ApiSettings


class ReferenceController(Controller):
    path = "/reference"
    tags = ("reference data",)

    @get(
        "/areas",
        summary="List areas",
        sync_to_thread=True,
        opt=roles(),
        operation_class=ApiOperation,
        responses=error_responses(),
    )
    def areas(self, settings: NamedDependency[ApiSettings]) -> ReferenceAreas:
        """Areas with their indicators (population, deprivation, crime). Roles: all."""
        scenario = reference_scenario(settings.reference_scenario)
        return ReferenceAreas(
            source=scenario.name,
            areas=[
                AreaOut(code=a.code, name=a.name, group=a.group, indicators=dict(a.indicators))
                for a in scenario.areas
            ],
        )

    @get(
        "/services",
        summary="List services",
        sync_to_thread=True,
        opt=roles(),
        operation_class=ApiOperation,
        responses=error_responses(),
    )
    def services(self, settings: NamedDependency[ApiSettings]) -> ReferenceServices:
        """Services with unit costs and where each cost comes from. Roles: all."""
        scenario = reference_scenario(settings.reference_scenario)
        return ReferenceServices(
            source=scenario.name,
            services=[
                ServiceOut(
                    id=s.id,
                    name=s.name,
                    unit=s.unit,
                    unit_cost_pence=s.unit_cost_pence,
                    granularity=str(s.granularity),
                    cost_source=s.cost_source,
                    cost_is_assumption=s.cost_is_assumption,
                )
                for s in scenario.services
            ],
        )

    @get(
        "/benchmarks",
        summary="List benchmarks",
        sync_to_thread=True,
        opt=roles(),
        operation_class=ApiOperation,
        responses=error_responses(),
    )
    def benchmarks(self, settings: NamedDependency[ApiSettings]) -> ReferenceBenchmarks:
        """Benchmarks (units per N of a basis population) with source and edition. Roles: all."""
        scenario = reference_scenario(settings.reference_scenario)
        return ReferenceBenchmarks(
            source=scenario.name,
            benchmarks=[
                BenchmarkOut(
                    service=b.service,
                    units=str(b.units),
                    per=b.per,
                    basis=b.basis,
                    source=b.source,
                    edition=b.edition,
                )
                for b in scenario.benchmarks
            ],
        )
