"""Tiles are valid MVT 2.1: commands, winding, validity, buffers, antimeridian, neighbours."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import shapely
from mapbox_vector_tile.Mapbox import vector_tile_pb2

from tilepress.encoding import compress, decode_tile, encode_tile
from tilepress.tiling import (
    BUFFER,
    EXTENT,
    WORLD,
    tile_bounds,
    tile_unit,
    to_tile_coordinates,
)

MOVE_TO, LINE_TO, CLOSE_PATH = 1, 2, 7


def zigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def path_parts(commands: list[int], *, closed: bool) -> list[np.ndarray]:
    """Parse a command stream per the MVT 2.1 spec, asserting its grammar: each part is
    MoveTo(1), LineTo(n) without zero-length steps, and ClosePath(1) for polygon rings."""
    parts: list[np.ndarray] = []
    position = 0
    cursor = np.zeros(2, dtype=np.int64)
    while position < len(commands):
        assert commands[position] == (1 << 3) | MOVE_TO, "a part starts with MoveTo(1)"
        cursor = cursor + np.array([zigzag(commands[position + 1]), zigzag(commands[position + 2])])
        points = [cursor.copy()]
        command, count = commands[position + 3] & 7, commands[position + 3] >> 3
        assert command == LINE_TO and count >= (2 if closed else 1), "then enough LineTo"
        position += 4
        for _ in range(count):
            step = np.array([zigzag(commands[position]), zigzag(commands[position + 1])])
            assert step.any(), "no zero-length LineTo"
            cursor = cursor + step
            points.append(cursor.copy())
            position += 2
        part = np.array(points)
        if closed:
            assert commands[position] == (1 << 3) | CLOSE_PATH, "ClosePath(1) ends a ring"
            position += 1
            assert not (part[0] == part[-1]).all(), "the closing point is not repeated"
        parts.append(part)
    return parts


def shoelace(ring: np.ndarray) -> float:
    x, y = ring[:, 0].astype(float), ring[:, 1].astype(float)
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2.0


def polygons_of(rings: list[np.ndarray]) -> list[shapely.Polygon]:
    """Group rings into polygons: each positive ring starts one, negative ones are its holes."""
    polygons: list[list[np.ndarray]] = []
    for ring in rings:
        area = shoelace(ring)
        assert area != 0, "zero-area ring"
        if area > 0:
            polygons.append([ring])
        else:
            assert polygons, "a hole must follow its exterior"
            polygons[-1].append(ring)
    return [shapely.Polygon(p[0], p[1:]) for p in polygons]


def all_tiles(dist: Path) -> dict[tuple[int, int, int], bytes]:
    return {
        (int(p.parts[-3]), int(p.parts[-2]), int(p.stem)): gzip.decompress(p.read_bytes())
        for p in (dist / "tiles").rglob("*.pbf")
    }


@pytest.fixture(scope="module")
def tiles(reference_dist: Path) -> dict[tuple[int, int, int], bytes]:
    return all_tiles(reference_dist)


GEOMETRY_TYPE = {"countries": 3, "boundaries": 2, "labels": 1}


@pytest.mark.e2e
def test_every_tile_is_valid_mvt_21(tiles: dict[tuple[int, int, int], bytes]) -> None:
    """Decode every tile of the reference output with an independent command parser."""
    checked = 0
    for key, data in tiles.items():
        tile = vector_tile_pb2.tile()
        tile.ParseFromString(data)
        names = [layer.name for layer in tile.layers]
        assert names and len(names) == len(set(names)), key
        assert set(names) <= set(GEOMETRY_TYPE) and "countries" in names, key
        for layer in tile.layers:
            assert layer.version == 2 and layer.extent == EXTENT
            for feature in layer.features:
                assert feature.type == GEOMETRY_TYPE[layer.name], (key, layer.name)
                assert len(feature.tags) % 2 == 0
                assert max(feature.tags[0::2]) < len(layer.keys)
                assert max(feature.tags[1::2]) < len(layer.values)
                if layer.name == "labels":
                    geometry = list(feature.geometry)
                    assert geometry[0] == (1 << 3) | MOVE_TO and len(geometry) == 3
                    x, y = zigzag(geometry[1]), zigzag(geometry[2])
                    assert 0 <= x <= EXTENT and 0 <= y <= EXTENT, key  # only in its own tile
                    continue
                if layer.name == "boundaries":
                    for part in path_parts(list(feature.geometry), closed=False):
                        assert part.min() >= -BUFFER and part.max() <= EXTENT + BUFFER, key
                    continue
                polygons = polygons_of(path_parts(list(feature.geometry), closed=True))
                for polygon in polygons:
                    assert polygon.is_valid, (key, shapely.is_valid_reason(polygon))
                    coords = shapely.get_coordinates(polygon)
                    assert coords.min() >= -BUFFER and coords.max() <= EXTENT + BUFFER, key
                multi = shapely.MultiPolygon(polygons)
                assert multi.is_valid, (key, shapely.is_valid_reason(multi))
                checked += 1
    assert checked > 5000


@pytest.mark.e2e
def test_countries_do_not_overlap_in_a_tile(tiles: dict[tuple[int, int, int], bytes]) -> None:
    worst = 0.0
    for data in tiles.values():
        features = decode_tile(data)["countries"]["features"]
        # one-pixel traces of micro-states sit on top of their neighbours by design
        shapes = [
            shapely.geometry.shape(f["geometry"])
            for f in features
            if not f["properties"].get("trace")
        ]
        if len(shapes) < 2:
            continue
        overlap = sum(s.area for s in shapes) - shapely.union_all(shapes).area
        worst = max(worst, overlap)
    # Shared borders are simplified once and snapped on both sides; what remains must stay far
    # below what a screen can show: 16 square units is 1/16 of a pixel on a 256-pixel tile.
    assert worst < 16.0, f"largest overlap {worst:.2f} square tile units"


@pytest.mark.e2e
def test_chukotka_reaches_across_the_antimeridian(tiles: dict[tuple[int, int, int], bytes]) -> None:
    """Russia in the west-edge tile extends into the buffer with the east side's copy."""
    west = decode_tile(gzip.compress(tiles[(2, 0, 0)]))["countries"]["features"]
    east = decode_tile(gzip.compress(tiles[(2, 3, 0)]))["countries"]["features"]
    russia_west = [
        shapely.geometry.shape(f["geometry"]) for f in west if f["properties"]["adm0_a3"] == "RUS"
    ]
    russia_east = [
        shapely.geometry.shape(f["geometry"]) for f in east if f["properties"]["adm0_a3"] == "RUS"
    ]
    assert min(shape.bounds[0] for shape in russia_west) < 0
    assert max(shape.bounds[2] for shape in russia_east) > EXTENT


def countries_by_code(data: bytes) -> dict[str, shapely.Geometry]:
    """Each country's shape in a tile (pieces from both sides of 180 degrees together)."""
    pieces: dict[str, list[shapely.Geometry]] = {}
    for feature in decode_tile(data)["countries"]["features"]:
        shape = shapely.geometry.shape(feature["geometry"])
        pieces.setdefault(feature["properties"]["adm0_a3"], []).append(shape)
    return {code: shapely.union_all(shapes) for code, shapes in pieces.items()}


def edge_crossings(shape: shapely.Geometry, x: float) -> np.ndarray:
    """Sorted y of the points where a polygon's outline crosses the vertical line at ``x``."""
    line = shapely.LineString([(x, -BUFFER), (x, EXTENT + BUFFER)])
    points = shapely.get_coordinates(shapely.intersection(shape.boundary, line))
    return np.unique(np.round(points[:, 1], 3))


@pytest.mark.e2e
def test_neighbours_cross_their_shared_edge_at_the_same_points(
    tiles: dict[tuple[int, int, int], bytes],
) -> None:
    """Each country's outline meets the edge between two tiles at the same places in both."""
    compared = 0
    for (z, x, y), data in tiles.items():
        if z != 4 or (z, x + 1, y) not in tiles:
            continue
        left = countries_by_code(data)
        right = countries_by_code(tiles[(z, x + 1, y)])
        for code in set(left) & set(right):
            a = edge_crossings(left[code], EXTENT)
            b = edge_crossings(right[code], 0)
            assert len(a) == len(b), (z, x, y, code, a, b)
            # Both tiles round the same outline to the same grid: within one unit.
            assert np.abs(a - b).max(initial=0) <= 1.0, (z, x, y, code)
            compared += 1
    assert compared > 20


def test_tile_bounds_cover_the_world() -> None:
    assert tile_bounds(0, 0, 0) == pytest.approx((-WORLD / 2, -WORLD / 2, WORLD / 2, WORLD / 2))
    minx, miny, maxx, _maxy = tile_bounds(3, 7, 7)
    assert maxx == pytest.approx(WORLD / 2) and miny == pytest.approx(-WORLD / 2)
    assert maxx - minx == pytest.approx(tile_unit(3) * EXTENT)


def test_quantized_geometry_is_valid_and_wound_for_mvt() -> None:
    """A self-touching, finely detailed polygon survives rounding to the grid as valid."""
    minx, miny, maxx, maxy = tile_bounds(5, 10, 12)
    unit = tile_unit(5)
    angles = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
    radius = (maxx - minx) * (0.3 + 0.002 * np.sin(angles * 400))  # sub-unit wiggles
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    shell = np.column_stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)])
    hole = shapely.Point(cx, cy).buffer((maxx - minx) * 0.1)
    polygon = shapely.Polygon(shell, [np.asarray(hole.exterior.coords)[::-1]])
    bigger = shapely.box(minx - 200 * unit, miny + 100 * unit, minx + 300 * unit, maxy + 300 * unit)
    _clipped, (tiled, cut) = to_tile_coordinates(
        np.array([polygon, bigger], dtype=object), 5, 10, 12
    )
    for geometry in (tiled, cut):
        assert geometry.is_valid
        coords = shapely.get_coordinates(geometry)
        assert np.array_equal(coords, np.round(coords))
        for part in shapely.get_parts(geometry):
            assert shoelace(np.asarray(part.exterior.coords)[:-1]) > 0
            for interior in part.interiors:
                assert shoelace(np.asarray(interior.coords)[:-1]) < 0
    assert shapely.bounds(cut).tolist() == [-BUFFER, -BUFFER, 300, EXTENT - 100]
    data = compress(encode_tile({"countries": [(tiled, {"adm0_a3": "XXX"})]}))
    decoded = decode_tile(data)["countries"]["features"][0]
    assert decoded["properties"] == {"adm0_a3": "XXX"}
    assert shapely.geometry.shape(decoded["geometry"]).equals(tiled)
    assert compress(b"same") == compress(b"same")


def test_pyramid_round_trip_is_exact_and_reproducible(tmp_path: Path) -> None:
    from tilepress.tiling import load_pyramid, save_pyramid

    squares = np.array([shapely.box(0, 0, 1.5, 1), shapely.MultiPolygon(), shapely.box(2, 2, 3, 3)])
    pyramid = {0: squares[:1], 3: squares}
    save_pyramid(pyramid, tmp_path / "a.pyramid")
    save_pyramid(pyramid, tmp_path / "b.pyramid")
    assert (tmp_path / "a.pyramid").read_bytes() == (tmp_path / "b.pyramid").read_bytes()
    loaded = load_pyramid(tmp_path / "a.pyramid")
    assert sorted(loaded) == [0, 3]
    assert all(shapely.equals_exact(loaded[3], squares, tolerance=0) | shapely.is_empty(squares))


def test_border_lines_follow_shared_edges_only() -> None:
    from tilepress.tiling import border_lines

    left = shapely.orient_polygons(shapely.box(0, 0, 10, 10), exterior_cw=False)
    right = shapely.orient_polygons(shapely.box(10, 0, 20, 10), exterior_cw=False)
    island = shapely.orient_polygons(shapely.box(30, 30, 31, 31), exterior_cw=False)
    [(a, b, lines)] = border_lines(np.array([7, 9, 11]), np.array([left, right, island]))
    assert (a, b) == (7, 9)
    assert lines.equals(shapely.LineString([(10, 0), (10, 10)]))
