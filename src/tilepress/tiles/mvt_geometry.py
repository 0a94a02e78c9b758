"""MVT 2.1 geometry command streams, built with numpy over all coordinates of many tiles at
once down to their packed varint bytes; Python only loops over rings and features.

Geometries arrive in tile coordinates (y down), snapped, valid and wound as MVT wants; the
encoder drops repeated and closing points and parts with nothing left to draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Encoded = tuple[int, bytes]  # MVT geometry type, packed command integers


# MVT geometry types and command ids; a command integer is (count << 3) | id.
GEOM_POINT, GEOM_LINESTRING, GEOM_POLYGON = 1, 2, 3


CMD_MOVE_TO, CMD_LINE_TO, CMD_CLOSE_PATH = 1, 2, 7


# |coordinate| < 2**30 keeps every move within int32, so every zigzag value within uint32.
_COORD_LIMIT = float(1 << 30)
SMALL_VARINTS = [bytes([n]) for n in range(128)]
_MOVE_TO_1 = SMALL_VARINTS[(1 << 3) | CMD_MOVE_TO]
_CLOSE_PATH_1 = SMALL_VARINTS[(1 << 3) | CMD_CLOSE_PATH]


def varint(number: int) -> bytes:
    """Protobuf base-128 varint of a non-negative integer."""
    if number < 128:
        return SMALL_VARINTS[number]
    out = bytearray()
    while number > 127:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _varints(values: IntArray, marks: IntArray) -> tuple[bytes, IntArray]:
    """Varints of non-negative values below 2**35, concatenated, and the byte offsets at which
    the values with the indices ``marks`` (up to ``len(values)``) start."""
    top = int(np.maximum.reduce(values))
    if top < 0x80:  # one byte each
        return values.astype(np.uint8).tobytes(), marks
    # The low 7 bits of every value, with the continuation bit where more bytes follow (the
    # truncated byte has bit 7 clear if the value is below 0x80).
    more = values >= 0x80
    low = values.astype(np.uint8)
    np.bitwise_or(low, 0x80, out=low, where=more)
    # levels[k]: the values needing more than k + 1 bytes.
    levels = [more.nonzero()[0]]
    size = more.view(np.uint8) + 1
    for shift in range(14, top.bit_length(), 7):
        deeper = levels[-1][values[levels[-1]] >= (1 << shift)]
        size[deeper] += 1
        levels.append(deeper)
    stream = np.repeat(low, size)  # room for the other bytes, filled in below
    first = levels[0]
    start = first + np.arange(len(first))  # where the values of ``first`` start in the stream
    offsets = marks + first.searchsorted(marks)
    for level in levels[1:]:
        start += level.searchsorted(first)
        offsets += level.searchsorted(marks)
    for k, level in enumerate(levels, 1):
        rest = values[level] >> (7 * k)
        byte = rest.astype(np.uint8)
        if k < len(levels):
            byte &= 0x7F
            np.bitwise_or(byte, 0x80, out=byte, where=rest >= 0x80)
        stream[(start if k == 1 else start[first.searchsorted(level)]) + k] = byte
    return stream.tobytes(), offsets


def _snap(coords: NDArray[np.float64]) -> None:
    """Round to the integer grid in place (half to even, as ``round`` in mapbox_vector_tile);
    refuse coordinates whose moves might not fit 32 bits."""
    np.rint(coords, out=coords)
    if not np.maximum.reduce(np.abs(coords.reshape(-1))) < _COORD_LIMIT:  # also catches NaN
        raise ValueError("tile coordinates must be finite and within +/-2**30")


def _changed(values: NDArray[Any]) -> BoolArray:
    """True where a value differs from the one before it, and at index 0 (values not empty)."""
    changed = np.empty(len(values), dtype=bool)
    changed[0] = True
    np.not_equal(values[1:], values[:-1], out=changed[1:])
    return changed


def _zigzag_moves(xy: IntArray, restart: IntArray) -> IntArray:
    """Zigzag-encoded (x, y) moves from the previous point, from 0,0 at the ``restart`` points,
    flattened to x0, y0, x1, y1, ..."""
    delta = np.empty_like(xy)
    np.subtract(xy[1:], xy[:-1], out=delta[1:])
    delta[restart] = xy[restart]
    zigzag = delta << 1
    delta >>= 63
    zigzag ^= delta
    return zigzag.reshape(-1)


def _drop_orphan_holes(ok: BoolArray, ring_polygon: IntArray) -> BoolArray:
    """Also drop the holes of polygons whose exterior ring (their first ring) was dropped."""
    rings = np.arange(len(ring_polygon))
    exterior = np.maximum.accumulate(np.where(_changed(ring_polygon), rings, 0))
    kept: BoolArray = ok & ok[exterior]
    return kept


def _encode_paths(
    coords: NDArray[np.float64],
    run_length: IntArray,
    run_feature: IntArray,
    *,
    closed: bool,
    ring_polygon: IntArray | None = None,
    one_run_each: bool = False,
) -> list[tuple[int, bytes]]:
    """(feature, packed commands) of lines or, if ``closed``, of polygon rings.

    ``coords`` holds the runs (lines or rings) one after the other, sorted by feature, with
    ``run_length`` coordinates each; ``one_run_each`` if no two runs share a feature.
    ``ring_polygon`` gives the polygon of every ring, whose first ring is its exterior; None if
    every ring is an exterior. ``coords`` is rounded in place.
    """
    if np.count_nonzero(run_length) < len(run_length):  # empty parts
        some = run_length > 0
        run_length, run_feature = run_length[some], run_feature[some]
        ring_polygon = None if ring_polygon is None else ring_polygon[some]
    if len(coords) == 0:
        return []
    _snap(coords)
    # Of consecutive equal points keep the last one, and of a ring not the closing point:
    # ClosePath stands for it, and for any point equal to the first just before it.
    point = coords.view(np.complex128).reshape(-1)
    keep = np.empty(len(point), dtype=bool)
    np.not_equal(point[:-1], point[1:], out=keep[:-1])
    bounds = np.zeros(len(run_length) + 1, dtype=np.int64)
    run_length.cumsum(out=bounds[1:])
    keep[bounds[1:] - 1] = not closed  # the last point of a line always counts
    kept = keep.nonzero()[0]
    bounds = kept.searchsorted(bounds)  # the runs among the kept points
    starts = bounds[:-1]
    counts = bounds[1:] - starts
    # A ring needs 3 distinct points, a line 2; a polygon without its exterior loses its holes.
    ok = counts >= (3 if closed else 2)
    if np.count_nonzero(ok) < len(ok):
        if ring_polygon is not None:
            ok = _drop_orphan_holes(ok, ring_polygon)
        if not ok.any():
            return []
        kept = kept[np.repeat(ok, counts)]
        counts, run_feature = counts[ok], run_feature[ok]
        starts = counts.cumsum() - counts
    xy = point[kept].view(np.float64).reshape(-1, 2).astype(np.int64)  # 1-d gather: fast
    # The cursor runs on across the parts of a feature and restarts at 0,0 for the next one.
    if one_run_each:
        feature_start, restart = [True] * len(starts), starts
    else:
        new_feature = _changed(run_feature)
        feature_start, restart = new_feature.tolist(), starts[new_feature]
    # Where each run starts, where its second point starts; and the end.
    marks = np.concatenate((starts, starts + 1, [len(xy)]))
    marks *= 2
    stream, offsets = _varints(_zigzag_moves(xy, restart), marks)
    # Per run: MoveTo(1) and the first move, LineTo(n-1) and the other moves, ClosePath.
    pieces: list[tuple[int, list[bytes]]] = []
    parts: list[bytes] = []
    close = _CLOSE_PATH_1 if closed else b""
    at = offsets.tolist()
    runs = len(starts)
    for feature, new, count, begin, second, end in zip(
        run_feature.tolist(),
        feature_start,
        counts.tolist(),
        at[:runs],
        at[runs : 2 * runs],
        [*at[1:runs], at[-1]],
        strict=True,
    ):
        if new:
            parts = []
            pieces.append((feature, parts))
        line_to = _LINE_TO[count] if count < _LINE_TO_CACHED else _line_to(count)
        parts += (_MOVE_TO_1, stream[begin:second], line_to, stream[second:end], close)
    return [(feature, b"".join(parts)) for feature, parts in pieces]


def _line_to(count: int) -> bytes:
    """The LineTo(count - 1) command integer of a run of ``count`` points, as a varint."""
    return varint(((count - 1) << 3) | CMD_LINE_TO)


_LINE_TO_CACHED = 4096
_LINE_TO = [b""] + [_line_to(count) for count in range(1, _LINE_TO_CACHED)]


def _encode_points(
    coords: NDArray[np.float64], counts: IntArray, features: IntArray
) -> list[tuple[int, bytes]]:
    """(feature, packed commands) of points and multipoints (``counts`` points each, none
    empty): MoveTo(n) then n moves."""
    if len(coords) == 0:
        return []
    _snap(coords)
    xy = coords.astype(np.int64)
    ends = counts.cumsum()
    starts = ends - counts
    marks = np.empty(len(counts) + 1, dtype=np.int64)
    marks[0] = 0
    marks[1:] = ends
    marks *= 2
    stream, offsets = _varints(_zigzag_moves(xy, starts), marks)
    at = offsets.tolist()
    return [
        (feature, varint((count << 3) | CMD_MOVE_TO) + stream[begin:end])
        for feature, count, begin, end in zip(
            features.tolist(), counts.tolist(), at[:-1], at[1:], strict=True
        )
    ]


def _as_int(indices: NDArray[Any]) -> IntArray:
    """Indices or counts as int64 (a no-op on 64-bit platforms)."""
    return indices.astype(np.int64, copy=False)


def _encode_family(
    geoms: NDArray[np.object_], geom_type: int, *, multipart: bool
) -> list[tuple[int, bytes]]:
    """(index in ``geoms``, packed commands) of geometries that all have MVT type
    ``geom_type`` (and are all single-part unless ``multipart``); geometries with nothing left
    to draw are missing."""
    if geom_type == GEOM_POINT:
        counts = _as_int(shapely.get_num_coordinates(geoms))
        features = (counts > 0).nonzero()[0]
        coords = shapely.get_coordinates(geoms)
        return _encode_points(coords, counts[features], features)
    if multipart:
        parts, part_feature = shapely.get_parts(geoms, return_index=True)
        part_feature = _as_int(part_feature)
    else:
        parts, part_feature = geoms, np.arange(len(geoms))
    if geom_type == GEOM_LINESTRING or not shapely.get_num_interior_rings(parts).any():
        # Lines, or polygons that are just an exterior ring each.
        return _encode_paths(
            shapely.get_coordinates(parts),
            _as_int(shapely.get_num_coordinates(parts)),
            part_feature,
            closed=geom_type == GEOM_POLYGON,
            one_run_each=not multipart,
        )
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_part = _as_int(ring_part)
    return _encode_paths(
        shapely.get_coordinates(rings),
        _as_int(shapely.get_num_coordinates(rings)),
        part_feature[ring_part],
        closed=True,
        ring_polygon=ring_part,
    )


# shapely type ids: single-part and multipart of each MVT geometry type.
_FAMILIES = ((GEOM_POLYGON, 3, 6), (GEOM_LINESTRING, 1, 5), (GEOM_POINT, 0, 4))
_ENCODABLE = {-1, 0, 1, 3, 4, 5, 6}  # -1: missing geometry, left out


def encode_geometries(geometries: Sequence[shapely.Geometry | None]) -> list[Encoded | None]:
    """MVT geometry type and packed command integers (the bytes of ``feature.geometry``) of
    every geometry, in tile coordinates (y down) with rings wound as given; None where nothing
    is left to draw (missing, empty or collapsed on the integer grid)."""
    geoms = np.empty(len(geometries), dtype=object)
    geoms[:] = list(geometries)
    type_ids = shapely.get_type_id(geoms)
    kinds = set(type_ids.tolist())
    if not kinds <= _ENCODABLE:
        bad = geoms[np.isin(type_ids, list(_ENCODABLE), invert=True).nonzero()[0][0]]
        raise ValueError(f"cannot encode a {bad.geom_type} as a vector tile feature")
    result: list[Encoded | None] = [None] * len(geoms)
    for geom_type, single, multi in _FAMILIES:
        here = kinds & {single, multi}
        if not here:
            continue
        if here == kinds:
            members, family = None, geoms
        else:
            members = ((type_ids == single) | (type_ids == multi)).nonzero()[0]
            family = geoms[members]
        encoded = _encode_family(family, geom_type, multipart=multi in here)
        for index, geometry in encoded:
            result[index if members is None else int(members[index])] = (geom_type, geometry)
    return result
