"""A map's overlays as :func:`load_map` reads them: reprojected, repaired, and every problem
with a file named by map and overlay."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import shapely
from pyproj import Transformer

from tests.conftest import NATURAL_EARTH_ZIP, REFERENCE_CONFIG
from tilepress.config.model import MapSpec, OverlaySpec
from tilepress.errors import ChecksumError, SourceError
from tilepress.project import load_config
from tilepress.sources.loaded import LoadedMap, load_map

BOW_TIE = [[-10.0, 0.0], [10.0, 20.0], [10.0, 0.0], [-10.0, 20.0], [-10.0, 0.0]]


def feature_collection(*geometries: dict[str, Any], crs: str | None = None) -> str:
    collection: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": g} for g in geometries],
    }
    if crs is not None:
        collection["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(collection)


def with_overlays(*overlays: OverlaySpec) -> MapSpec:
    spec = load_config(REFERENCE_CONFIG).maps[0]
    return dataclasses.replace(spec, overlays=overlays)


def test_overlays_are_reprojected_and_repaired(tmp_path: Path) -> None:
    to_mercator = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    square = [list(to_mercator.transform(x, y)) for x, y in [(30, 48), (40, 48), (40, 52),
                                                             (30, 52), (30, 48)]]  # fmt: skip
    mercator = tmp_path / "mercator.geojson"
    mercator.write_text(
        feature_collection(
            {"type": "Polygon", "coordinates": [square]}, crs="urn:ogc:def:crs:EPSG::3857"
        )
    )
    bow_tie = tmp_path / "bow-tie.geojson"
    bow_tie.write_text(feature_collection({"type": "Polygon", "coordinates": [BOW_TIE]}))
    spec = with_overlays(
        OverlaySpec("Square", path=str(mercator)), OverlaySpec("Bow tie", path=str(bow_tie))
    )
    loaded = load_map(spec, NATURAL_EARTH_ZIP)
    assert loaded.overlays is not None
    first, second = loaded.overlay_areas()
    assert (first.index, first.spec.label, second.index) == (0, "Square", 1)
    assert shapely.bounds(first.geometry) == pytest.approx((30, 48, 40, 52))  # in degrees
    assert shapely.symmetric_difference(first.geometry, shapely.box(30, 48, 40, 52)).area < 1e-9
    assert second.geometry.is_valid and second.geometry.area == pytest.approx(200.0)
    # A step that needs only the overlays' settings does not read the files.
    settings_only = load_map(spec, NATURAL_EARTH_ZIP, overlays=False)
    assert settings_only.overlays is None
    with pytest.raises(SourceError, match="map 'ukraine-russia-north-korea': its overlay files"):
        settings_only.overlay_areas()
    assert LoadedMap(spec, loaded.table, loaded.highlighting).overlays is None
    no_overlays = with_overlays()
    assert LoadedMap(no_overlays, loaded.table, loaded.highlighting).overlay_areas() == []


def test_bad_overlay_files_are_named_by_map_and_overlay(tmp_path: Path) -> None:
    where = "map 'ukraine-russia-north-korea', overlays[0] ('Front line')"
    missing = with_overlays(OverlaySpec("Front line", path=str(tmp_path / "gone.geojson")))
    with pytest.raises(SourceError, match=r"no such overlay file") as error:
        load_map(missing, NATURAL_EARTH_ZIP)
    assert error.value.where == where
    points = tmp_path / "points.geojson"
    points.write_text(feature_collection({"type": "Point", "coordinates": [30.5, 50.4]}))
    with pytest.raises(SourceError, match=r"holds no polygons \(it holds Point\)") as error:
        load_map(with_overlays(OverlaySpec("Front line", path=str(points))), NATURAL_EARTH_ZIP)
    assert error.value.where == where and "Polygon or MultiPolygon" in str(error.value.hint)
    digest = hashlib.sha256(points.read_bytes()).hexdigest()
    wrong = with_overlays(OverlaySpec("Front line", path=str(points), sha256="0" * 64))
    with pytest.raises(ChecksumError, match=digest) as checksum:
        load_map(wrong, NATURAL_EARTH_ZIP)
    assert "ukraine-russia-north-korea" in str(checksum.value)
    assert "Front line" in str(checksum.value)
