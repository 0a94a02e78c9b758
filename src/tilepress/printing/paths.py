"""Page paths: the countries as rings in integer tenths of a point inside the frame, the
borders they share, and those coordinates formatted with numpy into PDF path operators or SVG
path data (one country's part of the text cut out by its vertices' end offsets)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from tilepress.errors import PrintError
from tilepress.geometry.rings import Rings, around_ring, rings_of
from tilepress.geometry.shared import first_shared_edges, junctions
from tilepress.printing.frame import Box, FloatArray

IntArray = NDArray[np.int64]


def page_rings(geometries: NDArray[np.object_], frame: Box) -> Rings:
    """Rings in integer tenths of a point inside the frame, repeated points dropped."""
    rings = rings_of(geometries)
    xy = np.rint(rings.xy * 10.0)
    xy[:, 0] = np.clip(xy[:, 0], math.ceil(frame[0] * 10), math.floor(frame[2] * 10))
    xy[:, 1] = np.clip(xy[:, 1], math.ceil(frame[1] * 10), math.floor(frame[3] * 10))
    rings.xy = xy
    previous, _following = rings.neighbours()
    repeated = (xy == xy[previous]).all(axis=1)
    return drop_straight(rings.keep_vertices(~repeated))


def drop_straight(rings: Rings) -> Rings:
    """Leave out the vertices lying on the straight line between their two neighbours (on the
    integer grid of the page, where that test is exact): the outlines stay the same, point for
    point. A vertex of several rings goes only inside a shared border (the same neighbours in
    both rings), so shared borders stay identical; every ring keeps at least three vertices.
    """
    if len(rings.xy) == 0:
        return rings
    sizes = rings.sizes
    x_before, x_after = around_ring(rings.xy[:, 0], sizes)
    y_before, y_after = around_ring(rings.xy[:, 1], sizes)
    x_before -= rings.xy[:, 0]
    x_after -= rings.xy[:, 0]
    y_before -= rings.xy[:, 1]
    y_after -= rings.xy[:, 1]
    straight = x_before * y_after == y_before * x_after  # exact: integers below 2**26
    straight &= x_before * x_after + y_before * y_after < 0  # the neighbours on either side
    if not straight.any():
        return rings
    point, stays = junctions(rings)  # junctions stay
    stays[point[~straight]] = True
    drop = ~stays[point]
    left = np.bincount(rings.ring_of_vertex[~drop], minlength=len(sizes))
    if (left < 3).any():  # such a ring keeps all its vertices, and so do the rings it touches
        stays[point[np.repeat(left < 3, sizes)]] = True
        drop = ~stays[point]
    return rings.keep_vertices(~drop)


def _tenths_table(values: IntArray) -> NDArray[np.uint8]:
    """Integer tenths (0..99999) as ASCII columns ``dddd.d``; 0 bytes where a character is left
    out (leading zeros, a trailing ``.0``)."""
    table = np.zeros((len(values), 6), dtype=np.uint8)
    tenths = values % 10
    table[:, 5] = np.where(tenths > 0, 48 + tenths, 0)
    table[:, 4] = np.where(tenths > 0, ord("."), 0)
    table[:, 3] = 48 + values // 10 % 10
    for digit, position in ((2, 2), (3, 1), (4, 0)):
        table[:, position] = np.where(values >= 10**digit, 48 + values // 10**digit % 10, 0)
    return table


def _checked(xy: FloatArray) -> IntArray:
    values = xy.astype(np.int64)
    if len(values) and (values.min() < 0 or values.max() > 99_999):
        raise PrintError("path coordinates outside the page")
    return values


def path_operators(xy: FloatArray, moves: NDArray[np.bool_]) -> tuple[bytes, IntArray]:
    """``x y m`` / ``x y l`` lines for coordinates in integer tenths of a point, with numpy.

    Tenths (0.035 mm) are finer than the generalization tolerance. Returns the bytes and the
    end offset of each line (to cut out one country's path).
    """
    values = _checked(xy)
    space, newline = (
        np.full((len(values), 1), ord(" "), np.uint8),
        np.full((len(values), 1), ord("\n"), np.uint8),
    )
    operator = np.where(moves, ord("m"), ord("l")).astype(np.uint8)[:, None]
    table = np.hstack(
        [_tenths_table(values[:, 0]), space, _tenths_table(values[:, 1]), space, operator, newline]
    )
    filled = table != 0
    return table[filled].tobytes(), np.cumsum(filled.sum(axis=1))


def svg_path_data(
    xy: FloatArray, moves: NDArray[np.bool_], height: int, close: bool = False
) -> tuple[bytes, IntArray]:
    """SVG path data (``M x y L x y ... Z``) in pt for coordinates in integer tenths of a point
    (from the lower left), y flipped within ``height`` tenths; ``close`` ends each subpath with
    ``Z``. Returns the bytes and each vertex's end offset."""
    values = _checked(xy)
    flipped = height - values[:, 1]
    if len(values) and (flipped.min() < 0 or flipped.max() > 99_999):
        raise PrintError("path coordinates outside the SVG")
    command = np.where(moves, ord("M"), ord("L")).astype(np.uint8)[:, None]
    space = np.full((len(values), 1), ord(" "), np.uint8)
    last = np.r_[moves[1:], True] if close else np.zeros(len(values), dtype=bool)
    closing = np.where(last, ord("Z"), 0).astype(np.uint8)[:, None]
    table = np.hstack(
        [command, _tenths_table(values[:, 0]), space, _tenths_table(flipped), closing]
    )
    filled = table != 0
    return table[filled].tobytes(), np.cumsum(filled.sum(axis=1))


def ring_moves(rings: Rings) -> NDArray[np.bool_]:
    """Move-to flags of the rings' vertices: True on each ring's first."""
    moves = np.zeros(len(rings.xy), dtype=bool)
    moves[rings.starts[rings.sizes > 0]] = True
    return moves


def country_paths(text: bytes, ends: IntArray, rings: Rings) -> Iterator[tuple[int, bytes]]:
    """Each country's part of the path text written for all of ``rings`` (``ends``: each
    vertex's end offset in ``text``), as (row, text) for the rows with vertices."""
    byte_ends = np.concatenate([[0], ends])
    vertex_ranges = rings.vertex_ranges()
    for row in range(rings.count):
        first, last = vertex_ranges[row], vertex_ranges[row + 1]
        if last > first:
            yield row, text[byte_ends[first] : byte_ends[last]]


def shared_borders(rings: Rings) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Polylines of the edges two different countries share, each drawn once.

    Returns vertices and their move-to flags; coastlines, frame edges and seams inside one
    country (Chukotka at 180 degrees) are not borders.
    """
    if len(rings.xy) == 0:
        return np.empty((0, 2)), np.zeros(0, dtype=bool)
    draw = np.zeros(len(rings.xy), dtype=bool)
    draw[first_shared_edges(rings)[0]] = True  # first occurrence of each shared edge
    return edge_polylines(rings, draw)


def outlines_off_frame(rings: Rings, frame: Box) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Polylines of the rings' edges (page tenths) except those lying along the frame's edges,
    where clipping cut the area: an outline that stops at the frame."""
    if len(rings.xy) == 0:
        return np.empty((0, 2)), np.zeros(0, dtype=bool)
    _previous, following = rings.neighbours()
    xy, ahead = rings.xy, rings.xy[following]
    edges = (
        math.ceil(frame[0] * 10),
        math.ceil(frame[1] * 10),
        math.floor(frame[2] * 10),
        math.floor(frame[3] * 10),
    )
    on_frame = np.zeros(len(xy), dtype=bool)
    for axis, value in ((0, edges[0]), (1, edges[1]), (0, edges[2]), (1, edges[3])):
        on_frame |= (xy[:, axis] == value) & (ahead[:, axis] == value)
    return edge_polylines(rings, ~on_frame)


def edge_polylines(rings: Rings, draw: NDArray[np.bool_]) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Polylines of the ring edges flagged in ``draw`` (the edge from each vertex to the next in
    its ring), runs of consecutive edges joined: vertices and their move-to flags."""
    previous, following = rings.neighbours()
    ring_first = np.zeros(len(rings.xy), dtype=bool)
    ring_first[rings.starts[rings.sizes > 0]] = True
    start_run = draw & (~draw[previous] | ring_first)
    per_edge = draw.astype(np.int64) + start_run
    position = np.cumsum(per_edge) - per_edge  # first output row of each edge
    total = int(per_edge.sum())
    out = np.empty((total, 2))
    moves = np.zeros(total, dtype=bool)
    starts = np.flatnonzero(start_run)
    out[position[starts]] = rings.xy[starts]
    moves[position[starts]] = True
    drawn = np.flatnonzero(draw)
    ends = position[drawn] + start_run[drawn]
    out[ends] = rings.xy[following[drawn]]
    return out, moves
