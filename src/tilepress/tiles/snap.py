"""Rounding a zoom's thinned countries to its integer grid, all together, and keeping them
valid: folds dropped from every ring that uses them, specks set aside, what is left repaired
on the grid, parts of one country that came to overlap merged."""

from __future__ import annotations

import itertools
import re

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.geometry.rings import Rings, around_ring
from tilepress.geometry.shared import fixed_points
from tilepress.sources.repair import polygonal, split_touching_rings
from tilepress.tiles.grid import FloatArray, Geometries, IntArray, to_grid

UNFOLD_ROUNDS = 4  # rounds of dropping vertices where rounding folded a ring over itself
# An island smaller than this (square tile units: 1/16 of a square pixel on a 256-pixel tile)
# is a speck: below the deepest zoom it leaves the fill (where its country shows nothing else
# in a tile, it gets a one-pixel trace instead). Specks are most of the polygons at low zooms.
SPECK_AREA = 16.0


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
