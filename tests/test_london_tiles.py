"""The London tile map's layout: the 33 London codes, each once, no two in one square."""

from commissioning.london_tiles import COLUMNS, ROWS, TILES, london_tiles


def test_every_london_code_has_exactly_one_tile():
    codes = [tile.code for tile in TILES]
    assert sorted(codes) == [f"E090000{n:02d}" for n in range(1, 34)]


def test_no_two_boroughs_share_a_square_and_all_fit_the_grid():
    places = [(tile.row, tile.column) for tile in TILES]
    assert len(set(places)) == len(places) == 33
    assert all(0 <= r < ROWS and 0 <= c < COLUMNS for r, c in places)


def test_abbreviations_are_distinct_three_letter_codes():
    abbreviations = [tile.abbreviation for tile in TILES]
    assert len(set(abbreviations)) == 33
    assert all(len(a) == 3 and a.isupper() for a in abbreviations)


def test_a_run_with_other_areas_has_no_map():
    assert london_tiles({"E09000007", "S12000033"}) is None
    assert london_tiles(set()) is None
    assert [t.abbreviation for t in london_tiles({"E09000007", "E09000001"}) or []] == [
        "CMD",
        "CTY",
    ]
