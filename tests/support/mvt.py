"""An independent reading of Mapbox Vector Tile 2.1: a command-stream parser that asserts the
grammar, the checks that make a tile valid, and mapbox_vector_tile's decoder for the rest."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from mapbox_vector_tile.Mapbox import vector_tile_pb2

MOVE_TO, LINE_TO, CLOSE_PATH = 1, 2, 7
POINT, LINESTRING, POLYGON = 1, 2, 3


def decode(data: bytes) -> dict[str, Any]:
    """A tile (gzip-compressed or not) decoded by mapbox_vector_tile, in tile coordinates with
    y down, as tilepress writes them."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    decoded: dict[str, Any] = mapbox_vector_tile.decode(
        data, default_options={"y_coord_down": True}
    )
    return decoded


def parse(data: bytes) -> Any:
    """The tile's protobuf message, as written (no decoding of geometry or values)."""
    tile = vector_tile_pb2.tile()
    tile.ParseFromString(data)
    return tile


def unzigzag(value: int) -> int:
    """A zigzag-encoded parameter integer back to its signed value."""
    return (value >> 1) ^ -(value & 1)


def shoelace(ring: Sequence[tuple[float, float]] | np.ndarray) -> float:
    """Twice the signed area of an open ring, as MVT 2.1 computes it in tile coordinates
    (positive: clockwise on screen, y down)."""
    x, y = np.asarray(ring, dtype=float).T
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def polygons_of(rings: Sequence[Sequence[tuple[int, int]]]) -> list[shapely.Polygon]:
    """Group rings into polygons as MVT 2.1 does: each positive ring starts one, negative
    ones are its holes (asserting that no ring has zero area and a hole has its exterior)."""
    polygons: list[list[Sequence[tuple[int, int]]]] = []
    for ring in rings:
        area = shoelace(ring)
        assert area != 0, "zero-area ring"
        if area > 0:
            polygons.append([ring])
        else:
            assert polygons, "a hole must follow its exterior"
            polygons[-1].append(ring)
    return [shapely.Polygon(p[0], p[1:]) for p in polygons]


def parse_commands(geometry: Sequence[int], geom_type: int) -> list[list[tuple[int, int]]]:
    """Independent parser of a command stream that asserts the MVT 2.1 grammar and returns the
    parts: points, lines or open rings, in absolute tile coordinates."""
    x = y = 0
    i = 0
    parts: list[list[tuple[int, int]]] = []
    expected = [MOVE_TO]  # command ids allowed next

    def move() -> tuple[int, int]:
        nonlocal x, y, i
        assert i + 1 < len(geometry), "truncated command parameters"
        dx, dy = unzigzag(geometry[i]), unzigzag(geometry[i + 1])
        i += 2
        x, y = x + dx, y + dy
        return dx, dy

    while i < len(geometry):
        command, count = geometry[i] & 7, geometry[i] >> 3
        i += 1
        assert command in expected, f"command {command} where {expected} expected"
        if command == MOVE_TO:
            if geom_type == POINT:
                assert count >= 1
                for _ in range(count):
                    move()
                    parts.append([(x, y)])
                expected = []  # a point feature has exactly one MoveTo
            else:
                assert count == 1
                move()
                parts.append([(x, y)])
                expected = [LINE_TO]
        elif command == LINE_TO:
            assert count >= (2 if geom_type == POLYGON else 1)
            for _ in range(count):
                assert move() != (0, 0), "zero-length LineTo"
                parts[-1].append((x, y))
            expected = [CLOSE_PATH] if geom_type == POLYGON else [MOVE_TO]
        else:
            assert command == CLOSE_PATH
            assert count == 1
            assert parts[-1][-1] != parts[-1][0], "closing point repeated"
            expected = [MOVE_TO]
    assert parts, "empty geometry"
    assert MOVE_TO in expected or geom_type == POINT, "unfinished part"
    return parts


def check_tile(data: bytes) -> list[tuple[str, list[tuple[int, list[list[tuple[int, int]]]]]]]:
    """Assert what makes a valid MVT 2.1 tile; return each layer's features as parts."""
    tile = parse(data)
    names = [layer.name for layer in tile.layers]
    assert len(set(names)) == len(names)
    result = []
    for layer in tile.layers:
        assert layer.name
        assert layer.version == 2
        assert layer.extent == 4096
        assert len(layer.features) > 0
        for value in layer.values:
            assert len(value.ListFields()) == 1
        features = []
        for feature in layer.features:
            tags = list(feature.tags)
            assert len(tags) % 2 == 0
            assert all(0 <= k < len(layer.keys) for k in tags[0::2])
            assert all(0 <= v < len(layer.values) for v in tags[1::2])
            assert feature.type in (POINT, LINESTRING, POLYGON)
            parts = parse_commands(list(feature.geometry), feature.type)
            if feature.type == POLYGON:
                assert shoelace(parts[0]) > 0, "a polygon must start with an exterior"
                assert all(shoelace(ring) != 0 for ring in parts)
            features.append((feature.type, parts))
        result.append((layer.name, features))
    return result
