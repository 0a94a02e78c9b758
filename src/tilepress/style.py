"""TileJSON 3.0.0 and MapLibre style documents for a map, and its attribution text."""

from __future__ import annotations

import html
from typing import Any

from tilepress import __version__
from tilepress.archives import TilesetMetadata
from tilepress.config import LABEL_LANGUAGES, MapSpec
from tilepress.projection import (
    WEB_MERCATOR_MAX_LAT,
    extent_center,
    extent_width,
)

COUNTRIES_LAYER = "countries"
BOUNDARIES_LAYER = "boundaries"
LABELS_LAYER = "labels"
NATURAL_EARTH_URL = "https://www.naturalearthdata.com/"
COUNTRY_FIELDS = {
    "adm0_a3": "String",
    "iso_a2": "String",
    "name": "String",
    "name_en": "String",
    "color": "String",
    "group": "String",
    "trace": "Boolean",
}
BOUNDARY_FIELDS = {"kind": "String", "adm0_a3_a": "String", "adm0_a3_b": "String"}
LABEL_FIELDS = {
    "adm0_a3": "String",
    "name": "String",
    "group": "String",
    "min_zoom": "Number",
    **{f"name_{language}": "String" for language in LABEL_LANGUAGES},
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
            "Country polygons (Natural Earth admin-0) with their fill colour; "
            "trace=true marks a one-pixel marker of a country too small to draw",
            COUNTRY_FIELDS,
        ),
        (
            BOUNDARIES_LAYER,
            "Land borders shared by two countries (kind=land), from the same generalized polygons",
            BOUNDARY_FIELDS,
        ),
        (
            LABELS_LAYER,
            "Label points (Natural Earth LABEL_X/LABEL_Y) with names in 26 "
            "languages; min_zoom from MIN_LABEL",
            LABEL_FIELDS,
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


def tileset_metadata(
    spec: MapSpec, extent: tuple[float, float, float, float], extra: dict[str, Any] | None = None
) -> TilesetMetadata:
    """Metadata for the archives of one map."""
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


def legend(spec: MapSpec) -> list[dict[str, str]]:
    """Legend entries (label and colour) in configuration order."""
    return [{"label": group.label, "color": group.color} for group in spec.highlight]


def tilejson(spec: MapSpec, meta: TilesetMetadata) -> dict[str, Any]:
    """A TileJSON 3.0.0 document with absolute tile URLs under ``spec.public_url``."""
    return {
        "tilejson": "3.0.0",
        "name": meta.name,
        "description": meta.description,
        "version": "1.0.0",
        "attribution": meta.attribution,
        "scheme": "xyz",
        "tiles": [f"{spec.public_url}/{spec.id}/tiles/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": meta.minzoom,
        "maxzoom": meta.maxzoom,
        "bounds": list(meta.bounds),
        "center": list(meta.center),
        "vector_layers": meta.vector_layers,
        "tilepress": {
            "id": spec.id,
            "version": __version__,
            "title": spec.title,
            "caption": spec.caption,
            "author": spec.author,
            "date": spec.date,
            "license": {"id": spec.license, "name": spec.license_name, "url": spec.license_url},
            "legend": legend(spec),
            "ocean_color": spec.ocean_color,
            "base_color": spec.base_color,
            "border_color": spec.border_color,
        },
    }


def maplibre_style(spec: MapSpec, meta: TilesetMetadata) -> dict[str, Any]:
    """A MapLibre style v8: ocean background, countries filled from their ``color``, borders."""
    lon, lat, zoom = meta.center
    style: dict[str, Any] = {
        "version": 8,
        "name": spec.title,
        "metadata": {"tilepress:id": spec.id, "tilepress:legend": legend(spec)},
        "center": [lon, lat],
        "zoom": zoom,
        "sources": {
            COUNTRIES_LAYER: {
                "type": "vector",
                "url": f"{spec.public_url}/{spec.id}/tiles.json",
                "attribution": meta.attribution,
            }
        },
        "layers": [
            {
                "id": "ocean",
                "type": "background",
                "paint": {"background-color": spec.ocean_color},
            },
            {
                "id": "countries-fill",
                "type": "fill",
                "source": COUNTRIES_LAYER,
                "source-layer": COUNTRIES_LAYER,
                "paint": {
                    "fill-color": ["get", "color"],
                    "fill-antialias": False,
                },
            },
            {
                "id": "borders",
                "type": "line",
                "source": COUNTRIES_LAYER,
                "source-layer": BOUNDARIES_LAYER,
                "layout": {"line-join": "round", "line-cap": "round"},
                "paint": {
                    "line-color": spec.border_color,
                    "line-width": ["interpolate", ["linear"], ["zoom"], 0, 0.4, 6, 1.2],
                },
            },
        ],
    }
    if spec.glyphs:  # symbol layers need glyphs; tilepress never points at a CDN by itself
        style["glyphs"] = spec.glyphs
        style["layers"].append(
            {
                "id": "labels",
                "type": "symbol",
                "source": COUNTRIES_LAYER,
                "source-layer": LABELS_LAYER,
                "filter": [">=", ["zoom"], ["get", "min_zoom"]],
                "layout": {
                    "text-field": ["coalesce", ["get", "name_en"], ["get", "name"]],
                    "text-font": [spec.label_font],
                    "text-size": ["interpolate", ["linear"], ["zoom"], 1, 10, 6, 14],
                    "text-max-width": 8,
                },
                "paint": {
                    "text-color": "#1c2330",
                    "text-halo-color": "#ffffff",
                    "text-halo-width": 1.2,
                },
            }
        )
    return style
