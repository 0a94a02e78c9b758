"""Cutting one zoom's grid coverage into buffered tiles: quadrant by quadrant, half a unit off
the grid lines, with copies across the antimeridian, recut where rounding pinches a ring,
wound for MVT, and one-pixel traces for countries too small for the tile."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.tiles.grid import BUFFER, EXTENT, FloatArray, Geometries, IntArray, ZoomLevel
from tilepress.tiles.snap import repair_on_grid

TRACE_UNITS = 16  # a country too small for the grid shows as a square this size (one pixel)


def wrap_copies(geometries: Geometries, zoom: int) -> tuple[Geometries, IntArray]:
    """Geometries plus copies of the strips near 180 degrees moved to the other side.

    Tiles at the map's east and west edges then see their neighbours across the antimeridian
    in their buffer, so fills and strokes meet there without a seam.
    """
    width = float(EXTENT << zoom)
    minx, _miny, maxx, _maxy = shapely.bounds(geometries).T
    # Only the few geometries reaching into a strip are clipped (GEOS would walk them all).
    east_rows = np.flatnonzero(maxx > width - BUFFER)
    west_rows = np.flatnonzero(minx < BUFFER)
    east = shapely.clip_by_rect(
        geometries[east_rows], width - BUFFER, -BUFFER, width, width + BUFFER
    )
    west = shapely.clip_by_rect(geometries[west_rows], 0.0, -BUFFER, BUFFER, width + BUFFER)
    east = shapely.transform(east, lambda xy: xy - np.array([width, 0.0]))
    west = shapely.transform(west, lambda xy: xy + np.array([width, 0.0]))
    keep_east = ~shapely.is_empty(east)
    keep_west = ~shapely.is_empty(west)
    combined = np.concatenate([geometries, east[keep_east], west[keep_west]])
    rows = np.arange(len(geometries), dtype=np.int64)
    source_rows = np.concatenate([rows, east_rows[keep_east], west_rows[keep_west]])
    return combined, source_rows


@dataclass
class TilePieces:
    """Geometries cut to tiles: tile x, y, source row, geometry in tile coordinates (y down),
    sorted by tile (row by row) then source row; for cut pieces, each one's parent (in grid
    coordinates), the geometry its tile's buffered square was cut from."""

    x: IntArray
    y: IntArray
    rows: IntArray
    geometries: Geometries
    parents: Geometries | None = None

    def tiles(self) -> Iterator[tuple[int, int, slice]]:
        """(x, y, slice of this tile's pieces) for every tile with pieces."""
        if len(self.rows) == 0:
            return
        key = self.y * (1 << 32) + self.x
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        ends = np.r_[starts[1:], len(key)]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            yield int(self.x[start]), int(self.y[start]), slice(start, end)


def cut_to_tiles(geometries: Geometries, zoom: int, tile_rows: range) -> TilePieces:
    """Cut grid geometries into the buffered tiles of ``tile_rows`` of a zoom level.

    The world is split into quadrants one level at a time, so each level clips every vertex
    once. Every cut runs between grid lines (half a unit off), so no vertex ever lies on one:
    GEOS's rectangle clip can return invalid pieces for a ring touching the cut line. The
    last cut runs half a unit inside the buffer's edge (``BUFFER`` is even), and the points it
    adds round outwards onto that edge (half to even), where no vertex of the piece lies.
    Nothing is repaired here.
    """
    pieces, rows = wrap_copies(geometries, zoom)
    keep = ~shapely.is_empty(pieces)
    pieces, rows = pieces[keep], rows[keep]
    tx = np.zeros(len(pieces), dtype=np.int64)
    ty = np.zeros(len(pieces), dtype=np.int64)
    parents = pieces
    for level in range(zoom + 1):
        span = float(EXTENT << (zoom - level))  # a tile of this level, in grid units
        below = 1 << (zoom - level)  # tile rows of the target zoom under one of this level
        if level > 0:
            rows, tx, ty = (np.repeat(a, 4) for a in (rows, tx, ty))
            pieces = np.repeat(pieces, 4)
            tx = 2 * tx + np.tile([0, 1, 0, 1], len(tx) // 4)
            ty = 2 * ty + np.tile([0, 0, 1, 1], len(ty) // 4)
        # One unit more per level above the target zoom, so each cut lies outside the next.
        pad = _cut_pad(BUFFER + (zoom - level))
        minx, miny, maxx, maxy = shapely.bounds(pieces).T
        left, top = tx * span - pad, ty * span - pad
        right, bottom = left + span + 2 * pad, top + span + 2 * pad
        wanted = (
            (minx <= right)
            & (maxx >= left)
            & (miny <= bottom)
            & (maxy >= top)
            & ((ty + 1) * below > tile_rows.start)
            & (ty * below < tile_rows.stop)
        )
        pieces, rows, tx, ty = pieces[wanted], rows[wanted], tx[wanted], ty[wanted]
        parents = pieces
        # Only pieces reaching over the cut lines are clipped (GEOS would copy the others).
        over = np.flatnonzero(
            ((minx < left) | (maxx > right) | (miny < top) | (maxy > bottom))[wanted]
        )
        cuts = (edge[wanted][over] for edge in (left, top, right, bottom))
        pieces = pieces.copy()
        # shapely.lib.clip_by_rect is shapely's private ufunc: unlike the public
        # shapely.clip_by_rect, which takes one rectangle, it broadcasts a rectangle per
        # geometry, so every piece of a level is clipped to its own quadrant in one call.
        # pyproject.toml bounds shapely below 2.3, the next release this was not checked with.
        pieces[over] = shapely.lib.clip_by_rect(pieces[over], *cuts)
        kept = ~shapely.is_empty(pieces)
        if not kept.all():
            pieces, rows, tx, ty, parents = (a[kept] for a in (pieces, rows, tx, ty, parents))
    order = np.lexsort((rows, tx, ty))
    tx, ty = tx[order], ty[order]
    return TilePieces(tx, ty, rows[order], _in_tile_units(pieces[order], tx, ty), parents[order])


def _in_tile_units(pieces: Geometries, tx: IntArray, ty: IntArray) -> Geometries:
    """Grid geometries moved into their tiles' coordinates and rounded to integers."""
    coords, index = shapely.get_coordinates(pieces, return_index=True)
    coords[:, 0] -= (tx * EXTENT).astype(np.float64)[index]  # a column at a time: no (n, 2)
    coords[:, 1] -= (ty * EXTENT).astype(np.float64)[index]  # temporaries
    np.rint(coords, out=coords)
    moved: Geometries = shapely.set_coordinates(pieces.copy(), coords)
    return moved


# Where rounding the points of a cut pinches a ring (a sliver under a unit wide crosses the
# buffer's edge), the tile is cut again with buffers this many units narrower, where no fill
# is drawn, before GEOS repairs what is left (even steps: see :func:`_cut_pad`). On Natural
# Earth to z6 that is about 20 tiles of 3,300; recutting fixes all but one or two.
RECUT_STEPS = (2, 4, 6)


def _cut_pad(buffer: int) -> float:
    """Where to cut for a buffer of ``buffer`` units: half a unit inside it. For an even
    buffer the points the cut adds then round (half to even) outwards onto the buffer's
    edge, away from every vertex of the piece."""
    return buffer - 0.5


def make_tile_polygons_valid(pieces: TilePieces) -> Geometries:
    """Valid polygons from the pieces, wound for MVT: exteriors with positive area in tile
    coordinates (clockwise on screen), holes negative.

    A piece lying strictly inside the buffered tile was never cut (every cut above it ran
    further out), so it is a valid piece of the grid coverage and is not checked again. In a
    tile where rounding its cut points made a piece invalid, all cut pieces are cut again with
    a slightly narrower buffer (see ``RECUT_STEPS``; all alike, so neighbours still meet on
    the new edge at the same points), and only what that does not fix is repaired.
    """
    geometries = pieces.geometries
    minx, miny, maxx, maxy = shapely.bounds(geometries).T
    cut = np.flatnonzero(
        ~((minx > -BUFFER) & (miny > -BUFFER) & (maxx < EXTENT + BUFFER) & (maxy < EXTENT + BUFFER))
    )
    invalid = cut[~shapely.is_valid(geometries[cut])]
    if len(invalid):
        geometries = geometries.copy()
    parents = pieces.parents
    if len(invalid) and parents is not None:
        tile = pieces.y * (1 << 32) + pieces.x
        redo = cut[np.isin(tile[cut], tile[invalid])]  # every cut piece of those tiles
        for narrower in RECUT_STEPS:
            again = _recut(parents[redo], pieces.x[redo], pieces.y[redo], BUFFER - narrower)
            failed = np.isin(tile[redo], tile[redo][~shapely.is_valid(again)])
            geometries[redo[~failed]] = again[~failed]
            redo = redo[failed]
            if len(redo) == 0:
                break
        invalid = np.intersect1d(invalid, redo)  # tiles left as first cut
    if len(invalid):
        geometries[invalid] = repair_on_grid(geometries[invalid])
    oriented: Geometries = shapely.orient_polygons(geometries, exterior_cw=False)
    return oriented


def _recut(parents: Geometries, tx: IntArray, ty: IntArray, buffer: int) -> Geometries:
    """Pieces of tiles ``tx``, ``ty`` cut again from their parents, with another (even)
    buffer."""
    pad = _cut_pad(buffer)
    left, top = tx * float(EXTENT) - pad, ty * float(EXTENT) - pad
    right, bottom = left + EXTENT + 2 * pad, top + EXTENT + 2 * pad
    again = shapely.lib.clip_by_rect(parents, left, top, right, bottom)  # see cut_to_tiles
    return _in_tile_units(again, tx, ty)


@dataclass
class TileGeometry:
    """One tile's countries and borders: tile coordinates, y down, valid, wound."""

    zoom: int
    x: int
    y: int
    rows: IntArray
    geometries: Geometries
    traces: NDArray[np.bool_]  # True where a country shows only as a one-pixel marker
    border_rows: IntArray  # (k, 2)
    borders: Geometries


def iter_tiles(
    level: ZoomLevel, tile_rows: range, trace_from: FloatArray | None = None
) -> Iterator[TileGeometry]:
    """Every non-empty tile of ``tile_rows`` of one zoom level, row by row.

    A country all of whose pieces in a tile are smaller than the grid keeps a one-pixel trace
    there from its ``trace_from`` zoom on (Natural Earth's MIN_ZOOM; default: every zoom).
    """
    zoom = level.zoom
    fills = cut_to_tiles(level.countries, zoom, tile_rows)
    geometries = make_tile_polygons_valid(fills)
    real = ~shapely.is_empty(geometries)
    lines = cut_to_tiles(level.borders, zoom, tile_rows)
    traces = _traces(level, tile_rows, trace_from, fills, real)
    by_tile: dict[tuple[int, int], list[Any]] = {}
    for x, y, part in fills.tiles():
        by_tile[(x, y)] = [part, None, None]
    for x, y, part in lines.tiles():
        by_tile.setdefault((x, y), [None, None, None])[1] = part
    for x, y, part in traces.tiles():
        by_tile.setdefault((x, y), [None, None, None])[2] = part
    no_rows = np.empty(0, dtype=np.int64)
    no_geometries = np.empty(0, dtype=object)
    for (x, y), (fill, line, trace) in sorted(by_tile.items(), key=lambda item: item[0][::-1]):
        rows, geoms, is_trace = no_rows, no_geometries, np.empty(0, dtype=bool)
        if fill is not None:
            shown = real[fill]
            rows, geoms = fills.rows[fill][shown], geometries[fill][shown]
            is_trace = np.zeros(len(rows), dtype=bool)
        if trace is not None:
            rows = np.concatenate([rows, traces.rows[trace]])
            geoms = np.concatenate([geoms, traces.geometries[trace]])
            is_trace = np.concatenate([is_trace, np.ones(trace.stop - trace.start, dtype=bool)])
            order = np.argsort(rows, kind="stable")
            rows, geoms, is_trace = rows[order], geoms[order], is_trace[order]
        border_rows, borders = np.empty((0, 2), dtype=np.int64), no_geometries
        if line is not None:
            border_rows, borders = level.border_rows[lines.rows[line]], lines.geometries[line]
        if len(rows) or len(borders):
            yield TileGeometry(zoom, x, y, rows, geoms, is_trace, border_rows, borders)


def _traces(
    level: ZoomLevel,
    tile_rows: range,
    trace_from: FloatArray | None,
    fills: TilePieces,
    real: NDArray[np.bool_],
) -> TilePieces:
    """One-pixel squares for countries that vanished from a tile they reach into."""
    xy, rows = level.collapsed_xy, level.collapsed_rows
    if trace_from is not None:
        traced = trace_from[rows] <= level.zoom
        xy, rows = xy[traced], rows[traced]
    count = 1 << level.zoom
    tile = np.clip(np.floor(xy / EXTENT).astype(np.int64), 0, count - 1)
    inside = (tile[:, 1] >= tile_rows.start) & (tile[:, 1] < tile_rows.stop)
    xy, rows, tile = xy[inside], rows[inside], tile[inside]
    # Not where the country shows anyway, and once per tile and country.
    key = (tile[:, 1] * count + tile[:, 0]) * (1 << 20) + rows
    shown = (fills.y[real] * count + fills.x[real]) * (1 << 20) + fills.rows[real]
    _unique, first = np.unique(key, return_index=True)
    first = first[~np.isin(key[first], shown)]
    corner = np.clip(np.floor(xy[first] - tile[first] * EXTENT), 0, EXTENT - TRACE_UNITS)
    squares = shapely.box(
        corner[:, 0], corner[:, 1], corner[:, 0] + TRACE_UNITS, corner[:, 1] + TRACE_UNITS
    )  # counter-clockwise in tile coordinates: positive area, as MVT wants
    order = np.lexsort((rows[first], tile[first, 0], tile[first, 1]))
    return TilePieces(
        tile[first, 0][order], tile[first, 1][order], rows[first][order], squares[order]
    )
