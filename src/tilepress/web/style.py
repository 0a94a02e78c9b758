"""The documents a web map is drawn from, written at build time: TileJSON and MapLibre style.

From a map's spec and its tileset metadata: ``tiles.json`` (TileJSON 3.0.0, tile URLs under
the spec's public URL; the title, credits, legend and colours under ``tilepress``) and
``style.json`` (MapLibre style v8: fills and patterns, borders, overlays, labels and markers,
with glyphs tilepress builds or a configured glyph server's; the story marks' layers and
legend entries come from `tilepress.web.marks`).
The server (`tilepress.web.catalog`) later points their URLs at the address it is reached at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tilepress import __version__
from tilepress.config.model import BOLD_STACK, REGULAR_STACK, MapSpec
from tilepress.files import write_json_atomic
from tilepress.geometry.projection import Extent, fit_extent
from tilepress.sources.description import map_description
from tilepress.sources.loaded import LoadedMap
from tilepress.tiles.schema import (
    BOUNDARIES_LAYER,
    COUNTRIES_LAYER,
    LABELS_LAYER,
    TilesetMetadata,
    map_extent,
    tileset_metadata,
)
from tilepress.web.marks import (
    country_pattern_layer,
    has_unclaimed_land,
    legend,
    marker_layers,
    overlay_layers,
)

GLYPHS_PATH = "glyphs/{fontstack}/{range}.pbf"  # beside the map's other files
INK = "#1a1a1a"  # the print sheet's label colours (tilepress.printing.color)
QUIET_INK = "#555555"


def tilejson(
    spec: MapSpec,
    meta: TilesetMetadata,
    *,
    description: str | None = None,
    view: Extent | None = None,
    unclaimed: bool = False,
) -> dict[str, Any]:
    """A TileJSON 3.0.0 document with absolute tile URLs under ``spec.public_url``; the map's
    text alternative (``description``), the extent its first view shows (``view``) and whether
    it holds land no country holds (``unclaimed``, then in the legend) go under ``tilepress``
    with its title, credits, legend and colours."""
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
            "description": description or spec.description or spec.title,
            "author": spec.author,
            "date": spec.date,
            "license": {"id": spec.license, "name": spec.license_name, "url": spec.license_url},
            "legend": legend(spec, unclaimed=unclaimed),
            "unclaimed": unclaimed,
            "ocean_color": spec.ocean_color,
            "base_color": spec.base_color,
            "border_color": spec.border_color,
            "view": None if view is None else list(view),
            "labels": spec.labels,
            "glyphs": "configured" if spec.glyphs else "built",
            "cjk_glyphs": spec.glyphs is None and spec.print_options.cjk_font is not None,
        },
    }


def maplibre_style(
    spec: MapSpec,
    meta: TilesetMetadata,
    *,
    source_url: str | None = None,
    glyphs_url: str | None = None,
    unclaimed: bool = False,
) -> dict[str, Any]:
    """A MapLibre style v8, bottom to top: ocean background, countries filled from their
    ``color`` and their ``pattern`` over it, borders, overlays (fill, pattern, outline), the
    country labels the print sheet has (``labels``: highlighted, all or none) with halos,
    highlighted names in bold capitals, and the markers with their labels. The patterns and
    marker symbols are images the viewer page draws (`tilepress.web.marks`): no sprite.

    The tiles come from ``source_url`` (default: the map's TileJSON under its public URL), the
    glyphs from the configured ``glyphs`` URL, else from ``glyphs_url`` (default: those
    tilepress builds, under the map's public URL). The style always has glyphs and labels.
    """
    lon, lat, zoom = meta.center
    base = f"{spec.public_url}/{spec.id}"
    own_glyphs = spec.glyphs is None
    style: dict[str, Any] = {
        "version": 8,
        "name": spec.title,
        "metadata": {
            "tilepress:id": spec.id,
            "tilepress:legend": legend(spec, unclaimed=unclaimed),
            "tilepress:glyphs": "built" if own_glyphs else "configured",
        },
        "center": [lon, lat],
        "zoom": zoom,
        "glyphs": spec.glyphs or glyphs_url or f"{base}/{GLYPHS_PATH}",
        "sources": {
            COUNTRIES_LAYER: {
                "type": "vector",
                "url": source_url or f"{base}/tiles.json",
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
            country_pattern_layer(),
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
            *overlay_layers(spec),
            *_label_layers(spec, own_glyphs),
            *marker_layers(spec, REGULAR_STACK if own_glyphs else spec.label_font),
        ],
    }
    return style


def _label_layers(spec: MapSpec, own_glyphs: bool) -> list[dict[str, Any]]:
    """The country labels: the other countries' (``labels: all``) below the highlighted ones,
    which MapLibre then places first (the upper layer wins a collision), at every zoom; a
    highlighted name a marker keeps from its label point goes beside the point."""
    bold = [BOLD_STACK] if own_glyphs else [spec.label_font]
    regular = [REGULAR_STACK if own_glyphs else spec.label_font]
    halo = {"text-halo-color": "#ffffff", "text-halo-blur": 0.5}
    others: dict[str, Any] = {
        "id": "labels",
        "type": "symbol",
        "source": COUNTRIES_LAYER,
        "source-layer": LABELS_LAYER,
        "filter": ["all", ["!", ["has", "group"]], [">=", ["zoom"], ["get", "min_zoom"]]],
        "layout": {
            "text-field": ["get", "name"],
            "text-font": regular,
            "text-size": ["interpolate", ["linear"], ["zoom"], 1, 10, 6, 13],
            "text-max-width": 7,
            "text-padding": 3,
            "visibility": "visible" if spec.labels == "all" else "none",
        },
        "paint": {"text-color": QUIET_INK, "text-halo-width": 1.0, **halo},
    }
    highlighted: dict[str, Any] = {
        "id": "labels-highlighted",
        "type": "symbol",
        "source": COUNTRIES_LAYER,
        "source-layer": LABELS_LAYER,
        "filter": ["has", "group"],
        "layout": {
            "text-field": ["get", "name"],
            "text-font": bold,
            "text-transform": "uppercase",
            "text-letter-spacing": 0.04,
            "text-size": ["interpolate", ["linear"], ["zoom"], 0, 11, 6, 16],
            "text-max-width": 7,
            "text-padding": 4,
            # at the label point, else beside it: a marker there has the place (placed first)
            "text-variable-anchor": ["center", "top", "bottom", "left", "right"],
            "text-radial-offset": 1.2,
            "visibility": "none" if spec.labels == "none" else "visible",
        },
        "paint": {"text-color": INK, "text-halo-width": 1.6, **halo},
    }
    return [others, highlighted]


def first_view(loaded: LoadedMap) -> Extent:
    """The extent a web map opens on: every highlighted country (on a world map, centred on
    them rather than on 0 degrees), else the map's extent."""
    highlighted = loaded.highlighted_geometries()
    if loaded.spec.extent == "world" and len(highlighted):
        return fit_extent(highlighted)
    return map_extent(loaded)


def map_documents(
    loaded: LoadedMap, *, source_url: str | None = None, glyphs_url: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A map's TileJSON and style (tiles from ``source_url``, glyphs from ``glyphs_url``, as
    `maplibre_style` says), with its description, first view and land no country holds."""
    spec = loaded.spec
    extent = map_extent(loaded)
    meta = tileset_metadata(spec, extent)
    unclaimed = has_unclaimed_land(loaded, extent)
    description = map_description(spec, loaded.table, loaded.highlighting)
    document = tilejson(
        spec, meta, description=description, view=first_view(loaded), unclaimed=unclaimed
    )
    style = maplibre_style(
        spec, meta, source_url=source_url, glyphs_url=glyphs_url, unclaimed=unclaimed
    )
    return document, style


def build_style(loaded: LoadedMap, out_dir: Path) -> None:
    """Write ``tiles.json`` (TileJSON 3.0.0) and ``style.json`` (MapLibre style v8)."""
    document, style = map_documents(loaded)
    write_json_atomic(out_dir / "tiles.json", document)
    write_json_atomic(out_dir / "style.json", style)
