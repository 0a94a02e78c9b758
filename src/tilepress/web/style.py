"""The documents a web map is drawn from, written at build time: TileJSON and MapLibre style.

From a map's spec and its tileset metadata: ``tiles.json`` (TileJSON 3.0.0, tile URLs under
the spec's public URL; the title, credits, legend and colours under ``tilepress``) and
``style.json`` (MapLibre style v8: fills, borders, and labels when glyphs are configured).
The server (`tilepress.web.catalog`) later points their URLs at the address it is reached at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tilepress import __version__
from tilepress.config.model import MapSpec
from tilepress.files import write_json_atomic
from tilepress.sources.loaded import LoadedMap
from tilepress.tiles.schema import (
    BOUNDARIES_LAYER,
    COUNTRIES_LAYER,
    LABELS_LAYER,
    TilesetMetadata,
    map_extent,
    tileset_metadata,
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


def build_style(loaded: LoadedMap, out_dir: Path) -> None:
    """Write ``tiles.json`` (TileJSON 3.0.0) and ``style.json`` (MapLibre style v8)."""
    meta = tileset_metadata(loaded.spec, map_extent(loaded))
    write_json_atomic(out_dir / "tiles.json", tilejson(loaded.spec, meta))
    write_json_atomic(out_dir / "style.json", maplibre_style(loaded.spec, meta))
