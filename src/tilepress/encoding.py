"""Mapbox Vector Tile 2.1 encoding of prepared tile geometries."""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from typing import Any

import mapbox_vector_tile
import shapely

from tilepress.tiling import EXTENT

# Geometries arrive already in tile coordinates (y down), snapped, valid and wound per the spec,
# so the encoder must neither flip, rescale nor re-wind them.
ENCODE_OPTIONS: dict[str, Any] = {
    "extents": EXTENT,
    "y_coord_down": True,
    "quantize_bounds": None,
    "check_winding_order": False,
}

Feature = tuple[shapely.Geometry, Mapping[str, str | int | float | bool]]


def encode_tile(layers: Mapping[str, Sequence[Feature]]) -> bytes:
    """Encode layers of (geometry, properties) into an uncompressed MVT protobuf."""
    payload = [
        {
            "name": name,
            "features": [
                {"geometry": geometry, "properties": dict(properties)}
                for geometry, properties in features
            ],
        }
        for name, features in layers.items()
        if features
    ]
    data: bytes = mapbox_vector_tile.encode(payload, default_options=ENCODE_OPTIONS)
    return data


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
