"""TileJSON and MapLibre style documents."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from tests.conftest import REFERENCE_CONFIG, REFERENCE_ID
from tilepress.config.model import BOLD_STACK, REGULAR_STACK
from tilepress.project import load_config
from tilepress.sources.description import map_description
from tilepress.sources.loaded import LoadedMap, load_map
from tilepress.tiles.schema import attribution_html, tileset_center, tileset_metadata
from tilepress.web.style import build_style, first_view, maplibre_style, tilejson

SPEC = load_config(REFERENCE_CONFIG).map(REFERENCE_ID)
WORLD = (-180.0, -90.0, 180.0, 90.0)


def test_style_draws_fills_borders_and_labels_with_its_own_glyphs() -> None:
    style = maplibre_style(SPEC, tileset_metadata(SPEC, WORLD))
    layers = {layer["id"]: layer for layer in style["layers"]}
    assert [layer["type"] for layer in style["layers"]] == [
        "background", "fill", "line", "symbol", "symbol"
    ]  # fmt: skip
    assert layers["borders"]["source-layer"] == "boundaries"
    assert layers["borders"]["paint"]["line-color"] == SPEC.border_color
    # glyphs tilepress builds, beside the map: the server and the bundle point them home
    assert style["glyphs"] == (
        f"{SPEC.public_url}/{REFERENCE_ID}/glyphs/{{fontstack}}/{{range}}.pbf"
    )
    assert style["metadata"]["tilepress:glyphs"] == "built"
    # as on paper: highlighted names in bold capitals with a halo, placed first (on top)
    strong = layers["labels-highlighted"]
    assert style["layers"][-1] is strong
    assert strong["source-layer"] == "labels" and strong["filter"] == ["has", "group"]
    assert strong["layout"]["text-field"] == ["get", "name"]
    assert strong["layout"]["text-font"] == [BOLD_STACK]
    assert strong["layout"]["text-transform"] == "uppercase"
    assert strong["layout"]["visibility"] == "visible"
    assert strong["paint"]["text-halo-width"] > 0
    # other countries only with `labels: all`, from their Natural Earth zoom on
    quiet = layers["labels"]
    assert quiet["layout"]["text-font"] == [REGULAR_STACK]
    assert quiet["layout"]["visibility"] == "none"  # the reference labels highlighted ones
    assert quiet["filter"] == [
        "all", ["!", ["has", "group"]], [">=", ["zoom"], ["get", "min_zoom"]]
    ]  # fmt: skip
    every = maplibre_style(dataclasses.replace(SPEC, labels="all"), tileset_metadata(SPEC, WORLD))
    assert {layer["id"]: layer["layout"].get("visibility") for layer in every["layers"][3:]} == {
        "labels": "visible",
        "labels-highlighted": "visible",
    }
    none = maplibre_style(dataclasses.replace(SPEC, labels="none"), tileset_metadata(SPEC, WORLD))
    assert [layer["layout"]["visibility"] for layer in none["layers"][3:]] == ["none", "none"]


def test_a_configured_glyph_server_replaces_the_built_glyphs() -> None:
    glyphs = "https://maps.example.org/fonts/{fontstack}/{range}.pbf"
    spec = dataclasses.replace(SPEC, glyphs=glyphs, label_font="Open Sans Regular")
    style = maplibre_style(spec, tileset_metadata(spec, WORLD))
    assert style["glyphs"] == glyphs
    assert style["metadata"]["tilepress:glyphs"] == "configured"
    fonts = [layer["layout"]["text-font"] for layer in style["layers"][3:]]
    assert fonts == [["Open Sans Regular"], ["Open Sans Regular"]]  # the server's own stack
    assert tilejson(spec, tileset_metadata(spec, WORLD))["tilepress"]["glyphs"] == "configured"


def test_the_bundle_style_points_at_its_own_files() -> None:
    meta = tileset_metadata(SPEC, WORLD)
    style = maplibre_style(
        SPEC, meta, source_url="pmtiles://map.pmtiles", glyphs_url="glyphs/{fontstack}/{range}.pbf"
    )
    assert style["sources"]["countries"]["url"] == "pmtiles://map.pmtiles"
    assert style["glyphs"] == "glyphs/{fontstack}/{range}.pbf"


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


def test_the_documents_carry_the_description_and_the_first_view(tmp_path: Path) -> None:
    loaded = load_map(SPEC)
    build_style(loaded, tmp_path)
    extra = json.loads((tmp_path / "tiles.json").read_text())["tilepress"]
    assert extra["description"] == map_description(SPEC, loaded.table, loaded.highlighting)
    assert extra["description"].startswith("A world map highlighting Ukraine, Russia and North")
    # A world map opens on its highlighted countries: from Kaliningrad east across 180 degrees
    # to Chukotka, and from North Korea's south coast up to the Arctic islands.
    west, south, east, north = extra["view"]
    assert 0 < west < 20 and -170 < east < -150 and south < 37.7 and north > 80
    assert extra["glyphs"] == "built" and extra["cjk_glyphs"] is False
    regional = dataclasses.replace(SPEC, extent=(20.0, 40.0, 45.0, 55.0))
    assert first_view(LoadedMap(regional, loaded.table, loaded.highlighting)) == (
        20.0, 40.0, 45.0, 55.0,
    )  # fmt: skip
