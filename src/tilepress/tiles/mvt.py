"""Mapbox Vector Tile 2.1 tiles: layers, features, keys and values written field by field as
protobuf (the strings' bytes cached, as they repeat from tile to tile), gzip compression,
and decoding for checks.

For valid input the output is byte for byte what ``mapbox_vector_tile.encode`` gives with
``y_coord_down=True, quantize_bounds=None, check_winding_order=False`` (the tests compare
them), except that equal int and float values (1 and 1.0) stay two values and integers
beyond int64 go to ``uint_value``.
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

from tilepress.tiles.grid import EXTENT
from tilepress.tiles.mvt_geometry import (
    GEOM_LINESTRING,
    GEOM_POINT,
    GEOM_POLYGON,
    SMALL_VARINTS,
    Encoded,
    encode_geometries,
    varint,
)

Feature = tuple[shapely.Geometry, Mapping[str, str | int | float | bool]]
LAYER_VERSION = 2


# Wire keys (field << 3 | wire type) of tile.layers, layer.features and the feature fields.
_TILE_LAYER, _LAYER_FEATURE = b"\x1a", b"\x12"


_FEATURE_TAGS, _FEATURE_GEOMETRY = b"\x12", b"\x22"


_FEATURE_TYPE = {t: bytes([0x18, t]) for t in (GEOM_POINT, GEOM_LINESTRING, GEOM_POLYGON)}


# Wire keys of the layer's name, keys and values.
_LAYER_NAME, _LAYER_KEY, _LAYER_VALUE = b"\x0a", b"\x1a", b"\x22"


_DOUBLE = struct.Struct("<d")


_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1


# The layer's last fields: extent (5) and version (15).
_LAYER_END = b"\x28" + varint(EXTENT) + b"\x78" + varint(LAYER_VERSION)


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
        return b"\x20" + varint(int(number) & _UINT64_MAX)
    if kind == "uint_value":  # (5)
        return b"\x28" + varint(int(number))
    return b"\x38" + SMALL_VARINTS[int(number)]  # bool_value (7)


@lru_cache(maxsize=1 << 16)
def _string_field(key: bytes, text: str) -> bytes:
    """A length-delimited string field (names, keys and values repeat from tile to tile)."""
    data = text.encode()
    return key + varint(len(data)) + data


@lru_cache(maxsize=1 << 16)
def _string_value_field(text: str) -> bytes:
    """A layer's ``values`` entry holding a string."""
    message = _string_field(b"\x0a", text)
    return _LAYER_VALUE + varint(len(message)) + message


def feature_body(item: Encoded) -> bytes:
    """The end of a ``tile.feature`` message, after its tags: type (3) and geometry (4). It
    depends on the geometry alone, so a map's tiles can reuse the bodies of shared geometry
    with their own tags (:func:`layer_from_bodies`)."""
    geom_type, geometry = item
    return _FEATURE_TYPE[geom_type] + _FEATURE_GEOMETRY + varint(len(geometry)) + geometry


def layer_bytes(
    name: str, features: Sequence[Feature], encoded: Sequence[Encoded | None]
) -> bytes | None:
    """The serialized ``tile.layer`` of ``features``, or None if none has a geometry left."""
    kept = [(f[1], feature_body(e)) for f, e in zip(features, encoded, strict=True) if e]
    return layer_from_bodies(name, [p for p, _ in kept], [b for _, b in kept])


def layer_from_bodies(
    name: str,
    properties: Sequence[Mapping[str, str | int | float | bool]],
    bodies: Sequence[bytes],
) -> bytes | None:
    """The serialized ``tile.layer`` of features given as their properties and their
    :func:`feature_body`, or None if there are none.

    Written field by field, in field number order as protobuf's deterministic serialization
    does: name (1), features (2), keys (3), values (4), extent (5), version (15).
    """
    if not bodies:
        return None
    keys: dict[str, int] = {}
    values: dict[str | tuple[str, int | float | bool], int] = {}
    value_fields: list[bytes] = []
    chunks: list[bytes] = [_string_field(_LAYER_NAME, name)]
    for feature_properties, body in zip(properties, bodies, strict=True):
        tags: list[int] = []
        for key, value in feature_properties.items():
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
                    value_fields += (_LAYER_VALUE, varint(len(message)), message)
            tags += (key_index, value_index)
        if tags:
            packed = _packed(tags)
            packed_size = varint(len(packed))
            length = len(body) + 1 + len(packed_size) + len(packed)
            chunks += (_LAYER_FEATURE, varint(length), _FEATURE_TAGS, packed_size, packed, body)
        else:
            chunks += (_LAYER_FEATURE, varint(len(body)), body)
    chunks += [_string_field(_LAYER_KEY, key) for key in keys]
    chunks += value_fields
    chunks.append(_LAYER_END)
    return b"".join(chunks)


def layer_chunk(layer: bytes | None) -> bytes:
    """A serialized layer as the ``tile.layers`` entry it becomes (nothing for None)."""
    return b"" if layer is None else _TILE_LAYER + varint(len(layer)) + layer


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
    encoded = encode_geometries(
        [geometry for named in named_per_tile for _, features in named for geometry, _ in features]
    )
    result: list[bytes] = []
    done = 0
    for named in named_per_tile:
        out: list[bytes] = []
        for name, features in named:
            layer = layer_bytes(name, features, encoded[done : done + len(features)])
            done += len(features)
            out.append(layer_chunk(layer))
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
