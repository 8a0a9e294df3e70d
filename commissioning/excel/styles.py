"""The house style of every workbook: number formats, fonts, fills, widths and print set-up."""

from __future__ import annotations

from collections.abc import Mapping

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

# Negative money in red so an overspend or a cut stands out on screen and on paper.
POUNDS = '"£"#,##0.00;[Red]-"£"#,##0.00'
UNITS = "#,##0.00"
PERCENT = "0.0%"
SHARE = "0.000%"
# change_pct is already a percentage (5.0 means 5%), so the % sign is literal, not a scale.
PERCENT_POINTS = '0.0"%";[Red]-0.0"%"'
SCORE = "0.0"
WHOLE = "#,##0"
TEXT = "@"

NAVY = "1F3864"
# Every font names the workbook's own: a font without a name is drawn in the reader's default,
# which LibreOffice takes to be a serif (wider, so text it was sized for no longer fits).
FONT = "Calibri"
TITLE_FONT = Font(name=FONT, bold=True, size=14, color=NAVY)
SUBTITLE_FONT = Font(name=FONT, bold=True, size=11, color=NAVY)
NOTE_FONT = Font(name=FONT, italic=True, size=9, color="595959")
LABEL_FONT = Font(name=FONT, bold=True)
HEADER_FONT = Font(name=FONT, bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor=NAVY)
TOTAL_FONT = Font(name=FONT, bold=True)
TOTAL_FILL = PatternFill("solid", fgColor="D9E1F2")
# Inputs a borough lead may change to test the worked targets (finance convention: blue inputs).
INPUT_FONT = Font(name=FONT, color="0000FF")
WRAP = Alignment(wrap_text=True, vertical="top")
HEADER_ALIGN = Alignment(wrap_text=True, vertical="center")
KEY_VALUE_ALIGN = Alignment(horizontal="left", wrap_text=True, vertical="top")
# Right-aligned so a long total label spills into the empty cells on its left.
TOTAL_LABEL_ALIGN = Alignment(horizontal="right")

BELOW_BENCHMARK_FILL = PatternFill("solid", fgColor="F8CBAD", bgColor="F8CBAD")
BELOW_BENCHMARK_FONT = Font(name=FONT, color="9C0006")
DATA_BAR_COLOUR = "FF5B9BD5"
TABLE_STYLE = "TableStyleMedium2"

MIN_WIDTH = 8
MAX_WIDTH = 60


def set_column_widths(ws: Worksheet, widths: Mapping[str, float]) -> None:
    """Apply widths (in characters), clamped so long notes wrap rather than run off the page."""
    for letter, width in widths.items():
        ws.column_dimensions[letter].width = max(MIN_WIDTH, min(MAX_WIDTH, width))


def print_setup(ws: Worksheet, title_rows: str | None = None) -> None:
    """Landscape A4, one page wide, header rows repeated on every printed page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as the rows need
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.4
    if title_rows:
        ws.print_title_rows = title_rows
