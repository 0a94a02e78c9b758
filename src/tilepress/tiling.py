"""Cutting country polygons into Web Mercator tiles, generalized per zoom with shared borders.

Each zoom level is worked out once for the whole world on that zoom's *grid*: tile units
(1/4096 of a tile) counted from the north-west corner of the world, y down. There the
generalized countries are rounded to integers together, so neighbours keep identical borders,
and repaired part by part. Tiles are then cut from the grid coverage by splitting it into
quadrants level by level (each vertex is visited once per level, not once per tile); only the
points a cut adds along tile edges need rounding afterwards.
"""

from __future__ import annotations

import io
import itertools
import logging
import multiprocessing
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.archives import atomic_path
from tilepress.generalize import (
    Rings,
    around_ring,
    first_shared_edges,
    fixed_points,
    rings_of,
    thin_shared,
)
from tilepress.projection import WEB_MERCATOR_HALF_WORLD, WEB_MERCATOR_MAX_LAT, to_web_mercator
from tilepress.sources import polygonal, split_touching_rings

log = logging.getLogger("tilepress")

EXTENT = 4096
BUFFER = 64  # even (see _cut_pad)
TRACE_UNITS = 16  # a country too small for the grid shows as a square this size (one pixel)
WORLD = 2.0 * WEB_MERCATOR_HALF_WORLD
# Generalization: vertices whose triangle is under (SIMPLIFY_UNITS tile units)^2 go, per zoom;
# 9 square units is 1/28 of a square pixel on a 256-pixel tile, so the change never shows.
SIMPLIFY_UNITS = 3.0
# Thinning stops after a round that removes fewer vertices than this share: later rounds find
# a handful each, and the next zoom's thinning picks up what is left.
THIN_UNTIL_REMOVED = 0.002
UNFOLD_ROUNDS = 4  # rounds of dropping vertices where rounding folded a ring over itself
# An island smaller than this (square tile units: 1/16 of a square pixel on a 256-pixel tile)
# is a speck: below the deepest zoom it leaves the fill (where its country shows nothing else
# in a tile, it gets a one-pixel trace instead). Specks are most of the polygons at low zooms.
SPECK_AREA = 16.0

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Geometries = NDArray[np.object_]


def tile_unit(zoom: int) -> float:
    """Size of one tile coordinate unit (1/4096 of a tile) in Web Mercator metres."""
    return WORLD / (EXTENT * (1 << zoom))


def tile_bounds(zoom: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of tile z/x/y in EPSG:3857 (XYZ scheme, y down from north)."""
    size = WORLD / (1 << zoom)
    minx = -WEB_MERCATOR_HALF_WORLD + x * size
    maxy = WEB_MERCATOR_HALF_WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def to_grid(xy: FloatArray, zoom: int) -> FloatArray:
    """Web Mercator metres to the zoom's grid: tile units from the world's north-west corner."""
    unit = tile_unit(zoom)
    grid = np.empty_like(xy)
    grid[:, 0] = (xy[:, 0] + WEB_MERCATOR_HALF_WORLD) / unit
    grid[:, 1] = (WEB_MERCATOR_HALF_WORLD - xy[:, 1]) / unit
    return grid


@dataclass
class ZoomLevel:
    """One zoom's countries and land borders on the zoom's grid (see the module docstring)."""

    zoom: int
    countries: Geometries  # one valid (Multi)Polygon per source row, possibly empty
    borders: Geometries  # land borders, one (Multi)LineString per pair of neighbours
    border_rows: IntArray  # (n, 2): the two rows of each border, lower first
    collapsed_xy: FloatArray  # (m, 2): where a piece of a country vanished on the grid
    collapsed_rows: IntArray  # (m,): whose piece it was


def thinned_levels(
    mercator: Geometries, zooms: Sequence[int], *, parallel: bool = False
) -> Iterator[tuple[int, Rings]]:
    """The countries thinned for every zoom, deepest first, each from the one below it.

    Vertices whose triangle (Visvalingam's effective area) is under ``SIMPLIFY_UNITS`` squared
    tile units go, identically on both sides of every shared border (:func:`thin_shared`), so
    neighbours keep one common border at every zoom without rebuilding a topology per zoom.
    When the levels go to ``parallel`` worker processes, only the deepest zoom is thinned with
    the helper thread: by the next one, workers are snapping, and both cores are busy.
    """
    rings = rings_of(mercator)
    for zoom in sorted(zooms, reverse=True):
        area = (SIMPLIFY_UNITS * tile_unit(zoom)) ** 2
        helper = not parallel or zoom == max(zooms)
        rings = thin_shared(rings, area, rounds=12, min_removed=THIN_UNTIL_REMOVED, helper=helper)
        yield zoom, rings


def zoom_level(zoom: int, rings: Rings, *, deepest: bool = False) -> ZoomLevel:
    """One zoom's thinned countries on its grid, with their land borders.

    Specks are kept at the ``deepest`` zoom of a build, which clients magnify (overzoom).
    """
    countries, collapsed_xy, collapsed_rows = snap_to_grid(rings, zoom, keep_specks=deepest)
    borders, border_rows = grid_borders(countries)
    return ZoomLevel(zoom, countries, borders, border_rows, collapsed_xy, collapsed_rows)


def _zoom_level_task(task: tuple[int, Rings, bool]) -> ZoomLevel:
    zoom, rings, deepest = task
    return zoom_level(zoom, rings, deepest=deepest)


def generalize_pyramid(
    mercator: Geometries, zooms: Sequence[int], workers: int = 1
) -> dict[int, ZoomLevel]:
    """Every zoom's :class:`ZoomLevel`; levels are snapped on ``workers`` processes."""
    deepest = max(zooms)
    parallel = workers > 1 and len(zooms) > 1 and "fork" in multiprocessing.get_all_start_methods()
    thinned = thinned_levels(mercator, zooms, parallel=parallel)
    tasks = ((zoom, rings, zoom == deepest) for zoom, rings in thinned)
    if parallel:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            done = list(pool.map(_zoom_level_task, tasks))
    else:
        done = [_zoom_level_task(task) for task in tasks]
    return {level.zoom: level for level in done}


def snap_to_grid(
    rings: Rings, zoom: int, *, keep_specks: bool = False
) -> tuple[Geometries, FloatArray, IntArray]:
    """Countries rounded to the zoom's integer grid, valid, with the pieces that vanished.

    All rings round together, so a border shared vertex for vertex stays shared. Where
    rounding folds a ring, the vertices at the fold are dropped from every ring that uses
    them (junctions stay); what that cannot fix is repaired polygon by polygon, and parts of
    one country that came to overlap are merged. Specks (see :func:`_without_specks`) vanish
    unless ``keep_specks``. Returns the countries and where (grid) and whose pieces vanished.
    """
    exact = to_grid(rings.xy, zoom)
    speck_xy, speck_rows = np.empty((0, 2)), np.empty(0, dtype=np.int64)
    if not keep_specks:
        rings, exact, speck_xy, speck_rows = _without_specks(rings, exact)
    snapped = np.rint(exact)
    point = snapped.view(np.complex128).reshape(-1)
    n_polygons = len(rings.polygon_geometry)
    ring_of_vertex = rings.ring_of_vertex
    parts = Rings(snapped, rings.sizes, rings.ring_polygon, np.arange(n_polygons), n_polygons)
    # Where rounding folded a ring over itself, drop the vertices at the fold from every ring
    # that uses them: both sides of a border lose the same ones, so no gap opens between them.
    removed = np.zeros(len(point), dtype=bool)
    point_id, fixed = fixed_points(rings)
    movable = ~fixed[point_id]  # junctions stay: dropping one would open a gap between three
    distinct = _distinct_points(point, rings.sizes, ring_of_vertex, ~removed)
    pieces = parts.keep_vertices(distinct).to_geometries()  # one geometry per polygon
    invalid = ~shapely.is_valid(pieces)
    for _round in range(UNFOLD_ROUNDS):
        if not invalid.any():
            break
        drop = distinct & movable & _near(point, _invalid_spots(pieces[invalid]))
        if not drop.any():
            break
        removed |= drop
        distinct = _distinct_points(point, rings.sizes, ring_of_vertex, ~removed)
        affected = np.union1d(rings.ring_polygon[ring_of_vertex[drop]], np.flatnonzero(invalid))
        pieces[affected] = _polygons(parts, affected, distinct)
        invalid[affected] = ~shapely.is_valid(pieces[affected])
    if invalid.any():  # what unfolding did not fix: repair these polygons one by one
        pieces[invalid] = repair_on_grid(pieces[invalid])
    exterior = np.flatnonzero(np.r_[True, rings.ring_polygon[1:] != rings.ring_polygon[:-1]])
    distinct_count = np.bincount(ring_of_vertex[distinct], minlength=len(rings.sizes))
    survives = distinct_count[exterior] >= 3
    vanished = ~survives | shapely.is_empty(pieces)
    # Where each vanished polygon was: the mean of its exterior ring's vertices.
    on_exterior = np.isin(ring_of_vertex, exterior[vanished])
    polygon_of_vertex = rings.ring_polygon[ring_of_vertex[on_exterior]]
    counts = np.bincount(polygon_of_vertex, minlength=n_polygons)[vanished]
    sums = [
        np.bincount(polygon_of_vertex, weights=exact[on_exterior, axis], minlength=n_polygons)
        for axis in (0, 1)
    ]
    collapsed_xy = np.column_stack([s[vanished] for s in sums]) / np.maximum(counts, 1)[:, None]
    collapsed_rows = rings.polygon_geometry[vanished]
    flat, polygon = shapely.get_parts(pieces, return_index=True)
    flat, row_of_part, merged = _merge_overlapping_parts(flat, rings.polygon_geometry[polygon])
    empty = np.empty(rings.count, dtype=object)
    empty[:] = [shapely.MultiPolygon()] * rings.count
    countries: Geometries = shapely.multipolygons(flat, indices=row_of_part, out=empty)
    # Snap-rounding a merged group can make it touch another group of the same country.
    still = merged[~shapely.is_valid(countries[merged])]
    countries[still] = repair_on_grid(countries[still])
    collapsed_xy = np.concatenate([collapsed_xy, speck_xy])
    collapsed_rows = np.concatenate([collapsed_rows, speck_rows])
    return countries, collapsed_xy, collapsed_rows.astype(np.int64)


def _meeting_pairs(parts: Geometries, group: IntArray) -> tuple[IntArray, IntArray]:
    """Pairs (first < second) of parts of the same ``group`` that touch or overlap."""
    first, second = shapely.STRtree(parts).query(parts)  # boxes that meet
    same = (first < second) & (group[first] == group[second])
    first, second = first[same], second[same]
    # Each pair tested with its larger part prepared: an island against a mainland then costs
    # the island's size, not the mainland's.
    sizes = shapely.get_num_coordinates(parts)
    larger = np.where(sizes[first] >= sizes[second], first, second)
    shapely.prepare(parts[np.unique(larger)])
    meet = shapely.intersects(parts[larger], parts[first + second - larger])
    return first[meet], second[meet]


def _without_specks(
    rings: Rings, grid: FloatArray
) -> tuple[Rings, FloatArray, FloatArray, IntArray]:
    """``rings`` and their ``grid`` points without the specks, and where (grid) and whose
    the specks were.

    A speck is a polygon smaller than ``SPECK_AREA`` that shares no point with any other ring
    (so no enclave, no hole's filling and no land border goes) of a country that keeps a
    larger polygon: a country made only of specks (a micro-state) stays whole here.
    """
    point_id, fixed = fixed_points(rings)
    ring_of_vertex = rings.ring_of_vertex
    polygon_of_vertex = rings.ring_polygon[ring_of_vertex]
    n_polygons = len(rings.polygon_geometry)
    shared = np.bincount(point_id)[point_id] > 1
    touches = np.bincount(polygon_of_vertex[shared], minlength=n_polygons) > 0
    x, y = grid[:, 0], grid[:, 1]
    _x_before, x_after = around_ring(x, rings.sizes)
    _y_before, y_after = around_ring(y, rings.sizes)
    cross = x * y_after - x_after * y
    twice_area = np.bincount(ring_of_vertex, weights=cross, minlength=len(rings.sizes))
    exterior = np.flatnonzero(np.r_[True, rings.ring_polygon[1:] != rings.ring_polygon[:-1]])
    speck = (np.abs(twice_area[exterior]) < 2.0 * SPECK_AREA) & ~touches
    larger = np.bincount(rings.polygon_geometry[~speck], minlength=rings.count) > 0
    speck &= larger[rings.polygon_geometry]
    if not speck.any():
        return rings, grid, np.empty((0, 2)), np.empty(0, dtype=np.int64)
    in_speck = speck[polygon_of_vertex]
    on_exterior = np.zeros(len(rings.sizes), dtype=bool)
    on_exterior[exterior] = True
    at = in_speck & on_exterior[ring_of_vertex]  # where: the mean of the exterior's vertices
    which = polygon_of_vertex[at]
    sums = [np.bincount(which, weights=grid[at, axis], minlength=n_polygons) for axis in (0, 1)]
    counts = np.bincount(which, minlength=n_polygons)[speck]
    speck_xy = np.column_stack([total[speck] for total in sums]) / counts[:, None]
    keep = ~in_speck
    kept = rings.keep_vertices(keep, min_size=1)  # whole polygons go; the rest stays as is
    kept.point_id, kept.fixed = point_id[keep], fixed
    return kept, grid[keep], speck_xy, rings.polygon_geometry[speck]


def _polygons(parts: Rings, polygons: IntArray, keep: NDArray[np.bool_]) -> Geometries:
    """Some polygons (sorted ids) of ``parts``, rebuilt from their ``keep`` vertices."""
    chosen = np.isin(parts.ring_polygon, polygons)
    vertices = chosen[parts.ring_of_vertex]
    subset = Rings(
        parts.xy[vertices],
        parts.sizes[chosen],
        np.searchsorted(polygons, parts.ring_polygon[chosen]),
        np.arange(len(polygons)),
        len(polygons),
    )
    return subset.keep_vertices(keep[vertices]).to_geometries()


def _distinct_points(
    point: NDArray[np.complex128],
    sizes: IntArray,
    ring_of_vertex: IntArray,
    kept: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Kept vertices that differ from the kept vertex before them in their ring."""
    if kept.all():  # the first pass: no gathers needed
        before, _after = around_ring(point, sizes)
        all_distinct: NDArray[np.bool_] = point != before
        return all_distinct
    index = np.flatnonzero(kept)
    kept_sizes = np.bincount(ring_of_vertex[index], minlength=len(sizes)).astype(np.int64)
    before, _after = around_ring(point[index], kept_sizes)
    distinct = np.zeros(len(point), dtype=bool)
    distinct[index[point[index] != before]] = True
    return distinct


def _invalid_spots(geometries: Geometries) -> FloatArray:
    """Every point where the rings of invalid polygons cross or touch (themselves or each
    other), and where GEOS locates any other problem."""
    lines = shapely.get_parts(shapely.node(shapely.boundary(geometries)))
    ends = shapely.get_coordinates(
        np.concatenate([shapely.get_point(lines, 0), shapely.get_point(lines, -1)])
    )
    unique, count = np.unique(ends, axis=0, return_counts=True)
    spots = [_SPOT.search(reason) for reason in shapely.is_valid_reason(geometries)]
    reported = [[float(spot[1]), float(spot[2])] for spot in spots if spot is not None]
    return np.concatenate([unique[count > 2], np.array(reported).reshape(-1, 2)])


_SPOT = re.compile(r"\[(\S+) (\S+)\]")


def _near(point: NDArray[np.complex128], spots: FloatArray) -> NDArray[np.bool_]:
    """Grid points within one unit (either axis) of any spot."""
    cells = np.rint(spots)[:, None, :] + np.array(list(itertools.product((-1, 0, 1), repeat=2)))
    wanted = np.unique(_cell_keys(cells.reshape(-1, 2)))
    if len(wanted) == 0:
        return np.zeros(len(point), dtype=bool)
    keys = _cell_keys(point.view(np.float64).reshape(-1, 2))
    at = np.minimum(np.searchsorted(wanted, keys), len(wanted) - 1)
    found: NDArray[np.bool_] = wanted[at] == keys
    return found


def _cell_keys(grid: FloatArray) -> IntArray:
    """One integer per grid point (coordinates within +/-2**31)."""
    cells = grid.astype(np.int64) + (1 << 31)
    keys: IntArray = (cells[:, 0] << 32) | cells[:, 1]
    return keys


def repair_on_grid(geometries: Geometries) -> Geometries:
    """Make integer-grid polygons valid and keep them on the grid; polygonal parts only.

    Rings that only touch themselves are split (:func:`split_touching_rings`) where that keeps
    every vertex on the grid. For the rest, GEOS's make_valid keeps every vertex and adds
    nodes only where edges cross; only pieces that gained such a node go through GEOS
    snap-rounding, which can close narrow bays.
    """
    split, done = split_touching_rings(geometries)
    done &= _on_grid(split)
    repaired = np.where(done, split, geometries)
    rest = ~done
    if rest.any():
        valid = polygonal(
            shapely.make_valid(geometries[rest], method="structure", keep_collapsed=False)
        )
        off_grid = ~_on_grid(valid)
        if off_grid.any():
            valid[off_grid] = [_snap_one(geometry) for geometry in valid[off_grid]]
        repaired[rest] = valid
    return polygonal(repaired)


def _on_grid(geometries: Geometries) -> NDArray[np.bool_]:
    """Whether every coordinate of each geometry is an integer."""
    coords, index = shapely.get_coordinates(geometries, return_index=True)
    off_grid = np.zeros(len(geometries), dtype=bool)
    off_grid[index[(coords != np.rint(coords)).any(axis=1)]] = True
    return ~off_grid


def _snap_one(geometry: shapely.Geometry) -> shapely.Geometry:
    """Snap one geometry to the integer grid, repairing before and after (valid output)."""
    try:
        snapped = shapely.set_precision(geometry, 1.0)
    except shapely.errors.GEOSException:
        snapped = shapely.set_precision(shapely.make_valid(geometry), 1.0)
    return snapped if snapped.is_valid else shapely.make_valid(snapped)


def _merge_overlapping_parts(
    parts: Geometries, row_of_part: IntArray
) -> tuple[Geometries, IntArray, IntArray]:
    """Valid polygons, sorted by row (country), with those of one row that came to overlap
    or to share more than points merged; the polygons, their rows and the rows merged.

    Parts meeting others of their row form groups (connected through the meeting pairs); a
    country is invalid only where such a group is, so GEOS checks just the groups (a few dozen
    parts; never Canada's thousands) and unions the invalid ones on the grid. A merged group
    takes the place of its first part.
    """
    first, second = _meeting_pairs(parts, row_of_part)
    group = np.arange(len(parts))
    while True:  # connected components: propagate the lowest part number along the pairs
        lowest = group.copy()
        np.minimum.at(lowest, first, group[second])
        np.minimum.at(lowest, second, group[first])
        lowest = lowest[lowest]
        if np.array_equal(lowest, group):
            break
        group = lowest
    grouped = np.flatnonzero(np.bincount(group, minlength=len(parts))[group] > 1)
    if len(grouped) == 0:
        return parts, row_of_part, np.empty(0, dtype=np.int64)
    grouped = grouped[np.argsort(group[grouped], kind="stable")]
    leaders, member_of = np.unique(group[grouped], return_inverse=True)
    valid = shapely.is_valid(shapely.multipolygons(parts[grouped], indices=member_of))
    if valid.all():
        return parts, row_of_part, np.empty(0, dtype=np.int64)
    pieces = parts.copy()
    keep = np.ones(len(parts), dtype=bool)
    for leader in leaders[~valid].tolist():
        members = np.flatnonzero(group == leader)
        keep[members[1:]] = False
        pieces[leader] = shapely.union_all(parts[members], grid_size=1.0)
    merged_parts, index = shapely.get_parts(polygonal(pieces[keep]), return_index=True)
    return merged_parts, row_of_part[keep][index], np.unique(row_of_part[leaders[~valid]])


def grid_borders(countries: Geometries) -> tuple[Geometries, IntArray]:
    """Land borders of a coverage whose neighbours share vertices: one line per pair.

    Each shared edge is taken once, where it first occurs; runs of such edges that follow
    one another around a ring between the same two countries become one line string, so no
    line merging is needed.
    """
    rings = Rings.from_geometries(countries)
    first, low, high = first_shared_edges(rings)
    if len(first) == 0:
        return np.empty(0, dtype=object), np.empty((0, 2), dtype=np.int64)
    pair = low * len(countries) + high  # edges in ring order
    _previous, following = rings.neighbours()
    end = following[first]  # where each edge ends
    new_run = np.r_[True, (first[1:] != end[:-1]) | (pair[1:] != pair[:-1])]
    run = np.cumsum(new_run) - 1
    last = np.flatnonzero(np.r_[new_run[1:], True])  # each run's last edge
    # A run's points: the start of each of its edges, then the end of its last edge.
    vertices = np.insert(first, last + 1, end[last])
    run_of_point = np.insert(run, last + 1, run[last])
    lines = shapely.linestrings(rings.xy[vertices], indices=run_of_point)
    run_pair = pair[new_run]
    by_pair = np.argsort(run_pair, kind="stable")
    pairs, pair_of_run = np.unique(run_pair[by_pair], return_inverse=True)
    borders = shapely.multilinestrings(lines[by_pair], indices=pair_of_run)
    rows = np.column_stack([pairs // len(countries), pairs % len(countries)]).astype(np.int64)
    return borders, rows


def _wrap_copies(geometries: Geometries, zoom: int) -> tuple[Geometries, IntArray]:
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
    pieces, rows = _wrap_copies(geometries, zoom)
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
    again = shapely.lib.clip_by_rect(parents, left, top, right, bottom)
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

    def merge(self, other: ZoomStats) -> None:
        """Add the counts of another part of the same zoom level."""
        self.tiles += other.tiles
        self.features += other.features
        self.bytes += other.bytes
        self.largest_tile = max(self.largest_tile, other.largest_tile)
        self.vertices += other.vertices
        self.traces += other.traces
        self.over_budget += other.over_budget
        self.dropped += other.dropped

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


def dropped_rows(level: ZoomLevel, trace_from: FloatArray) -> list[int]:
    """Rows that vanish from a whole zoom level: every piece fell through the grid and the
    country is not traced yet (its ``trace_from`` zoom is deeper)."""
    shown = ~shapely.is_empty(level.countries)
    lost = np.unique(level.collapsed_rows)
    return [int(row) for row in lost if not shown[row] and trace_from[row] > level.zoom]


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


def prepare_mercator(geometries: Geometries) -> Geometries:
    """WGS 84 country polygons to Web Mercator (clamped at +/-85.0511), valid if they were."""
    mercator = to_web_mercator(geometries)
    # Web Mercator maps each axis monotonically, so a valid polygon stays valid; only those
    # clipped at the latitude limit can come out invalid.
    _west, south, _east, north = shapely.bounds(geometries).T
    clipped = np.flatnonzero((south < -WEB_MERCATOR_MAX_LAT) | (north > WEB_MERCATOR_MAX_LAT))
    invalid = clipped[~shapely.is_valid(mercator[clipped])]
    if len(invalid):
        mercator[invalid] = shapely.make_valid(mercator[invalid])
    return polygonal(mercator)


def _save_arrays(archive: zipfile.ZipFile, prefix: str, arrays: dict[str, NDArray[Any]]) -> None:
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        info = zipfile.ZipInfo(f"{prefix}.{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
        archive.writestr(info, buffer.getvalue(), compress_type=zipfile.ZIP_STORED)


def _wkb_arrays(geometries: Geometries) -> dict[str, NDArray[Any]]:
    blobs = shapely.to_wkb(geometries)
    offsets = np.cumsum([0, *map(len, blobs)]).astype(np.int64)
    return {"offsets": offsets, "wkb": np.frombuffer(b"".join(blobs), dtype=np.uint8)}


def _from_wkb_arrays(offsets: IntArray, wkb: NDArray[np.uint8]) -> Geometries:
    data = wkb.tobytes()
    blobs = [data[start:end] for start, end in itertools.pairwise(offsets.tolist())]
    geometries: Geometries = shapely.from_wkb(np.array(blobs, dtype=object))
    return geometries


def save_pyramid(pyramid: dict[int, ZoomLevel], target: Path) -> None:
    """Store generalized zoom levels (WKB and arrays in a zip with fixed dates: reproducible)."""
    with atomic_path(target) as temporary, zipfile.ZipFile(temporary, "w") as archive:
        for zoom, level in sorted(pyramid.items()):
            for part, geometries in (("countries", level.countries), ("borders", level.borders)):
                _save_arrays(archive, f"z{zoom}.{part}", _wkb_arrays(geometries))
            _save_arrays(
                archive,
                f"z{zoom}",
                {
                    "border_rows": level.border_rows,
                    "collapsed_xy": level.collapsed_xy,
                    "collapsed_rows": level.collapsed_rows,
                },
            )


def load_pyramid(source: Path, zooms: Iterable[int] | None = None) -> dict[int, ZoomLevel]:
    """Read what :func:`save_pyramid` wrote: every zoom, or only ``zooms`` (those stored)."""
    pyramid: dict[int, ZoomLevel] = {}
    with zipfile.ZipFile(source) as archive:

        def load(name: str) -> NDArray[Any]:
            array: NDArray[Any] = np.load(io.BytesIO(archive.read(f"{name}.npy")))
            return array

        stored = {int(name.split(".")[0][1:]) for name in archive.namelist()}
        for zoom in sorted(stored if zooms is None else stored & set(zooms)):
            pyramid[zoom] = ZoomLevel(
                zoom,
                _from_wkb_arrays(
                    load(f"z{zoom}.countries.offsets"), load(f"z{zoom}.countries.wkb")
                ),
                _from_wkb_arrays(load(f"z{zoom}.borders.offsets"), load(f"z{zoom}.borders.wkb")),
                load(f"z{zoom}.border_rows"),
                load(f"z{zoom}.collapsed_xy"),
                load(f"z{zoom}.collapsed_rows"),
            )
    return pyramid
