"""TileJSON and MapLibre style documents."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from tests.conftest import REFERENCE_CONFIG, REFERENCE_ID
from tests.support.servers import require_tool
from tilepress.config.model import BOLD_STACK, REGULAR_STACK, Marker, OverlaySpec, Pattern, darker
from tilepress.project import load_config
from tilepress.sources.description import map_description
from tilepress.sources.highlights import Highlighting
from tilepress.sources.loaded import LoadedMap, load_map
from tilepress.sources.table import CountryTable
from tilepress.sources.unclaimed import UNCLAIMED_COLOR, UNCLAIMED_LEGEND, UNCLAIMED_PATTERN
from tilepress.tiles.schema import attribution_html, tileset_center, tileset_metadata
from tilepress.web.marks import has_unclaimed_land, legend
from tilepress.web.style import build_style, first_view, maplibre_style, tilejson

SPEC = load_config(REFERENCE_CONFIG).map(REFERENCE_ID)
WORLD = (-180.0, -90.0, 180.0, 90.0)


def test_style_draws_fills_borders_and_labels_with_its_own_glyphs() -> None:
    style = maplibre_style(SPEC, tileset_metadata(SPEC, WORLD))
    layers = {layer["id"]: layer for layer in style["layers"]}
    assert [(layer["id"], layer["type"]) for layer in style["layers"]] == [
        ("ocean", "background"),
        ("countries-fill", "fill"),
        ("countries-pattern", "fill"),
        ("borders", "line"),
        ("overlays-fill", "fill"),
        ("overlays-pattern", "fill"),
        ("overlays-outline", "line"),
        ("overlays-outline-dashed", "line"),
        ("labels", "symbol"),
        ("labels-highlighted", "symbol"),
        ("markers", "symbol"),
        ("markers-labels", "symbol"),
    ]
    assert layers["borders"]["source-layer"] == "boundaries"
    assert layers["borders"]["paint"]["line-color"] == SPEC.border_color
    # glyphs tilepress builds, beside the map: the server and the bundle point them home
    assert style["glyphs"] == (
        f"{SPEC.public_url}/{REFERENCE_ID}/glyphs/{{fontstack}}/{{range}}.pbf"
    )
    assert style["metadata"]["tilepress:glyphs"] == "built"
    # as on paper: highlighted names in bold capitals with a halo, placed first (on top)
    strong = layers["labels-highlighted"]
    assert style["layers"][9] is strong  # the top country labels, under the markers
    assert strong["source-layer"] == "labels" and strong["filter"] == ["has", "group"]
    assert strong["layout"]["text-field"] == ["get", "name"]
    assert strong["layout"]["text-font"] == [BOLD_STACK]
    assert strong["layout"]["text-transform"] == "uppercase"
    assert strong["layout"]["visibility"] == "visible"
    # at the label point, else beside it (a marker's label has the place)
    assert strong["layout"]["text-variable-anchor"][0] == "center"
    assert strong["layout"]["text-radial-offset"] > 0
    assert strong["paint"]["text-halo-width"] > 0
    # other countries only with `labels: all`, from their Natural Earth zoom on
    quiet = layers["labels"]
    assert quiet["layout"]["text-font"] == [REGULAR_STACK]
    assert quiet["layout"]["visibility"] == "none"  # the reference labels highlighted ones
    assert quiet["filter"] == [
        "all", ["!", ["has", "group"]], [">=", ["zoom"], ["get", "min_zoom"]]
    ]  # fmt: skip
    every = maplibre_style(dataclasses.replace(SPEC, labels="all"), tileset_metadata(SPEC, WORLD))
    assert {layer["id"]: layer["layout"].get("visibility") for layer in every["layers"][8:10]} == {
        "labels": "visible",
        "labels-highlighted": "visible",
    }
    none = maplibre_style(dataclasses.replace(SPEC, labels="none"), tileset_metadata(SPEC, WORLD))
    assert [layer["layout"]["visibility"] for layer in none["layers"][8:10]] == ["none", "none"]
    assert "visibility" not in none["layers"][11]["layout"]  # markers keep their labels


def test_a_configured_glyph_server_replaces_the_built_glyphs() -> None:
    glyphs = "https://maps.example.org/fonts/{fontstack}/{range}.pbf"
    spec = dataclasses.replace(SPEC, glyphs=glyphs, label_font="Open Sans Regular")
    style = maplibre_style(spec, tileset_metadata(spec, WORLD))
    assert style["glyphs"] == glyphs
    assert style["metadata"]["tilepress:glyphs"] == "configured"
    fonts = [
        layer["layout"]["text-font"]
        for layer in style["layers"]
        if "text-font" in layer.get("layout", {})
    ]
    assert fonts == [["Open Sans Regular"]] * 3  # the server's own stack, markers' too
    assert tilejson(spec, tileset_metadata(spec, WORLD))["tilepress"]["glyphs"] == "configured"


def test_the_bundle_style_points_at_its_own_files() -> None:
    meta = tileset_metadata(SPEC, WORLD)
    style = maplibre_style(
        SPEC, meta, source_url="pmtiles://map.pmtiles", glyphs_url="glyphs/{fontstack}/{range}.pbf"
    )
    assert style["sources"]["countries"]["url"] == "pmtiles://map.pmtiles"
    assert style["glyphs"] == "glyphs/{fontstack}/{range}.pbf"


def test_tilejson_declares_five_layers_with_typed_fields() -> None:
    document = tilejson(SPEC, tileset_metadata(SPEC, WORLD))
    layers = {layer["id"]: layer["fields"] for layer in document["vector_layers"]}
    assert set(layers) == {"countries", "boundaries", "labels", "overlays", "markers"}
    assert layers["countries"]["trace"] == "Boolean"
    # what the style's story-mark layers read
    assert layers["countries"]["pattern"] == layers["overlays"]["pattern"] == "String"
    assert {"color", "outline"} <= set(layers["overlays"])
    assert {"label", "symbol", "color", "size", "anchor"} <= set(layers["markers"])
    assert layers["labels"]["min_zoom"] == "Number"
    assert layers["labels"]["name_ru"] == "String"
    for fields in layers.values():
        assert set(fields.values()) <= {"String", "Number", "Boolean"}
    assert [(entry["kind"], entry["label"]) for entry in document["tilepress"]["legend"]] == [
        ("group", "Ukraine"),
        ("group", "Russia"),
        ("group", "North Korea"),
        ("marker", "Kursk"),
        ("marker", "Kyiv"),
    ]  # land no country holds only when the loaded map has some (see below)


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
    # a world map holds Abyei and the other land no country holds: in its legend, last
    assert extra["unclaimed"] is True
    assert extra["legend"][-1]["label"] == "No country / disputed"
    regional = dataclasses.replace(SPEC, extent=(20.0, 40.0, 45.0, 55.0))
    assert first_view(LoadedMap(regional, loaded.table, loaded.highlighting)) == (
        20.0, 40.0, 45.0, 55.0,
    )  # fmt: skip


# --------------------------------------------------------------------------- story marks

HATCH = Pattern("hatch", "#ffffff", 2.0, 8.0)
MARKED = dataclasses.replace(
    SPEC,
    highlight=(dataclasses.replace(SPEC.highlight[0], pattern=HATCH), *SPEC.highlight[1:]),
    overlays=(
        OverlaySpec("Occupied", path="a.geojson", pattern=Pattern("cross"), date="2026-11-20"),
        OverlaySpec("Claimed", path="b.geojson", color="#2a9d8f", outline="dashed"),
    ),
    markers=(
        *SPEC.markers,
        Marker("Plain", 10.0, 10.0),  # no note: not in the legend
        Marker("Big", 20.0, 10.0, symbol="triangle", size=30.0, anchor="below", note="Big one"),
    ),
)


def _layers(style: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {layer["id"]: layer for layer in style["layers"]}


def _offsets(expression: list[Any], anchor: str) -> tuple[list[Any], list[Any]]:
    """The label offsets of a marker anchor (``text-variable-anchor-offset``) at the
    smallest and the largest marker size."""
    assert expression[:2] == ["match", ["get", "anchor"]]
    branches = dict(zip(expression[2:-1:2], expression[3:-1:2], strict=True))
    ramp = branches.get(anchor, expression[-1])
    assert ramp[:3] == ["interpolate", ["linear"], ["to-number", ["get", "size"], 6.0]]
    assert ramp[3] == 2.0 and ramp[5] == 30.0
    return ramp[4][1], ramp[6][1]


def test_patterns_overlays_and_markers_have_their_layers() -> None:
    style = maplibre_style(MARKED, tileset_metadata(MARKED, WORLD))
    layers = _layers(style)
    ids = list(layers)
    assert "sprite" not in style  # the viewer page draws every image
    # patterns over the fills, under the borders: the tiles name each row's image
    pattern = layers["countries-pattern"]
    assert ids.index("countries-fill") + 1 == ids.index("countries-pattern")
    assert ids.index("countries-pattern") < ids.index("borders")
    assert pattern["source-layer"] == "countries" and pattern["filter"] == ["has", "pattern"]
    assert pattern["paint"]["fill-pattern"] == ["get", "pattern"]
    # overlays over the borders, under the labels: fill, pattern, outline a shade darker
    order = ["borders", "overlays-fill", "overlays-pattern", "overlays-outline"]
    order += ["overlays-outline-dashed", "labels"]
    assert [ids.index(name) for name in order] == sorted(ids.index(name) for name in order)
    assert {layers[name]["source-layer"] for name in order[1:5]} == {"overlays"}
    assert layers["overlays-fill"]["paint"]["fill-color"] == ["get", "color"]
    assert layers["overlays-pattern"]["filter"] == ["has", "pattern"]
    assert layers["overlays-pattern"]["paint"]["fill-pattern"] == ["get", "pattern"]
    solid, dashed = layers["overlays-outline"], layers["overlays-outline-dashed"]
    assert solid["filter"] == ["!=", ["get", "outline"], "dashed"]
    assert dashed["filter"] == ["==", ["get", "outline"], "dashed"]
    assert "line-dasharray" not in solid["paint"] and dashed["paint"]["line-dasharray"] == [3, 2]
    shades = ["match", ["get", "color"], "#2a9d8f", "#195e56", "#8c2d04", "#541b02", "#541b02"]
    assert solid["paint"]["line-color"] == dashed["paint"]["line-color"] == shades
    assert darker("#8c2d04") == "#541b02"
    # markers on top, so placed first: country labels give way to them
    assert ids[-2:] == ["markers", "markers-labels"]
    symbols, labels = layers["markers"], layers["markers-labels"]
    assert symbols["source-layer"] == labels["source-layer"] == "markers"
    assert symbols["layout"]["icon-image"] == ["concat", "tp-marker-", ["get", "symbol"]]
    assert symbols["layout"]["icon-size"] == ["/", ["to-number", ["get", "size"], 6.0], 24]
    assert symbols["layout"]["icon-overlap"] == "always"
    assert symbols["paint"]["icon-color"] == ["get", "color"]
    assert labels["layout"]["text-field"] == ["get", "label"]
    assert labels["layout"]["text-font"] == [REGULAR_STACK]
    assert labels["layout"]["text-overlap"] == "always"
    assert labels["paint"]["text-halo-width"] > 0
    anchors = labels["layout"]["text-variable-anchor-offset"]
    # beside the symbol, clear of it at every size: (size / 2 + 3 px) / 12 px ems
    assert _offsets(anchors, "right") == (["left", [0.3333, 0.0]], ["left", [1.5, 0.0]])
    assert _offsets(anchors, "left")[0] == ["right", [-0.3333, 0.0]]
    assert _offsets(anchors, "above")[1] == ["bottom", [0.0, -1.5]]
    assert _offsets(anchors, "below")[1] == ["top", [0.0, 1.5]]
    auto = _offsets(anchors, "auto")[0]  # right, left, above, below in turn
    assert auto[0::2] == ["left", "right", "bottom", "top"]


def test_the_marked_style_passes_gl_style_validate(tmp_path: Path) -> None:
    validate = require_tool("gl-style-validate")
    path = tmp_path / "style.json"
    path.write_text(json.dumps(maplibre_style(MARKED, tileset_metadata(MARKED, WORLD))))
    result = subprocess.run(
        [validate, str(path)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_legend_lists_groups_overlays_markers_and_land_no_country_holds() -> None:
    entries = legend(MARKED, unclaimed=True)
    assert [(entry["kind"], entry["label"]) for entry in entries] == [
        ("group", "Ukraine"),
        ("group", "Russia"),
        ("group", "North Korea"),
        ("overlay", "Occupied"),
        ("overlay", "Claimed"),
        ("marker", "Kursk"),
        ("marker", "Kyiv"),
        ("marker", "Big"),
        ("unclaimed", UNCLAIMED_LEGEND),
    ]
    hatch = {"kind": "hatch", "color": "#ffffff", "width": 2.0, "spacing": 8.0}
    assert entries[0] == {"kind": "group", "label": "Ukraine", "color": "#1f5fbf", "pattern": hatch}
    assert "pattern" not in entries[1]
    assert entries[3] == {
        "kind": "overlay",
        "label": "Occupied",
        "color": "#8c2d04",
        "outline": "solid",
        "outline_color": "#541b02",
        "date": "2026-11-20",
        "pattern": {"kind": "cross", "color": "#ffffff", "width": 1.2, "spacing": 5.0},
    }
    assert entries[4]["outline"] == "dashed" and "date" not in entries[4]
    assert entries[7] == {
        "kind": "marker",
        "label": "Big",
        "color": "#1a1a1a",
        "symbol": "triangle",
        "note": "Big one",
    }
    assert entries[8]["color"] == UNCLAIMED_COLOR
    assert entries[8]["pattern"]["kind"] == UNCLAIMED_PATTERN.kind
    document = tilejson(MARKED, tileset_metadata(MARKED, WORLD))
    assert document["tilepress"]["unclaimed"] is False
    assert [entry["kind"] for entry in document["tilepress"]["legend"]][-1] == "marker"
    style = maplibre_style(MARKED, tileset_metadata(MARKED, WORLD), unclaimed=True)
    assert style["metadata"]["tilepress:legend"] == entries


def test_land_no_country_holds_is_in_the_legend_when_in_the_extent() -> None:
    sudan, abyei = shapely.box(22.0, 9.0, 38.0, 22.0), shapely.box(27.8, 9.3, 29.0, 10.2)
    table = CountryTable(
        np.array([sudan, abyei], dtype=object),
        {"ADM0_A3": ["SDN", "XNC"], "NAME_EN": ["Sudan", "No country"]},
        unclaimed=1,
    )
    loaded = LoadedMap(SPEC, table, Highlighting({}, {}))
    assert has_unclaimed_land(loaded, (20.0, 0.0, 40.0, 20.0))
    assert not has_unclaimed_land(loaded, (30.0, 0.0, 40.0, 20.0))  # Sudan only
    assert not has_unclaimed_land(loaded, (20.0, 12.0, 40.0, 20.0))
    assert has_unclaimed_land(loaded, (170.0, 0.0, 28.0, 20.0))  # across 180 degrees
    without = LoadedMap(SPEC, dataclasses.replace(table, unclaimed=0), Highlighting({}, {}))
    assert not has_unclaimed_land(without, (-180.0, -90.0, 180.0, 90.0))
