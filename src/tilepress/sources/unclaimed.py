"""Land no country holds: the holes in the union of a source's countries that are land, not
water (Abyei between Sudan and South Sudan in the embedded data), added to its country table
as rows of their own so that every map draws them as land, in a neutral style.

**Finding the holes** (:func:`unclaimed_land`) takes no polygon union (GEOS's coverage union
needs 0.7 s on Natural Earth 10m, its general union 2.7 s; this, 0.06 to 0.07 s, and
0.1 s with the holes' areas and repair). The
rings are read with the land on the left of every edge (exteriors counter-clockwise). An
edge that another one joins (same two points, either way round) lies inside the union; the
others (coasts, the shores of holes) bound it, and are chained into cycles, each edge
followed by one that starts where it ends. Between points that only one ring uses, an
outline follows its ring, so only the runs between junctions (points used more than once)
are chained; where several runs leave a junction (a hole touching a coast at a point), the
one that closes the water on the right is taken: the first counter-clockwise from where the
arriving run came from. Pointer doubling over the runs gives each cycle an id; a cycle that
winds clockwise (the land outside it) is a hole.

**Land or water** is told by area alone: a hole is land unless its outline encloses more
than ``ENCLOSED_SEA_KM2`` (geodesic area on the WGS 84 ellipsoid), since enclosed seas are
large and the land between countries small. In Natural Earth 10m the Caspian Sea
(397,054 km2) is the one hole above it; the land holes are Abyei (10,876 km2), the Southern
Patagonian Ice Field (1,409 km2), the Golan area (1,194 km2) and Rincón de Artigas
(268 km2). A source that cuts lakes out of its countries would have its lakes of that size
drawn as land here: Natural Earth's admin-0 countries do not.

**Slivers.** Holes under ``SLIVER_KM2`` are left alone: they are gaps where neighbours'
outlines do not quite meet, not territory. Natural Earth 10m has four, of 0.6 to 11 km2, on
the border of Egypt and Sudan between Bir Tawil and the Halaib triangle (the largest is a
loop of Egypt's own outline, which touches itself there).

The holes are found in the source's polygons as read, before any repair, so that the tiles
(which read the source unrepaired) and the print sheet (which repairs it) get the same rows;
the holes themselves are made valid, and land inside one (an island in a lake no country
holds) is cut out of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.config.model import Pattern
from tilepress.geometry.rings import FloatArray, IntArray, Rings, around_ring
from tilepress.geometry.shared import point_ids

UNCLAIMED_CODE = "XNC"  # the rows' code: no ISO or Natural Earth code is XNC
UNCLAIMED_NAME = "No country"
UNCLAIMED_LEGEND = "No country / disputed"
UNCLAIMED_COLOR = "#efece5"
UNCLAIMED_PATTERN = Pattern("hatch", color="#a8a293", width=0.5, spacing=3.0)
ENCLOSED_SEA_KM2 = 100_000.0
SLIVER_KM2 = 100.0

Mask = NDArray[np.bool_]


def unclaimed_land(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    """The land no country holds: the holes of ``SLIVER_KM2`` to ``ENCLOSED_SEA_KM2`` in the
    union of ``geometries`` (polygons in WGS 84, as read), each a valid (Multi)Polygon in
    WGS 84, from west to east (see the module docstring)."""
    from tilepress.sources.repair import repair

    rings = Rings.from_geometries(geometries)
    outlines = hole_outlines(rings)
    if len(outlines) == 0:
        return np.empty(0, dtype=object)
    km2 = np.array([geodesic_km2(shapely.get_coordinates(outline)) for outline in outlines])
    outlines = outlines[(km2 >= SLIVER_KM2) & (km2 <= ENCLOSED_SEA_KM2)]
    outlines = outlines[np.argsort(shapely.bounds(outlines)[:, 0], kind="stable")]
    holes = _without_land_inside(repair(shapely.polygons(outlines)), rings)
    result: NDArray[np.object_] = holes[~shapely.is_empty(holes)]
    return result


def geodesic_km2(coordinates: FloatArray) -> float:
    """The area a ring of longitudes and latitudes encloses on the WGS 84 ellipsoid, in km2."""
    from pyproj import Geod

    area, _perimeter = Geod(ellps="WGS84").polygon_area_perimeter(
        coordinates[:, 0], coordinates[:, 1]
    )
    return abs(float(area)) / 1e6


def _without_land_inside(holes: NDArray[np.object_], rings: Rings) -> NDArray[np.object_]:
    """The holes less the polygons of the rings that lie inside them (an island in a lake no
    country holds). Only a polygon whose first point lies in or on a hole can: the countries
    around a hole touch it along its outline, and nothing crosses that."""
    if len(holes) == 0:
        return holes
    starts = rings.starts
    exteriors = np.flatnonzero(np.r_[True, rings.ring_polygon[1:] != rings.ring_polygon[:-1]])
    firsts = shapely.points(rings.xy[starts[exteriors]])
    exterior, hole = shapely.STRtree(holes).query(firsts, predicate="intersects")
    if len(exterior) == 0:
        return holes
    ring, sizes = exteriors[exterior], rings.sizes[exteriors[exterior]]
    step = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    outlines = shapely.linearrings(
        rings.xy[np.repeat(starts[ring], sizes) + step],
        indices=np.repeat(np.arange(len(ring)), sizes),
    )
    land = shapely.make_valid(shapely.polygons(outlines))
    inside = shapely.contains(holes[hole], land)
    result = holes.copy()
    for index in np.unique(hole[inside]).tolist():
        result[index] = shapely.difference(
            holes[index], shapely.union_all(land[inside & (hole == index)])
        )
    return result


def hole_outlines(rings: Rings) -> NDArray[np.object_]:
    """The outline of every hole in the union of the rings' geometries (linear rings), found
    from their edges alone (see the module docstring)."""
    if len(rings.xy) == 0:
        return np.empty(0, dtype=object)
    directed, sign, terms = _oriented(rings)
    xy, sizes, starts = directed.xy, directed.sizes, directed.starts
    point, boundary, junction = _boundary_edges(xy, sizes)
    area_before = np.r_[0.0, np.cumsum(terms)]  # twice the signed area of the edges so far
    runs = _Runs.of(xy, point, boundary, junction, starts, sizes, area_before, sign)
    cycle, rank = runs.cycles()
    on_cycle = np.flatnonzero(cycle >= 0)
    cycle_area = np.bincount(cycle[on_cycle], weights=runs.area[on_cycle], minlength=len(cycle))
    hole_cycles = np.flatnonzero(cycle_area < 0)
    # The runs of each hole in order along it; then the rings that touch nothing (no
    # junction: outline all round) and wind as holes do.
    hole_runs = on_cycle[np.isin(cycle[on_cycle], hole_cycles)]
    hole_runs = hole_runs[np.lexsort((-rank[hole_runs], cycle[hole_runs]))]
    filled = sizes > 0
    ring_area = area_before[starts + sizes] - area_before[starts]
    touching = _ring_sums(junction.astype(np.float64), sizes) > 0
    lone = np.flatnonzero(filled & ~touching & (ring_area < 0))
    ring = np.concatenate([runs.ring[hole_runs], lone])
    first = np.concatenate([runs.first[hole_runs], starts[lone]])
    edges = np.concatenate([runs.length[hole_runs], sizes[lone]])
    outline = np.concatenate(
        [np.searchsorted(hole_cycles, cycle[hole_runs]), len(hole_cycles) + np.arange(len(lone))]
    )
    # Not a hole with fewer than three vertices (an edge there and back, its area rounded).
    vertices = np.bincount(outline, weights=edges, minlength=len(hole_cycles) + len(lone))
    kept = vertices[outline] >= 3
    ring, first, edges = ring[kept], first[kept], edges[kept]
    outline = np.unique(outline[kept], return_inverse=True)[1]
    if len(ring) == 0:
        return np.empty(0, dtype=object)
    # Each run's vertices from its first one on, around its ring.
    step = np.arange(int(edges.sum())) - np.repeat(np.cumsum(edges) - edges, edges)
    ring, first = np.repeat(ring, edges), np.repeat(first, edges)
    vertex = starts[ring] + (first - starts[ring] + step) % sizes[ring]
    outlines: NDArray[np.object_] = shapely.linearrings(
        xy[vertex], indices=np.repeat(outline, edges)
    )
    return outlines


def _oriented(rings: Rings) -> tuple[Rings, float, FloatArray]:
    """The rings wound alike; the sign of y with which they all have the land on the left of
    each edge (exteriors counter-clockwise): -1 where most exteriors run clockwise (as in
    shapefiles), so that the rings are read mirrored, not turned (only rings wound unlike
    most are); and each edge's share of twice its ring's signed area with that sign."""
    sizes = rings.sizes
    terms = _area_terms(rings.xy, sizes)
    area = _ring_sums(terms, sizes)
    exterior = np.r_[True, rings.ring_polygon[1:] != rings.ring_polygon[:-1]]
    sign = -1.0 if 2 * np.count_nonzero(area[exterior] < 0) > np.count_nonzero(exterior) else 1.0
    turn = np.where(exterior, sign * area < 0, sign * area > 0)
    if not turn.any():
        return rings, sign, terms * sign
    index, ring = np.arange(len(rings.xy)), rings.ring_of_vertex
    first = (np.cumsum(sizes) - sizes)[ring]
    xy = rings.xy[np.where(turn[ring], 2 * first + sizes[ring] - 1 - index, index)]
    turned = Rings(xy, sizes, rings.ring_polygon, rings.polygon_geometry, rings.count)
    return turned, sign, _area_terms(xy, sizes) * sign


def _ring_sums(values: FloatArray, sizes: IntArray) -> FloatArray:
    """The sum of each ring's values (one per vertex; 0 for a ring without vertices)."""
    sums = np.zeros(len(sizes))
    filled = sizes > 0
    sums[filled] = np.add.reduceat(values, (np.cumsum(sizes) - sizes)[filled])
    return sums


def _area_terms(xy: FloatArray, sizes: IntArray) -> FloatArray:
    """Each edge's share of twice its ring's signed area (the shoelace formula)."""
    x, y = xy[:, 0].copy(), xy[:, 1].copy()
    _before, x_after = around_ring(x, sizes)
    _before, y_after = around_ring(y, sizes)
    terms: FloatArray = x * y_after - x_after * y
    return terms


def _boundary_edges(xy: FloatArray, sizes: IntArray) -> tuple[IntArray, Mask, Mask]:
    """Per vertex: its point's id, whether the edge it starts bounds the union (no other edge
    joins its two points, either way round; a zero-length edge does not), and whether its
    point is a junction (used more than once: only there can an outline pass to another
    ring, or loop back to its own)."""
    n = len(xy)
    # Points whose hash no other point shares are used once: only the others need ids.
    maybe = np.flatnonzero(_maybe_repeated(xy))
    order, ids, group_start = point_ids(xy[maybe])
    uses = np.diff(np.r_[group_start, len(maybe)])
    point = np.arange(n, dtype=np.int64) + len(group_start)
    point[maybe] = ids
    junction = np.zeros(n, dtype=bool)
    junction[maybe] = uses[ids] >= 2
    before, after = around_ring(point, sizes)
    shared = after == point
    # Every ordered pair of vertices at a junction: does the second one's edge to its previous
    # or its next point join the two points of the edge the first one starts? Most junctions
    # are points of a border between two countries, used twice.
    members = maybe[order]
    twice = group_start[uses == 2]
    one = np.concatenate([members[twice], members[twice + 1]])
    other = np.concatenate([members[twice + 1], members[twice]])
    more = np.flatnonzero(uses > 2)
    if len(more):
        count = uses[more]
        pairs = count * count
        of_pair = np.repeat(np.arange(len(more)), pairs)
        local = np.arange(int(pairs.sum())) - (np.cumsum(pairs) - pairs)[of_pair]
        at = group_start[more][of_pair]
        one = np.concatenate([one, members[at + local // count[of_pair]]])
        other = np.concatenate([other, members[at + local % count[of_pair]]])
    joined = (one != other) & ((after[other] == after[one]) | (before[other] == after[one]))
    shared[one[joined]] = True
    return point, ~shared, junction


def _maybe_repeated(xy: FloatArray) -> Mask:
    """Per point, False where no other point can equal it: its hash (of its coordinates'
    bits, -0.0 read as 0.0) falls in a bucket of its own among twice as many buckets as
    points. Most vertices of a country table (its coasts) are used once."""
    bits = np.ascontiguousarray(xy + 0.0).view(np.uint64)
    with np.errstate(over="ignore"):
        hashed = bits[:, 0] * np.uint64(0x9E3779B97F4A7C15)
        hashed ^= bits[:, 1]
        hashed *= np.uint64(0xBF58476D1CE4E5B9)
    width = max(len(xy).bit_length() + 1, 8)
    bucket = (hashed >> np.uint64(64 - width)).astype(np.intp)
    repeated: Mask = np.bincount(bucket, minlength=1 << width)[bucket] > 1
    return repeated


@dataclass
class _Runs:
    """Runs of boundary edges along a ring from one junction to the next: the union's
    outline in pieces, to be chained into cycles."""

    first: IntArray  # the vertex starting each run's first edge
    length: IntArray  # its edges
    ring: IntArray  # the ring it runs along
    start_point: IntArray  # where each run starts and ends (point ids)
    end_point: IntArray
    leaving: FloatArray  # (m, 2): each run's first edge and its last one, y times the sign
    arriving: FloatArray
    area: FloatArray  # each run's share of twice its cycle's signed area

    @classmethod
    def of(
        cls,
        xy: FloatArray,
        point: IntArray,
        boundary: Mask,
        junction: Mask,
        starts: IntArray,
        sizes: IntArray,
        area_before: FloatArray,
        sign: float,
    ) -> _Runs:
        """The runs of the ``boundary`` edges of rings (``starts``, ``sizes``), each from a
        junction to the next around its ring (the edges between start at points used once,
        so they bound the union too); ``point`` is each vertex's point id, ``area_before``
        twice the signed area of the edges before it, ``sign`` that of y (:func:`_oriented`).
        """
        at = np.flatnonzero(junction)
        first = np.flatnonzero(boundary & junction)
        ring = np.searchsorted(starts, first, "right") - 1
        size, ring_start = sizes[ring], starts[ring]
        ring_end = ring_start + size
        # The next junction around the ring: the next one in it, else its first one.
        following = np.minimum(np.searchsorted(at, first) + 1, max(len(at) - 1, 0))
        wraps = (at[following] >= ring_end) | (at[following] <= first)
        end = np.where(wraps, at[np.searchsorted(at, ring_start)] + size, at[following])
        last = ring_start + (end - 1 - ring_start) % size
        reached = ring_start + (end - ring_start) % size
        second = ring_start + (first + 1 - ring_start) % size
        area = area_before[np.minimum(end, ring_end)] - area_before[first]
        over = end > ring_end
        area[over] += area_before[end[over] - size[over]] - area_before[ring_start[over]]
        mirror = np.array([1.0, sign])
        return cls(
            first=first,
            length=end - first,
            ring=ring,
            start_point=point[first],
            end_point=point[reached],
            leaving=(xy[second] - xy[first]) * mirror,
            arriving=(xy[reached] - xy[last]) * mirror,
            area=area,
        )

    def successors(self) -> IntArray:
        """The run that follows each run (``len(runs)``: none): one leaving the point where it
        ends; of several, the first counter-clockwise from the direction it arrived from,
        which closes the water to its right (so a hole that touches a coast at a point is
        a cycle of its own, not a loop of the coast's)."""
        m = len(self.first)
        by_start = np.argsort(self.start_point, kind="stable")
        starting = self.start_point[by_start]
        low = np.searchsorted(starting, self.end_point, "left")
        high = np.searchsorted(starting, self.end_point, "right")
        count = high - low
        following = np.full(m + 1, m, dtype=np.int64)
        single = np.flatnonzero(count == 1)
        following[single] = by_start[low[single]]
        several = np.flatnonzero(count > 1)
        if len(several):
            arriving = np.repeat(several, count[several])
            candidate = by_start[
                np.arange(len(arriving))
                - np.repeat(np.cumsum(count[several]) - count[several], count[several])
                + np.repeat(low[several], count[several])
            ]
            back = -self.arriving[arriving]
            out = self.leaving[candidate]
            turn = np.arctan2(out[:, 1], out[:, 0]) - np.arctan2(back[:, 1], back[:, 0])
            turn = np.mod(turn, 2 * np.pi)
            turn[turn == 0] = 2 * np.pi  # straight back: the last choice
            order = np.lexsort((turn, arriving))
            firsts = order[np.r_[True, arriving[order][1:] != arriving[order][:-1]]]
            following[arriving[firsts]] = candidate[firsts]
        return following

    def cycles(self) -> tuple[IntArray, IntArray]:
        """Per run: the cycle it lies on (its lowest run; -1 if it is on none: an outline that
        does not close, in a source whose neighbours do not meet), and how many runs of its
        cycle follow it before the cycle returns to that lowest run (the order along it)."""
        m = len(self.first)
        following = self.successors()
        rounds = max(1, int(m).bit_length())
        lowest = np.arange(m + 1, dtype=np.int64)
        jump = following.copy()
        for _round in range(rounds):  # pointer doubling: 2**rounds > m steps in all
            lowest = np.minimum(lowest, lowest[jump])
            jump = jump[jump]
        on_cycle = np.zeros(m + 1, dtype=bool)
        on_cycle[jump] = True  # after m steps from anywhere, only cycles are left
        on_cycle[m] = False
        cycle = np.where(on_cycle, lowest, -1)[:m]
        # Cut each cycle before its lowest run and count the runs to the cut.
        cut = following.copy()
        cut[np.flatnonzero(~on_cycle | (following == lowest))] = m
        steps = (cut != m).astype(np.int64)
        for _round in range(rounds):
            steps = steps + steps[cut]
            cut = cut[cut]
        return cycle, steps[:m]
