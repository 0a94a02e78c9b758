"""Story marks in the tiles, on the real data (zooms 0-3): markers where they are at every zoom,
overlays as valid polygons covering their areas, patterns, and the land no country holds as
countries of its own."""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from tests.conftest import NATURAL_EARTH_ZIP, REFERENCE_CONFIG, REFERENCE_ID
from tests.support.mvt import check_tile, decode, polygons_of
from tests.support.oracles import tile_bounds
from tilepress.config.model import MapSpec, Marker, OverlaySpec, Pattern
from tilepress.geometry.projection import lonlat_to_web_mercator
from tilepress.project import load_config
from tilepress.sources.loaded import LoadedMap, load_map
from tilepress.sources.unclaimed import (
    UNCLAIMED_CODE,
    UNCLAIMED_COLOR,
    UNCLAIMED_NAME,
    UNCLAIMED_PATTERN,
)
from tilepress.tiles.build import build_tiles
from tilepress.tiles.grid import EXTENT, tile_unit
from tilepress.tiles.pyramid import prepare_mercator

ZOOMS = range(0, 4)
LAYER_ORDER = ["countries", "boundaries", "overlays", "labels", "markers"]
POINT_NEMO = Marker("Point Nemo", lon=-123.39, lat=-48.88, symbol="dot", color="#0000ff")
HATCH = Pattern("hatch", color="#ffffff", width=1.2, spacing=5.0)
DOTS = Pattern("dots", color="#000000", width=1.0, spacing=4.0)
ABYEI = (28.41, 9.77)
Tiles = dict[tuple[int, int, int], bytes]


def write_overlays(folder: Path) -> tuple[OverlaySpec, OverlaySpec]:
    """An area with a hole over eastern Ukraine and Russia, written in EPSG:3857, and a bow
    tie over West Africa and the Atlantic (invalid: read repaired, as two triangles)."""
    to_mercator = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)

    def ring(points: list[tuple[float, float]]) -> list[list[float]]:
        return [list(to_mercator.transform(x, y)) for x, y in points]

    outer = [(33.0, 46.0), (41.0, 46.0), (41.0, 51.0), (33.0, 51.0), (33.0, 46.0)]
    hole = [(36.0, 48.0), (36.0, 49.0), (38.0, 49.0), (38.0, 48.0), (36.0, 48.0)]
    area = {"type": "Polygon", "coordinates": [ring(outer), ring(hole)]}
    bow_tie = {"type": "Polygon", "coordinates": [[[-10, 0], [10, 20], [10, 0], [-10, 20],
                                                   [-10, 0]]]}  # fmt: skip
    for name, geometry, crs in (
        ("front.geojson", area, "urn:ogc:def:crs:EPSG::3857"),
        ("bow-tie.geojson", bow_tie, "urn:ogc:def:crs:OGC:1.3:CRS84"),
    ):
        (folder / name).write_text(
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "crs": {"type": "name", "properties": {"name": crs}},
                    "features": [{"type": "Feature", "properties": {}, "geometry": geometry}],
                }
            )
        )
    return (
        OverlaySpec("Occupied", path=str(folder / "front.geojson"), pattern=DOTS, date="2025-06"),
        OverlaySpec("Bow tie", path=str(folder / "bow-tie.geojson"), outline="dashed"),
    )


def marked_spec(folder: Path) -> MapSpec:
    """The reference map at zooms 0-3 with its two markers and one far out at sea, Ukraine
    hatched, and two overlays."""
    spec = load_config(REFERENCE_CONFIG).map(REFERENCE_ID)
    highlight = (dataclasses.replace(spec.highlight[0], pattern=HATCH), *spec.highlight[1:])
    return dataclasses.replace(
        spec,
        min_zoom=ZOOMS.start,
        max_zoom=ZOOMS.stop - 1,
        highlight=highlight,
        markers=(*spec.markers, POINT_NEMO),
        overlays=write_overlays(folder),
    )


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedMap, Path]:
    """The marked map loaded, and its output folder."""
    folder = tmp_path_factory.mktemp("marked")
    loaded = load_map(marked_spec(folder), NATURAL_EARTH_ZIP)
    build_tiles(loaded, folder / "out")
    return loaded, folder / "out"


@pytest.fixture(scope="module")
def tiles(marked: tuple[LoadedMap, Path]) -> Tiles:
    return {
        (int(p.parts[-3]), int(p.parts[-2]), int(p.stem)): gzip.decompress(p.read_bytes())
        for p in (marked[1] / "tiles").rglob("*.pbf")
    }


def tile_at(lon: float, lat: float, zoom: int) -> tuple[int, int, float, float]:
    """The tile holding a point, and the point in it (tile units, y down)."""
    mx, my = lonlat_to_web_mercator(lon, lat)
    unit = tile_unit(zoom)
    gx, gy = (mx + 20037508.342789244) / unit, (20037508.342789244 - my) / unit
    x, y = int(gx // EXTENT), int(gy // EXTENT)
    return x, y, gx - x * EXTENT, gy - y * EXTENT


def to_lonlat(zoom: int, x: int, y: int, u: float, v: float) -> tuple[float, float]:
    """Tile coordinates back to degrees."""
    minx, _miny, _maxx, maxy = tile_bounds(zoom, x, y)
    unit = tile_unit(zoom)
    back = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    lon, lat = back.transform(minx + u * unit, maxy - v * unit)
    return float(lon), float(lat)


def in_mercator(zoom: int, x: int, y: int, shape: shapely.Geometry) -> shapely.Geometry:
    """A shape in tile units as EPSG:3857 metres, clipped to its tile (no buffer)."""
    shape = shapely.clip_by_rect(shape, 0, 0, EXTENT, EXTENT)
    minx, _miny, _maxx, maxy = tile_bounds(zoom, x, y)
    unit = tile_unit(zoom)
    return shapely.transform(
        shape, lambda xy: np.column_stack([minx + xy[:, 0] * unit, maxy - xy[:, 1] * unit])
    )


def features(data: bytes, layer: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = decode(data).get(layer, {}).get("features", [])
    return found


def test_every_tile_is_valid_with_its_layers_in_order(
    marked: tuple[LoadedMap, Path], tiles: Tiles
) -> None:
    for key, data in tiles.items():
        layers = check_tile(data)
        names = [name for name, _features in layers]
        assert names == [name for name in LAYER_ORDER if name in names], key
        for name, found in layers:
            for geom_type, parts in found:
                if name == "overlays":
                    assert geom_type == 3
                    multi = shapely.MultiPolygon(polygons_of(parts))
                    assert multi.is_valid, (key, shapely.is_valid_reason(multi))
                if name == "markers":
                    assert geom_type == 1 and len(parts) == 1
    with sqlite3.connect(marked[1] / f"{REFERENCE_ID}.mbtiles") as connection:
        (meta,) = connection.execute("SELECT value FROM metadata WHERE name = 'json'").fetchone()
    declared = json.loads(meta)["vector_layers"]
    assert [layer["id"] for layer in declared] == LAYER_ORDER
    fields = {layer["id"]: layer["fields"] for layer in declared}
    for data in tiles.values():
        for layer, found in decode(data).items():
            for feature in found["features"]:
                assert set(feature["properties"]) <= set(fields[layer]), layer


def test_markers_sit_where_they_are_at_every_zoom(
    marked: tuple[LoadedMap, Path], tiles: Tiles
) -> None:
    spec = marked[0].spec
    for zoom in ZOOMS:
        found = {}
        for (z, x, y), data in tiles.items():
            if z != zoom:
                continue
            for feature in features(data, "markers"):
                index = feature["properties"]["index"]
                assert index not in found, (zoom, index)  # in one tile only
                found[index] = (x, y, feature)
        assert sorted(found) == list(range(len(spec.markers)))
        degrees_per_unit = 360.0 / (EXTENT << zoom)
        for index, marker in enumerate(spec.markers):
            x, y, feature = found[index]
            assert (x, y) == tile_at(marker.lon, marker.lat, zoom)[:2]
            u, v = feature["geometry"]["coordinates"]
            lon, lat = to_lonlat(zoom, x, y, u, v)
            assert abs(lon - marker.lon) <= degrees_per_unit, (zoom, marker.label)
            assert abs(lat - marker.lat) <= degrees_per_unit, (zoom, marker.label)
            expected = {
                "label": marker.label,
                "symbol": marker.symbol,
                "color": marker.color,
                "size": marker.size,
                "anchor": marker.anchor,
                "index": index,
            }
            if marker.note is not None:
                expected["note"] = marker.note
            assert feature["properties"] == expected
    # Far out at sea, a marker makes a tile of its own.
    x, y, _u, _v = tile_at(POINT_NEMO.lon, POINT_NEMO.lat, 3)
    assert list(decode(tiles[(3, x, y)])) == ["markers"]


def test_overlays_cover_their_areas(marked: tuple[LoadedMap, Path], tiles: Tiles) -> None:
    loaded = marked[0]
    areas = loaded.overlay_areas()
    expected = prepare_mercator(np.array([area.geometry for area in areas], dtype=object))
    for zoom in (2, 3):
        pieces: dict[int, list[shapely.Geometry]] = {0: [], 1: []}
        for (z, x, y), data in tiles.items():
            if z != zoom:
                continue
            for feature in features(data, "overlays"):
                shape = shapely.geometry.shape(feature["geometry"])
                assert shape.is_valid
                pieces[feature["properties"]["index"]].append(in_mercator(z, x, y, shape))
        for index, shapes in pieces.items():
            covered = shapely.union_all(shapes)
            assert covered.area == pytest.approx(expected[index].area, rel=0.02), (zoom, index)
            overlap = shapely.intersection(covered, expected[index]).area
            assert overlap == pytest.approx(expected[index].area, rel=0.02)
    # The hole stays a hole, the bow tie is two triangles.
    x, y, u, v = tile_at(37.0, 48.5, 3)
    [front] = [f for f in features(tiles[(3, x, y)], "overlays") if f["properties"]["index"] == 0]
    assert not shapely.geometry.shape(front["geometry"]).contains(shapely.Point(u, v))
    x, y, u, v = tile_at(37.0, 47.0, 3)
    assert shapely.geometry.shape(front["geometry"]).contains(shapely.Point(u, v))
    assert front["properties"] == {
        "label": "Occupied",
        "color": "#8c2d04",
        "pattern": DOTS.image_id("#8c2d04"),
        "outline": "solid",
        "date": "2025-06",
        "index": 0,
    }
    x, y, u, v = tile_at(0.0, 10.0, 3)  # where the bow tie's edges cross: its waist
    [bow] = [f for f in features(tiles[(3, x, y)], "overlays") if f["properties"]["index"] == 1]
    assert bow["properties"] == {"label": "Bow tie", "color": "#8c2d04", "outline": "dashed",
                                 "index": 1}  # fmt: skip
    assert len(shapely.get_parts(shapely.geometry.shape(bow["geometry"]))) == 2


def test_abyei_is_land_no_country_holds(tiles: Tiles) -> None:
    x, y, u, v = tile_at(*ABYEI, 3)
    data = tiles[(3, x, y)]
    point = shapely.Point(u, v)
    [abyei] = [
        f
        for f in features(data, "countries")
        if shapely.geometry.shape(f["geometry"]).contains(point)
    ]
    assert abyei["properties"] == {
        "adm0_a3": UNCLAIMED_CODE,
        "name": UNCLAIMED_NAME,
        "name_en": UNCLAIMED_NAME,  # the source's name field
        "color": UNCLAIMED_COLOR,
        "pattern": UNCLAIMED_PATTERN.image_id(UNCLAIMED_COLOR),
        "unclaimed": True,
    }
    pairs = {
        (f["properties"]["adm0_a3_a"], f["properties"]["adm0_a3_b"])
        for f in features(data, "boundaries")
    }
    assert {("SDN", UNCLAIMED_CODE), ("SDS", UNCLAIMED_CODE)} <= pairs  # borders stay borders
    assert all(
        f["properties"]["adm0_a3"] != UNCLAIMED_CODE for f in features(data, "labels")
    )  # never labelled
    # Nowhere a trace: no one-pixel squares of it at zooms where it is too small.
    for data in tiles.values():
        for feature in features(data, "countries"):
            if feature["properties"].get("unclaimed"):
                assert "trace" not in feature["properties"]


def test_a_patterned_group_carries_its_pattern(tiles: Tiles) -> None:
    seen = {"UKR": 0, "RUS": 0}
    for data in tiles.values():
        for feature in features(data, "countries"):
            code = feature["properties"]["adm0_a3"]
            if code == "UKR":
                assert feature["properties"]["pattern"] == HATCH.image_id("#1f5fbf")
                assert feature["properties"]["pattern"] == "tp-hatch-ffffff-1f5fbf-1.2-5"
            elif code != UNCLAIMED_CODE:
                assert "pattern" not in feature["properties"], code
            if code in seen:
                seen[code] += 1
    assert seen["UKR"] >= len(ZOOMS) and seen["RUS"] >= len(ZOOMS)


def test_marker_properties_round_trip_their_types() -> None:
    """Sizes are numbers, indices integers: a style can scale by them."""
    from tilepress.tiles.markers import MarkerPoints

    spec = dataclasses.replace(
        load_config(REFERENCE_CONFIG).map(REFERENCE_ID),
        markers=(Marker("North Pole", lon=180.0, lat=90.0, size=8),),
    )
    points = MarkerPoints.of(spec)
    assert points.properties == [
        {
            "label": "North Pole",
            "symbol": "dot",
            "color": "#1a1a1a",
            "size": 8.0,
            "anchor": "auto",
            "index": 0,
        }
    ]
    # At the world's north-east corner: in the last tile, on its edge.
    assert points.by_tile(2, range(4)) == {(3, 0): [(0, EXTENT, 0)]}
    assert math.isfinite(points.xy[0, 1])
