"""Polygons as ring arrays (:class:`Rings`): every vertex of many geometries in one array,
with the ring, polygon and geometry each belongs to, densified, thinned and rebuilt with
numpy; the representation the shared-border generalization works on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.geometry.parallel import map_in_pieces

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
        """Flatten Polygons and MultiPolygons (empty ones allowed).

        Through :func:`shapely.get_parts` and :func:`shapely.get_rings` rather than
        :func:`shapely.to_ragged_array`, whose ``np.unique`` imports ``numpy.ma`` (30 ms of a
        short step's start).
        """
        parts, geometry_of_part = shapely.get_parts(geometries, return_index=True)
        filled = ~shapely.is_empty(parts)
        parts, geometry_of_part = parts[filled], geometry_of_part[filled]
        rings, polygon_of_ring = shapely.get_rings(parts, return_index=True)
        counts = shapely.get_num_coordinates(rings).astype(np.int64)
        coords = shapely.get_coordinates(rings)
        keep = np.ones(len(coords), dtype=bool)
        keep[np.cumsum(counts) - 1] = False  # the closing repeat of each ring
        return cls(
            xy=np.ascontiguousarray(coords[keep], dtype=np.float64),
            sizes=counts - 1,
            ring_polygon=polygon_of_ring.astype(np.int64),
            polygon_geometry=geometry_of_part.astype(np.int64),
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
        shared by two rings (walked in opposite directions) gets bit-identical points. Only
        the long edges are touched: with fine data that is one pass over the edge lengths.
        """
        if len(self.xy) == 0:
            return self
        _previous, following = self.neighbours()
        delta = self.xy[following] - self.xy
        squared = delta[:, 0] * delta[:, 0] + delta[:, 1] * delta[:, 1]
        long_edges = np.flatnonzero(squared > step * step * 0.999999)  # the rest stay whole
        if len(long_edges) == 0:
            return self
        start, end = self.xy[long_edges], self.xy[following[long_edges]]
        pieces = np.maximum(
            np.ceil(np.hypot(delta[long_edges, 0], delta[long_edges, 1]) / step), 1
        ).astype(np.int64)
        extra = pieces - 1  # new points after each long edge's first vertex
        source = np.repeat(np.arange(len(long_edges)), extra)
        step_number = np.arange(len(source)) - (np.cumsum(extra) - extra)[source] + 1
        swap = (start[:, 0] > end[:, 0]) | ((start[:, 0] == end[:, 0]) & (start[:, 1] > end[:, 1]))
        low = np.where(swap[:, None], end, start)[source]
        high = np.where(swap[:, None], start, end)[source]
        counted = np.where(swap[source], pieces[source] - step_number, step_number)
        new_points = low + (counted / pieces[source])[:, None] * (high - low)
        per_vertex = np.ones(len(self.xy), dtype=np.int64)
        per_vertex[long_edges] = pieces
        position = np.cumsum(per_vertex) - per_vertex  # output row of each original vertex
        xy = np.empty((int(per_vertex.sum()), 2))
        xy[position] = self.xy
        xy[position[long_edges][source] + step_number] = new_points
        sizes = np.bincount(self.ring_of_vertex, weights=per_vertex, minlength=len(self.sizes))
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


def rings_of(geometries: NDArray[np.object_]) -> Rings:
    """:meth:`Rings.from_geometries`, many vertices in pieces shared with the helper thread
    (GEOS releases the GIL)."""
    return map_in_pieces(Rings.from_geometries, geometries, _joined)


def _joined(runs: list[Rings]) -> Rings:
    """The rings of runs of geometries, one after the other."""
    polygons = np.cumsum([0, *(len(run.polygon_geometry) for run in runs)])
    geometries = np.cumsum([0, *(run.count for run in runs)])
    return Rings(
        xy=np.concatenate([run.xy for run in runs]),
        sizes=np.concatenate([run.sizes for run in runs]),
        ring_polygon=np.concatenate(
            [run.ring_polygon + first for run, first in zip(runs, polygons, strict=False)]
        ),
        polygon_geometry=np.concatenate(
            [run.polygon_geometry + first for run, first in zip(runs, geometries, strict=False)]
        ),
        count=int(geometries[-1]),
    )


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


def around_ring(values: NDArray[Any], sizes: IntArray) -> tuple[NDArray[Any], NDArray[Any]]:
    """Each vertex's previous and next value around its ring (shifted copies, no gathers)."""
    starts = (np.cumsum(sizes) - sizes)[sizes > 0]
    ends = starts + sizes[sizes > 0] - 1
    before, after = np.empty_like(values), np.empty_like(values)
    before[1:], after[:-1] = values[:-1], values[1:]
    before[starts], after[ends] = values[ends], values[starts]
    return before, after
