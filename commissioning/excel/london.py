"""The London workbook: the whole run for MOPAC and finance, one sheet per question.

The board reads the first three sheets (Summary, the map, coverage by borough); the working
sheets follow. Every sheet's rows are then given the heights their wrapped text needs, and
each table sheet's note is wrapped across the table, so nothing overlaps or runs off the page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel.as_written import as_written
from commissioning.excel.coverage import write_coverage
from commissioning.excel.coverage_by_borough import write_coverage_by_borough
from commissioning.excel.data_sheet import DataSheet
from commissioning.excel.explain_sheets import (
    write_binding,
    write_cost_to_benchmark,
    write_marginal,
)
from commissioning.excel.files import (
    add_sheet,
    discard,
    new_workbook,
    no_garbage_collection,
    save_workbook,
)
from commissioning.excel.fit import fit_sheet, top_align_long_table, wrap_across
from commissioning.excel.grants_bids import write_bids, write_grants
from commissioning.excel.london_coverage import by_cell, cells
from commissioning.excel.methodology import write_methodology
from commissioning.excel.run_facts import workbook_timestamp
from commissioning.excel.summary import write_summary
from commissioning.excel.tables import write_allocations, write_commitments, write_need, write_pots
from commissioning.excel.tile_map import write_tile_map
from commissioning.london_tiles import london_tiles
from commissioning.results import RunResult

NOTE_ROW = 2  # a table sheet's note: what one row means


def _fit(ws: Worksheet) -> None:
    """Widths and heights from the sheet's text (excel/fit), its long table's tall rows read
    from the top."""
    fit_sheet(ws)
    top_align_long_table(ws)


def _fit_table_sheet(ws: Worksheet, sheet: DataSheet) -> None:
    wrap_across(ws, NOTE_ROW, 1, len(sheet.placement.columns))
    _fit(ws)


def write_london_workbook(run: RunResult, path: str | Path) -> Path:
    """Write the London workbook for a solved run to `path` (atomically) and return the path."""
    with no_garbage_collection():
        run = as_written(run)
        stamp = workbook_timestamp(run)
        wb = new_workbook(run.scenario.name, "VAWG commissioning allocation, London", stamp)
        has_map = london_tiles({a.code for a in run.scenario.areas}) is not None
        coverage = cells(run)
        found = by_cell(coverage)
        write_summary(add_sheet(wb, "Summary"), run, coverage, has_map)
        _fit(wb["Summary"])
        if has_map:
            ws = add_sheet(wb, "Coverage map")
            write_tile_map(ws, run, found)
            _fit(ws)
        ws = add_sheet(wb, "Coverage by borough")
        write_coverage_by_borough(ws, run, found)
        _fit(ws)
        sheets: list[tuple[str, Callable[[Worksheet, RunResult], DataSheet]]] = [
            ("Allocations", write_allocations),
            ("Coverage", write_coverage),
            ("Pots", write_pots),
            ("Commitments", write_commitments),
            *([("Grants", write_grants)] if "grants" in run.tables else []),
            *([("Bids", write_bids)] if "bids" in run.tables else []),
            *(
                [("Cost to benchmark", write_cost_to_benchmark)]
                if "cost_to_benchmark" in run.tables
                else []
            ),
            *([("Marginal value", write_marginal)] if "marginal" in run.tables else []),
            *([("Binding rules", write_binding)] if "binding" in run.tables else []),
            ("Need", write_need),
        ]
        for title, write in sheets:
            ws = add_sheet(wb, title)
            _fit_table_sheet(ws, write(ws, run))
        ws = add_sheet(wb, "Methodology")
        write_methodology(ws, run)
        _fit(ws)
        try:
            return save_workbook(wb, path, stamp)
        finally:
            discard(wb)
