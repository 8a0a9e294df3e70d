"""The London workbook's pictures: a sorted bar chart per service labelling every borough, and
the London tile map, read back from the file (the chart XML, the cells and their fills) and
checked against the run's coverage.csv."""

from __future__ import annotations

import re
import zipfile
from typing import Any

import openpyxl
import polars as pl
import pytest
from excel_london_runs import SolvedRun, solved
from python_calamine import CalamineWorkbook
from test_excel_london import calamine_rows

from commissioning.london_tiles import TILES
from commissioning.models import Scenario

SHEET = "Coverage by borough"
HEADER_ROW, FIRST_ROW = 4, 5
EMU_PER_CM = 360_000
# The map's documented layout (commissioning/excel/tile_map.py): maps from row 5, two to a
# band of 17 rows, 9 columns apart; a tile is two cells, its abbreviation above its coverage.
MAP_TOP, MAPS_ACROSS, BAND_ROWS, MAP_STEP = 5, 2, 17, 9
RED = {"C00000", "F4B183"}  # below benchmark: under 90%, 90% to 99.9%
BLUE = {"DEEBF7", "9DC3E6", "2E75B6", "1F3864"}  # at or above, darker further above
GREY = "BFBFBF"  # a London borough the run leaves out
PALE = "F2F2F2"  # a borough with no benchmark target


def colour(cell: Any) -> str:
    """A cell's fill as six hex digits (openpyxl reads them back with an alpha in front)."""
    return str(cell.fill.fgColor.rgb)[-6:]


@pytest.fixture(scope="module", params=["fixture", "cut"])
def solved_run(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    london_scenario: Scenario,
) -> SolvedRun:
    return solved(request.param, tmp_path_factory, london_scenario)


def latest_cells(solved_run: SolvedRun) -> pl.DataFrame:
    latest = solved_run.run.scenario.financial_years[-1]
    return (
        solved_run.csv("coverage")
        .filter((pl.col("year") == latest) & (pl.col("target_units") > 0))
        .with_columns((pl.col("total_units") < pl.col("target_units")).alias("below"))
    )


def benchmarked(solved_run: SolvedRun) -> list[str]:
    return [b.service for b in solved_run.run.scenario.benchmarks]


def chart_xml(solved_run: SolvedRun) -> tuple[list[str], str]:
    """Each chart's XML in order, and the drawing that places them."""
    with zipfile.ZipFile(solved_run.book) as archive:
        names = sorted(
            (n for n in archive.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)),
            key=lambda n: int(re.findall(r"\d+", n)[0]),
        )
        drawings = [n for n in archive.namelist() if n.startswith("xl/drawings/drawing")]
        drawing = "".join(archive.read(n).decode() for n in drawings if n.endswith(".xml"))
        return [archive.read(n).decode() for n in names], drawing


def test_one_sorted_chart_per_service_labels_every_borough(solved_run: SolvedRun) -> None:
    rows = calamine_rows(CalamineWorkbook.from_path(str(solved_run.book)), SHEET)
    assert rows[HEADER_ROW - 1][:6] == [
        "Service",
        "Rank",
        "Borough",
        "Area code",
        f"Below benchmark in {solved_run.run.scenario.financial_years[-1]}",
        f"Coverage {solved_run.run.scenario.financial_years[-1]}",
    ]
    charts, drawing = chart_xml(solved_run)
    services = benchmarked(solved_run)
    names = {s.id: s.name for s in solved_run.run.scenario.services}
    assert len(charts) == len(services)
    areas = {a.code for a in solved_run.run.scenario.areas}
    cells = latest_cells(solved_run)
    first = FIRST_ROW
    for xml, service in zip(charts, services, strict=True):
        last = first + len(areas) - 1
        block = rows[first - 1 : last]
        # The sheet: this service's boroughs, every one, ranked lowest coverage first.
        assert {r[0] for r in block} == {names[service]}
        assert [r[1] for r in block] == list(range(1, len(areas) + 1))
        assert {r[3] for r in block} == areas
        values = [r[5] for r in block]
        assert values == sorted(values)
        ratio = dict(
            cells.filter(service=service).select("area_code", "coverage_ratio").iter_rows()
        )
        assert values == pytest.approx([ratio[r[3]] for r in block], abs=1e-12)
        # The chart: those rows, every label shown, below-benchmark bars red.
        assert '<c:barDir val="bar"' in xml or '<barDir val="bar"' in xml
        assert f"<f>'{SHEET}'!$C${first}:$C${last}</f>" in xml
        assert f"<f>'{SHEET}'!$F${first}:$F${last}</f>" in xml
        assert re.search(r'<tickLblSkip val="1"\s*/>', xml)
        assert 'orientation val="maxMin"' in xml  # top to bottom as on the sheet
        below = set(cells.filter(service=service, below=True)["area_code"])
        red = {int(i) for i in re.findall(r'<dPt><idx val="(\d+)"', xml)}
        assert red == {i for i, r in enumerate(block) if r[3] in below}
        assert f">{names[service]}, " in xml  # titled by name
        first = last + 1
    # Tall enough for a line of 9-point text per borough: at least 0.45 cm a bar.
    heights = [int(cy) for cy in re.findall(r'<(?:xdr:)?ext cx="\d+" cy="(\d+)"', drawing)]
    assert len(heights) == len(services)
    assert all(cy >= 0.45 * EMU_PER_CM * len(areas) for cy in heights)


def test_the_cut_puts_red_bars_in_the_charts(
    tmp_path_factory: pytest.TempPathFactory, london_scenario: Scenario
) -> None:
    charts, _ = chart_xml(solved("cut", tmp_path_factory, london_scenario))
    assert all("<dPt>" in xml for xml in charts)


def tile_cells(ws: Any, k: int) -> dict[str, tuple[Any, Any, str]]:
    """Map k's tiles by area code: (abbreviation, coverage, fill colour), from the places the
    layout documents."""
    top = MAP_TOP + (k // MAPS_ACROSS) * BAND_ROWS
    left = 1 + (k % MAPS_ACROSS) * MAP_STEP
    found = {}
    for tile in TILES:
        name = ws.cell(row=top + 2 * tile.row, column=left + tile.column)
        value = ws.cell(row=top + 2 * tile.row + 1, column=left + tile.column)
        assert colour(name) == colour(value)
        found[tile.code] = (name.value, value.value, colour(name))
    return found


def test_tile_map_has_33_squares_coloured_by_benchmark(solved_run: SolvedRun) -> None:
    ws = openpyxl.load_workbook(solved_run.book)["Coverage map"]
    cells = latest_cells(solved_run)
    in_run = {a.code for a in solved_run.run.scenario.areas}
    names = {s.id: s.name for s in solved_run.run.scenario.services}
    colours: set[str] = set()
    for k, service in enumerate(benchmarked(solved_run)):
        top = MAP_TOP + (k // MAPS_ACROSS) * BAND_ROWS
        assert (
            ws.cell(row=top - 1, column=1 + (k % MAPS_ACROSS) * MAP_STEP).value == (names[service])
        )
        tiles = tile_cells(ws, k)
        assert len(tiles) == 33
        mine = {r["area_code"]: r for r in cells.filter(service=service).iter_rows(named=True)}
        for tile in TILES:
            abbreviation, shown, fill = tiles[tile.code]
            assert abbreviation == tile.abbreviation
            if tile.code not in in_run:
                assert (fill, shown) == (GREY, None), tile
                continue
            cell = mine[tile.code]
            assert fill in (RED if cell["below"] else BLUE), (tile, cell["coverage_ratio"])
            # Below benchmark never shows as 100.0%.
            expected = (
                min(cell["coverage_ratio"], 0.999) if cell["below"] else cell["coverage_ratio"]
            )
            assert shown == pytest.approx(expected, abs=1e-12)
            colours.add(fill)
    if solved_run.name == "cut":
        assert colours & RED and colours & BLUE
    # The City is not in the London fixture's areas: its square is there, grey.
    assert "E09000001" not in in_run


def test_the_key_names_every_colour(solved_run: SolvedRun) -> None:
    ws = openpyxl.load_workbook(solved_run.book)["Coverage map"]
    rows = list(ws.iter_rows(min_col=1, max_col=2))
    top = next(i for i, (a, _) in enumerate(rows) if a.value == "Key")
    key = {colour(a): b.value for a, b in rows[top + 1 : top + 9]}
    assert set(key) == RED | BLUE | {GREY, PALE}
    assert all("below benchmark" in key[c] for c in RED) and not any(
        "below" in key[c] for c in BLUE
    )


def test_a_run_outside_london_has_no_map_and_charts_its_lowest_areas(
    tmp_path_factory: pytest.TempPathFactory, london_scenario: Scenario
) -> None:
    synthetic = solved("synthetic", tmp_path_factory, london_scenario)
    book = openpyxl.load_workbook(synthetic.book, read_only=True)
    assert "Coverage map" not in book.sheetnames
    summary = [str(c) for r in book["Summary"].iter_rows(values_only=True) for c in r if c]
    assert "No London map: this run's areas are not the London boroughs." in summary
    charts, _ = chart_xml(synthetic)
    assert len(charts) == len(synthetic.run.scenario.benchmarks)
    # 70 areas: each chart shows the lowest 60, so each bar keeps a readable label.
    first = FIRST_ROW
    for xml in charts:
        assert f"<f>'{SHEET}'!$C${first}:$C${first + 59}</f>" in xml
        assert "lowest 60 of 70" in xml
        first += 70


def test_all_33_london_areas_are_mapped_and_charted(
    tmp_path_factory: pytest.TempPathFactory, london_scenario: Scenario
) -> None:
    london33 = solved("london33", tmp_path_factory, london_scenario)
    assert len(london33.run.scenario.areas) == 33
    ws = openpyxl.load_workbook(london33.book)["Coverage map"]
    cells = latest_cells(london33)
    below = dict(cells.select("area_code", "below").iter_rows())
    tiles = tile_cells(ws, 0)
    assert len(tiles) == 33 and GREY not in {fill for _, _, fill in tiles.values()}
    for code, (_, _, fill) in tiles.items():
        assert fill in (RED if below[code] else BLUE), code
    (xml,) = chart_xml(london33)[0]
    last = FIRST_ROW + 32
    assert f"<f>'{SHEET}'!$C${FIRST_ROW}:$C${last}</f>" in xml
    assert f"<f>'{SHEET}'!$F${FIRST_ROW}:$F${last}</f>" in xml
    assert re.search(r'<tickLblSkip val="1"\s*/>', xml)
    rows = calamine_rows(CalamineWorkbook.from_path(str(london33.book)), SHEET)
    assert {r[3] for r in rows[FIRST_ROW - 1 : last]} == set(below)
