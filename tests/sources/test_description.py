"""A map's text alternative (tilepress.sources.description): the configured description as
given, or one paragraph written from the map: the kind of map, its groups and countries, the
source and the date."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from tests.conftest import REFERENCE_CONFIG
from tilepress.config.model import HighlightGroup, MapSpec, Marker, OverlaySpec
from tilepress.project import load_config
from tilepress.sources.description import map_description, region_words
from tilepress.sources.files import map_fields
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.table import CountryTable, read_countries

NATURAL_EARTH = (
    "Source: Natural Earth 1:10m admin-0 boundaries, version 5.1.1, German point of view."
)

REFERENCE_TEXT = (
    "A world map highlighting Ukraine, Russia and North Korea, each in its own colour. "
    "Other countries are not highlighted. Marked places: Kursk and Kyiv. "
    f"{NATURAL_EARTH} Date: 2026-11-27."
)

# The regional map of the comparison build: an extent in degrees, two groups, a date.
BALTIC_TEXT = (
    "A map of the area from 9° to 33° east and from 50° to 61° north, centred on Europe, "
    "with two highlighted groups of countries, each in its own colour. "
    "Baltic states: Estonia, Latvia and Lithuania. Neighbours: Russia, Belarus and Poland. "
    f"Other countries are not highlighted. {NATURAL_EARTH} Date: 2026-12-07."
)


@pytest.fixture(scope="module")
def reference() -> MapSpec:
    return load_config(REFERENCE_CONFIG).maps[0]


@pytest.fixture(scope="module")
def natural_earth(reference: MapSpec) -> CountryTable:
    """The embedded countries with the fields a map step reads (geometry not repaired)."""
    return read_countries(reference.source, repaired=False, fields=map_fields(reference.source))


def describe(spec: MapSpec, table: CountryTable) -> str:
    return map_description(spec, table, resolve_highlights(spec, table))


def test_reference_map(reference: MapSpec, natural_earth: CountryTable) -> None:
    assert reference.description is None  # the reference config gives none: it is written
    assert describe(reference, natural_earth) == REFERENCE_TEXT


def test_regional_map_with_two_groups_and_a_date(
    reference: MapSpec, natural_earth: CountryTable
) -> None:
    baltic = dataclasses.replace(
        reference,
        id="baltic-region",
        extent=(9.0, 50.0, 33.0, 61.0),
        date="2026-12-07",
        markers=(),
        highlight=(
            HighlightGroup("Baltic states", "#2a7f62", ("EST", "latvia", "LTU")),
            HighlightGroup("Neighbours", "#b33939", ("RUS", "Belarus", "POL")),
        ),
    )
    text = describe(baltic, natural_earth)
    assert text == BALTIC_TEXT
    assert describe(baltic, natural_earth) == text  # deterministic
    assert "\n" not in text and "<" not in text  # one paragraph, no markup
    undated = describe(dataclasses.replace(baltic, date=None), natural_earth)
    assert undated == BALTIC_TEXT.removesuffix(" Date: 2026-12-07.")


def test_one_group_and_an_auto_extent(reference: MapSpec, natural_earth: CountryTable) -> None:
    """A group named as its one country needs no list; its name is the table's display name,
    whatever case the label has; ``auto`` is the extent fitted to the highlighted countries."""
    korea = dataclasses.replace(
        reference,
        extent="auto",
        date=None,
        markers=(),
        highlight=(HighlightGroup("north korea", "#f28e1c", ("PRK",)),),
    )
    assert describe(korea, natural_earth) == (
        "A map of the area from 122° to 133° east and from 36° to 45° north, centred on Asia, "
        f"highlighting North Korea. Other countries are not highlighted. {NATURAL_EARTH}"
    )


def test_overlays_and_markers_are_named(reference: MapSpec, natural_earth: CountryTable) -> None:
    """The areas drawn over the countries are named with their dates, the marked places by
    their labels, after the countries and before the source."""
    marked = dataclasses.replace(
        reference,
        date=None,
        overlays=(
            OverlaySpec("Occupied by Russia", path="crimea.geojson", date="2014-03-18"),
            OverlaySpec("Front line", path="front.geojson"),
        ),
        markers=(Marker("Sevastopol", lon=33.52, lat=44.6),),
    )
    assert describe(marked, natural_earth) == (
        "A world map highlighting Ukraine, Russia and North Korea, each in its own colour. "
        "Other countries are not highlighted. Areas are drawn over the countries: Occupied by "
        "Russia (as of 2014-03-18) and Front line. Marked place: Sevastopol. "
        f"{NATURAL_EARTH}"
    )


def test_configured_description_is_used_verbatim(
    tmp_path: Path, natural_earth: CountryTable
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        textwrap.dedent(
            """
            maps:
              - id: one
                title: T
                description: >-
                  Ukraine in blue,   surrounded
                  by its neighbours.
                highlight:
                  - {label: A, color: red, countries: [UKR]}
            """
        ),
        encoding="utf-8",
    )
    spec = load_config(path).maps[0]
    assert describe(spec, natural_earth) == "Ukraine in blue, surrounded by its neighbours."


def test_a_configured_source_is_named(tmp_path: Path) -> None:
    pyogrio.raw.write(
        str(tmp_path / "tiny.geojson"),
        geometry=shapely.to_wkb(np.array([shapely.box(0, 0, 2, 2), shapely.box(3, 0, 4, 1)])),
        field_data=[np.array(["AAA", "BBB"], dtype=object), np.array(["Alphaland", "Betaland"])],
        fields=["ADM0_A3", "NAME_EN"],
        geometry_type="Polygon",
        crs="EPSG:4326",
        driver="GeoJSON",
    )
    path = tmp_path / "config.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            sources:
              tiny: {{path: {tmp_path / "tiny.geojson"}}}
            maps:
              - id: tiny-map
                title: Tiny
                source: tiny
                extent: [-1, -1, 5, 3]
                highlight:
                  - {{label: Both, color: green, countries: [alphaland, BBB]}}
            """
        ),
        encoding="utf-8",
    )
    spec = load_config(path).maps[0]
    table = read_countries(spec.source)
    assert describe(spec, table) == (
        "A map of the area from 1° west to 5° east and from 1° south to 3° north, "
        "centred on Africa, with one highlighted group of countries. "
        "Both: Alphaland and Betaland. Other countries are not highlighted. Source: tiny."
    )


@pytest.mark.parametrize(
    ("extent", "words"),
    [
        (
            (170.0, -25.0, -170.0, -10.0),
            "the area from 170° east across the 180th meridian to 170° west "
            "and from 25° to 10° south",
        ),
        (
            (0.0, -90.0, 10.0, -60.0),
            "the area from the prime meridian to 10° east and from the South Pole to 60° south, "
            "centred on Antarctica",
        ),
        (
            (-20.0, 0.0, 60.0, 90.0),
            "the area from 20° west to 60° east and from the equator to the North Pole, "
            "centred on Europe",
        ),
        (
            (-180.0, 10.0, -150.0, 30.0),
            "the area from 180° to 150° west and from 10° to 30° north",
        ),
        (
            (7.1, 46.4, 8.6, 47.3),
            "the area from 7.1° to 8.6° east and from 46.4° to 47.3° north, centred on Europe",
        ),
        # the Mediterranean between Europe and Africa: no continent is named
        ((5.0, 30.0, 25.0, 40.0), "the area from 5° to 25° east and from 30° to 40° north"),
    ],
)
def test_region_words(extent: tuple[float, float, float, float], words: str) -> None:
    assert region_words(extent) == words
