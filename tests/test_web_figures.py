"""The web workspace's pure parts: pounds typed by people to exact pence, figures shown to
people, and the SVG pictures (tile map, bars, curve) drawn from real run figures."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import matplotlib
import polars as pl
import pytest
from PIL import ImageFont

from commissioning.london_tiles import TILES
from commissioning.results import RunResult
from commissioning.runs import with_scorecard
from commissioning.web.figures import FigureError, money, pence_from_text, percent
from commissioning.web.run_view import figures_of
from commissioning.web.svg import (
    BANDS,
    AreaFigure,
    CurvePoint,
    coverage_bars,
    sweep_curve,
    tile_map,
)

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("typed", "pence"),
    [
        ("1,250,000", 125_000_000),
        ("1250000.50", 125_000_050),
        ("£1,250,000.5", 125_000_050),
        (" 0.01 ", 1),
        ("0", 0),
        ("999,999,999,999.99", 99_999_999_999_999),
        ("300000", 30_000_000),
    ],
)
def test_pounds_become_exact_pence(typed: str, pence: int) -> None:
    assert pence_from_text(typed) == pence


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("1.001", "more than two decimals"),
        ("210,000.123", "more than two decimals"),
        ("-5", "not an amount in pounds"),
        ("1,25,000", "not an amount in pounds"),
        ("1e6", "not an amount in pounds"),
        ("12.", "ends with a point"),
        ("", "enter an amount"),
        ("£", "enter an amount"),
        ("NaN", "not an amount in pounds"),
    ],
)
def test_what_is_not_pounds_is_refused_plainly(typed: str, words: str) -> None:
    with pytest.raises(FigureError, match=words):
        pence_from_text(typed)


def test_figures_for_people_are_pounds_to_the_penny_and_percentages_rounded_down() -> None:
    assert money(125_000_050) == "£1,250,000.50"
    assert money(-2_000_000) == "-£20,000.00"
    assert money(0) == "£0.00"
    assert percent(0.99996) == "99.9 %"  # never rounds up to the benchmark
    assert percent(Decimal("1.5")) == "150.0 %"


def _svg(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(markup)


def test_the_tile_map_places_every_borough_and_colours_it_by_coverage(
    london_scenario_path: Path, tmp_path: Path
) -> None:
    from commissioning.optimise import solve
    from commissioning.scenario_io import load_scenario

    result: RunResult = with_scorecard(solve(load_scenario(london_scenario_path)))
    figures = figures_of(result.coverage, "idva", "2019/20")
    assert len(figures) == 32  # the City is not in the London fixture
    root = _svg(tile_map(figures, "IDVA, 2019/20"))
    tiles = root.findall(f"{SVG}g")
    assert len(tiles) == len(TILES) == 33
    coverage = result.coverage.filter((pl.col("service") == "idva") & (pl.col("year") == "2019/20"))
    for tile in tiles:
        code = tile.get("data-area")
        rows = coverage.filter(pl.col("area_code") == code)
        if rows.height == 0:
            assert tile.get("data-band") == "#e6e6e6"  # the City: no figure, drawn blank
            continue
        ratio = rows["coverage_ratio"][0]
        expected = next(fill for lowest, fill, _, _ in BANDS if ratio >= lowest)
        assert tile.get("data-band") == expected
        shown = [t.text for t in tile.findall(f"{SVG}text")]
        assert shown[1] == percent(ratio).replace(" %", "%")


def test_bars_put_the_lowest_coverage_first_and_mark_the_benchmark() -> None:
    figures = [
        AreaFigure("E09000007", "Camden", 1.126),
        AreaFigure("E09000005", "Brent", 0.982, below=True),
        AreaFigure("E09000006", "Bromley", 0.987, below=True),
    ]
    root = _svg(coverage_bars(figures, "bars"))
    order = [g.get("data-area") for g in root.findall(f"{SVG}g")]
    assert order == ["E09000005", "E09000006", "E09000007"]
    widths = [float(g.find(f"{SVG}rect").get("width")) for g in root.findall(f"{SVG}g")]
    assert widths == sorted(widths)
    assert any(t.text == "benchmark" for t in root.findall(f"{SVG}text"))


def _drawn_width(text: str, font_size: float) -> float:
    """The width a real font draws `text` at: DejaVu Sans (shipped with matplotlib, and what
    Chromium draws the page's font with on Debian), measured by Pillow."""
    font_path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    font = ImageFont.truetype(str(font_path), size=int(font_size * 100))
    return font.getlength(text) / 100


def test_no_bar_label_is_cut_off_however_long_the_borough_name() -> None:
    """Every name and figure lies inside the picture (its viewBox), measured with the real
    font: the picture scales as a whole at any page width, so inside it means on screen."""
    from commissioning.london_tiles import TILES as ALL

    names = {
        "E09000013": "Hammersmith and Fulham",
        "E09000020": "Kensington and Chelsea",
        "E09000002": "Barking and Dagenham",
        "E09000027": "Richmond upon Thames",
        "E09000001": "City of London",
    }
    figures = [
        AreaFigure(t.code, names.get(t.code, t.code), 0.5 + i / 10, below=i < 5)
        for i, t in enumerate(ALL)
    ]
    figures.append(AreaFigure("W06000015", "Llanfairpwllgwyngyll-Ynys Môn", 12.5))
    root = _svg(coverage_bars(figures, "bars"))
    width = float(root.get("viewBox", "").split()[2])
    for group in root.findall(f"{SVG}g"):
        label, value = group.findall(f"{SVG}text")
        size = float(label.get("font-size", "0"))
        assert label.get("text-anchor") == "end"
        left = float(label.get("x", "0")) - _drawn_width(label.text or "", size)
        assert left >= 0, (label.text, left)
        right = float(value.get("x", "0")) + _drawn_width(value.text or "", size)
        assert right <= width, (value.text, right, width)
        bar = group.find(f"{SVG}rect")
        assert bar is not None and float(bar.get("x", "0")) > float(label.get("x", "0"))


def test_the_sweep_curve_marks_its_knee() -> None:
    points = [
        CurvePoint(382_550_000, 0.876852, 72),
        CurvePoint(437_200_000, 1.0, 0),
        CurvePoint(491_850_000, 1.0, 0),
        CurvePoint(327_900_000, None, None),  # infeasible: not drawn
    ]
    markup = str(sweep_curve(points, 435_833_333, "curve"))
    root = _svg(markup)
    assert len(root.findall(f"{SVG}circle")) == 3
    assert root.find(f"{SVG}line[@class='knee']") is not None
    assert "knee £4,358,333.33" in re.sub(r"\s+", " ", markup)


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_on_every_fill_and_the_page_colours_meet_wcag_aa() -> None:
    for _, fill, ink, _ in BANDS:
        assert contrast(fill, ink) >= 4.5, fill
    css = (Path(__file__).parents[1] / "commissioning" / "web" / "static" / "web.css").read_text()
    colours = dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{6})", css))
    assert contrast(colours["ink"], colours["bg"]) >= 4.5
    assert contrast(colours["muted"], colours["bg"]) >= 4.5
    assert contrast(colours["muted"], colours["panel"]) >= 4.5
    assert contrast(colours["accent"], colours["bg"]) >= 4.5  # links and outlined buttons
    assert contrast(colours["accent-ink"], colours["accent"]) >= 4.5  # header and buttons
    assert contrast(colours["bad"], colours["bg"]) >= 4.5  # error messages
    assert contrast(colours["focus"], colours["accent"]) >= 3  # focus ring on the header
