"""Mapbox Vector Tile 2.1 encoding of prepared tile geometries.

The command streams are built with numpy over all coordinates of a tile at once, down to their
packed varint bytes; Python only loops over rings, features and properties. Layer metadata
(name, keys, values, extent, version) is serialized with the protobuf schema shipped with
``mapbox_vector_tile``, and the output is byte for byte what ``mapbox_vector_tile.encode`` gives
for the same valid input (see ``ENCODE_OPTIONS``).
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from mapbox_vector_tile.Mapbox import vector_tile_pb2
from numpy.typing import NDArray

from tilepress.tiling import EXTENT

# Options under which ``mapbox_vector_tile.encode`` means what ``encode_tile`` does: geometries
# arrive already in tile coordinates (y down), snapped, valid and wound per the spec, so the
# encoder must neither flip, rescale nor re-wind them. Kept as the reference for comparisons.
ENCODE_OPTIONS: dict[str, Any] = {
    "extents": EXTENT,
    "y_coord_down": True,
    "quantize_bounds": None,
    "check_winding_order": False,
}

Feature = tuple[shapely.Geometry, Mapping[str, str | int | float | bool]]

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Encoded = tuple[int, bytes]  # MVT geometry type, packed command integers

# MVT geometry types and command ids; a command integer is (count << 3) | id.
GEOM_POINT, GEOM_LINESTRING, GEOM_POLYGON = 1, 2, 3
CMD_MOVE_TO, CMD_LINE_TO, CMD_CLOSE_PATH = 1, 2, 7
LAYER_VERSION = 2

# |coordinate| < 2**30 keeps every move within int32, so every zigzag value within uint32.
_COORD_LIMIT = float(1 << 30)
_VARINT_LIMITS = np.array([1 << 7, 1 << 14, 1 << 21, 1 << 28], dtype=np.int64)
_VARINT_SHIFTS = np.arange(0, 35, 7, dtype=np.int64)
_SMALL_VARINTS = [bytes([n]) for n in range(128)]
_MOVE_TO_1 = _SMALL_VARINTS[(1 << 3) | CMD_MOVE_TO]
_CLOSE_PATH_1 = _SMALL_VARINTS[(1 << 3) | CMD_CLOSE_PATH]
# Wire keys (field << 3 | wire type) of tile.layers, layer.features and the feature fields.
_TILE_LAYER, _LAYER_FEATURE = b"\x1a", b"\x12"
_FEATURE_TAGS, _FEATURE_GEOMETRY = b"\x12", b"\x22"
_FEATURE_TYPE = {t: bytes([0x18, t]) for t in (GEOM_POINT, GEOM_LINESTRING, GEOM_POLYGON)}

_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1


def _varint(number: int) -> bytes:
    """Protobuf base-128 varint of a non-negative integer."""
    if number < 128:
        return _SMALL_VARINTS[number]
    out = bytearray()
    while number > 127:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _packed(numbers: list[int]) -> bytes:
    """Packed varints of small non-negative integers (tags)."""
    if max(numbers) < 128:
        return bytes(numbers)
    return b"".join(map(_varint, numbers))


def _varints(values: IntArray, marks: IntArray) -> tuple[bytes, IntArray]:
    """Varints of non-negative values below 2**35, concatenated, and the byte offsets at which
    the values with the indices ``marks`` (any shape, up to ``len(values)``) start."""
    more = values >= 0x80
    low = values.astype(np.uint8)
    low &= 0x7F
    if not more.any():
        return low.tobytes(), marks
    low |= more.view(np.uint8) << 7  # continuation bit
    offsets = marks.copy()
    where: list[IntArray] = []
    extra: list[NDArray[np.uint8]] = []
    longer = more.nonzero()[0]
    shift = 7
    while len(longer):
        # The next 7 bits of the values longer than ``shift`` bits, inserted after their byte.
        rest = values[longer] >> shift
        more = rest >= 0x80
        byte = rest.astype(np.uint8)
        byte &= 0x7F
        byte |= more.view(np.uint8) << 7
        where.append(longer + 1)
        extra.append(byte)
        offsets += np.searchsorted(longer, marks)
        longer = longer[more]
        shift += 7
    if len(where) == 1:
        at, add = where[0], extra[0]
    else:  # several bytes go after some values: in order, each after the one before
        at = np.concatenate(where)
        order = np.argsort(at, kind="stable")
        at, add = at[order], np.concatenate(extra)[order]
    at = at + np.arange(len(at))  # where the inserted bytes land in the stream
    stream = np.empty(len(low) + len(at), dtype=np.uint8)
    is_low = np.ones(len(stream), dtype=bool)
    is_low[at] = False
    stream[is_low] = low
    stream[at] = add
    return stream.tobytes(), offsets


def _snap(coords: NDArray[np.float64]) -> None:
    """Round to the integer grid in place (half to even, as ``round`` in mapbox_vector_tile)."""
    np.rint(coords, out=coords)
    if not np.maximum.reduce(np.abs(coords), axis=None) < _COORD_LIMIT:  # also catches NaN
        raise ValueError("tile coordinates must be finite and within +/-2**30")


def _changed(values: NDArray[Any]) -> BoolArray:
    """True where a value differs from the one before it, and at index 0 (values not empty)."""
    changed = np.empty(len(values), dtype=bool)
    changed[0] = True
    np.not_equal(values[1:], values[:-1], out=changed[1:])
    return changed


def _lengths(starts: IntArray, total: int) -> IntArray:
    """Lengths of the runs starting at ``starts`` (ascending, the last one ending at ``total``)."""
    lengths = np.empty_like(starts)
    np.subtract(starts[1:], starts[:-1], out=lengths[:-1])
    lengths[-1] = total - starts[-1]
    return lengths


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


def _drop_orphan_holes(ok: BoolArray, present: IntArray, ring_polygon: IntArray) -> BoolArray:
    """Also drop the holes of polygons whose exterior ring (their first ring) was dropped."""
    rings = len(ring_polygon)
    ring_ok = np.zeros(rings, dtype=bool)
    ring_ok[present] = ok
    exterior = np.maximum.accumulate(np.where(_changed(ring_polygon), np.arange(rings), 0))
    kept: BoolArray = ok & ring_ok[exterior][present]
    return kept


def _encode_paths(
    coords: NDArray[np.float64],
    coord_run: IntArray,
    run_feature: IntArray,
    *,
    closed: bool,
    ring_polygon: IntArray | None = None,
) -> list[tuple[int, bytes]]:
    """(feature, packed commands) of lines or, if ``closed``, of polygon rings.

    Runs (lines or rings) are sorted by feature and ``coord_run`` gives the run of every
    coordinate, in order. ``ring_polygon`` gives the polygon of every ring, whose first ring is
    its exterior; None if every ring is an exterior. ``coords`` is rounded in place.
    """
    if len(coords) == 0:
        return []
    _snap(coords)
    # Keep the first point of every run and every point that moves from its predecessor.
    new_run = _changed(coord_run)
    keep = _changed(coords.view(np.complex128).reshape(-1))
    keep |= new_run
    kept = keep.nonzero()[0]
    first = new_run[kept]
    if closed:
        # The last kept point of a ring repeats its first (the closing point, or points equal
        # to the first just before it): drop it, ClosePath stands for it.
        inner = np.empty(len(kept), dtype=bool)
        inner[-1] = False
        np.logical_not(first[1:], out=inner[:-1])
        kept, first = kept[inner], first[inner]
        if len(kept) == 0:
            return []
    xy = coords[kept].astype(np.int64)
    starts = first.nonzero()[0]
    counts = _lengths(starts, len(kept))
    present = coord_run[kept[starts]]
    # A ring needs 3 distinct points, a line 2; a polygon without its exterior loses its holes.
    ok = counts >= (3 if closed else 2)
    if ring_polygon is not None and (len(present) < len(ring_polygon) or not ok.all()):
        ok = _drop_orphan_holes(ok, present, ring_polygon)
    if not ok.all():
        if not ok.any():
            return []
        xy = xy[np.repeat(ok, counts)]
        counts, present = counts[ok], present[ok]
        starts = np.zeros(len(counts), dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
    # The cursor runs on across the parts of a feature and restarts at 0,0 for the next one.
    features = run_feature[present]
    feature_start = _changed(features)
    marks = np.array([starts, starts + 1, starts + counts]) * 2
    stream, offsets = _varints(_zigzag_moves(xy, starts[feature_start]), marks)
    # Per run: MoveTo(1) and the first move, LineTo(n-1) and the other moves, ClosePath.
    pieces: list[tuple[int, list[bytes]]] = []
    parts: list[bytes] = []
    begins, seconds, ends = offsets.tolist()
    for feature, new, count, begin, second, end in zip(
        features.tolist(),
        feature_start.tolist(),
        counts.tolist(),
        begins,
        seconds,
        ends,
        strict=True,
    ):
        if new:
            parts = []
            pieces.append((feature, parts))
        parts += (
            _MOVE_TO_1,
            stream[begin:second],
            _line_to(count - 1),
            stream[second:end],
        )
        if closed:
            parts.append(_CLOSE_PATH_1)
    return [(feature, b"".join(parts)) for feature, parts in pieces]


def _line_to(count: int) -> bytes:
    """The LineTo(count) command integer as a varint."""
    return _varint((count << 3) | CMD_LINE_TO)


def _encode_points(coords: NDArray[np.float64], coord_feature: IntArray) -> list[tuple[int, bytes]]:
    """(feature, packed commands) of points and multipoints: MoveTo(n) then n moves."""
    if len(coords) == 0:
        return []
    _snap(coords)
    xy = coords.astype(np.int64)
    starts = _changed(coord_feature).nonzero()[0]
    counts = _lengths(starts, len(xy))
    stream, offsets = _varints(_zigzag_moves(xy, starts), np.array([starts, starts + counts]) * 2)
    begins, ends = offsets.tolist()
    return [
        (feature, _varint((count << 3) | CMD_MOVE_TO) + stream[begin:end])
        for feature, count, begin, end in zip(
            coord_feature[starts].tolist(), counts.tolist(), begins, ends, strict=True
        )
    ]


def _as_int(indices: NDArray[Any]) -> IntArray:
    return indices.astype(np.int64, copy=False)


def _encode_family(
    geoms: NDArray[np.object_], geom_type: int, *, multipart: bool
) -> list[tuple[int, bytes]]:
    """(index in ``geoms``, packed commands) of geometries that all have MVT type
    ``geom_type`` (and are all single-part unless ``multipart``); geometries with nothing left
    to draw are missing."""
    if geom_type == GEOM_POINT:
        coords, coord_feature = shapely.get_coordinates(geoms, return_index=True)
        return _encode_points(coords, _as_int(coord_feature))
    if multipart:
        parts, part_feature = shapely.get_parts(geoms, return_index=True)
        part_feature = _as_int(part_feature)
    else:
        parts, part_feature = geoms, np.arange(len(geoms))
    if geom_type == GEOM_LINESTRING:
        coords, coord_part = shapely.get_coordinates(parts, return_index=True)
        return _encode_paths(coords, _as_int(coord_part), part_feature, closed=False)
    if not shapely.get_num_interior_rings(parts).any():  # exteriors only: polygon = ring
        coords, coord_part = shapely.get_coordinates(parts, return_index=True)
        return _encode_paths(coords, _as_int(coord_part), part_feature, closed=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    ring_part = _as_int(ring_part)
    return _encode_paths(
        coords, _as_int(coord_ring), part_feature[ring_part], closed=True, ring_polygon=ring_part
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


def _value_field(value: object) -> tuple[str, str | int | float | bool]:
    """The field of ``tile.value`` a property value goes to, with the value as stored. As in
    mapbox_vector_tile: str, bool, int (int64, here uint64 beyond) and float (double)."""
    if isinstance(value, str):
        return "string_value", str(value)
    if isinstance(value, (bool, np.bool_)):
        return "bool_value", bool(value)
    if isinstance(value, (int, np.integer)):
        number = int(value)
        if _INT64_MIN <= number <= _INT64_MAX:
            return "int_value", number
        if number <= _UINT64_MAX:
            return "uint_value", number
        raise OverflowError(f"integer property {number} does not fit 64 bits")
    if isinstance(value, (float, np.floating)):
        return "double_value", float(value)
    raise TypeError(f"cannot encode a property of type {type(value).__name__}")


def _layer_bytes(
    name: str, features: Sequence[Feature], encoded: Sequence[Encoded | None]
) -> bytes | None:
    """The serialized ``tile.layer``, or None if none of its features has a geometry left."""
    meta = vector_tile_pb2.tile.layer()
    keys: dict[str, int] = {}
    # Keyed by (field, value), so that True, 1 and 1.0 stay three values.
    values: dict[tuple[str, str | int | float | bool], int] = {}
    chunks: list[bytes] = []
    for (_, properties), item in zip(features, encoded, strict=True):
        if item is None:
            continue
        tags: list[int] = []
        for key, value in properties.items():
            if value is None:
                continue
            key_index = keys.get(key)
            if key_index is None:
                if not isinstance(key, str):
                    raise TypeError(f"property keys must be strings, not {type(key).__name__}")
                key_index = keys[key] = len(keys)
            field = _value_field(value)
            value_index = values.get(field)
            if value_index is None:
                value_index = values[field] = len(values)
                setattr(meta.values.add(), *field)
            tags += (key_index, value_index)
        geom_type, geometry = item
        body = _FEATURE_TYPE[geom_type] + _FEATURE_GEOMETRY + _varint(len(geometry)) + geometry
        if tags:
            packed = _packed(tags)
            body = _FEATURE_TAGS + _varint(len(packed)) + packed + body
        chunks += (_LAYER_FEATURE, _varint(len(body)), body)
    if not chunks:
        return None
    meta.keys.extend(keys)
    meta.extent = EXTENT
    meta.version = LAYER_VERSION
    # Fields in number order: name (1), features (2), then keys, values, extent, version.
    # (each half alone lacks a required field, hence the partial serializations).
    head: bytes = vector_tile_pb2.tile.layer(name=name).SerializePartialToString()
    tail: bytes = meta.SerializePartialToString(deterministic=True)
    return head + b"".join(chunks) + tail


def encode_tile(layers: Mapping[str, Sequence[Feature]]) -> bytes:
    """Encode layers of (geometry, properties) into an uncompressed MVT 2.1 protobuf.

    Geometries are in tile coordinates (y down, extent 4096) and already wound as MVT wants
    (exteriors with positive shoelace area); they are never re-wound. Layers, features, keys and
    values keep their first-seen order; None properties are omitted. Empty layers, geometries
    that collapse on the integer grid and layers left without features are skipped.
    """
    named = [(name, features) for name, features in layers.items() if features]
    for name, _ in named:
        if not name:
            raise ValueError("a layer name cannot be empty")
    # One pass over the geometries of all layers, then the layers one by one.
    encoded = encode_geometries([geometry for _, features in named for geometry, _ in features])
    out: list[bytes] = []
    done = 0
    for name, features in named:
        layer = _layer_bytes(name, features, encoded[done : done + len(features)])
        done += len(features)
        if layer is not None:
            out += (_TILE_LAYER, _varint(len(layer)), layer)
    return b"".join(out)


def compress(data: bytes) -> bytes:
    """gzip with a fixed header (mtime 0), so equal tiles give equal bytes."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def decode_tile(data: bytes) -> dict[str, Any]:
    """Decode a (possibly gzip-compressed) tile into layers with tile-coordinate GeoJSON, y down."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    decoded: dict[str, Any] = mapbox_vector_tile.decode(
        data, default_options={"y_coord_down": True}
    )
    return decoded
