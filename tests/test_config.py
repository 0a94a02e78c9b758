"""Reading, validating and resolving configuration files (tilepress.config)."""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
import yaml

from tests.conftest import REFERENCE_CONFIG, REFERENCE_ID
from tilepress.config.checks import normalize_color, normalize_projection
from tilepress.config.document import format_key_path, read_config_file
from tilepress.config.model import (
    BUILTIN_SOURCE,
    BUILTIN_SOURCE_SHA256,
    LICENSES,
    Marker,
    OverlaySpec,
    Pattern,
    ProjectConfig,
    SourceSpec,
    map_from_dict,
)
from tilepress.config.paths import schema_path
from tilepress.errors import ConfigError
from tilepress.project import config_from_mapping, config_problems, load_config

REFERENCE = REFERENCE_CONFIG


def write(folder: Path, text: str, name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, marker: str) -> int:
    """1-based line of the only line of ``path`` that contains ``marker``."""
    lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if marker in line]
    assert len(lines) == 1, f"marker {marker!r} must be unique, found on lines {lines}"
    return lines[0]


def problems_of(path: Path, *, countries: bool = True) -> list[str]:
    return config_problems(read_config_file(path), countries=countries)


def write_tiny_source(path: Path) -> None:
    """A two-country GeoJSON with Natural Earth-like fields."""
    geometries = np.array([shapely.box(0, 0, 2, 2), shapely.box(10, 10, 12, 12)], dtype=object)
    pyogrio.raw.write(
        str(path),
        geometry=shapely.to_wkb(geometries),
        field_data=[
            np.array(["AAA", "BBB"], dtype=object),
            np.array(["Alphaland", "Betaland"], dtype=object),
        ],
        fields=["ADM0_A3", "NAME_EN"],
        geometry_type="Polygon",
        crs="EPSG:4326",
        driver="GeoJSON",
    )


# ---------------------------------------------------------------------------------------------
# The reference configuration and defaults


@pytest.fixture(scope="module")
def reference_config() -> ProjectConfig:
    return load_config(REFERENCE)


def test_reference_config_loads_as_written(reference_config: ProjectConfig) -> None:
    """Every value of the reference file arrives in the spec, normalised as documented; the
    file is read here independently (PyYAML), so editing it does not break this test."""
    raw = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    config = reference_config
    assert (config.output_dir, config.public_url) == (raw["output_dir"], raw["public_url"])
    assert config.map_ids == [item["id"] for item in raw["maps"]] and REFERENCE_ID in config.map_ids
    for item in raw["maps"]:
        spec = config.map(item["id"])
        assert spec.title == item["title"].strip()
        assert [(g.label, g.color, g.countries) for g in spec.highlight] == [
            (g["label"], normalize_color(g["color"]), tuple(g["countries"]))
            for g in item["highlight"]
        ]
        # a folded caption becomes one line with single spaces
        assert spec.caption == " ".join(item["caption"].split()) and "\n" not in spec.caption
        assert (spec.author, spec.date, spec.license) == (
            item["author"],
            item["date"],
            item["license"],
        )
        assert (spec.license_name, spec.license_url) == LICENSES[item["license"]]
        for key in ("base_color", "border_color", "ocean_color"):
            assert getattr(spec, key) == normalize_color(item[key])
        assert (spec.extent, spec.projection, spec.labels) == (
            item["extent"],
            item["projection"],
            item["labels"],
        )
        assert (spec.min_zoom, spec.max_zoom) == (item["zoom"]["min"], item["zoom"]["max"])
        assert (spec.page.size, spec.page.orientation) == (
            item["page"]["size"],
            item["page"]["orientation"],
        )
        assert spec.source.name == item.get("source", BUILTIN_SOURCE)
    # the embedded source, checked by its SHA-256
    builtin = config.sources[BUILTIN_SOURCE]
    assert builtin.sha256 == BUILTIN_SOURCE_SHA256
    assert (
        builtin.path is not None and Path(builtin.path).name == "ne_10m_admin_0_countries_deu.zip"
    )
    assert hashlib.sha256(Path(builtin.path).read_bytes()).hexdigest() == BUILTIN_SOURCE_SHA256
    # the licence the brief asks for, with its URL (TASL attribution)
    assert config.map(REFERENCE_ID).license_url == "https://creativecommons.org/licenses/by-sa/4.0/"


def test_unknown_map_id_names_the_known_ones(reference_config: ProjectConfig) -> None:
    config = reference_config
    with pytest.raises(ConfigError) as caught:
        config.map("nope")
    assert "'nope'" in str(caught.value)
    assert REFERENCE_ID in str(caught.value)


def test_defaults_are_the_schemas(tmp_path: Path) -> None:
    """A map that gives only its id, title and highlight gets each default the schema
    documents (the one place they are written), normalised like a value given."""
    path = write(
        tmp_path,
        """
        maps:
          - id: minimal
            title: "  Minimal map  "
            highlight:
              - label: Ukraine
                color: red
                countries: [UKR]
    """,
    )
    schema = yaml.safe_load(schema_path().read_text(encoding="utf-8"))
    top = schema["properties"]
    keys = schema["properties"]["maps"]["items"]["properties"]
    config = load_config(path)
    assert (config.output_dir, config.public_url) == (
        top["output_dir"]["default"],
        top["public_url"]["default"],
    )
    spec = config.maps[0]
    assert spec.title == "Minimal map"
    assert spec.highlight[0].color == "#ff0000"
    for key in ("caption", "author", "license", "extent", "projection", "labels"):
        assert getattr(spec, key) == keys[key]["default"], key
    for key in ("base_color", "border_color", "ocean_color"):
        assert getattr(spec, key) == normalize_color(keys[key]["default"]), key
    zoom, page = keys["zoom"]["default"], keys["page"]["default"]
    assert (spec.min_zoom, spec.max_zoom) == (zoom["min"], zoom["max"])
    assert (spec.page.size, spec.page.orientation) == (page["size"], page["orientation"])
    assert (spec.license_name, spec.license_url) == LICENSES[keys["license"]["default"]]
    assert spec.source.name == keys["source"]["default"] == BUILTIN_SOURCE
    assert spec.source.sha256 == BUILTIN_SOURCE_SHA256
    source_keys = top["sources"]["additionalProperties"]["properties"]
    assert spec.source.code_field == source_keys["code_field"]["default"]
    assert spec.source.name_field == source_keys["name_field"]["default"]
    assert spec.date is None  # no default: a map without one prints none
    assert spec.public_url == config.public_url


def test_partial_objects_get_the_missing_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        public_url: "https://maps.example.org/tiles/"
        maps:
          - id: explicit
            title: Explicit
            license: MIT
            license_url: https://opensource.org/license/mit
            projection: 3035
            extent: [20, 40, 45, 55]
            zoom: {max: 9}
            page: {orientation: portrait}
            highlight:
              - label: Ukraine
                color: "#ABC"
                countries: [ukraine]
    """,
    )
    spec = load_config(path).maps[0]
    assert spec.public_url == "https://maps.example.org/tiles"
    assert (spec.license, spec.license_name, spec.license_url) == (
        "MIT",
        "MIT",
        "https://opensource.org/license/mit",
    )
    assert spec.projection == "EPSG:3035"
    assert spec.extent == (20.0, 40.0, 45.0, 55.0)
    assert all(isinstance(v, float) for v in spec.extent)
    assert (spec.min_zoom, spec.max_zoom) == (0, 9)
    assert (spec.page.size, spec.page.orientation) == ("A4", "portrait")
    assert spec.highlight[0].color == "#aabbcc"


def test_every_licence_in_the_table_resolves_to_name_and_url() -> None:
    for license_id, (name, url) in LICENSES.items():
        config = config_from_mapping(
            {
                "maps": [
                    {
                        "id": "m",
                        "title": "T",
                        "license": license_id,
                        "highlight": [{"label": "x", "color": "red", "countries": ["AAA"]}],
                        "source": "tiny",
                    }
                ],
                "sources": {"tiny": {"url": "https://example.org/tiny.zip", "sha256": "a" * 64}},
            }
        )
        spec = config.maps[0]
        assert (spec.license_name, spec.license_url) == (name, url)
        assert url.startswith("https://creativecommons.org/")


def test_map_spec_round_trips_through_json(reference_config: ProjectConfig) -> None:
    spec = reference_config.maps[0]
    again = map_from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec

    extent_spec = map_from_dict(
        {**json.loads(json.dumps(spec.to_dict())), "extent": [170.0, -25.0, -170.0, -10.0]}
    )
    assert extent_spec.extent == (170.0, -25.0, -170.0, -10.0)


def test_description_is_folded_and_round_trips(tmp_path: Path) -> None:
    """A map's text alternative: optional (None without it), its whitespace folded as the
    caption's is, and passed to each step through the spec's JSON."""
    path = write(
        tmp_path,
        """
        maps:
          - id: described
            title: Described
            description: |
              Ukraine in blue,
                Russia in   red.
            highlight:
              - {label: A, color: red, countries: [UKR]}
          - id: plain
            title: Plain
            highlight:
              - {label: A, color: red, countries: [UKR]}
    """,
    )
    described, plain = load_config(path).maps
    assert described.description == "Ukraine in blue, Russia in red."
    assert plain.description is None
    for spec in (described, plain):
        data = json.loads(json.dumps(spec.to_dict()))
        assert data["description"] == spec.description
        assert map_from_dict(data) == spec


def test_url_source_not_downloaded_yet_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(
        tmp_path,
        """
        sources:
          ne50:
            url: https://example.org/natural-earth/ne_50m_admin_0_countries.zip?download=1
            sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        maps:
          - id: remote
            title: Remote
            source: ne50
            highlight:
              - label: Anything
                color: blue
                countries: [Not checked before the download]
    """,
    )
    config = load_config(path)
    source = config.maps[0].source
    assert source.name == "ne50"
    assert source.path is None
    assert source.local_path == "data/ne50.zip"
    assert source.code_field == "ADM0_A3"
    assert set(config.sources) == {"natural-earth", "ne50"}


def test_local_source_relative_to_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_tiny_source(tmp_path / "tiny.geojson")
    path = write(
        tmp_path,
        """
        sources:
          tiny: {path: tiny.geojson}
        maps:
          - id: tiny-map
            title: Tiny
            source: tiny
            highlight:
              - label: A
                color: green
                countries: [alphaland, BBB]
    """,
    )
    spec = load_config(path).maps[0]
    assert spec.source == SourceSpec(name="tiny", path="tiny.geojson")
    assert spec.highlight[0].color == "#008000"

    # country names are checked against that source, not against Natural Earth
    bad = write(tmp_path, path.read_text().replace("alphaland", "Alfaland"), "bad.yaml")
    problems = problems_of(bad)
    assert len(problems) == 1
    line = line_of(bad, "Alfaland")
    assert problems[0].startswith(f"{bad}:{line}: maps[0].highlight[0].countries[0]: ")
    assert "unknown country 'Alfaland'" in problems[0]
    assert "(source 'tiny')" in problems[0]
    assert "did you mean Alphaland (AAA)" in problems[0]


# ---------------------------------------------------------------------------------------------
# Colours and projections


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("red", "#ff0000"),
        ("RED", "#ff0000"),
        (" steelblue ", "#4682b4"),
        ("#ABC", "#aabbcc"),
        ("#0057B7", "#0057b7"),
        ("rgb(0, 87, 183)", "#0057b7"),
        ("rgb(0,87,183)", "#0057b7"),
    ],
)
def test_normalize_color_accepts(value: str, expected: str) -> None:
    assert normalize_color(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("#12345", "'#12345' is not a colour; use '#rrggbb', '#rgb', 'rgb(r, g, b)' or a CSS name"),
        ("#11223344", "'#11223344' has an alpha channel; give an opaque colour like '#0057b7'"),
        ("#1234", "'#1234' has an alpha channel"),
        ("notacolour", "'notacolour' is not a colour"),
        ("rgb(0, 87)", "'rgb(0, 87)' is not a colour"),
        ("", "'' is not a colour"),
        (255, "colour must be a string like '#0057b7', got 255"),
        (None, "colour must be a string like '#0057b7', got None"),
    ],
)
def test_normalize_color_rejects_with_reason(value: object, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        normalize_color(value)
    assert str(caught.value).startswith(reason)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3035, "EPSG:3035"),
        ("3035", "EPSG:3035"),
        (" 3857 ", "EPSG:3857"),
        ("epsg:3035", "EPSG:3035"),
        ("EPSG:54030", "EPSG:54030"),
        ("+proj=robin +lon_0=0", "+proj=robin +lon_0=0"),
        ("ESRI:54030", "ESRI:54030"),
    ],
)
def test_normalize_projection(value: str | int, expected: str) -> None:
    assert normalize_projection(value) == expected


def test_format_key_path() -> None:
    assert format_key_path(("maps", 0, "highlight", 2, "countries", 1)) == (
        "maps[0].highlight[2].countries[1]"
    )
    assert format_key_path(("sources", "mine", "path")) == "sources.mine.path"
    assert format_key_path(()) == ""


# ---------------------------------------------------------------------------------------------
# Bad input: one problem each, with file, line and key path

GOOD_GROUP = """\
    highlight:
      - label: A
        color: red
        countries: [UKR]
"""

BAD_CASES = [
    pytest.param(
        "maps:\n  - id: one   # MARK\n" + GOOD_GROUP,
        "maps[0]",
        "'title' is a required property",
        id="missing-title",
    ),
    pytest.param(
        "maps:\n  - id: Bad Id   # MARK\n    title: T\n" + GOOD_GROUP,
        "maps[0].id",
        "'Bad Id' is not a slug: use lowercase letters, digits, '-' and '_'",
        id="bad-slug",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n"
        + GOOD_GROUP
        + "  - id: one   # MARK\n    title: Again\n"
        + GOOD_GROUP,
        "maps[1].id",
        "map 'one' is defined twice; ids must be unique",
        id="duplicate-id",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    highlight:\n      - label: A\n"
        "        color: notacolour   # MARK\n        countries: [UKR]\n",
        "maps[0].highlight[0].color",
        "map 'one': 'notacolour' is not a colour",
        id="invalid-group-colour",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    ocean_color: '#11223344'   # MARK\n" + GOOD_GROUP,
        "maps[0].ocean_color",
        "map 'one': '#11223344' has an alpha channel",
        id="alpha-ocean-colour",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    extent: [1, 2, 3]   # MARK\n" + GOOD_GROUP,
        "maps[0].extent",
        "map 'one': extent must be [west, south, east, north] (4 numbers), `world` or `auto`, "
        "got [1, 2, 3]",
        id="extent-three-numbers",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    extent: [10, 50, 20, 50]   # MARK\n" + GOOD_GROUP,
        "maps[0].extent",
        "need -90 <= south < north <= 90, got south=50, north=50",
        id="extent-south-not-below-north",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    extent: [200, 10, 20, 50]   # MARK\n" + GOOD_GROUP,
        "maps[0].extent",
        "west and east must lie within -180..180 degrees, got 200 and 20",
        id="extent-lon-200",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    extent: [10, 10, 10, 50]   # MARK\n" + GOOD_GROUP,
        "maps[0].extent",
        "west equals east",
        id="extent-no-width",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    extent: europe   # MARK\n" + GOOD_GROUP,
        "maps[0].extent",
        "'europe' is not valid under any of the given schemas",
        id="extent-unknown-word",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    zoom: {min: 5, max: 3}   # MARK\n" + GOOD_GROUP,
        "maps[0].zoom",
        "zoom range must satisfy 0 <= min <= max <= 16, got min=5, max=3",
        id="zoom-min-above-max",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    zoom: {min: 0, max: 17}   # MARK\n" + GOOD_GROUP,
        "maps[0].zoom",
        "got min=0, max=17",
        id="zoom-max-above-16",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    source: natural-erth   # MARK\n" + GOOD_GROUP,
        "maps[0].source",
        "map 'one': unknown source 'natural-erth'; did you mean natural-earth?",
        id="unknown-source",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    license: MIT   # MARK\n" + GOOD_GROUP,
        "maps[0].license",
        "map 'one': licence 'MIT' is not one of CC-BY-SA-4.0, CC-BY-4.0, CC-BY-NC-SA-4.0, "
        "CC-BY-NC-4.0, CC-BY-ND-4.0, CC0-1.0; give its `license_url` too",
        id="licence-without-url",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    projection: '+proj=nonsense'   # MARK\n"
        + GOOD_GROUP,
        "maps[0].projection",
        "map 'one': PROJ cannot build '+proj=nonsense'",
        id="bad-proj-string",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    projection: EPSG:4326   # MARK\n" + GOOD_GROUP,
        "maps[0].projection",
        "map 'one': 'EPSG:4326' is a geographic CRS; give a projected one (or `auto`)",
        id="geographic-projection",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    labels: some   # MARK\n" + GOOD_GROUP,
        "maps[0].labels",
        "'some' is not one of ['highlighted', 'all', 'none']",
        id="labels-enum",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    page:\n      size: A5   # MARK\n" + GOOD_GROUP,
        "maps[0].page.size",
        "'A5' is not one of ['A4', 'A3', 'Letter']",
        id="page-size",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    zoom: {min: 0, max: six}   # MARK\n" + GOOD_GROUP,
        "maps[0].zoom.max",
        "'six' is not of type 'integer'",
        id="zoom-not-integer",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    highlight:\n      - label: A\n"
        "        color: red\n        countries: []   # MARK\n",
        "maps[0].highlight[0].countries",
        "[] should be non-empty",
        id="empty-countries",
    ),
    pytest.param(
        "public_url: 'ftp://example.org'   # MARK\nmaps:\n  - id: one\n    title: T\n" + GOOD_GROUP,
        "public_url",
        "'ftp://example.org' does not match",
        id="public-url-scheme",
    ),
    pytest.param(
        "sources:\n  mine:\n    path: nowhere/file.gpkg   # MARK\n"
        "maps:\n  - id: one\n    title: T\n" + GOOD_GROUP,
        "sources.mine.path",
        "source 'mine': no such file 'nowhere/file.gpkg' (paths are relative to the working folder",
        id="source-path-missing",
    ),
    pytest.param(
        "sources:\n  mine:   # MARK\n    path: here.gpkg\n    url: https://example.org/x.zip\n"
        "maps:\n  - id: one\n    title: T\n" + GOOD_GROUP,
        "sources.mine",
        "a source needs either `path`, or `url` together with `sha256`",
        id="source-path-and-url",
    ),
    pytest.param(
        "sources:\n  mine:   # MARK\n    url: https://example.org/x.zip\n"
        "maps:\n  - id: one\n    title: T\n" + GOOD_GROUP,
        "sources.mine",
        "a source needs either `path`, or `url` together with `sha256`",
        id="source-url-without-sha256",
    ),
    pytest.param(
        "sources:\n  mine:\n    url: https://example.org/x.zip\n"
        "    sha256: abc   # MARK\nmaps:\n  - id: one\n    title: T\n" + GOOD_GROUP,
        "sources.mine.sha256",
        "'abc' does not match",
        id="source-short-sha256",
    ),
    *(
        pytest.param(
            f"maps:\n  - id: one\n    title: T\n    description: {value}   # MARK\n" + GOOD_GROUP,
            "maps[0].description",
            f"map 'one': the description must be text (one paragraph of plain sentences), "
            f"got {kind}; put it in quotes, or leave the key out to have one written from the map",
            id=f"description-{name}",
        )
        for name, value, kind in [
            ("number", "5", "a number: 5"),
            ("boolean", "yes", "true/false: True"),
            ("date", "2026-11-27", "a date: 2026-11-27"),
            ("list", "[Ukraine, Russia]", "a list: ['Ukraine', 'Russia']"),
            ("mapping", "{alt: Ukraine}", "a mapping: {'alt': 'Ukraine'}"),
        ]
    ),
    *(
        pytest.param(
            f"maps:\n  - id: one\n    title: T\n    description: {value}   # MARK\n" + GOOD_GROUP,
            "maps[0].description",
            "map 'one': the description is empty: write what the map shows, or leave the key out "
            "to have one written from the map",
            id=f"description-{name}",
        )
        for name, value in [("empty", "''"), ("blank", "'  '"), ("null", "")]
    ),
]


STORY_CASES = [
    pytest.param(
        "maps:\n  - id: one\n    title: T\n"
        + GOOD_GROUP
        + "    markers:\n      - label: Far\n        lon: 200   # MARK\n        lat: 10\n",
        "maps[0].markers[0].lon",
        "map 'one', marker 'Far': lon 200 is outside -180..180 degrees; give `lon` (east)",
        id="marker-lon",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n"
        + GOOD_GROUP
        + "    markers:\n      - label: Pole\n        lon: 10\n        lat: -95.5   # MARK\n",
        "maps[0].markers[0].lat",
        "map 'one', marker 'Pole': lat -95.5 is outside -90..90 degrees",
        id="marker-lat",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n"
        + GOOD_GROUP
        + "    markers:\n      - label: K\n        lon: 1\n        lat: 2\n"
        + "        symbol: circle   # MARK\n",
        "maps[0].markers[0].symbol",
        "'circle' is not one of ['dot', 'star', 'square', 'triangle']",
        id="marker-symbol",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n"
        + GOOD_GROUP
        + "    markers:\n      - label: K\n        lon: 1\n        lat: 2\n"
        + "        color: notacolour   # MARK\n",
        "maps[0].markers[0].color",
        "map 'one', marker 'K': 'notacolour' is not a colour",
        id="marker-colour",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    highlight:\n      - label: A\n"
        + "        color: red\n        countries: [UKR]\n        pattern: zigzag   # MARK\n",
        "maps[0].highlight[0].pattern",
        "'zigzag' is not valid",
        id="pattern-name",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n    highlight:\n      - label: A\n"
        + "        color: red\n        countries: [UKR]\n        pattern:\n"
        + "          type: hatch\n          color: nope   # MARK\n",
        "maps[0].highlight[0].pattern.color",
        "map 'one': 'nope' is not a colour",
        id="pattern-colour",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n"
        + GOOD_GROUP
        + "    overlays:\n      - label: Front\n        path: gone.geojson   # MARK\n",
        "maps[0].overlays[0].path",
        "map 'one', overlay 'Front': no such file 'gone.geojson'",
        id="overlay-missing",
    ),
    pytest.param(
        "maps:\n  - id: one\n    title: T\n"
        + GOOD_GROUP
        + "    overlays:\n      - label: Front   # MARK\n        url: https://x.org/a.geojson\n",
        "maps[0].overlays[0]",
        "an overlay needs either `path`, or `url` together with `sha256`",
        id="overlay-url-without-sha",
    ),
]


def test_markers_patterns_and_overlays_resolve_with_their_defaults(tmp_path: Path) -> None:
    area = tmp_path / "area.geojson"
    area.write_text('{"type": "FeatureCollection", "features": []}')
    path = write(
        tmp_path,
        f"""
        maps:
          - id: story
            title: Story
            highlight:
              - label: A
                color: red
                countries: [UKR]
                pattern: hatch
              - label: B
                color: blue
                countries: [RUS]
                pattern: {{type: dots, color: "#000", width: 2, spacing: 8}}
            markers:
              - {{label: " Kursk ", lon: 36.19, lat: 51.73, note: "  captured\n  here "}}
              - {{label: Kyiv, lon: 30.52, lat: 50.45, symbol: square, color: navy, size: 9,
                  anchor: left}}
            overlays:
              - label: Front
                path: {area}
                pattern: cross
                outline: dashed
                date: 2026-11-20
        """,
    )
    spec = load_config(path).maps[0]
    hatch, dots = (group.pattern for group in spec.highlight)
    assert hatch == Pattern("hatch") and hatch.image_id("#ff0000") == "tp-hatch-ffffff-ff0000-1.2-5"
    assert dots == Pattern("dots", color="#000000", width=2.0, spacing=8.0)
    kursk, kyiv = spec.markers
    assert kursk == Marker("Kursk", 36.19, 51.73, note="captured here")
    assert (kursk.symbol, kursk.color, kursk.size, kursk.anchor) == ("dot", "#1a1a1a", 6.0, "auto")
    assert (kyiv.symbol, kyiv.color, kyiv.size, kyiv.anchor) == ("square", "#000080", 9.0, "left")
    (front,) = spec.overlays
    assert (front.label, front.path, front.pattern, front.outline, front.date) == (
        "Front",
        str(area),
        Pattern("cross"),
        "dashed",
        "2026-11-20",
    )  # an unquoted date stays the text written
    assert front.color == "#8c2d04" and front.local_path == str(area)
    assert map_from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    remote = OverlaySpec("R", url="https://example.org/front.geojson", sha256="AB" * 32)
    assert remote.local_path == "data/overlays/abababababababab.geojson"


@pytest.mark.parametrize(("text", "key_path", "message"), STORY_CASES)
def test_bad_story_marks_name_file_line_map_and_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key_path: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, text)
    problems = problems_of(path, countries=False)
    assert len(problems) == 1, problems
    prefix = f"{path}:{line_of(path, '# MARK')}: {key_path}: "
    assert problems[0].startswith(prefix), problems[0]
    assert message in problems[0]


@pytest.mark.parametrize(("text", "key_path", "message"), BAD_CASES)
def test_bad_input_names_file_line_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key_path: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, text)
    # country checks read the whole Natural Earth file: they have their own tests below
    problems = problems_of(path, countries=False)
    assert len(problems) == 1, problems
    prefix = f"{path}:{line_of(path, '# MARK')}: {key_path}: "
    assert problems[0].startswith(prefix), problems[0]
    assert message in problems[0]


def test_unknown_country_suggests_closest_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        maps:
          - id: one
            title: T
            highlight:
              - label: East
                color: red
                countries:
                  - RUS
                  - Ukrain
    """,
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = caught.value.problems
    assert len(problems) == 1
    line = line_of(path, "- Ukrain")
    assert problems[0] == (
        f"{path}:{line}: maps[0].highlight[0].countries[1]: map 'one': unknown country "
        "'Ukrain' in group 'East' (source 'natural-earth'); "
        "did you mean Ukraine (UKR), Bahrain (BHR), Iran (IRN)?"
    )


def test_unknown_country_without_any_close_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        maps:
          - id: one
            title: T
            highlight:
              - {label: X, color: red, countries: [Qqqqqqqqqqqq]}
    """,
    )
    problems = problems_of(path)
    assert len(problems) == 1
    line = line_of(path, "Qqqqqqqqqqqq")
    assert problems[0].startswith(f"{path}:{line}: maps[0].highlight[0].countries[0]: ")
    assert problems[0].endswith(
        "unknown country 'Qqqqqqqqqqqq' in group 'X' (source 'natural-earth')"
    )


def test_country_in_two_groups(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        maps:
          - id: one
            title: T
            highlight:
              - label: Occupier
                color: red
                countries: [RUS, UKR]
              - label: Occupied
                color: blue
                countries: [ukraine]   # MARK
    """,
    )
    problems = problems_of(path)
    assert problems == [
        f"{path}:{line_of(path, '# MARK')}: maps[0].highlight[1].countries[0]: map 'one': "
        "Ukraine ('ukraine') is in two groups, 'Occupier' and 'Occupied'"
    ]


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        maps:
          - id: one
            title: One
            source: natural-erth
            extent: [1, 2, 3]
            zoom: {min: 7, max: 17}
            license: MIT
            projection: "+proj=nonsense"
            base_color: "#12345"
            highlight:
              - label: A
                color: "#11223344"
                countries: [UKR]
          - id: one   # second
            title: Two
            extent: [200, 10, 20, 5]
            projection: "EPSG:4326"
            highlight:
              - label: A
                color: notacolour
                countries: [Ukrain, RUS]
              - label: B
                color: blue
                countries: [Russia]
        sources:
          mine:
            path: nowhere/file.gpkg
    """,
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = caught.value.problems
    expected = [
        ("nowhere/file.gpkg", "sources.mine.path", "no such file"),
        ("source: natural-erth", "maps[0].source", "did you mean natural-earth?"),
        ('base_color: "#12345"', "maps[0].base_color", "'#12345' is not a colour"),
        ('color: "#11223344"', "maps[0].highlight[0].color", "alpha channel"),
        ("extent: [1, 2, 3]", "maps[0].extent", "(4 numbers)"),
        ("+proj=nonsense", "maps[0].projection", "PROJ cannot build"),
        ("zoom: {min: 7", "maps[0].zoom", "got min=7, max=17"),
        ("license: MIT", "maps[0].license", "give its `license_url` too"),
        ("- id: one   # second", "maps[1].id", "defined twice"),
        ("color: notacolour", "maps[1].highlight[0].color", "'notacolour' is not a colour"),
        ("extent: [200", "maps[1].extent", "got 200 and 20"),
        ("EPSG:4326", "maps[1].projection", "geographic CRS"),
        ("[Ukrain, RUS]", "maps[1].highlight[0].countries[0]", "did you mean Ukraine (UKR)"),
        ("[Russia]", "maps[1].highlight[1].countries[0]", "is in two groups, 'A' and 'B'"),
    ]
    assert len(problems) == len(expected), "\n".join(problems)
    for marker, key_path, fragment in expected:
        prefix = f"{path}:{line_of(path, marker)}: {key_path}: "
        matching = [p for p in problems if p.startswith(prefix) and fragment in p]
        assert len(matching) == 1, (prefix, fragment, problems)
    text = str(caught.value)
    assert text.startswith(f"14 problem(s) in the configuration {path}:\n")
    assert text.count("\n  - ") == 14


def test_schema_problems_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        output_dir: 5
        maps:
          - id: Bad Id
            highlight:
              - label: A
                color: red
                countries: [UKR]
            extra: 1
          - id: fine
            title: Fine
            highlight: []
    """,
    )
    problems = problems_of(path)
    assert len(problems) == 5, problems
    joined = "\n".join(problems)
    assert f"{path}:1: output_dir: 5 is not of type 'string'" in joined
    assert f"{path}:3: maps[0]: 'title' is a required property" in joined
    assert f"{path}:3: maps[0].id: 'Bad Id' is not a slug" in joined
    assert (
        f"{path}:8: maps[0].extra: unknown key 'extra'; allowed here: author, base_color" in joined
    )
    assert f"{path}:11: maps[1].highlight: [] should be non-empty" in joined


def test_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        # a comment first
        output_dir: dist
        maps:
          - id: one
            title: T
            highlight:
              - {label: A, color: red, countries: [UKR]}
        colour: blue
    """,
    )
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:")
    assert "colour: unknown key 'colour'; allowed here: glyphs, label_font, maps" in problems[0]
    assert problems[0].endswith("label_font, maps, output_dir, public_url, sources")
    assert problems[0].startswith(f"{path}:{line_of(path, 'colour: blue')}: ")


# ---------------------------------------------------------------------------------------------
# Files that cannot be read


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        output_dir: dist
        maps:
          - id: a
            title: x: y
    """,
    )
    with pytest.raises(ConfigError) as caught:
        read_config_file(path)
    assert caught.value.problems == [
        f"{path}:4: invalid YAML (mapping values are not allowed here)"
    ]
    with pytest.raises(ConfigError):
        load_config(path)


def test_yaml_bad_indentation_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'output_dir: dist\nmaps:\n  - id: a\n    title: "x"\n   bad: 1\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"{path}:5: invalid YAML (")


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "config.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert caught.value.problems == [f"{missing}: no such file"]
    assert "no such file" in str(caught.value)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_config_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_config_file(path)
    assert caught.value.problems == [f"{path}: the file must hold a mapping with a `maps:` list"]


def test_empty_maps_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "output_dir: dist\nmaps: []\n")
    problems = problems_of(path)
    assert problems == [f"{path}:2: maps: [] should be non-empty"]


def test_missing_maps_key_is_a_config_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "output_dir: dist\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"{path}:")
    assert "maps" in caught.value.problems[0]


def test_unquoted_date_is_kept_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        maps:
          - id: one
            title: T
            date: 2026-11-27
            highlight:
              - {label: A, color: red, countries: [UKR]}
    """,
    )
    assert load_config(path).maps[0].date == "2026-11-27"


def test_meaning_is_checked_beside_schema_problems(tmp_path: Path) -> None:
    """A schema problem in one map does not hide a bad colour in another."""
    path = write(
        tmp_path,
        """
        maps:
          - id: one
            title: T
            highlight: []
          - id: two
            title: T
            highlight:
              - {label: A, color: reddish, countries: [UKR]}
    """,
    )
    joined = "\n".join(problems_of(path, countries=False))
    assert "maps[0].highlight: [] should be non-empty" in joined
    assert "maps[1].highlight[0].color: map 'two': 'reddish' is not a colour" in joined
