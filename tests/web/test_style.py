"""TileJSON and MapLibre style documents."""

from __future__ import annotations

import dataclasses

from tests.conftest import REFERENCE_CONFIG, REFERENCE_ID
from tilepress.project import load_config
from tilepress.tiles.schema import attribution_html, tileset_center, tileset_metadata
from tilepress.web.style import maplibre_style, tilejson

SPEC = load_config(REFERENCE_CONFIG).map(REFERENCE_ID)
WORLD = (-180.0, -90.0, 180.0, 90.0)


def test_style_draws_fills_borders_and_no_text_without_glyphs() -> None:
    style = maplibre_style(SPEC, tileset_metadata(SPEC, WORLD))
    layers = {layer["id"]: layer for layer in style["layers"]}
    assert [layer["type"] for layer in style["layers"]] == ["background", "fill", "line"]
    assert layers["borders"]["source-layer"] == "boundaries"
    assert layers["borders"]["paint"]["line-color"] == SPEC.border_color
    assert "glyphs" not in style


def test_style_labels_need_configured_glyphs() -> None:
    glyphs = "https://maps.example.org/fonts/{fontstack}/{range}.pbf"
    spec = dataclasses.replace(SPEC, glyphs=glyphs)
    style = maplibre_style(spec, tileset_metadata(spec, WORLD))
    assert style["glyphs"] == glyphs
    labels = style["layers"][-1]
    assert labels["type"] == "symbol" and labels["source-layer"] == "labels"
    assert labels["layout"]["text-font"] == ["Noto Sans Regular"]
    assert labels["filter"] == [">=", ["zoom"], ["get", "min_zoom"]]


def test_tilejson_declares_three_layers_with_typed_fields() -> None:
    document = tilejson(SPEC, tileset_metadata(SPEC, WORLD))
    layers = {layer["id"]: layer["fields"] for layer in document["vector_layers"]}
    assert set(layers) == {"countries", "boundaries", "labels"}
    assert layers["countries"]["trace"] == "Boolean"
    assert layers["labels"]["min_zoom"] == "Number"
    assert layers["labels"]["name_ru"] == "String"
    for fields in layers.values():
        assert set(fields.values()) <= {"String", "Number", "Boolean"}
    assert [entry["label"] for entry in document["tilepress"]["legend"]] == [
        "Ukraine",
        "Russia",
        "North Korea",
    ]


def test_center_lies_inside_bounds_and_zooms() -> None:
    lon, lat, zoom = tileset_center(SPEC, (20.0, 40.0, 45.0, 55.0))
    assert 20 <= lon <= 45 and 40 <= lat <= 55 and SPEC.min_zoom <= zoom <= SPEC.max_zoom
    lon, _lat, _zoom = tileset_center(SPEC, (170.0, -20.0, -170.0, -10.0))  # across 180
    assert lon in (180.0, -180.0)


def test_attribution_is_escaped() -> None:
    spec = dataclasses.replace(SPEC, author="<script>alert(1)</script>")
    html = attribution_html(spec)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="https://creativecommons.org/licenses/by-sa/4.0/"' in html
