"""Shared-border generalization, used by the tiles and the print map alike: points identified
across rings, the junctions where three countries meet, Visvalingam thinning that drops the
same vertices on both sides of every shared border, and the shared edges themselves.

Neighbours thinned together keep one common border at every scale without rebuilding a
topology per zoom (what ``shapely.coverage_simplify`` does, at 1.2-1.5 s a call).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from tilepress.geometry.parallel import on_each, ring_halves
from tilepress.geometry.rings import FloatArray, IntArray, Rings, around_ring


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

    Points are grouped by the top bits of a 64-bit hash of their coordinates' bits (as many as
    leave room for a vertex index, so :func:`_stable_order` needs one value sort), then
    checked: if two different points ever share a group, they are sorted by their coordinates
    instead, so equal ids always mean equal points.
    """
    n = len(xy)
    bits, hashed = _point_hashes(xy)
    key = hashed >> np.uint64(max(n.bit_length(), 1) + 1)
    order, sorted_key = _stable_order(key.view(np.int64))
    new_group = np.empty(n, dtype=bool)
    new_group[:1] = True
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=new_group[1:])
    repeat = np.flatnonzero(~new_group)  # each equal to the point sorted before it?
    if (bits[order[repeat]] != bits[order[repeat - 1]]).any():  # a collision
        order = np.lexsort((bits[:, 1], bits[:, 0]))
        sorted_bits = bits[order]
        new_group = np.r_[True, (sorted_bits[1:] != sorted_bits[:-1]).any(axis=1)]
    point = np.empty(n, dtype=np.int64)
    point[order] = np.cumsum(new_group) - 1
    return order, point, np.flatnonzero(new_group)


def _point_hashes(xy: FloatArray) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """The bits of each point's coordinates (n, 2), -0.0 read as 0.0, and a 64-bit hash of
    both (equal points, equal hashes)."""
    bits = np.ascontiguousarray(xy + 0.0).view(np.uint64)  # + 0.0 turns -0.0 into 0.0
    return bits, _mix(_mix(bits[:, 0]) ^ bits[:, 1])


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
    point, fixed = junctions(rings)
    starts = (np.cumsum(rings.sizes) - rings.sizes)[rings.sizes > 0]
    fixed[np.minimum.reduceat(point, starts)] = True  # anchors
    return point, fixed


def junctions(rings: Rings) -> tuple[IntArray, NDArray[np.bool_]]:
    """Point id of each vertex, and per point whether it is a junction of borders and
    coastlines: used by more than two rings, or by two with other neighbours in each."""
    order, point, group_start = point_ids(rings.xy)
    point_before, point_after = around_ring(point, rings.sizes)
    uses = np.diff(np.r_[group_start, len(order)])
    junction: NDArray[np.bool_] = uses > 2
    twice = np.flatnonzero(uses == 2)
    one, other = order[group_start[twice]], order[group_start[twice] + 1]
    low_one = np.minimum(point_before[one], point_after[one])
    low_other = np.minimum(point_before[other], point_after[other])
    high_one = np.maximum(point_before[one], point_after[one])
    high_other = np.maximum(point_before[other], point_after[other])
    junction[twice] = (low_one != low_other) | (high_one != high_other)
    return point, junction


def thin_shared(
    rings: Rings, area: float, rounds: int = 8, min_removed: float = 0.0, *, helper: bool = True
) -> Rings:
    """Drop small-triangle vertices (Visvalingam rounds) identically on both sides of borders.

    A vertex may go only if its triangle is smaller than ``area``, it is no junction of borders
    and coastlines, and every ring using it agrees; each round removes local minima only. Shared
    borders therefore stay vertex-for-vertex identical, which keeps the coverage valid for
    :func:`shapely.coverage_simplify`, which then works on far fewer vertices. Thinning stops
    after ``rounds``, or after a round that removed less than ``min_removed`` of the vertices.

    Many vertices are thinned as two runs of whole rings, one in the helper thread (unless not
    ``helper``: where no core is free, the split costs more than it saves): within a round
    the runs meet only where a ring marks a shared point that must stay, so each round has
    two steps, and the result is the same as from one run.
    """
    if len(rings.xy) == 0:
        return rings
    point_id, fixed = fixed_points(rings)
    split = ring_halves(rings.sizes) if helper else None
    if split is None:
        runs = [_ThinningRun(rings.xy, point_id, rings.sizes)]
    else:
        at = int(rings.sizes[:split].sum())
        runs = [
            _ThinningRun(rings.xy[:at], point_id[:at], rings.sizes[:split]),
            _ThinningRun(rings.xy[at:], point_id[at:], rings.sizes[split:]),
        ]
    limit = 2.0 * area  # the triangles are computed doubled
    for _round in range(rounds):
        blocked = fixed.copy()
        on_each(runs, _ThinningRun.mark_large, blocked, limit)
        removed = sum(on_each(runs, _ThinningRun.drop_minima, blocked))
        if removed == 0 or removed < min_removed * sum(run.m for run in runs):
            break
    x, y, points = (np.concatenate([run.row(k) for run in runs]) for k in range(3))
    return Rings(
        np.column_stack([x, y]),
        np.concatenate([run.sizes for run in runs]),
        rings.ring_polygon,
        rings.polygon_geometry,
        rings.count,
        point_id=points,
        fixed=fixed,
    )


class _ThinningRun:
    """The vertices of a run of whole rings, thinned round by round in a few buffers: on half
    a million vertices, fresh arrays would cost more in page faults than the arithmetic."""

    def __init__(self, xy: FloatArray, point_id: IntArray, sizes: IntArray) -> None:
        n = len(point_id)
        # x, y and four work rows of floats; point ids and a spare row. Rows trade roles as
        # the vertices get fewer, so no round allocates a large array.
        self.floats = list(np.empty((6, n)))
        self.ints = list(np.empty((2, n), dtype=np.int64))
        self.floats[0][:], self.floats[1][:], self.ints[0][:] = xy[:, 0], xy[:, 1], point_id
        self.sizes = sizes.copy()
        self.filled = self.sizes > 0
        self.m = n  # vertices left
        self.starts = self.ends = np.empty(0, dtype=np.int64)

    def row(self, k: int) -> NDArray[Any]:
        """x (0), y (1) or the point ids (2) of the vertices left (a view of the buffers)."""
        return self.floats[k][: self.m] if k < 2 else self.ints[0][: self.m]

    def mark_large(self, blocked: NDArray[np.bool_], limit: float) -> None:
        """A round's first step: every vertex's doubled triangle; points whose triangle is
        ``limit`` or more, or whose ring is too short to lose one, are marked in ``blocked``
        (shared by the runs: a point stays if any ring using it says so)."""
        self.ends = np.cumsum(self.sizes)[self.filled] - 1
        self.starts = self.ends - self.sizes[self.filled] + 1
        point = self.ints[0][: self.m]
        stop = _triangles(self.floats, self.m, self.starts, self.ends) >= limit
        stop |= np.repeat(self.sizes < 5, self.sizes)
        blocked[point[stop]] = True

    def drop_minima(self, blocked: NDArray[np.bool_]) -> int:
        """A round's second step: the vertices that are free and a strict local minimum go
        (ties broken by point id); how many went."""
        m = self.m
        keep = ~_local_minima(self.floats, self.ints[0][:m], self.starts, self.ends, blocked)
        kept = int(np.count_nonzero(keep))
        if kept == m:
            return 0
        floats, ints = self.floats, self.ints
        self.sizes[self.filled] -= np.add.reduceat(
            (~keep).view(np.int8), self.starts, dtype=np.int64
        )
        np.compress(keep, floats[0][:m], out=floats[2][:kept])
        np.compress(keep, floats[1][:m], out=floats[3][:kept])
        np.compress(keep, ints[0][:m], out=ints[1][:kept])
        floats[0], floats[1], floats[2], floats[3] = floats[2], floats[3], floats[0], floats[1]
        ints[0], ints[1] = ints[1], ints[0]
        self.m = kept
        return m - kept


def _triangles(floats: list[FloatArray], m: int, starts: IntArray, ends: IntArray) -> FloatArray:
    """Twice the triangle of each of the ``m`` vertices (x and y in ``floats[0]``,
    ``floats[1]``; ``floats[2:]`` are work rows), in ``floats[4]``: from the vectors to its
    previous vertex and from its next vertex back to it, both rows of one array."""
    x, y = floats[0][:m], floats[1][:m]
    to_x, to_y, cross, other = (row[:m] for row in floats[2:])
    np.subtract(x[:-1], x[1:], out=to_x[1:])  # previous vertex minus this one
    to_x[starts] = x[ends] - x[starts]
    np.subtract(y[:-1], y[1:], out=to_y[1:])
    to_y[starts] = y[ends] - y[starts]
    np.multiply(to_y[:-1], to_x[1:], out=cross[:-1])  # ... times the next vertex's vector
    cross[ends] = to_y[ends] * to_x[starts]
    np.multiply(to_x[:-1], to_y[1:], out=other[:-1])
    other[ends] = to_x[ends] * to_y[starts]
    np.abs(np.subtract(cross, other, out=cross), out=cross)
    return cross


def _local_minima(
    floats: list[FloatArray],
    point: IntArray,
    starts: IntArray,
    ends: IntArray,
    blocked: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """The free vertices whose triangle (``floats[4]``, from :func:`_triangles`) is smaller
    than both neighbours' (ties broken by the lower point id)."""
    m = len(point)
    cross, effective = floats[4][:m], floats[5][:m]
    free = ~blocked[point]
    effective.fill(np.inf)
    np.copyto(effective, cross, where=free)
    # Every ring using a point decides alike: a free point is no junction, so its rings hold
    # it between the same two points, whose own triangles agree by the same token.
    remove: NDArray[np.bool_] = free
    below = np.empty(m, dtype=bool)
    below[1:] = _below(effective[1:], effective[:-1], point[1:], point[:-1])
    below[starts] = _below(effective[starts], effective[ends], point[starts], point[ends])
    remove &= below
    below[:-1] = _below(effective[:-1], effective[1:], point[:-1], point[1:])
    below[ends] = _below(effective[ends], effective[starts], point[ends], point[starts])
    remove &= below
    return remove


def _below(
    value: FloatArray, other: FloatArray, point: IntArray, other_point: IntArray
) -> NDArray[np.bool_]:
    """``value < other``, ties broken by the lower point id."""
    result: NDArray[np.bool_] = (value < other) | ((value == other) & (point < other_point))
    return result


def first_shared_edges(rings: Rings) -> tuple[IntArray, IntArray, IntArray]:
    """Vertices starting an edge that two different geometries share (its first occurrence),
    in vertex order, with the two geometries (lower index first).

    Edges are grouped by a 64-bit hash of their two points (either way round): one value
    sort. Should two different edges ever share a hash, by their points' ids instead.
    """
    _previous, following = rings.neighbours()
    bits, point = _point_hashes(rings.xy)
    ahead = point[following]
    edge = _mix(np.minimum(point, ahead)) ^ np.maximum(point, ahead)
    edge >>= np.uint64(max(len(edge).bit_length(), 1) + 1)  # room for _stable_order's index
    order, sorted_edge = _stable_order(edge.view(np.int64))
    repeat = np.flatnonzero(sorted_edge[1:] == sorted_edge[:-1]) + 1
    one, before = order[repeat], order[repeat - 1]
    start_one, end_one = bits[one], bits[following[one]]
    start_before, end_before = bits[before], bits[following[before]]
    same_way = ((start_one == start_before) & (end_one == end_before)).all(axis=1)
    other_way = ((start_one == end_before) & (end_one == start_before)).all(axis=1)
    if not (same_way | other_way).all():  # two different edges with one hash
        _order, point_id, group_start = point_ids(rings.xy)
        low_id = np.minimum(point_id, point_id[following])
        high_id = np.maximum(point_id, point_id[following])
        order, sorted_edge = _stable_order(low_id * len(group_start) + high_id)
        repeat = np.flatnonzero(sorted_edge[1:] == sorted_edge[:-1]) + 1
    # Only edges that occur more than once can be shared (most occur once: coasts). Their
    # groups, in sort order (each ascending by vertex: its first member comes first).
    in_group = np.zeros(len(order), dtype=bool)
    in_group[repeat] = in_group[repeat - 1] = True
    position = np.flatnonzero(in_group)
    if len(position) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    keys = sorted_edge[position]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    owner = rings.polygon_geometry[rings.ring_polygon][rings.ring_of_vertex]
    owners = owner[order[position]]
    low = np.minimum.reduceat(owners, starts)
    high = np.maximum.reduceat(owners, starts)
    first = order[position[starts]]
    shared = np.flatnonzero(low != high)
    shared = shared[np.argsort(first[shared])]
    return first[shared], low[shared], high[shared]


def _stable_order(values: IntArray) -> tuple[IntArray, IntArray]:
    """``np.argsort(values, kind="stable")`` and the sorted values, for non-negative values:
    where they leave room, each index rides in the low bits of its value and one value sort
    does it (about twice as fast as the stable argsort)."""
    index_bits = max(len(values).bit_length(), 1)
    if len(values) == 0 or int(values.max()) >= 1 << (63 - index_bits):
        stable: IntArray = np.argsort(values, kind="stable")
        return stable, values[stable]
    packed = values << index_bits
    packed |= np.arange(len(values), dtype=np.int64)
    packed.sort()
    order: IntArray = packed & ((1 << index_bits) - 1)
    packed >>= index_bits
    return order, packed
