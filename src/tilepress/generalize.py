"""Generalization helpers shared by the tiles and the print map: polygons as ring arrays and
topology-preserving thinning that treats every shared border the same on both sides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class Rings:
    """Polygonal geometries as arrays: ring vertices without the closing repeat."""

    xy: FloatArray  # (n, 2)
    sizes: IntArray  # vertices per ring
    ring_polygon: IntArray  # polygon of each ring (its first ring is the exterior)
    polygon_geometry: IntArray  # geometry (row) of each polygon
    count: int  # number of geometries
    # Known from thinning (:func:`fixed_points` of these rings), else None: the point id of
    # each vertex, and per point id whether the point must stay.
    point_id: IntArray | None = None
    fixed: NDArray[np.bool_] | None = None

    @classmethod
    def from_geometries(cls, geometries: NDArray[np.object_]) -> Rings:
        """Flatten Polygons and MultiPolygons (empty ones allowed)."""
        kind, coords, offsets = shapely.to_ragged_array(geometries, include_z=False)
        if kind == shapely.GeometryType.POLYGON:
            ring_offsets, polygon_rings = offsets
            geometry_polygons = np.arange(len(geometries) + 1)
        else:
            ring_offsets, polygon_rings, geometry_polygons = offsets
        closing = np.asarray(ring_offsets[1:], dtype=np.int64) - 1
        keep = np.ones(len(coords), dtype=bool)
        keep[closing] = False
        rings_per_polygon = np.diff(polygon_rings)
        polygon_geometry = np.repeat(
            np.arange(len(geometry_polygons) - 1), np.diff(geometry_polygons)
        )
        non_empty = rings_per_polygon > 0  # an empty Polygon arrives as a polygon without rings
        return cls(
            xy=np.ascontiguousarray(coords[keep], dtype=np.float64),
            sizes=np.diff(ring_offsets).astype(np.int64) - 1,
            ring_polygon=np.repeat(np.arange(int(non_empty.sum())), rings_per_polygon[non_empty]),
            polygon_geometry=polygon_geometry[non_empty].astype(np.int64),
            count=len(geometries),
        )

    @property
    def starts(self) -> IntArray:
        """Index of each ring's first vertex."""
        return np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)

    @property
    def ring_of_vertex(self) -> IntArray:
        """Ring index of each vertex."""
        return np.repeat(np.arange(len(self.sizes)), self.sizes)

    def neighbours(self) -> tuple[IntArray, IntArray]:
        """Index of the previous and the next vertex of each vertex, around its ring."""
        return ring_neighbours(self.sizes)

    def densified(self, step: float) -> Rings:
        """Split every edge longer than ``step`` evenly (as :func:`shapely.segmentize` does).

        New points are computed from the edge's lexicographically smaller end, so a border
        shared by two rings (walked in opposite directions) gets bit-identical points.
        """
        _previous, following = self.neighbours()
        start, end = self.xy, self.xy[following]
        delta = end - start
        pieces = np.maximum(np.ceil(np.hypot(delta[:, 0], delta[:, 1]) / step), 1).astype(np.int64)
        if (pieces == 1).all():
            return self
        source = np.repeat(np.arange(len(self.xy)), pieces)
        step_number = np.arange(len(source)) - (np.cumsum(pieces) - pieces)[source]
        swap = (start[:, 0] > end[:, 0]) | ((start[:, 0] == end[:, 0]) & (start[:, 1] > end[:, 1]))
        low = np.where(swap[:, None], end, start)[source]
        high = np.where(swap[:, None], start, end)[source]
        counted = np.where(swap[source], pieces[source] - step_number, step_number)
        xy = low + (counted / pieces[source])[:, None] * (high - low)
        xy[step_number == 0] = self.xy  # the original vertices stay exact
        sizes = np.bincount(self.ring_of_vertex[source], minlength=len(self.sizes))
        return Rings(
            xy, sizes.astype(np.int64), self.ring_polygon, self.polygon_geometry, self.count
        )

    def keep_vertices(self, keep: NDArray[np.bool_], min_size: int = 3) -> Rings:
        """Drop vertices, then rings left with too few, then polygons without their exterior."""
        if len(self.sizes) == 0:
            return self
        ring = self.ring_of_vertex
        sizes = np.bincount(ring[keep], minlength=len(self.sizes)).astype(np.int64)
        ring_ok = sizes >= min_size
        n_polygons = len(self.polygon_geometry)
        exterior = np.full(n_polygons, -1, dtype=np.int64)
        first = np.flatnonzero(np.r_[True, self.ring_polygon[1:] != self.ring_polygon[:-1]])
        exterior[self.ring_polygon[first]] = first
        polygon_ok = np.zeros(n_polygons, dtype=bool)
        has = exterior >= 0
        polygon_ok[has] = ring_ok[exterior[has]]
        ring_ok &= polygon_ok[self.ring_polygon]
        polygon_ok &= np.bincount(self.ring_polygon[ring_ok], minlength=n_polygons) > 0
        new_polygon = np.cumsum(polygon_ok) - 1
        return Rings(
            xy=self.xy[keep & ring_ok[ring]],
            sizes=sizes[ring_ok],
            ring_polygon=new_polygon[self.ring_polygon[ring_ok]],
            polygon_geometry=self.polygon_geometry[polygon_ok],
            count=self.count,
        )

    def to_geometries(self) -> NDArray[np.object_]:
        """Rebuild one MultiPolygon (possibly empty) per geometry."""
        n, rings = len(self.xy), len(self.sizes)
        ring_offsets = np.concatenate([[0], np.cumsum(self.sizes + 1)]).astype(np.int64)
        coords = np.empty((n + rings, 2))
        coords[np.arange(n) + self.ring_of_vertex] = self.xy
        coords[ring_offsets[1:] - 1] = self.xy[self.starts]
        polygon_rings = np.bincount(self.ring_polygon, minlength=len(self.polygon_geometry))
        geometry_polygons = np.bincount(self.polygon_geometry, minlength=self.count)
        result: NDArray[np.object_] = shapely.from_ragged_array(
            shapely.GeometryType.MULTIPOLYGON,
            coords,
            (
                ring_offsets,
                np.concatenate([[0], np.cumsum(polygon_rings)]),
                np.concatenate([[0], np.cumsum(geometry_polygons)]),
            ),
        )
        return result

    def vertex_ranges(self) -> IntArray:
        """Offsets (count + 1) of each geometry's vertices in ``xy``."""
        ring_geometry = self.polygon_geometry[self.ring_polygon]
        per_geometry = np.bincount(ring_geometry, weights=self.sizes, minlength=self.count)
        return np.concatenate([[0], np.cumsum(per_geometry)]).astype(np.int64)


def ring_neighbours(sizes: IntArray) -> tuple[IntArray, IntArray]:
    """Previous and next vertex of each vertex of rings stored one after another."""
    n = int(sizes.sum())
    starts = (np.cumsum(sizes) - sizes)[sizes > 0]
    ends = starts + sizes[sizes > 0] - 1
    previous = np.arange(-1, n - 1, dtype=np.int64)
    following = np.arange(1, n + 1, dtype=np.int64)
    previous[starts] = ends
    following[ends] = starts
    return previous, following


def _mix(bits: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """MurmurHash3's 64-bit finalizer: every input bit reaches every output bit (coordinates
    on an integer grid differ only in a few high bits, which a plain multiply would keep)."""
    with np.errstate(over="ignore"):
        bits = bits ^ (bits >> np.uint64(33))
        bits *= np.uint64(0xFF51AFD7ED558CCD)
        bits ^= bits >> np.uint64(33)
        bits *= np.uint64(0xC4CEB9FE1A85EC53)
        bits ^= bits >> np.uint64(33)
    return bits


def point_ids(xy: FloatArray) -> tuple[IntArray, IntArray, IntArray]:
    """Ids of equal points: (sort order, id of each vertex, start of each id in the order).

    Points are grouped by a 64-bit hash of their coordinates' bits (one integer sort), then
    checked: if two different points ever share a hash, they are sorted by their coordinates
    instead, so equal ids always mean equal points.
    """
    bits = np.ascontiguousarray(xy + 0.0).view(np.uint64)  # + 0.0 turns -0.0 into 0.0
    key = _mix(_mix(bits[:, 0]) ^ bits[:, 1])
    order = np.argsort(key)
    sorted_key = key[order]
    new_group = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
    repeat = order[np.flatnonzero(~new_group)]  # each equal to the point sorted before it?
    if (bits[repeat] != bits[order[np.flatnonzero(~new_group) - 1]]).any():  # a collision
        order = np.lexsort((bits[:, 1], bits[:, 0]))
        sorted_bits = bits[order]
        new_group = np.r_[True, (sorted_bits[1:] != sorted_bits[:-1]).any(axis=1)]
    point = np.empty(len(xy), dtype=np.int64)
    point[order] = np.cumsum(new_group) - 1
    return order, point, np.flatnonzero(new_group)


def around_ring(values: NDArray[Any], sizes: IntArray) -> tuple[NDArray[Any], NDArray[Any]]:
    """Each vertex's previous and next value around its ring (shifted copies, no gathers)."""
    starts = (np.cumsum(sizes) - sizes)[sizes > 0]
    ends = starts + sizes[sizes > 0] - 1
    before, after = np.empty_like(values), np.empty_like(values)
    before[1:], after[:-1] = values[:-1], values[1:]
    before[starts], after[ends] = values[ends], values[starts]
    return before, after


def fixed_points(rings: Rings) -> tuple[IntArray, NDArray[np.bool_]]:
    """Point id of each vertex, and per point whether it must stay: a junction of borders and
    coastlines (its neighbours differ between the rings using it, or more than two use it), or
    its ring's anchor (lowest point id), so that no ring can lose all its vertices.

    Rings that come out of :func:`thin_shared` carry both: thinning removes a point from every
    ring at once, so what is a junction stays one, ids keep their order (the anchors stay),
    and recomputing them would give the same answer.
    """
    if rings.point_id is not None and rings.fixed is not None:
        return rings.point_id, rings.fixed
    order, point, group_start = point_ids(rings.xy)
    n_points = len(group_start)
    sizes = rings.sizes
    point_before, point_after = around_ring(point, sizes)
    pair = (
        np.minimum(point_before, point_after) * n_points + np.maximum(point_before, point_after)
    )[order]
    uses = np.diff(np.r_[group_start, len(order)])
    fixed = (np.minimum.reduceat(pair, group_start) != np.maximum.reduceat(pair, group_start)) | (
        uses > 2
    )
    fixed[np.minimum.reduceat(point, (np.cumsum(sizes) - sizes)[sizes > 0])] = True  # anchors
    return point, fixed


def thin_shared(rings: Rings, area: float, rounds: int = 8, min_removed: float = 0.0) -> Rings:
    """Drop small-triangle vertices (Visvalingam rounds) identically on both sides of borders.

    A vertex may go only if its triangle is smaller than ``area``, it is no junction of borders
    and coastlines, and every ring using it agrees; each round removes local minima only. Shared
    borders therefore stay vertex-for-vertex identical, which keeps the coverage valid for
    :func:`shapely.coverage_simplify`, which then works on far fewer vertices. Thinning stops
    after ``rounds``, or after a round that removed less than ``min_removed`` of the vertices.
    """
    if len(rings.xy) == 0:
        return rings
    point, fixed = fixed_points(rings)
    n_points = len(fixed)
    sizes = rings.sizes

    x, y, ring = rings.xy[:, 0].copy(), rings.xy[:, 1].copy(), rings.ring_of_vertex
    for _round in range(rounds):
        x_before, x_after = around_ring(x, sizes)
        y_before, y_after = around_ring(y, sizes)
        triangle = 0.5 * np.abs((x_before - x) * (y_after - y) - (y_before - y) * (x_after - x))
        blocked = fixed.copy()
        blocked[point[(triangle >= area) | (sizes[ring] < 5)]] = True
        free = ~blocked[point]
        effective = np.where(free, triangle, np.inf)
        remove = free
        point_before, point_after = around_ring(point, sizes)
        for other_effective, other_point in zip(
            around_ring(effective, sizes), (point_before, point_after), strict=True
        ):
            # strict local minimum, ties broken by point id
            remove &= (effective < other_effective) | (
                (effective == other_effective) & (point < other_point)
            )
        kept_somewhere = np.zeros(n_points, dtype=bool)
        kept_somewhere[point[~remove]] = True
        keep = kept_somewhere[point]
        removed = len(keep) - np.count_nonzero(keep)
        if removed == 0:
            break
        x, y, point, ring = x[keep], y[keep], point[keep], ring[keep]
        sizes = np.bincount(ring, minlength=len(sizes)).astype(np.int64)
        if removed < min_removed * len(keep):
            break
    return Rings(
        np.column_stack([x, y]),
        sizes,
        rings.ring_polygon,
        rings.polygon_geometry,
        rings.count,
        point_id=point,
        fixed=fixed,
    )


def first_shared_edges(rings: Rings) -> tuple[IntArray, IntArray, IntArray]:
    """Vertices starting an edge that two different geometries share (its first occurrence),
    with the two geometries (lower index first)."""
    if len(rings.xy) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    _previous, following = rings.neighbours()
    _order, point, group_start = point_ids(rings.xy)
    n_points = len(group_start)
    owner = rings.polygon_geometry[rings.ring_polygon][rings.ring_of_vertex]
    edge = np.minimum(point, point[following]) * n_points + np.maximum(point, point[following])
    order = np.argsort(edge, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(edge[order]) != 0])
    low = np.minimum.reduceat(owner[order], starts)
    high = np.maximum.reduceat(owner[order], starts)
    shared = low != high
    return order[starts[shared]], low[shared], high[shared]
