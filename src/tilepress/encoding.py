"""Mapbox Vector Tile 2.1 encoding of prepared tile geometries.

The command streams are built with numpy over all coordinates of a layer at once; only the
protobuf messages (one per layer, feature, key and value) are assembled in Python, using the
schema shipped with ``mapbox_vector_tile``.
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

# MVT geometry types and command integers ((count << 3) | id).
GEOM_POINT, GEOM_LINESTRING, GEOM_POLYGON = 1, 2, 3
CMD_MOVE_TO, CMD_LINE_TO, CMD_CLOSE_PATH = 1, 2, 7
_CLOSE_PATH_1 = (1 << 3) | CMD_CLOSE_PATH
_MOVE_TO_1 = (1 << 3) | CMD_MOVE_TO

# shapely type ids per MVT geometry type.
_POINT_IDS = (0, 4)
_LINE_IDS = (1, 5)
_POLYGON_IDS = (3, 6)

_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1
_COORD_LIMIT = float(1 << 30)  # keeps every delta, and so every zigzag value, within uint32


def _empty_int() -> IntArray:
    return np.zeros(0, dtype=np.int64)


class _Streams:
    """Concatenated command streams of one geometry family; family member ``features[i]`` owns
    ``out[start[i]:end[i]]``."""

    __slots__ = ("end", "features", "out", "start")

    def __init__(self, out: IntArray, features: IntArray, start: IntArray, end: IntArray) -> None:
        self.out, self.features, self.start, self.end = out, features, start, end

    @classmethod
    def empty(cls) -> _Streams:
        """No feature at all."""
        return cls(_empty_int(), _empty_int(), _empty_int(), _empty_int())


def _snap(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    """Round to the integer grid (half to even, as ``round`` in mapbox_vector_tile)."""
    snapped = np.rint(coords)
    if not np.abs(snapped).max() < _COORD_LIMIT:  # also catches NaN
        raise ValueError("tile coordinates must be finite and within +/-2**30")
    return snapped


def _changed(values: NDArray[Any]) -> NDArray[np.bool_]:
    """True where a value differs from the one before it, and at index 0 (values not empty)."""
    changed = np.empty(len(values), dtype=bool)
    changed[0] = True
    np.not_equal(values[1:], values[:-1], out=changed[1:])
    return changed


def _zigzag_moves(xy: IntArray, restart: IntArray) -> IntArray:
    """Zigzag-encoded moves from the previous point, from 0,0 at the ``restart`` points."""
    delta = np.empty_like(xy)
    delta[0] = xy[0]
    np.subtract(xy[1:], xy[:-1], out=delta[1:])
    delta[restart] = xy[restart]
    zigzag: IntArray = (delta << 1) ^ (delta >> 63)
    return zigzag


def _ring_ok(xy: IntArray, starts: IntArray, ends: IntArray) -> NDArray[np.bool_]:
    """Rings with a non-zero shoelace area (so also with at least 3 distinct points).

    Wrapping int64 arithmetic is exact modulo 2**64 and |2 * area| < 2**63 for coordinates
    within +/-2**30, so a zero result means a zero area."""
    x, y = xy[:, 0], xy[:, 1]
    partial = np.zeros(len(xy), dtype=np.int64)
    np.cumsum(x[:-1] * y[1:] - x[1:] * y[:-1], out=partial[1:])
    tail = ends - 1
    area2 = partial[tail] - partial[starts] + x[tail] * y[starts] - x[starts] * y[tail]
    ok: NDArray[np.bool_] = area2 != 0
    return ok


def _with_exteriors(
    ok: NDArray[np.bool_], present: IntArray, run_polygon: IntArray
) -> NDArray[np.bool_]:
    """Drop the holes of polygons whose exterior ring was dropped."""
    runs = len(run_polygon)
    ring_ok = np.zeros(runs, dtype=bool)
    ring_ok[present] = ok
    exterior = np.where(_changed(run_polygon), np.arange(runs), 0)
    kept: NDArray[np.bool_] = ok & ring_ok[np.maximum.accumulate(exterior)][present]
    return kept


def _encode_paths(
    coords: NDArray[np.float64],
    coord_run: IntArray,
    run_feature: IntArray,
    run_polygon: IntArray | None = None,
) -> _Streams:
    """Command streams of lines, or of polygon rings when ``run_polygon`` gives the polygon of
    every ring (its first ring being the exterior). Runs (lines or rings) are sorted by feature
    and ``coord_run`` gives the run of every coordinate, in order."""
    closed = run_polygon is not None
    if len(coords) == 0:
        return _Streams.empty()
    snapped = _snap(coords)
    # Keep the first point of every run and every point that moves from its predecessor.
    new_run = _changed(coord_run)
    keep = _changed(snapped.view(np.complex128).reshape(-1))
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
            return _Streams.empty()
    xy = snapped[kept].astype(np.int64)
    starts = first.nonzero()[0]
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1] = len(kept)
    present = coord_run[kept[starts]]
    if run_polygon is not None:
        ok = _ring_ok(xy, starts, ends)
        if len(present) < len(run_polygon) or not ok.all():
            ok = _with_exteriors(ok, present, run_polygon)
    else:
        ok = ends - starts >= 2
    if not ok.all():
        if not ok.any():
            return _Streams.empty()
        point_ok = np.repeat(ok, ends - starts)
        xy, first = xy[point_ok], first[point_ok]
        present = present[ok]
        starts = first.nonzero()[0]
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:]
        ends[-1] = len(xy)
    # The cursor runs on across the parts of a feature and restarts at 0,0 for the next one.
    features = run_feature[present]
    feature_start = _changed(features)
    moves = _zigzag_moves(xy, starts[feature_start])
    # Per run: MoveTo(1) x y, LineTo(n-1) and 2(n-1) moves, then ClosePath for a ring.
    nruns = len(starts)
    per_run = 3 if closed else 2
    run_out = 2 * starts + per_run * np.arange(nruns)
    commands = np.empty((nruns, per_run), dtype=np.int64)
    commands[:, 0] = run_out
    commands[:, 1] = run_out + 3
    values = np.empty((nruns, per_run), dtype=np.int64)
    values[:, 0] = _MOVE_TO_1
    values[:, 1] = ((ends - starts - 1) << 3) | CMD_LINE_TO
    if closed:
        commands[:, 2] = run_out + 2 * (ends - starts) + 2
        values[:, 2] = _CLOSE_PATH_1
    total = 2 * len(xy) + per_run * nruns
    is_command = np.zeros(total, dtype=bool)
    is_command[commands.reshape(-1)] = True
    out = np.empty(total, dtype=np.int64)
    out[is_command] = values.reshape(-1)
    out[~is_command] = moves.reshape(-1)
    feature_out = run_out[feature_start]
    end = np.empty_like(feature_out)
    end[:-1] = feature_out[1:]
    end[-1] = total
    return _Streams(out, features[feature_start], feature_out, end)


def _encode_points(coords: NDArray[np.float64], coord_feature: IntArray) -> _Streams:
    """Command streams of points and multipoints: MoveTo(n) then n moves."""
    if len(coords) == 0:
        return _Streams.empty()
    xy = _snap(coords).astype(np.int64)
    first = _changed(coord_feature)
    starts = first.nonzero()[0]
    total = 2 * len(xy) + len(starts)
    feature_out = 2 * starts + np.arange(len(starts))
    end = np.empty_like(feature_out)
    end[:-1] = feature_out[1:]
    end[-1] = total
    out = np.empty(total, dtype=np.int64)
    is_command = np.zeros(total, dtype=bool)
    is_command[feature_out] = True
    out[is_command] = ((end - feature_out - 1) << 2) | CMD_MOVE_TO  # n = (length - 1) / 2
    out[~is_command] = _zigzag_moves(xy, starts).reshape(-1)
    return _Streams(out, coord_feature[starts], feature_out, end)


# MVT geometry type of each shapely type id + 1 (None, Point, LineString, LinearRing, Polygon,
# MultiPoint, MultiLineString, MultiPolygon, GeometryCollection); -1 for unsupported.
_MVT_TYPE = np.array([0, 1, 2, -1, 3, 1, 2, 3, -1], dtype=np.int64)


def encode_geometries(
    geometries: Sequence[shapely.Geometry | None],
) -> list[tuple[int, list[int]] | None]:
    """MVT geometry type and command integers of every geometry (tile coordinates, y down,
    rings wound as given), or None where nothing is left to draw (empty or collapsed)."""
    geoms = np.empty(len(geometries), dtype=object)
    geoms[:] = list(geometries)
    mvt_types = _MVT_TYPE[shapely.get_type_id(geoms) + 1]
    if (mvt_types < 0).any():
        bad = geoms[np.flatnonzero(mvt_types < 0)[0]]
        raise ValueError(f"cannot encode a {bad.geom_type} as a vector tile feature")
    result: list[tuple[int, list[int]] | None] = [None] * len(geoms)
    for geom_type in (GEOM_POLYGON, GEOM_LINESTRING, GEOM_POINT):
        member = mvt_types == geom_type
        if member.all():
            members, family = np.arange(len(geoms)), geoms
        elif member.any():
            members = np.flatnonzero(member)
            family = geoms[members]
        else:
            continue
        streams = _encode_family(family, geom_type)
        values: list[int] = streams.out.tolist()
        for feature, a, b in zip(
            members[streams.features].tolist(),
            streams.start.tolist(),
            streams.end.tolist(),
            strict=True,
        ):
            result[feature] = (geom_type, values[a:b])
    return result


def _encode_family(geoms: NDArray[np.object_], geom_type: int) -> _Streams:
    """Command streams of geometries that all have the MVT type ``geom_type``."""
    if geom_type == GEOM_POINT:
        coords, coord_feature = shapely.get_coordinates(geoms, return_index=True)
        return _encode_points(coords, coord_feature.astype(np.int64))
    parts, part_feature = shapely.get_parts(geoms, return_index=True)
    if geom_type == GEOM_LINESTRING:
        coords, coord_part = shapely.get_coordinates(parts, return_index=True)
        return _encode_paths(coords, coord_part.astype(np.int64), part_feature.astype(np.int64))
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    ring_part = ring_part.astype(np.int64)
    return _encode_paths(
        coords,
        coord_ring.astype(np.int64),
        part_feature.astype(np.int64)[ring_part],
        ring_part,
    )


def _value_key(value: object) -> tuple[str, str | int | float | bool]:
    """The protobuf value field a property value goes to, with the normalized value; the field
    is part of the deduplication key so that True, 1 and 1.0 stay distinct values."""
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


def _add_layer(tile: Any, name: str, features: Sequence[Feature], extent: int = EXTENT) -> None:
    if not name:
        raise ValueError("a layer name cannot be empty")
    encoded = encode_geometries([geometry for geometry, _ in features])
    if not any(item is not None for item in encoded):
        return  # every geometry collapsed: no layer rather than an empty one
    layer = tile.layers.add()
    layer.name = name
    layer.version = 2
    layer.extent = extent
    keys: dict[str, int] = {}
    values: dict[tuple[str, str | int | float | bool], int] = {}
    for (_, properties), item in zip(features, encoded, strict=True):
        if item is None:
            continue
        geom_type, geometry = item
        tags: list[int] = []
        for key, value in properties.items():
            if value is None:
                continue
            if not isinstance(key, str):
                raise TypeError(f"property keys must be strings, not {type(key).__name__}")
            key_index = keys.get(key)
            if key_index is None:
                key_index = keys[key] = len(keys)
                layer.keys.append(key)
            value_key = _value_key(value)
            value_index = values.get(value_key)
            if value_index is None:
                value_index = values[value_key] = len(values)
                setattr(layer.values.add(), value_key[0], value_key[1])
            tags.append(key_index)
            tags.append(value_index)
        feature = layer.features.add()
        feature.tags.extend(tags)
        feature.type = geom_type
        feature.geometry.extend(geometry)


def encode_tile(layers: Mapping[str, Sequence[Feature]]) -> bytes:
    """Encode layers of (geometry, properties) into an uncompressed MVT 2.1 protobuf.

    Geometries are in tile coordinates (y down, extent 4096) and already wound as MVT wants;
    layers, features, keys and values keep their first-seen order; None properties are omitted.
    Empty layers, and geometries that collapse on the integer grid, are left out.
    """
    tile = vector_tile_pb2.tile()
    for name, features in layers.items():
        if features:
            _add_layer(tile, name, features)
    data: bytes = tile.SerializeToString(deterministic=True)
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
