"""What a map's tileset is: its layers and their fields, and the metadata the archives,
TileJSON and style share (name, attribution, zooms, bounds, centre)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from tilepress.config.model import LABEL_LANGUAGES, MapSpec
from tilepress.geometry.projection import (
    WEB_MERCATOR_MAX_LAT,
    Extent,
    extent_center,
    extent_width,
    resolve_extent,
)
from tilepress.sources.loaded import LoadedMap


@dataclass(frozen=True)
class TilesetMetadata:
    """What archives and TileJSON say about a tileset."""

    name: str
    description: str
    attribution: str
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float]
    center: tuple[float, float, int]
    vector_layers: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)


COUNTRIES_LAYER = "countries"
BOUNDARIES_LAYER = "boundaries"
LABELS_LAYER = "labels"
OVERLAYS_LAYER = "overlays"
MARKERS_LAYER = "markers"
NATURAL_EARTH_URL = "https://www.naturalearthdata.com/"
COUNTRY_FIELDS = {
    "adm0_a3": "String",
    "iso_a2": "String",
    "name": "String",
    "name_en": "String",
    "color": "String",
    "group": "String",
    "pattern": "String",
    "trace": "Boolean",
    "unclaimed": "Boolean",
}


BOUNDARY_FIELDS = {"kind": "String", "adm0_a3_a": "String", "adm0_a3_b": "String"}
LABEL_FIELDS = {
    "adm0_a3": "String",
    "name": "String",
    "group": "String",
    "min_zoom": "Number",
    **{f"name_{language}": "String" for language in LABEL_LANGUAGES},
}
OVERLAY_FIELDS = {
    "label": "String",
    "color": "String",
    "pattern": "String",
    "outline": "String",
    "date": "String",
    "index": "Number",
}
MARKER_FIELDS = {
    "label": "String",
    "symbol": "String",
    "color": "String",
    "size": "Number",
    "anchor": "String",
    "note": "String",
    "index": "Number",
}


def attribution_html(spec: MapSpec) -> str:
    """Credit for web maps: author, licence link, and Natural Earth (all text escaped)."""
    license_part = html.escape(spec.license_name)
    if spec.license_url:
        license_part = f'<a href="{html.escape(spec.license_url)}">{license_part}</a>'
    return (
        f"© {html.escape(spec.author)}, {license_part} · "
        f'Made with <a href="{NATURAL_EARTH_URL}">Natural Earth</a>'
    )


def vector_layers(spec: MapSpec) -> list[dict[str, Any]]:
    """The ``vector_layers`` entry shared by TileJSON, MBTiles and PMTiles metadata."""
    layers = [
        (
            COUNTRIES_LAYER,
            "Country polygons (Natural Earth admin-0) with their fill colour and pattern; "
            "trace=true marks a one-pixel marker of a country too small to draw, "
            "unclaimed=true land no country holds",
            COUNTRY_FIELDS,
        ),
        (
            BOUNDARIES_LAYER,
            "Land borders shared by two countries (kind=land), from the same generalized polygons",
            BOUNDARY_FIELDS,
        ),
        (
            OVERLAYS_LAYER,
            "Areas drawn over the countries (the map's overlays), with colour, pattern, "
            "outline and date; index is the overlay's place in the configuration",
            OVERLAY_FIELDS,
        ),
        (
            LABELS_LAYER,
            "Label points (Natural Earth LABEL_X/LABEL_Y) with names in 26 "
            "languages; min_zoom from MIN_LABEL",
            LABEL_FIELDS,
        ),
        (
            MARKERS_LAYER,
            "The map's markers: symbol, colour, size, label and where it goes, note; "
            "index is the marker's place in the configuration",
            MARKER_FIELDS,
        ),
    ]
    return [
        {
            "id": layer_id,
            "description": description,
            "fields": dict(fields),
            "minzoom": spec.min_zoom,
            "maxzoom": spec.max_zoom,
        }
        for layer_id, description, fields in layers
    ]


def tileset_center(
    spec: MapSpec, extent: tuple[float, float, float, float]
) -> tuple[float, float, int]:
    """Centre of the map's extent with a zoom that shows it, inside the tileset's zooms."""
    lon, lat = extent_center(extent)
    lat = max(-WEB_MERCATOR_MAX_LAT, min(WEB_MERCATOR_MAX_LAT, lat))
    width = extent_width(extent)
    zoom = 0
    while zoom < spec.max_zoom and 360.0 / (1 << (zoom + 1)) >= width / 2.0:
        zoom += 1
    zoom = max(spec.min_zoom, min(spec.max_zoom, max(zoom, 1 if width < 300 else 0)))
    return round(lon, 6), round(lat, 6), zoom


def map_extent(loaded: LoadedMap) -> Extent:
    """The map's extent in degrees (fitted to the highlighted countries when ``auto``)."""
    return resolve_extent(loaded.spec.extent, loaded.highlighted_geometries())


def tileset_metadata(
    spec: MapSpec, extent: Extent, extra: dict[str, Any] | None = None
) -> TilesetMetadata:
    """Metadata for the archives and TileJSON of one map; its centre shows ``extent``."""
    return TilesetMetadata(
        name=spec.title,
        description=spec.caption,
        attribution=attribution_html(spec),
        minzoom=spec.min_zoom,
        maxzoom=spec.max_zoom,
        bounds=(-180.0, -WEB_MERCATOR_MAX_LAT, 180.0, WEB_MERCATOR_MAX_LAT),
        center=tileset_center(spec, extent),
        vector_layers=vector_layers(spec),
        extra=extra or {},
    )
