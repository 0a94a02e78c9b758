"""Mapbox Vector Tile 2.1 encoding of prepared tile geometries.

The command streams are built with numpy over all coordinates of many tiles at once, down to their
packed varint bytes; Python only loops over rings, features and properties. The protobuf
fields of tiles, layers and features are written directly, with the strings' fields cached
(names, keys and values repeat from tile to tile). For valid input the output is byte for byte
what ``mapbox_vector_tile.encode`` gives with ``ENCODE_OPTIONS`` (the tests compare them),
except that equal int and float values (1 and 1.0) stay two values and integers beyond int64
go to ``uint_value``.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from isal import isal_zlib
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
_SMALL_VARINTS = [bytes([n]) for n in range(128)]
_MOVE_TO_1 = _SMALL_VARINTS[(1 << 3) | CMD_MOVE_TO]
_CLOSE_PATH_1 = _SMALL_VARINTS[(1 << 3) | CMD_CLOSE_PATH]
# Wire keys (field << 3 | wire type) of tile.layers, layer.features and the feature fields.
_TILE_LAYER, _LAYER_FEATURE = b"\x1a", b"\x12"
_FEATURE_TAGS, _FEATURE_GEOMETRY = b"\x12", b"\x22"
_FEATURE_TYPE = {t: bytes([0x18, t]) for t in (GEOM_POINT, GEOM_LINESTRING, GEOM_POLYGON)}
# Wire keys of the layer's name, keys and values.
_LAYER_NAME, _LAYER_KEY, _LAYER_VALUE = b"\x0a", b"\x1a", b"\x22"
_DOUBLE = struct.Struct("<d")

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


# The layer's last fields: extent (5) and version (15).
_LAYER_END = b"\x28" + _varint(EXTENT) + b"\x78" + _varint(LAYER_VERSION)


def _packed(numbers: list[int]) -> bytes:
    """Packed varints of non-negative integers (tags)."""
    if max(numbers) < 128:
        return bytes(numbers)
    out = bytearray()
    for number in numbers:
        rest = number
        while rest > 127:
            out.append((rest & 0x7F) | 0x80)
            rest >>= 7
        out.append(rest)
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
    return _varint(((count - 1) << 3) | CMD_LINE_TO)


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
        (feature, _varint((count << 3) | CMD_MOVE_TO) + stream[begin:end])
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


def _encode_geometries(geometries: Sequence[shapely.Geometry | None]) -> list[Encoded | None]:
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


def _value_key(value: object) -> str | tuple[str, int | float | bool]:
    """A property value as stored: a str for ``string_value``, else the field of ``tile.value``
    with the value. As in mapbox_vector_tile: str, bool, int (int64; here uint64 beyond) and
    float (double). Being (field, value), True, 1 and 1.0 stay three values."""
    if type(value) is float:  # the common cases first
        return "double_value", value
    if type(value) is int and _INT64_MIN <= value <= _INT64_MAX:
        return "int_value", value
    if isinstance(value, str):
        return str(value)
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


def _value_bytes(stored: tuple[str, int | float | bool]) -> bytes:
    """A ``tile.value`` message holding one stored number or boolean (see :func:`_value_key`;
    strings go through :func:`_string_value_field`)."""
    kind, number = stored
    if kind == "double_value":  # (3), fixed64
        return b"\x19" + _DOUBLE.pack(number)
    if kind == "int_value":  # (4), two's complement varint
        return b"\x20" + _varint(int(number) & _UINT64_MAX)
    if kind == "uint_value":  # (5)
        return b"\x28" + _varint(int(number))
    return b"\x38" + _SMALL_VARINTS[int(number)]  # bool_value (7)


@lru_cache(maxsize=1 << 16)
def _string_field(key: bytes, text: str) -> bytes:
    """A length-delimited string field (names, keys and values repeat from tile to tile)."""
    data = text.encode()
    return key + _varint(len(data)) + data


@lru_cache(maxsize=1 << 16)
def _string_value_field(text: str) -> bytes:
    """A layer's ``values`` entry holding a string."""
    message = _string_field(b"\x0a", text)
    return _LAYER_VALUE + _varint(len(message)) + message


def _layer_bytes(
    name: str, features: Sequence[Feature], encoded: Sequence[Encoded | None]
) -> bytes | None:
    """The serialized ``tile.layer``, or None if none of its features has a geometry left.

    Written field by field, in field number order as protobuf's deterministic serialization
    does: name (1), features (2), keys (3), values (4), extent (5), version (15).
    """
    keys: dict[str, int] = {}
    values: dict[str | tuple[str, int | float | bool], int] = {}
    value_fields: list[bytes] = []
    chunks: list[bytes] = [_string_field(_LAYER_NAME, name)]
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
            stored = value if type(value) is str else _value_key(value)
            value_index = values.get(stored)
            if value_index is None:
                value_index = values[stored] = len(values)
                if isinstance(stored, str):
                    value_fields.append(_string_value_field(stored))
                else:
                    message = _value_bytes(stored)
                    value_fields += (_LAYER_VALUE, _varint(len(message)), message)
            tags += (key_index, value_index)
        geom_type, geometry = item
        size = _varint(len(geometry))
        length = 2 + 1 + len(size) + len(geometry)  # keys and values of type and geometry
        if tags:
            packed = _packed(tags)
            packed_size = _varint(len(packed))
            length += 1 + len(packed_size) + len(packed)
            chunks += (_LAYER_FEATURE, _varint(length), _FEATURE_TAGS, packed_size, packed)
        else:
            chunks += (_LAYER_FEATURE, _varint(length))
        chunks += (_FEATURE_TYPE[geom_type], _FEATURE_GEOMETRY, size, geometry)
    if len(chunks) == 1:
        return None
    chunks += [_string_field(_LAYER_KEY, key) for key in keys]
    chunks += value_fields
    chunks.append(_LAYER_END)
    return b"".join(chunks)


def encode_tile(layers: Mapping[str, Sequence[Feature]]) -> bytes:
    """Encode layers of (geometry, properties) into an uncompressed MVT 2.1 protobuf.

    Geometries are in tile coordinates (y down, extent 4096) and already wound as MVT wants
    (exteriors with positive shoelace area); they are never re-wound. Layers, features, keys and
    values keep their first-seen order; None properties are omitted. Empty layers, geometries
    that collapse on the integer grid and layers left without features are skipped.
    """
    return encode_tiles([layers])[0]


def encode_tiles(tiles: Sequence[Mapping[str, Sequence[Feature]]]) -> list[bytes]:
    """Encode many tiles (each as :func:`encode_tile` does) with one vectorized pass over the
    geometries of all of them: a tile holds few features, so per-call overhead would rule."""
    named_per_tile = [[(name, features) for name, features in t.items() if features] for t in tiles]
    for named in named_per_tile:
        for name, _ in named:
            if not name:
                raise ValueError("a layer name cannot be empty")
    encoded = _encode_geometries(
        [geometry for named in named_per_tile for _, features in named for geometry, _ in features]
    )
    result: list[bytes] = []
    done = 0
    for named in named_per_tile:
        out: list[bytes] = []
        for name, features in named:
            layer = _layer_bytes(name, features, encoded[done : done + len(features)])
            done += len(features)
            if layer is not None:
                out += (_TILE_LAYER, _varint(len(layer)), layer)
        result.append(b"".join(out))
    return result


def compress(data: bytes) -> bytes:
    """gzip with a fixed header (mtime 0), so equal tiles give equal bytes.

    ISA-L's level 2 (python-isal) makes tiles as small as zlib's level 9, seven times faster.
    """
    return isal_zlib.compress(data, 2, wbits=31)


def decode_tile(data: bytes) -> dict[str, Any]:
    """Decode a (possibly gzip-compressed) tile into layers with tile-coordinate GeoJSON, y down."""
    import mapbox_vector_tile  # only tests and checks decode; a step need not import it

    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    decoded: dict[str, Any] = mapbox_vector_tile.decode(
        data, default_options={"y_coord_down": True}
    )
    return decoded
