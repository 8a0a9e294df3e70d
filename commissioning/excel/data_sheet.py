"""A long-table sheet: title, totals for all rows and for the filtered rows, then an Excel Table.

Every table sheet has the same shape so people learn it once:

    row 1  title
    row 2  what one row means
    row 3  totals over all rows (exact values, named)
    row 4  totals over the rows the filters show (SUBTOTAL formulas, live)
    row 5  column headings (frozen, repeated on printed pages)
    row 6+ the rows
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from commissioning.excel import styles
from commissioning.excel.layout import (
    Column,
    Formula,
    SheetWriter,
    TablePlacement,
    Value,
    name_range,
    pounds,
    set_style,
)

TOTALS_ROW = 3
FILTERED_ROW = 4
HEADER_ROW = 5
FIRST_DATA_ROW = 6


@dataclass(frozen=True)
class DataSheet:
    placement: TablePlacement
    total_cells: dict[str, str]  # heading -> cell holding the all-rows total


def _exact_total(column: Column, values: pl.Series) -> Value:
    """Money and whole numbers summed exactly; other numbers added in row order, as floats."""
    if column.pence:
        return pounds(int(values.sum()))
    if values.dtype.is_integer():
        return Decimal(int(values.sum()))
    if values.dtype.is_float():
        numbers = values.drop_nulls().to_list()
        return sum(numbers) if numbers else Decimal(0)
    return Decimal(0)


def write_data_sheet(
    ws: Worksheet,
    title: str,
    note: str,
    columns: Sequence[Column],
    frame: pl.DataFrame,
    table_name: str,
    *,
    totals: Sequence[str] = (),
    frozen_columns: int = 0,
    total_label: str = "Total, all rows",
    counted: pl.Series | None = None,
    total_names: dict[str, str] | None = None,
) -> DataSheet:
    """Write the sheet from `frame`, one column per `columns` entry (Column.pence: whole pence).

    `totals` names the headings that get a total, over the rows `counted` marks (all when None);
    `total_names` names total cells.
    """
    writer = SheetWriter(ws)
    writer.title(title, note)
    index = {c.header: j for j, c in enumerate(columns)}
    last_row = HEADER_ROW + frame.height
    total_cells: dict[str, str] = {}
    if totals:
        label_column = max(1, min(index[h] for h in totals))
        # Right-aligned so a long label spills into the empty cells on its left, not over a total.
        for row, label, font in (
            (TOTALS_ROW, total_label, styles.TOTAL_FONT),
            (FILTERED_ROW, "Total, rows shown by the filters", styles.NOTE_FONT),
        ):
            cell = writer.cell(row, label_column, label, font=font, fit=False)
            set_style(cell, alignment=styles.TOTAL_LABEL_ALIGN)
        summed = frame if counted is None else frame.filter(counted)
        for heading in totals:
            j = index[heading]
            column = columns[j]
            cell = writer.cell(
                TOTALS_ROW,
                j + 1,
                _exact_total(column, summed.to_series(j)),
                column.number_format,
                font=styles.TOTAL_FONT,
                fill=styles.TOTAL_FILL,
            )
            total_cells[heading] = cell.coordinate
            if frame.height:
                letter = get_column_letter(j + 1)
                # 109 = SUM that skips rows hidden by a filter.
                writer.cell(
                    FILTERED_ROW,
                    j + 1,
                    Formula(f"=SUBTOTAL(109,{letter}{FIRST_DATA_ROW}:{letter}{last_row})"),
                    column.number_format,
                    font=styles.NOTE_FONT,
                )
    writer.row = HEADER_ROW
    placement = writer.long_table(columns, frame, table_name)
    for heading, name in (total_names or {}).items():
        name_range(ws, name, total_cells[heading])
    writer.finish(
        freeze=f"{get_column_letter(frozen_columns + 1)}{FIRST_DATA_ROW}",
        title_rows=f"{HEADER_ROW}:{HEADER_ROW}",
    )
    return DataSheet(placement, total_cells)
