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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from openpyxl.styles import Alignment
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
)

TOTALS_ROW = 3
FILTERED_ROW = 4
HEADER_ROW = 5
FIRST_DATA_ROW = 6


@dataclass(frozen=True)
class DataSheet:
    placement: TablePlacement
    total_cells: dict[str, str]  # heading -> cell holding the all-rows total


def _exact_sum(values: list[Value]) -> Decimal | float:
    numbers = [
        v for v in values if isinstance(v, int | float | Decimal) and not isinstance(v, bool)
    ]
    if all(isinstance(v, Decimal | int) for v in numbers):
        return sum((Decimal(v) for v in numbers), Decimal(0))
    return sum(float(v) for v in numbers)


def write_data_sheet(
    ws: Worksheet,
    title: str,
    note: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Value]],
    table_name: str,
    *,
    totals: Sequence[str] = (),
    frozen_columns: int = 0,
    total_label: str = "Total, all rows",
    counts_in_total: Callable[[Sequence[Value]], bool] | None = None,
    total_names: dict[str, str] | None = None,
) -> DataSheet:
    """Write the sheet; `totals` names the headings that get a total, `total_names` names cells."""
    writer = SheetWriter(ws)
    writer.title(title, note)
    index = {c.header: j for j, c in enumerate(columns)}
    last_row = HEADER_ROW + len(rows)
    total_cells: dict[str, str] = {}
    if totals:
        label_column = max(1, min(index[h] for h in totals))
        # Right-aligned so a long label spills into the empty cells on its left, not over a total.
        for row, label, font in (
            (TOTALS_ROW, total_label, styles.TOTAL_FONT),
            (FILTERED_ROW, "Total, rows shown by the filters", styles.NOTE_FONT),
        ):
            cell = writer.cell(row, label_column, label, font=font, fit=False)
            cell.alignment = Alignment(horizontal="right")
        counted = [r for r in rows if counts_in_total is None or counts_in_total(r)]
        for heading in totals:
            j = index[heading]
            column = columns[j]
            cell = writer.cell(
                TOTALS_ROW,
                j + 1,
                _exact_sum([r[j] for r in counted]),
                column.number_format,
                font=styles.TOTAL_FONT,
                fill=styles.TOTAL_FILL,
            )
            total_cells[heading] = cell.coordinate
            if rows:
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
    placement = writer.table(columns, rows, table_name)
    for heading, name in (total_names or {}).items():
        name_range(ws, name, total_cells[heading])
    writer.finish(
        freeze=f"{get_column_letter(frozen_columns + 1)}{FIRST_DATA_ROW}",
        title_rows=f"{HEADER_ROW}:{HEADER_ROW}",
    )
    return DataSheet(placement, total_cells)
