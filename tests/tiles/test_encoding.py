"""The numpy MVT encoder against mapbox_vector_tile and against the MVT 2.1 grammar."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
import shapely

from tests.support.mvt import (
    LINESTRING,
    POLYGON,
    check_tile,
    decode,
    parse,
    shoelace,
)
from tilepress.tiles.mvt import Feature, compress, decode_tile, encode_tile, encode_tiles

REFERENCE_OPTIONS = {
    "extents": 4096,
    "y_coord_down": True,
    "quantize_bounds": None,
    "check_winding_order": False,
}
Layers = Mapping[str, Sequence[Feature]]


# --- helpers -----------------------------------------------------------------------------------


def reference_encode(layers: Layers) -> bytes:
    """mapbox_vector_tile's encoding of the same input."""
    payload = [
        {
            "name": name,
            "features": [{"geometry": g, "properties": dict(p)} for g, p in features],
        }
        for name, features in layers.items()
        if features
    ]
    data: bytes = mapbox_vector_tile.encode(payload, default_options=REFERENCE_OPTIONS)
    return data


def deduplicated(line: shapely.Geometry) -> list[tuple[int, int]]:
    """Integral points of a line without consecutive repeats."""
    points = [(int(x), int(y)) for x, y in shapely.get_coordinates(line)]
    return [p for k, p in enumerate(points) if k == 0 or p != points[k - 1]]


def open_rings(geometry: shapely.Geometry) -> list[list[tuple[int, int]]]:
    """Rings of a (multi)polygon as MVT carries them: no closing point, no repeated points."""
    rings = []
    for polygon in shapely.get_parts(geometry):
        for ring in [polygon.exterior, *polygon.interiors]:
            points = [(round(x), round(y)) for x, y in ring.coords[:-1]]
            rings.append([p for k, p in enumerate(points) if k == 0 or p != points[k - 1]])
    return rings


def oriented(geometry: shapely.Geometry) -> shapely.Geometry:
    """Exteriors with positive shoelace area in tile coordinates (y down), holes negative."""
    result: shapely.Geometry = shapely.orient_polygons(geometry, exterior_cw=False)
    return result


def square(x: float, y: float, size: float) -> list[tuple[float, float]]:
    return [(x, y), (x + size, y), (x + size, y + size), (x, y + size)]


def random_polygon(rng: np.random.Generator) -> shapely.Geometry:
    """A valid, integral, oriented (multi)polygon, often with holes, in and around a tile."""
    centers = rng.uniform(-64, 4160, (int(rng.integers(1, 6)), 2))
    radii = rng.uniform(3, 600, len(centers))
    shape = shapely.union_all(
        [
            shapely.Point(c).buffer(r, quad_segs=int(rng.integers(1, 9)))
            for c, r in zip(centers, radii, strict=True)
        ]
    )
    for c, r in zip(centers, radii, strict=True):
        if rng.random() < 0.6:  # a hole around the middle of this blob
            shape = shape.difference(shapely.Point(c).buffer(r * rng.uniform(0.05, 0.7)))
    snapped = shapely.set_precision(shape, 1.0)
    if not snapped.is_valid:
        snapped = shapely.set_precision(shapely.make_valid(snapped), 1.0)
    polygons = [g for g in shapely.get_parts(snapped) if g.geom_type == "Polygon"]
    return oriented(shapely.MultiPolygon(polygons) if len(polygons) > 1 else polygons[0])


def random_line(rng: np.random.Generator) -> shapely.Geometry:
    """An integral random walk, with repeated points now and then, or a few of them."""
    lines = []
    for _ in range(int(rng.integers(1, 4))):
        steps = rng.integers(-300, 301, (int(rng.integers(2, 40)), 2))
        steps[rng.random(len(steps)) < 0.2] = 0
        steps[0] = rng.integers(0, 4096, 2)
        lines.append(shapely.LineString(np.cumsum(steps, axis=0)))
    geometry: shapely.Geometry = lines[0] if len(lines) == 1 else shapely.MultiLineString(lines)
    return geometry


def random_points(rng: np.random.Generator) -> shapely.Geometry:
    xy = rng.integers(-64, 4160, (int(rng.integers(1, 6)), 2))
    return shapely.Point(xy[0]) if len(xy) == 1 else shapely.MultiPoint(xy)


def random_properties(rng: np.random.Generator, row: int) -> dict[str, Any]:
    """Properties of every type; no int equal to a float (mapbox_vector_tile merges those)."""
    names = ["Україна", "Россия", "조선", "Côte d'Ivoire", "", "a b"]
    choices: dict[str, Any] = {
        "name": names[int(rng.integers(0, len(names)))],
        "row": row,
        "negative": -int(rng.integers(1, 10**12)),
        "big": int(rng.integers(2**40, 2**62)),
        "share": float(rng.integers(0, 100)) + 0.5,
        "ratio": float(rng.standard_normal()),
        "flag": bool(rng.integers(0, 2)),
        "group": ["a", "b", None][int(rng.integers(0, 3))],
    }
    keys = list(choices)
    order = rng.permutation(len(keys))[: int(rng.integers(0, len(keys) + 1))]
    return {keys[k]: choices[keys[k]] for k in order}


def random_layers(seed: int) -> dict[str, list[Feature]]:
    rng = np.random.default_rng(seed)
    layers: dict[str, list[Feature]] = {}
    makers = {"countries": random_polygon, "boundaries": random_line, "labels": random_points}
    for name, maker in makers.items():
        count = int(rng.integers(0, 6))
        layers[name] = [(maker(rng), random_properties(rng, row)) for row in range(count)]
    return layers


RANDOM_SEEDS = range(40)


# --- fixed cases -------------------------------------------------------------------------------

HOLED = oriented(
    shapely.Polygon(square(0, 0, 1000), [square(100, 100, 200), square(500, 500, 300)])
)
MULTI = oriented(
    shapely.MultiPolygon(
        [
            shapely.Polygon(square(-50, -50, 400), [square(0, 0, 100)]),
            shapely.Polygon(square(2000, 3000, 1500)),
            shapely.Polygon([(4000, 10), (4100, 60), (3990, 200)]),
        ]
    )
)
LINE = shapely.LineString([(10, 10), (10, 10), (20, 30), (20, 30), (20, 30), (-40, 4100)])
MULTILINE = shapely.MultiLineString([[(0, 0), (4096, 4096)], [(5, 5), (5, 6), (100, 6)]])
POINT_GEOM = shapely.Point(17, 4000)
MULTIPOINT = shapely.MultiPoint([(1, 2), (1, 2), (-64, 4160), (300, 0)])
# Repeated points everywhere, also right before the closing point.
REPEATS = oriented(
    shapely.Polygon(
        [(0, 0), (0, 0), (10, 0), (10, 0), (10, 0), (10, 10), (0, 10), (0, 10)],
        [[(2, 2), (2, 8), (2, 8), (8, 8), (8, 2)]],
    )
)
# Not integral: rounded half to even on the way in, as mapbox_vector_tile does.
FRACTIONAL = oriented(shapely.Polygon([(0.4, 0.5), (10.5, 1.5), (11.5, 12.49), (-0.5, 9.6)]))
# Moves of every varint length, 1 to 5 bytes, in a mixed order.
STEPS = [1, 200, -3, 20_000, 5, -3_000_000, 64, 500_000_000, -1, -(2**30) + 7, 2**30 - 9, 8191]
HUGE = shapely.LineString(np.cumsum([[s, -s // 2] for s in STEPS], axis=0))
HUGE_POINTS = shapely.MultiPoint(shapely.get_coordinates(HUGE)[::-1])
# A ring of one repeated point collapses entirely (in both encoders).
SPECK = shapely.Polygon([(5, 5), (5, 5), (5, 5), (5, 5)])
EVERY_TYPE: dict[str, Any] = {
    "str": "Кыргызстан 🇰🇬",
    "empty": "",
    "int": 42,
    "zero": 0,
    "negative": -7,
    "big": 2**62 + 1,
    "most_negative": -(2**63),
    "float": 2.5,
    "tiny": 1e-300,
    "negative_float": -0.25,
    "true": True,
    "false": False,
    "none": None,
}


def fixed_cases() -> Iterator[tuple[str, Layers]]:
    yield "polygon with holes", {"countries": [(HOLED, {"name": "holed"})]}
    yield "multipolygon", {"countries": [(MULTI, {"name": "multi", "n": 3})]}
    yield "line", {"borders": [(LINE, {"kind": "land"})]}
    yield "multiline", {"borders": [(MULTILINE, {"kind": "sea"})]}
    yield "point", {"labels": [(POINT_GEOM, {"name": "here"})]}
    yield "multipoint", {"labels": [(MULTIPOINT, {"name": "there"})]}
    yield "repeated points", {"countries": [(REPEATS, {})]}
    yield "huge moves", {"borders": [(HUGE, {}), (LINE, {})], "labels": [(HUGE_POINTS, {})]}
    yield "fractional", {"countries": [(FRACTIONAL, {"a": 1})]}
    yield "collapsed ring", {"countries": [(SPECK, {"gone": 1}), (HOLED, {"kept": 2})]}
    yield "every property type", {"countries": [(HOLED, EVERY_TYPE), (MULTI, EVERY_TYPE)]}
    yield (
        "mixed layers",
        {
            "countries": [(MULTI, {"a": "x", "b": 1}), (HOLED, {"b": 1, "a": "y"})],
            "empty": [],
            "borders": [(LINE, {"a": "x"}), (MULTILINE, {"c": False})],
            "labels": [(MULTIPOINT, {"a": "z"}), (POINT_GEOM, {"a": "x"})],
        },
    )
    yield (
        "mixed geometry types in one layer",
        {
            "things": [
                (POINT_GEOM, {}),
                (HOLED, {"x": 1}),
                (LINE, {}),
                (MULTI, {}),
                (MULTIPOINT, {}),
            ]
        },
    )


FIXED = dict(fixed_cases())


# --- agreement with mapbox_vector_tile ---------------------------------------------------------


@pytest.mark.parametrize("case", list(FIXED))
def test_fixed_cases_decode_like_mapbox_vector_tile(case: str) -> None:
    layers = FIXED[case]
    ours = encode_tile(layers)
    assert decode(ours) == decode(reference_encode(layers))
    assert decode_tile(compress(ours)) == decode(ours)
    check_tile(ours)


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_tiles_are_byte_identical_to_mapbox_vector_tile(seed: int) -> None:
    layers = random_layers(seed)
    ours = encode_tile(layers)
    assert ours == reference_encode(layers)
    assert decode(ours) == decode(reference_encode(layers))


def test_a_batch_of_tiles_encodes_each_as_alone() -> None:
    # One vectorized pass over many tiles: no feature's cursor or bytes leak into the next.
    tiles = [random_layers(seed) for seed in RANDOM_SEEDS] + [{}, FIXED[next(iter(FIXED))]]
    assert encode_tiles(tiles) == [encode_tile(layers) for layers in tiles]
    assert encode_tiles(tiles)[-1] == reference_encode(tiles[-1])


def test_many_keys_and_values_are_byte_identical() -> None:
    # Tag indices beyond 127 take two bytes or more in the packed tags.
    rng = np.random.default_rng(7)
    features: list[Feature] = [
        (shapely.Point(rng.integers(0, 4096, 2)), {f"k{i % 150}": f"v{i}", "i": i, "x": i + 0.5})
        for i in range(400)
    ]
    layers = {"many": features}
    assert encode_tile(layers) == reference_encode(layers)
    layer = parse(encode_tile(layers)).layers[0]
    assert len(layer.keys) == 152
    assert len(layer.values) == 1200
    assert max(layer.features[-1].tags) > 2**7


def test_valid_fixed_cases_are_byte_identical() -> None:
    valid = (
        "polygon with holes",
        "multipolygon",
        "line",
        "multiline",
        "mixed layers",
        "huge moves",
    )
    for case in valid:
        assert encode_tile(FIXED[case]) == reference_encode(FIXED[case]), case


# --- the grammar, checked by an independent parser ---------------------------------------------


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_tiles_follow_the_grammar_and_keep_the_rings(seed: int) -> None:
    layers = random_layers(seed)
    parsed = dict(check_tile(encode_tile(layers)))
    for name, features in layers.items():
        if not features:
            assert name not in parsed
            continue
        assert len(parsed[name]) == len(features)
        for (geometry, _), (geom_type, parts) in zip(features, parsed[name], strict=True):
            if geom_type == POLYGON:
                assert parts == open_rings(geometry)
                # Orientation exactly as given: one exterior per input polygon, holes after it.
                signs = [shoelace(ring) > 0 for ring in parts]
                expected = [
                    k == 0
                    for polygon in shapely.get_parts(geometry)
                    for k in range(1 + len(polygon.interiors))
                ]
                assert signs == expected
            elif geom_type == LINESTRING:
                lines = [deduplicated(line) for line in shapely.get_parts(geometry)]
                assert parts == [line for line in lines if len(line) >= 2]
            else:
                assert [p[0] for p in parts] == [
                    tuple(map(int, p)) for p in shapely.get_coordinates(geometry)
                ]


@pytest.mark.parametrize("case", list(FIXED))
def test_fixed_cases_follow_the_grammar(case: str) -> None:
    check_tile(encode_tile(FIXED[case]))


def test_exterior_and_holes_keep_their_orientation() -> None:
    [(_, [(geom_type, rings)])] = check_tile(encode_tile({"c": [(HOLED, {})]}))
    assert geom_type == POLYGON
    assert [shoelace(r) for r in rings] == [2_000_000, -80_000, -180_000]
    # A hole wound like an exterior is not re-wound: it then starts a new polygon.
    clockwise_hole = shapely.Polygon(square(0, 0, 1000), [square(100, 100, 200)])
    assert shapely.is_ccw(clockwise_hole.interiors[0])
    [(_, [(_, rings)])] = check_tile(encode_tile({"c": [(clockwise_hole, {})]}))
    assert [shoelace(r) > 0 for r in rings] == [True, True]


def test_repeated_points_and_the_closing_point() -> None:
    [(_, [(_, rings)])] = check_tile(encode_tile({"c": [(REPEATS, {})]}))
    assert rings == open_rings(REPEATS)
    assert rings[0] == [(0, 0), (10, 0), (10, 10), (0, 10)]
    # A point equal to the first one just before the closing point is dropped as well.
    ring = [(0, 0), (10, 0), (10, 10), (0, 0), (0, 0)]
    [(_, [(_, rings)])] = check_tile(encode_tile({"c": [(shapely.Polygon(ring), {})]}))
    assert rings == [[(0, 0), (10, 0), (10, 10)]]


def test_rings_and_lines_that_collapse_are_dropped() -> None:
    sliver = shapely.Polygon([(0, 0), (7, 0), (7, 0), (0, 0)])  # 2 distinct points
    island = shapely.Polygon(square(100, 100, 10))
    hole_collapses = shapely.Polygon(square(0, 0, 50), [[(5, 5), (6, 6), (5, 5), (5, 5)]])
    shell_collapses = shapely.Polygon([(0, 0), (9, 0), (0, 0), (0, 0)], [square(1, 1, 2)])
    multi = shapely.MultiPolygon([shell_collapses, island])
    line = shapely.MultiLineString([[(3, 3), (3, 3)], [(1, 1), (2, 2)]])
    layers: Layers = {
        "gone": [(sliver, {"never": "seen"})],
        "c": [
            (sliver, {"dropped": 1}),
            (oriented(island), {"kept": 1}),
            (oriented(hole_collapses), {}),
            (oriented(multi), {}),
            (line, {}),
            (shapely.LineString([(4, 4), (4, 4)]), {}),
            (shapely.Polygon(), {}),
            (None, {"missing": True}),
        ],
    }
    parsed = dict(check_tile(encode_tile(layers)))
    assert "gone" not in parsed  # a layer left without features is skipped
    assert parsed["c"] == [
        (POLYGON, open_rings(oriented(island))),
        (POLYGON, [[(0, 0), (50, 0), (50, 50), (0, 50)]]),
        (POLYGON, open_rings(oriented(island))),  # the shell went, and its hole with it
        (LINESTRING, [[(1, 1), (2, 2)]]),
    ]
    layer = parse(encode_tile(layers)).layers[0]
    assert list(layer.keys) == ["kept"]  # dropped features add no keys or values


def test_cursor_carries_across_parts_and_restarts_per_feature() -> None:
    two = shapely.MultiLineString([[(10, 10), (20, 10)], [(25, 10), (25, 30)]])
    layer = parse(encode_tile({"l": [(two, {}), (two, {})]})).layers[0]
    # MoveTo(1) +10 +10, LineTo(1) +10 0, MoveTo(1) +5 0 (from 20,10), LineTo(1) 0 +20; zigzag
    # of a non-negative n is 2n.
    expected = [9, 20, 20, 10, 20, 0, 9, 10, 0, 10, 0, 40]
    assert list(layer.features[0].geometry) == expected
    assert list(layer.features[1].geometry) == expected


# --- properties --------------------------------------------------------------------------------


def test_property_types_and_deduplication() -> None:
    layers: Any = {  # numpy scalars too
        "l": [
            (POINT_GEOM, {"a": 1, "b": True, "c": 1.0, "d": "1", "e": None}),
            (POINT_GEOM, {"c": 1.0, "b": True, "a": 1, "f": -1}),
            (POINT_GEOM, {"g": 2**63, "h": np.int64(-5), "i": np.float32(0.5)}),
            (POINT_GEOM, {"j": np.bool_(False), "k": np.str_("x"), "l": 2**64 - 1}),
        ]
    }
    layer = parse(encode_tile(layers)).layers[0]
    assert list(layer.keys) == ["a", "b", "c", "d", "f", "g", "h", "i", "j", "k", "l"]
    fields = [value.ListFields()[0] for value in layer.values]
    assert [(f.name, v) for f, v in fields] == [
        ("int_value", 1),
        ("bool_value", True),
        ("double_value", 1.0),
        ("string_value", "1"),
        ("int_value", -1),
        ("uint_value", 2**63),
        ("int_value", -5),
        ("double_value", 0.5),
        ("bool_value", False),
        ("string_value", "x"),
        ("uint_value", 2**64 - 1),
    ]
    assert list(layer.features[1].tags) == [2, 2, 1, 1, 0, 0, 4, 4]
    properties = [f["properties"] for f in decode(encode_tile(layers))["l"]["features"]]
    assert properties[0] == {"a": 1, "b": True, "c": 1.0, "d": "1"}
    assert [type(properties[0][k]) for k in "abcd"] == [int, bool, float, str]
    assert properties[2] == {"g": 2**63, "h": -5, "i": 0.5}


def test_every_property_type_round_trips() -> None:
    [feature] = decode(encode_tile({"l": [(POINT_GEOM, EVERY_TYPE)]}))["l"]["features"]
    expected = {k: v for k, v in EVERY_TYPE.items() if v is not None}
    assert feature["properties"] == expected
    assert all(type(feature["properties"][k]) is type(v) for k, v in expected.items())
    assert not math.isnan(feature["properties"]["tiny"])


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="GeometryCollection"):
        encode_tile({"l": [(shapely.GeometryCollection([POINT_GEOM]), {})]})
    with pytest.raises(ValueError, match="LinearRing"):
        encode_tile({"l": [(HOLED.exterior, {})]})
    with pytest.raises(ValueError, match="finite"):
        encode_tile({"l": [(shapely.LineString([(0, 0), (math.inf, 1)]), {})]})
    with pytest.raises(ValueError, match="finite"):
        encode_tile({"l": [(shapely.Point(2.0**40, 0), {})]})
    with pytest.raises(ValueError, match="name"):
        encode_tile({"": [(POINT_GEOM, {})]})
    with pytest.raises(TypeError):
        unsupported: Any = {"a": [1, 2]}
        encode_tile({"l": [(POINT_GEOM, unsupported)]})
    with pytest.raises(OverflowError):
        encode_tile({"l": [(POINT_GEOM, {"a": 2**64})]})


# --- determinism -------------------------------------------------------------------------------


def test_output_is_deterministic() -> None:
    for layers in [*FIXED.values(), *(random_layers(seed) for seed in range(5))]:
        first = encode_tile(layers)
        assert encode_tile(layers) == first
        assert compress(first) == compress(encode_tile(layers))
        rebuilt = {
            name: [(shapely.from_wkb(shapely.to_wkb(g)), dict(p)) for g, p in features]
            for name, features in layers.items()
        }
        assert encode_tile(rebuilt) == first


def test_empty_input_gives_an_empty_tile() -> None:
    assert encode_tile({}) == b""
    assert encode_tile({"a": [], "b": []}) == b""
    assert decode_tile(compress(b"")) == {}
