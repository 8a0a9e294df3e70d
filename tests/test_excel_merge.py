"""layout.merge_across keeps the merged ranges openpyxl's `ws.merged_cells.add` keeps: a range
inside one merged already is left out, any other is added (it compares bounds itself)."""

from __future__ import annotations

import pytest
from openpyxl import Workbook
from openpyxl.worksheet.merge import MergedCellRange

from commissioning.excel.layout import merge_across

# (row, first column, last column) merged in order
SEQUENCES = [
    [(2, 1, 8), (2, 2, 4)],  # inside: left out
    [(2, 1, 8), (2, 1, 8)],  # the same again: left out
    [(3, 1, 3), (3, 1, 8)],  # wider: added
    [(4, 2, 5), (4, 1, 5), (5, 2, 5)],  # starts further left; another row
    [(6, 1, 1), (6, 1, 2), (6, 2, 2)],
]


@pytest.mark.parametrize("merges", SEQUENCES)
def test_the_same_ranges_as_openpyxl(merges: list[tuple[int, int, int]]) -> None:
    ours, theirs = Workbook().active, Workbook().active
    for row, first, last in merges:
        merge_across(ours, row, last, first)
        ref = MergedCellRange(theirs, f"{chr(64 + first)}{row}:{chr(64 + last)}{row}")
        theirs.merged_cells.add(ref)
    assert sorted(str(r) for r in ours.merged_cells.ranges) == sorted(
        str(r) for r in theirs.merged_cells.ranges
    )
