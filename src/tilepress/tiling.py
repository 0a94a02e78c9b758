"""Cutting country polygons into Web Mercator tiles, generalized per zoom with shared borders."""

from __future__ import annotations

import io
import itertools
import logging
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.archives import atomic_path
from tilepress.generalize import Rings, shared_edges, thin_shared
from tilepress.projection import WEB_MERCATOR_HALF_WORLD, to_web_mercator
from tilepress.sources import polygonal

log = logging.getLogger("tilepress")

EXTENT = 4096
BUFFER = 64
TRACE_UNITS = 16  # a country too small for the grid shows as a square this size (one pixel)
WORLD = 2.0 * WEB_MERCATOR_HALF_WORLD
# Generalization: vertices whose triangle is under (SIMPLIFY_UNITS tile units)^2 go, per zoom;
# 2 units is 1/8 of a pixel on a 256-pixel tile, so the change never shows.
SIMPLIFY_UNITS = 2.0


def tile_unit(zoom: int) -> float:
    """Size of one tile coordinate unit (1/4096 of a tile) in Web Mercator metres."""
    return WORLD / (EXTENT * (1 << zoom))


def tile_bounds(zoom: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of tile z/x/y in EPSG:3857 (XYZ scheme, y down from north)."""
    size = WORLD / (1 << zoom)
    minx = -WEB_MERCATOR_HALF_WORLD + x * size
    maxy = WEB_MERCATOR_HALF_WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def generalize_pyramid(mercator: NDArray[np.object_], zooms: Sequence[int]) -> dict[int, Any]:
    """Generalized countries for every zoom, deepest first, each from the one below it.

    Vertices whose triangle (Visvalingam's effective area) is under about a square tile unit
    go, identically on both sides of every shared border (:func:`thin_shared`), so neighbours
    keep one common border at every zoom without rebuilding a topology per zoom.
    """
    rings = Rings.from_geometries(mercator)
    result: dict[int, Any] = {}
    for zoom in sorted(zooms, reverse=True):
        rings = thin_shared(rings, area=(SIMPLIFY_UNITS * tile_unit(zoom)) ** 2, rounds=12)
        geometries = rings.to_geometries()
        invalid = ~shapely.is_valid(geometries)  # a thinned ring may touch itself: repair
        geometries[invalid] = shapely.make_valid(
            geometries[invalid], method="structure", keep_collapsed=False
        )
        result[zoom] = geometries
    return result


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
    traces: NDArray[np.bool_]  # True where a country shows only as a one-pixel marker


@dataclass
class ZoomStats:
    """What one zoom level produced."""

    zoom: int
    tiles: int = 0
    features: int = 0
    bytes: int = 0
    largest_tile: int = 0
    vertices: int = 0
    traces: int = 0
    dropped: list[str] = field(default_factory=list)
    over_budget: list[str] = field(default_factory=list)
    lost: set[int] = field(default_factory=set)  # rows that fell through the grid somewhere
    present: set[int] = field(default_factory=set)  # rows drawn (or traced) somewhere

    def merge(self, other: ZoomStats) -> None:
        """Add the counts of another part of the same zoom level."""
        self.tiles += other.tiles
        self.features += other.features
        self.bytes += other.bytes
        self.largest_tile = max(self.largest_tile, other.largest_tile)
        self.vertices += other.vertices
        self.traces += other.traces
        self.over_budget += other.over_budget
        self.lost |= other.lost
        self.present |= other.present

    def finish(self, names: list[str]) -> None:
        """Name the countries that vanished from the whole zoom level, and log them."""
        self.dropped = [names[row] for row in sorted(self.lost - self.present)]
        if self.dropped:
            log.info(
                "z%d: %d countries too small to show: %s",
                self.zoom,
                len(self.dropped),
                ", ".join(self.dropped),
            )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "zoom": self.zoom,
            "tiles": self.tiles,
            "features": self.features,
            "bytes": self.bytes,
            "largest_tile_bytes": self.largest_tile,
            "vertices": self.vertices,
            "traces": self.traces,
            "dropped": sorted(self.dropped),
            "over_budget": self.over_budget,
        }


def to_tile_coordinates(
    geometries: NDArray[np.object_], zoom: int, x: int, y: int
) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
    """Clip to the buffered tile, scale to 0..4096 (y down), snap to the integer grid, repair
    and wind exteriors with positive area (clockwise on screen), as MVT 2.1 requires.

    Returns the clipped geometries before snapping (tile units) and the final ones.
    """
    minx, miny, maxx, maxy = tile_bounds(zoom, x, y)
    unit = tile_unit(zoom)
    pad = BUFFER * unit
    clipped = shapely.clip_by_rect(geometries, minx - pad, miny - pad, maxx + pad, maxy + pad)
    origin = np.array([minx, maxy])
    scale = np.array([1.0 / unit, -1.0 / unit])
    local = shapely.transform(clipped, lambda xy: (xy - origin) * scale)
    try:
        snapped = shapely.set_precision(local, 1.0)
    except shapely.errors.GEOSException:  # an invalid piece GEOS cannot snap: repair first
        snapped = np.array([_snap_one(geometry) for geometry in local], dtype=object)
    invalid = ~shapely.is_valid(snapped)
    if invalid.any():
        snapped[invalid] = np.array([_snap_one(g) for g in local[invalid]], dtype=object)
    snapped = polygonal(snapped)
    oriented: NDArray[np.object_] = shapely.orient_polygons(snapped, exterior_cw=False)
    return local, oriented


def _snap_one(geometry: shapely.Geometry) -> shapely.Geometry:
    """Repair one piece, then snap it to the integer grid (valid output)."""
    repaired = polygonal(np.array([shapely.make_valid(geometry)], dtype=object))[0]
    snapped = shapely.set_precision(repaired, 1.0)
    return snapped if snapped.is_valid else shapely.make_valid(snapped)


def _trace(geometry: shapely.Geometry) -> shapely.Geometry:
    """A one-pixel square where a country too small for the grid lies (tile coordinates)."""
    point = shapely.point_on_surface(geometry)
    x, y = np.clip(np.floor([point.x, point.y]), 0, EXTENT - TRACE_UNITS)
    return shapely.orient_polygons(
        shapely.box(x, y, x + TRACE_UNITS, y + TRACE_UNITS), exterior_cw=False
    )


def iter_tile_geometries(
    generalized: NDArray[np.object_],
    zoom: int,
    stats: ZoomStats,
    trace_from: NDArray[np.float64] | None = None,
    tile_rows: range | None = None,
) -> Iterator[TileGeometry]:
    """Every non-empty tile of one zoom level (or of ``tile_rows`` of it), row by row.

    Memory stays bounded at any zoom; call ``stats.finish`` once all rows are done.

    A country whose every piece in a tile is smaller than the grid keeps a one-pixel trace
    there from its ``trace_from`` zoom on (Natural Earth's MIN_ZOOM; default: every zoom);
    below it, it is dropped and named in ``stats.dropped``.
    """
    candidates, source_rows = _wrap_copies(generalized)
    tree = shapely.STRtree(candidates)
    count = 1 << zoom
    pad = BUFFER * tile_unit(zoom)
    traced_rows = (
        np.ones(len(generalized), dtype=bool) if trace_from is None else trace_from <= zoom
    )
    core = shapely.box(0, 0, EXTENT, EXTENT)
    lost, present = stats.lost, stats.present
    for y in tile_rows if tile_rows is not None else range(count):
        boxes = np.array([tile_bounds(zoom, x, y) for x in range(count)])
        hits = tree.query(shapely.box(*(boxes + np.array([-pad, -pad, pad, pad])).T))
        if hits.size == 0:
            continue
        order = np.lexsort((hits[1], hits[0]))
        tiles_x, candidate_idx = hits[0][order], hits[1][order]
        for x in np.unique(tiles_x):
            picked = candidate_idx[tiles_x == x]
            local, geoms = to_tile_coordinates(candidates[picked], zoom, int(x), y)
            rows = source_rows[picked]
            empty = shapely.is_empty(geoms)
            # Pieces that fell through the grid, though the country reaches into the tile.
            collapsed = empty & shapely.intersects(local, core) & ~shapely.is_empty(local)
            kept = ~empty | (collapsed & traced_rows[rows])
            present.update(int(r) for r in rows[kept])
            lost.update(int(r) for r in rows[collapsed & ~kept])
            if not kept.any():
                continue
            traces = np.zeros(len(rows), dtype=bool)
            for index in np.flatnonzero(collapsed & kept):
                geoms[index] = _trace(local[index])
                traces[index] = True
            rows, geoms, traces = _merge_duplicate_rows(rows[kept], geoms[kept], traces[kept])
            yield TileGeometry(zoom, int(x), y, rows, geoms, traces)


def _merge_duplicate_rows(
    rows: NDArray[np.intp], geoms: NDArray[np.object_], traces: NDArray[np.bool_]
) -> tuple[NDArray[np.intp], NDArray[np.object_], NDArray[np.bool_]]:
    """Features in row order. A country copied across 180 degrees keeps its pieces as separate
    features (they only touch along the antimeridian); a trace goes where a real piece shows."""
    has_real = np.isin(rows, rows[~traces])
    keep = ~traces | ~has_real
    _unique, first = np.unique(rows, return_index=True)
    keep &= ~traces | np.isin(np.arange(len(rows)), first)  # at most one trace per country
    order = np.argsort(rows[keep], kind="stable")
    return rows[keep][order], geoms[keep][order], traces[keep][order]


def prepare_mercator(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    """WGS 84 country polygons to valid Web Mercator polygons (clamped at +/-85.0511)."""
    mercator = to_web_mercator(geometries)
    invalid = ~shapely.is_valid(mercator)
    if invalid.any():
        mercator[invalid] = shapely.make_valid(mercator[invalid])
    return polygonal(mercator)


def border_lines(
    rows: NDArray[np.intp], geometries: NDArray[np.object_]
) -> list[tuple[int, int, shapely.Geometry]]:
    """Land borders in one tile: (row a, row b, lines) for each pair of countries that touch.

    Taken from the tile's own snapped polygons, so lines and fills agree exactly; a style
    draws borders from them without seams along tile edges.
    """
    if len(geometries) < 2:
        return []
    rings = Rings.from_geometries(geometries)
    starts, ends, a, b = shared_edges(rings)
    if len(starts) == 0:
        return []
    keep = rows[a] != rows[b]  # pieces of one country on both sides of 180 share no border
    starts, ends, a, b = starts[keep], ends[keep], a[keep], b[keep]
    if len(starts) == 0:
        return []
    segments = shapely.linestrings(np.stack([starts, ends], axis=1))
    pairs = a * len(geometries) + b
    result = []
    for pair in np.unique(pairs):
        mine = segments[pairs == pair]
        lines = shapely.line_merge(shapely.multilinestrings(mine))
        first, second = int(pair) // len(geometries), int(pair) % len(geometries)
        result.append((int(rows[first]), int(rows[second]), lines))
    return result


def save_pyramid(pyramid: dict[int, NDArray[np.object_]], target: Path) -> None:
    """Store generalized geometries per zoom (WKB in a zip with fixed dates: reproducible)."""
    with atomic_path(target) as temporary, zipfile.ZipFile(temporary, "w") as archive:
        for zoom, geometries in sorted(pyramid.items()):
            blobs = shapely.to_wkb(geometries)
            offsets = np.cumsum([0, *map(len, blobs)]).astype(np.int64)
            for name, array in (
                ("offsets", offsets),
                ("wkb", np.frombuffer(b"".join(blobs), dtype=np.uint8)),
            ):
                buffer = io.BytesIO()
                np.save(buffer, array, allow_pickle=False)
                info = zipfile.ZipInfo(f"z{zoom}.{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                archive.writestr(info, buffer.getvalue(), compress_type=zipfile.ZIP_STORED)


def load_pyramid(source: Path) -> dict[int, NDArray[np.object_]]:
    """Read what :func:`save_pyramid` wrote."""
    pyramid: dict[int, NDArray[np.object_]] = {}
    with zipfile.ZipFile(source) as archive:
        zooms = sorted({int(name.split(".")[0][1:]) for name in archive.namelist()})
        for zoom in zooms:
            offsets = np.load(io.BytesIO(archive.read(f"z{zoom}.offsets.npy")))
            data = np.load(io.BytesIO(archive.read(f"z{zoom}.wkb.npy"))).tobytes()
            blobs = [data[start:end] for start, end in itertools.pairwise(offsets)]
            pyramid[zoom] = shapely.from_wkb(np.array(blobs, dtype=object))
    return pyramid
