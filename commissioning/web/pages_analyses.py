"""Comparing two runs and reading a sweep: both through the API's services (a borough lead's
comparison is cut to its borough; a sweep's curve is London-wide, so not theirs)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import File, Template

from commissioning.analysis.compare import ScorecardLine
from commissioning.api.services import analyses, runs
from commissioning.api.services.access import NotFound, Principal
from commissioning.api.services.progress import run_progress
from commissioning.store import Store
from commissioning.web.context import principal_or_fail, store_of
from commissioning.web.figures import money, number, percent, signed_money
from commissioning.web.names import ScenarioNames, stored_scenario_names
from commissioning.web.render import page
from commissioning.web.svg import CurvePoint, sweep_curve

HELPERS: dict[str, Any] = {
    "money": money,
    "percent": percent,
    "number": number,
    "signed_money": signed_money,
}


def scorecard_cells(line: ScorecardLine) -> tuple[str, str, str]:
    """One scorecard measure as people read it: pounds, percentages, counts."""

    def shown(value: Decimal | None) -> str:
        if value is None:
            return "–"
        if line.kind == "pence":
            return money(int(value))
        if line.kind == "ratio":
            return percent(value)
        return number(value)

    change = line.change
    if change is None:
        moved = "–"
    elif line.kind == "pence":
        moved = signed_money(int(change))
    elif line.kind == "ratio":
        points = (change * 100).quantize(Decimal("0.1"))
        moved = f"{'+' if points > 0 else ''}{points} points"
    else:
        moved = ("+" if change > 0 else "") + number(change)
    return shown(line.base), shown(line.other), moved


def _options(store: Store, principal: Principal) -> list[dict[str, str]]:
    return [
        {"id": r.id, "label": f"{r.scenario_name} ({r.id[:8]}, {r.created_at[:16]})"}
        for r in runs.list_runs(store, principal, limit=100)
        if r.status == "succeeded" and r.kind == "solve"
    ]


@get("/compare", sync_to_thread=True)
def compare(
    request: Request[Any, Any, Any],
    base: FromQuery[str | None] = None,
    other: FromQuery[str | None] = None,
) -> Template:
    store, principal = store_of(request), principal_or_fail(request)
    context: dict[str, Any] = {
        "options": _options(store, principal),
        "base_id": base,
        "other_id": other,
        "c": None,
        "nav": "compare",
        **HELPERS,
    }
    if base and other:
        comparison = runs.compare_runs(store, principal, base, other)
        context["c"] = comparison
        lines = comparison.content.scorecard or []
        context["scorecard"] = [(line, scorecard_cells(line)) for line in lines]
        context["changed"] = comparison.content.changed_rows()
        context["names"] = stored_scenario_names(store, comparison.other.scenario_id).merged(
            stored_scenario_names(store, comparison.base.scenario_id)
        )
    return page(request, "compare.html", **context)


def axis_name(path: str, names: ScenarioNames) -> str:
    """What a sweep varies, as people know it: 'pots.victims_fund' is the MOPAC Victims Fund
    (a path the page cannot name is shown as it was given)."""
    parts = [part.split("[")[0] for part in path.split(".")]
    section, ident = [*parts, "", ""][:2]
    field = parts[2] if len(parts) > 2 else ""
    if section == "pots" and ident in names.pots and field in ("", "amount"):
        return names.pot(ident)
    if section == "services" and ident in names.services and field == "unit_cost":
        return f"the unit cost of {names.service(ident)}"
    if section == "benchmarks" and ident in names.services and field == "units":
        return f"the benchmark rate of {names.service(ident)}"
    return path


def _points(frame: Any, path: str) -> tuple[list[CurvePoint], list[str]]:
    amount = next((c for c in frame.columns if c.startswith(f"{path}.amount[")), None)
    points, statuses = [], []
    for row in frame.iter_rows(named=True):
        ratio = row.get("scorecard.lowest_coverage.ratio") or None
        below = row.get("scorecard.cells_below") or None
        points.append(
            CurvePoint(
                int(row[amount]) if amount and row[amount] else 0,
                float(ratio) if ratio is not None else None,  # for drawing only
                int(below) if below is not None else None,
            )
        )
        statuses.append(str(row.get("status") or ""))
    return points, statuses


@get("/sweeps/{run_id:str}", sync_to_thread=True)
def sweep_page(request: Request[Any, Any, Any], run_id: FromPath[str]) -> Template:
    store, principal = store_of(request), principal_or_fail(request)
    run = analyses.visible_analysis(store, principal, run_id)
    if run.kind != "sweep":
        raise NotFound(f"run {run_id} is a {run.kind} run, not a sweep", field="run_id")
    finished = run.status not in ("queued", "running")
    axes = (run.settings or {}).get("axes", [])
    path = axes[0]["path"] if axes else ""
    swept = axis_name(path, stored_scenario_names(store, run.scenario_id))
    context: dict[str, Any] = {
        "run": run,
        "progress": run_progress(run),
        "finished": finished,
        "axis": f"{swept} from {axes[0]['from']} to {axes[0]['to']} of today's budget, "
        f"{axes[0]['steps']} steps"
        if axes
        else "",
        "pot_name": swept,
        "curve": None,
        "knee": None,
        "nav": "runs",
        **HELPERS,
    }
    if run.status == "succeeded":
        _, frame = analyses.analysis_table(store, principal, run_id, "sweep")
        points, statuses = _points(frame, path)
        knee = (run.summary or {}).get("knee")
        knee_pence = knee.get("smallest_budget_pence") if knee and knee.get("found") else None
        context["curve"] = sweep_curve(
            points, knee_pence, f"Lowest coverage of benchmark against {swept} a year"
        )
        context["knee"] = knee
        context["points"] = points
        context["statuses"] = statuses
    return page(request, "sweep.html", **context)


@get("/runs/{run_id:str}/sweep.csv", sync_to_thread=True)
def sweep_csv(request: Request[Any, Any, Any], run_id: FromPath[str]) -> File:
    """The sweep's own file, byte for byte (London-wide: not for borough leads)."""
    run, path, media_type = analyses.analysis_file(
        store_of(request), principal_or_fail(request), run_id, "sweep.csv"
    )
    return File(path, filename=f"sweep-{run.id[:8]}.csv", media_type=media_type)


HANDLERS = [compare, sweep_page, sweep_csv]
