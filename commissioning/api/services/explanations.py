"""A borough's explanation in a run: its paragraph per year and why each cell below benchmark
is there (commissioning.analysis.explain), scoped like the run's other results."""

from __future__ import annotations

from commissioning.analysis.explain import BoroughExplanation, explain_borough
from commissioning.api.services.access import NotFound, Principal, require_area, visible_run
from commissioning.api.services.runs import load_result
from commissioning.store import RunRecord, Store


def borough_explanation(
    store: Store, principal: Principal, run_id: str, area_code: str
) -> tuple[RunRecord, BoroughExplanation]:
    """A borough lead may have only its own borough's (403 otherwise); an area not in the run
    is 404."""
    require_area(principal, area_code)
    run = visible_run(store, principal, run_id)
    result = load_result(store, run)
    if all(a.code != area_code for a in result.scenario.areas):
        raise NotFound(f"area {area_code} is not in run {run_id}", field="area_code")
    return run, explain_borough(result, area_code)
