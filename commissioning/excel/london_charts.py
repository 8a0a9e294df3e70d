"""A sorted horizontal bar chart of coverage by borough, sized so every borough is labelled.

Excel and LibreOffice skip category labels that do not fit (every other borough went missing
from the old 32 × 2-series chart), so the chart is made tall enough for one line of 9-point
text per borough with room between (at least MIN_CM_PER_BAR) and told to skip none
(`tickLblSkip` 1). The bars read the sheet's rows in
order and the category axis is reversed, so the chart lists boroughs top to bottom as the sheet
does; bars below benchmark are red, as the sheet's below-benchmark cells are.
"""

from __future__ import annotations

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.marker import DataPoint
from openpyxl.chart.series import SeriesLabel
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet

AT_BENCHMARK_COLOUR = "5B9BD5"
BELOW_BENCHMARK_COLOUR = "C00000"
LABEL_POINTS = 9
MIN_CM_PER_BAR = 0.5  # one line of 9-point text with a little space: every label fits
FRAME_CM = 4.0  # title, value axis and its title
WIDTH_CM = 16.0


def chart_height(bars: int) -> float:
    """The least height in centimetres for a chart with `bars` labelled bars."""
    return FRAME_CM + MIN_CM_PER_BAR * max(bars, 4)


def _font(points: int, bold: bool = False) -> RichText:
    size = CharacterProperties(sz=points * 100, b=bold)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=size), endParaRPr=size)])


def coverage_bar_chart(
    ws: Worksheet,
    title: str,
    names_column: int,
    values_column: int,
    header_row: int,
    first_row: int,
    last_row: int,
    below: list[bool],
    height_cm: float = 0.0,
) -> BarChart:
    """Bars of the values in `values_column`, labelled by `names_column`, rows first_row to
    last_row in sheet order; the column's heading (on `header_row`) names the series.
    `below[i]` marks row first_row + i as below benchmark (drawn red). The chart is
    `height_cm` tall, or more if its bars need it (`chart_height`)."""
    chart = BarChart()
    chart.type = "bar"  # horizontal: the borough names read across
    chart.style = 10
    chart.title = title
    chart.legend = None  # one series, named by the title
    chart.y_axis.title = "Coverage of benchmark (100% = at benchmark)"
    chart.y_axis.numFmt = "0%"
    chart.y_axis.scaling.min = 0
    chart.y_axis.majorUnit = 0.25
    chart.y_axis.txPr = _font(LABEL_POINTS)
    # Top to bottom in sheet order: the category axis runs max to min, and the value axis
    # then crosses at the last category, which is at the bottom.
    chart.x_axis.scaling.orientation = "maxMin"
    chart.y_axis.crosses = "max"
    chart.x_axis.tickLblSkip = 1
    chart.x_axis.tickMarkSkip = 1
    chart.x_axis.txPr = _font(LABEL_POINTS)
    # openpyxl 3.1 marks axes deleted unless told otherwise, and the labels then vanish.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.gapWidth = 40
    chart.width = WIDTH_CM
    chart.height = max(height_cm, chart_height(last_row - first_row + 1))
    data = Reference(
        ws, min_col=values_column, max_col=values_column, min_row=first_row, max_row=last_row
    )
    chart.add_data(data)
    sheet = quote_sheetname(ws.title)
    letter = get_column_letter(names_column)
    # Borough names are text, so the categories must be a string reference.
    names = f"{sheet}!${letter}${first_row}:${letter}${last_row}"
    (series,) = chart.series
    heading = f"{sheet}!${get_column_letter(values_column)}${header_row}"
    series.tx = SeriesLabel(strRef=StrRef(f=heading))
    series.cat = AxDataSource(strRef=StrRef(f=names))
    series.graphicalProperties = GraphicalProperties(solidFill=AT_BENCHMARK_COLOUR)
    series.dPt = [
        DataPoint(idx=i, spPr=GraphicalProperties(solidFill=BELOW_BENCHMARK_COLOUR))
        for i, is_below in enumerate(below)
        if is_below
    ]
    return chart
