"""Reference implementations the tests compare tilepress against: simple, slow, obviously
right. tilepress itself does these jobs differently (streamed, vectorized, cut only where
needed); these are not used by the package."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.geometry.projection import WEB_MERCATOR_HALF_WORLD
from tilepress.tiles.archives import TileKey, write_mbtiles_stream, write_pmtiles_stream
from tilepress.tiles.grid import WORLD
from tilepress.tiles.schema import TilesetMetadata


def wrap_to_meridian(geometries: NDArray[np.object_], lon_0: float) -> NDArray[np.object_]:
    """Cut polygons at ``lon_0 +/- 180`` and move every piece into that 360-degree window.

    Pieces split by the data's own 180-degree line (Chukotka) are dissolved back into one when
    the window does not cut there, so no seam shows.
    """
    west = lon_0 - 180.0
    east = lon_0 + 180.0
    pieces = []
    for shift in (-360.0, 0.0, 360.0):
        moved = shapely.transform(geometries, lambda xy, s=shift: xy + np.array([s, 0.0]))
        pieces.append(shapely.clip_by_rect(moved, west, -90.0, east, 90.0))
    merged = shapely.union(shapely.union(pieces[0], pieces[1]), pieces[2])
    result: NDArray[np.object_] = shapely.make_valid(merged)
    return result


def tile_bounds(zoom: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of tile z/x/y in EPSG:3857 (XYZ scheme, y down from north)."""
    size = WORLD / (1 << zoom)
    minx = -WEB_MERCATOR_HALF_WORLD + x * size
    maxy = WEB_MERCATOR_HALF_WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def write_mbtiles(tiles: Mapping[TileKey, bytes], meta: TilesetMetadata, target: Path) -> None:
    """Write an MBTiles 1.3 file; identical tiles are stored once (map/images schema)."""
    write_mbtiles_stream(sorted(tiles.items()), meta, target)


def write_pmtiles(tiles: Mapping[TileKey, bytes], meta: TilesetMetadata, target: Path) -> None:
    """Write a PMTiles v3 archive (Hilbert order, identical tiles shared, run-lengths)."""
    from pmtiles.tile import zxy_to_tileid

    ordered = sorted((zxy_to_tileid(z, x, y), data) for (z, x, y), data in tiles.items())
    write_pmtiles_stream(ordered, meta, target)
