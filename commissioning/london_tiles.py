"""Where each London borough sits on the squared tile map used by the workbooks and the web pages.

The layout follows the widely used "London Squared" grid (After the Flood, 2015; also used by
the London Datastore): 32 boroughs and the City as equal squares in 7 rows and 8 columns, each
near its real place, so a reader finds their borough without a geographic map. The positions
below were set down for this project from that grid; abbreviations are the usual three letters.
"""

from __future__ import annotations

from typing import NamedTuple


class Tile(NamedTuple):
    code: str  # ONS code of the borough
    abbreviation: str
    row: int  # 0 is the top (north)
    column: int  # 0 is the left (west)


ROWS = 7
COLUMNS = 8

TILES: tuple[Tile, ...] = (
    Tile("E09000010", "ENF", 0, 4),
    Tile("E09000015", "HRW", 1, 2),
    Tile("E09000003", "BRN", 1, 3),
    Tile("E09000014", "HGY", 1, 4),
    Tile("E09000031", "WTH", 1, 5),
    Tile("E09000017", "HDN", 2, 0),
    Tile("E09000009", "EAL", 2, 1),
    Tile("E09000005", "BRT", 2, 2),
    Tile("E09000007", "CMD", 2, 3),
    Tile("E09000019", "ISL", 2, 4),
    Tile("E09000012", "HCK", 2, 5),
    Tile("E09000026", "RDB", 2, 6),
    Tile("E09000016", "HAV", 2, 7),
    Tile("E09000018", "HNS", 3, 0),
    Tile("E09000013", "HMS", 3, 1),
    Tile("E09000020", "KNS", 3, 2),
    Tile("E09000033", "WST", 3, 3),
    Tile("E09000001", "CTY", 3, 4),
    Tile("E09000030", "TOW", 3, 5),
    Tile("E09000025", "NWM", 3, 6),
    Tile("E09000002", "BDG", 3, 7),
    Tile("E09000027", "RCH", 4, 1),
    Tile("E09000032", "WNS", 4, 2),
    Tile("E09000022", "LAM", 4, 3),
    Tile("E09000028", "SWK", 4, 4),
    Tile("E09000023", "LSH", 4, 5),
    Tile("E09000011", "GRN", 4, 6),
    Tile("E09000004", "BXL", 4, 7),
    Tile("E09000021", "KNG", 5, 2),
    Tile("E09000024", "MRT", 5, 3),
    Tile("E09000008", "CRD", 5, 4),
    Tile("E09000006", "BRM", 5, 5),
    Tile("E09000029", "STN", 6, 3),
)

TILE_BY_CODE: dict[str, Tile] = {tile.code: tile for tile in TILES}


def london_tiles(area_codes: set[str]) -> list[Tile] | None:
    """The tiles for a run's areas, or None when the run's areas are not the London boroughs
    (a synthetic or national run has no squared map; callers then leave the map out)."""
    if not area_codes or not area_codes <= TILE_BY_CODE.keys():
        return None
    return [tile for tile in TILES if tile.code in area_codes]
