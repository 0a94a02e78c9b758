"""Cutting country polygons into Web Mercator tiles, generalized per zoom with shared borders."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.projection import WEB_MERCATOR_HALF_WORLD, to_web_mercator
from tilepress.sources import polygonal

log = logging.getLogger("tilepress")

EXTENT = 4096
BUFFER = 64
WORLD = 2.0 * WEB_MERCATOR_HALF_WORLD
# coverage_simplify tolerance in tile units (1/4096 of a tile) at each zoom
SIMPLIFY_UNITS = 1.0


def tile_unit(zoom: int) -> float:
    """Size of one tile coordinate unit (1/4096 of a tile) in Web Mercator metres."""
    return WORLD / (EXTENT * (1 << zoom))


def tile_bounds(zoom: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of tile z/x/y in EPSG:3857 (XYZ scheme, y down from north)."""
    size = WORLD / (1 << zoom)
    minx = -WEB_MERCATOR_HALF_WORLD + x * size
    maxy = WEB_MERCATOR_HALF_WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def generalize(mercator: NDArray[np.object_], zoom: int) -> NDArray[np.object_]:
    """Simplify all countries together (shared borders stay shared) for one zoom level."""
    tolerance = SIMPLIFY_UNITS * tile_unit(zoom)
    simplified: NDArray[np.object_] = shapely.coverage_simplify(mercator, tolerance)
    return polygonal(shapely.make_valid(simplified))


def _wrap_copies(geometries: NDArray[np.object_]) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
    """Geometries plus copies of the strips near 180 degrees moved to the other side.

    Tiles at the map's east and west edges then see their neighbours across the antimeridian
    in their buffer, so fills and strokes meet there without a seam.
    """
    band = WORLD * BUFFER / EXTENT  # the buffer at zoom 0, the widest of any zoom
    half = WEB_MERCATOR_HALF_WORLD
    east = shapely.clip_by_rect(geometries, half - band, -half, half, half)
    west = shapely.clip_by_rect(geometries, -half, -half, -half + band, half)
    east = shapely.transform(east, lambda xy: xy - np.array([WORLD, 0.0]))
    west = shapely.transform(west, lambda xy: xy + np.array([WORLD, 0.0]))
    rows = np.arange(len(geometries))
    keep_east = ~shapely.is_empty(east)
    keep_west = ~shapely.is_empty(west)
    combined = np.concatenate([geometries, east[keep_east], west[keep_west]])
    source_rows = np.concatenate([rows, rows[keep_east], rows[keep_west]])
    return combined, source_rows


@dataclass
class TileGeometry:
    """The clipped, quantized geometries of one tile: tile coordinates, y down, valid, wound."""

    zoom: int
    x: int
    y: int
    rows: NDArray[np.intp]
    geometries: NDArray[np.object_]


@dataclass
class ZoomStats:
    """What one zoom level produced."""

    zoom: int
    tiles: int = 0
    features: int = 0
    bytes: int = 0
    largest_tile: int = 0
    vertices: int = 0
    dropped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "zoom": self.zoom,
            "tiles": self.tiles,
            "features": self.features,
            "bytes": self.bytes,
            "largest_tile_bytes": self.largest_tile,
            "vertices": self.vertices,
            "dropped": sorted(self.dropped),
        }


def to_tile_coordinates(
    geometries: NDArray[np.object_], zoom: int, x: int, y: int
) -> NDArray[np.object_]:
    """Clip to the buffered tile, scale to 0..4096 (y down), snap to the integer grid, repair
    and wind exteriors with positive area (clockwise on screen), as MVT 2.1 requires."""
    minx, miny, maxx, maxy = tile_bounds(zoom, x, y)
    unit = tile_unit(zoom)
    pad = BUFFER * unit
    clipped = shapely.clip_by_rect(geometries, minx - pad, miny - pad, maxx + pad, maxy + pad)
    origin = np.array([minx, maxy])
    scale = np.array([1.0 / unit, -1.0 / unit])
    local = shapely.transform(clipped, lambda xy: (xy - origin) * scale)
    snapped = shapely.set_precision(local, 1.0)
    invalid = ~shapely.is_valid(snapped)
    if invalid.any():
        snapped[invalid] = shapely.set_precision(shapely.make_valid(snapped[invalid]), 1.0)
    snapped = polygonal(snapped)
    oriented: NDArray[np.object_] = shapely.orient_polygons(snapped, exterior_cw=False)
    return oriented


def iter_tile_geometries(
    mercator: NDArray[np.object_],
    zoom: int,
    stats: ZoomStats,
    names: list[str],
) -> Iterator[TileGeometry]:
    """Every non-empty tile of one zoom level, row by row (bounded memory at any zoom)."""
    generalized = generalize(mercator, zoom)
    candidates, source_rows = _wrap_copies(generalized)
    tree = shapely.STRtree(candidates)
    count = 1 << zoom
    pad = BUFFER * tile_unit(zoom)
    xs = np.arange(count)
    lost: set[int] = set()
    present: set[int] = set()
    for y in range(count):
        boxes = [tile_bounds(zoom, int(x), y) for x in xs]
        box_geoms = (
            shapely.box(*np.array(boxes).T) if count > 1 else np.array([shapely.box(*boxes[0])])
        )
        hits = tree.query(
            shapely.buffer(box_geoms, pad, join_style="mitre"), predicate="intersects"
        )
        if hits.size == 0:
            continue
        order = np.lexsort((hits[1], hits[0]))
        tiles_x, candidate_idx = hits[0][order], hits[1][order]
        for x in np.unique(tiles_x):
            picked = candidate_idx[tiles_x == x]
            geoms = to_tile_coordinates(candidates[picked], zoom, int(x), y)
            rows = source_rows[picked]
            empty = shapely.is_empty(geoms)
            lost.update(int(r) for r in rows[empty])
            present.update(int(r) for r in rows[~empty])
            if (~empty).sum() == 0:
                continue
            # A country copied across the antimeridian may appear twice: merge its pieces.
            rows, geoms = _merge_duplicate_rows(rows[~empty], geoms[~empty])
            yield TileGeometry(zoom, int(x), y, rows, geoms)
    stats.dropped = [names[row] for row in sorted(lost - present)]
    if stats.dropped:
        log.info(
            "z%d: %d countries too small to show: %s",
            zoom,
            len(stats.dropped),
            ", ".join(stats.dropped),
        )


def _merge_duplicate_rows(
    rows: NDArray[np.intp], geoms: NDArray[np.object_]
) -> tuple[NDArray[np.intp], NDArray[np.object_]]:
    unique_rows, first = np.unique(rows, return_index=True)
    if len(unique_rows) == len(rows):
        order = np.argsort(rows, kind="stable")
        return rows[order], geoms[order]
    merged = []
    for row in unique_rows:
        parts = geoms[rows == row]
        merged.append(
            parts[0]
            if len(parts) == 1
            else shapely.orient_polygons(
                polygonal(np.array([shapely.set_precision(shapely.union_all(parts), 1.0)]))[0],
                exterior_cw=False,
            )
        )
    del first
    return unique_rows, np.array(merged, dtype=object)


def prepare_mercator(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    """WGS 84 country polygons to valid Web Mercator polygons (clamped at +/-85.0511)."""
    mercator = to_web_mercator(geometries)
    invalid = ~shapely.is_valid(mercator)
    if invalid.any():
        mercator[invalid] = shapely.make_valid(mercator[invalid])
    return polygonal(mercator)


ProgressCallback = Callable[[int, int], None]
