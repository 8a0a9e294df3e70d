"""The London workbook: the whole run for MOPAC and finance, one sheet per question."""

from __future__ import annotations

from pathlib import Path

from commissioning.excel.as_written import as_written
from commissioning.excel.coverage import write_coverage, write_coverage_by_borough
from commissioning.excel.explain_sheets import (
    write_binding,
    write_cost_to_benchmark,
    write_marginal,
)
from commissioning.excel.files import (
    add_sheet,
    new_workbook,
    no_garbage_collection,
    save_workbook,
)
from commissioning.excel.grants_bids import write_bids, write_grants
from commissioning.excel.methodology import write_methodology
from commissioning.excel.run_facts import workbook_timestamp
from commissioning.excel.summary import write_summary
from commissioning.excel.tables import write_allocations, write_commitments, write_need, write_pots
from commissioning.results import RunResult


def write_london_workbook(run: RunResult, path: str | Path) -> Path:
    """Write the London workbook for a solved run to `path` (atomically) and return the path."""
    with no_garbage_collection():
        run = as_written(run)
        stamp = workbook_timestamp(run)
        wb = new_workbook(run.scenario.name, "VAWG commissioning allocation, London", stamp)
        write_summary(add_sheet(wb, "Summary"), run)
        write_allocations(add_sheet(wb, "Allocations"), run)
        write_coverage(add_sheet(wb, "Coverage"), run)
        write_coverage_by_borough(add_sheet(wb, "Coverage by borough"), run)
        write_pots(add_sheet(wb, "Pots"), run)
        write_commitments(add_sheet(wb, "Commitments"), run)
        if "grants" in run.tables:
            write_grants(add_sheet(wb, "Grants"), run)
        if "bids" in run.tables:
            write_bids(add_sheet(wb, "Bids"), run)
        if "cost_to_benchmark" in run.tables:
            write_cost_to_benchmark(add_sheet(wb, "Cost to benchmark"), run)
        if "marginal" in run.tables:
            write_marginal(add_sheet(wb, "Marginal value"), run)
        if "binding" in run.tables:
            write_binding(add_sheet(wb, "Binding rules"), run)
        write_need(add_sheet(wb, "Need"), run)
        write_methodology(add_sheet(wb, "Methodology"), run)
        return save_workbook(wb, path, stamp)
