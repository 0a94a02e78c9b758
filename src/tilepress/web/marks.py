"""A web map's story marks: patterned areas, overlays and markers as MapLibre style layers, and
the legend entries of everything the map draws.

The layers name images rather than ship them: a pattern by its `Pattern.image_id` (the tiles'
``pattern`` property), a marker by ``tp-marker-<symbol>``. The viewer page
(``templates/viewer.html``) draws each image the first time MapLibre asks for it, so a style
needs no sprite and no other server. Sizes are CSS pixels.
"""

from __future__ import annotations

from typing import Any, Final

from tilepress.config.model import MapSpec, OverlaySpec, Pattern
from tilepress.geometry.projection import Extent
from tilepress.sources.loaded import LoadedMap
from tilepress.sources.unclaimed import (
    UNCLAIMED_COLOR,
    UNCLAIMED_LEGEND,
    UNCLAIMED_PATTERN,
)
from tilepress.tiles.schema import COUNTRIES_LAYER, MARKERS_LAYER, OVERLAYS_LAYER

MARKER_IMAGE_PREFIX: Final = "tp-marker-"
MARKER_IMAGE_SIZE: Final = 24
"""The symbol's box in the viewer's marker images (its ``MARKER_SIZE``), scaled to ``size``."""
MARKER_TEXT_SIZE: Final = 12
MARKER_GAP: Final = 3.0  # CSS pixels between a symbol and its label
DEFAULT_MARKER_SIZE: Final = 6.0
OUTLINE_DASHES: Final = [3.0, 2.0]  # in line widths

LABEL_ANCHORS: Final = {
    # where the label goes: the text anchors MapLibre tries, in order
    "right": ["left"],
    "left": ["right"],
    "above": ["bottom"],
    "below": ["top"],
    "auto": ["left", "right", "bottom", "top"],
}


def _layer(layer_id: str, kind: str, source_layer: str, **rest: Any) -> dict[str, Any]:
    return {
        "id": layer_id,
        "type": kind,
        "source": COUNTRIES_LAYER,
        "source-layer": source_layer,
        **rest,
    }


def country_pattern_layer() -> dict[str, Any]:
    """Patterned groups and land no country holds, over ``countries-fill``: each row's
    ``pattern`` is the image of its stripes or dots over its colour."""
    return _layer(
        "countries-pattern",
        "fill",
        COUNTRIES_LAYER,
        filter=["has", "pattern"],
        paint={"fill-pattern": ["get", "pattern"], "fill-antialias": False},
    )


def overlay_layers(spec: MapSpec) -> list[dict[str, Any]]:
    """The overlays, over the borders: fill, pattern, and an outline in a darker shade of
    the fill, dashed for ``outline: dashed``."""
    shades = {overlay.color: overlay.outline_color for overlay in spec.overlays}
    fallback = OverlaySpec(label="").outline_color
    line_color: Any = fallback
    if shades:
        line_color = ["match", ["get", "color"]]
        for color, shade in sorted(shades.items()):
            line_color += [color, shade]
        line_color.append(fallback)
    outline = {
        "layout": {"line-join": "round"},
        "paint": {
            "line-color": line_color,
            "line-width": ["interpolate", ["linear"], ["zoom"], 0, 1.0, 6, 2.0],
        },
    }
    return [
        _layer("overlays-fill", "fill", OVERLAYS_LAYER, paint={"fill-color": ["get", "color"]}),
        _layer(
            "overlays-pattern",
            "fill",
            OVERLAYS_LAYER,
            filter=["has", "pattern"],
            paint={"fill-pattern": ["get", "pattern"]},
        ),
        _layer(
            "overlays-outline",
            "line",
            OVERLAYS_LAYER,
            filter=["!=", ["get", "outline"], "dashed"],
            **outline,
        ),
        _layer(
            "overlays-outline-dashed",
            "line",
            OVERLAYS_LAYER,
            filter=["==", ["get", "outline"], "dashed"],
            layout=outline["layout"],
            paint={**outline["paint"], "line-dasharray": OUTLINE_DASHES},
        ),
    ]


def _label_offsets(anchors: list[str], size: float) -> list[Any]:
    """``text-variable-anchor-offset`` of a label beside a symbol of ``size`` pixels: each
    text anchor, and its offset (in ems) clear of the symbol."""
    distance = (size / 2 + MARKER_GAP) / MARKER_TEXT_SIZE
    direction = {"left": (1, 0), "right": (-1, 0), "bottom": (0, -1), "top": (0, 1)}
    offsets: list[Any] = []
    for anchor in anchors:
        dx, dy = direction[anchor]
        offsets += [anchor, [round(dx * distance, 4), round(dy * distance, 4)]]
    return offsets


def marker_layers(spec: MapSpec, font: str) -> list[dict[str, Any]]:
    """The markers, over everything: the symbol (an SDF image tinted with the marker's colour,
    ``size`` pixels across) and its label beside it (``anchor``; ``auto`` tries right, left,
    above and below). The topmost layers are placed first: country labels give way to them,
    and both are shown even where they overlap something."""
    size = ["to-number", ["get", "size"], DEFAULT_MARKER_SIZE]
    smallest, largest = 2.0, 30.0  # the schema's bounds of `size`
    by_anchor: list[Any] = ["match", ["get", "anchor"]]
    for anchor, text_anchors in LABEL_ANCHORS.items():
        offsets = [
            "interpolate",
            ["linear"],
            size,
            smallest,
            ["literal", _label_offsets(text_anchors, smallest)],
            largest,
            ["literal", _label_offsets(text_anchors, largest)],
        ]
        if anchor == "auto":
            by_anchor.append(offsets)
        else:
            by_anchor += [anchor, offsets]
    symbols = _layer(
        "markers",
        "symbol",
        MARKERS_LAYER,
        layout={
            "icon-image": ["concat", MARKER_IMAGE_PREFIX, ["get", "symbol"]],
            "icon-size": ["/", size, MARKER_IMAGE_SIZE],
            "icon-overlap": "always",
            "icon-padding": 1,
        },
        paint={
            "icon-color": ["get", "color"],
            "icon-halo-color": "#ffffff",
            "icon-halo-width": 1.0,
        },
    )
    labels = _layer(
        "markers-labels",
        "symbol",
        MARKERS_LAYER,
        layout={
            "text-field": ["get", "label"],
            "text-font": [font],
            "text-size": MARKER_TEXT_SIZE,
            "text-max-width": 10,
            "text-justify": "auto",
            "text-variable-anchor-offset": by_anchor,
            "text-overlap": "always",
            "text-padding": 2,
        },
        paint={
            "text-color": "#1a1a1a",
            "text-halo-color": "#ffffff",
            "text-halo-width": 1.4,
            "text-halo-blur": 0.5,
        },
    )
    return [symbols, labels]


def has_unclaimed_land(loaded: LoadedMap, extent: Extent) -> bool:
    """Whether the map's source has land no country holds (the table's last ``unclaimed``
    rows) inside ``extent`` (west > east: across 180 degrees), by their bounding boxes."""
    table = loaded.table
    count = table.unclaimed
    if count <= 0:
        return False
    import shapely

    west, south, east, north = extent
    spans = [(west, east)] if west <= east else [(west, 180.0), (-180.0, east)]
    for x0, y0, x1, y1 in shapely.bounds(table.geometries[len(table) - count :]).tolist():
        if y0 <= north and y1 >= south and any(x0 <= e and x1 >= w for w, e in spans):
            return True
    return False


def _pattern(pattern: Pattern | None) -> dict[str, Any] | None:
    if pattern is None:
        return None
    return {
        "kind": pattern.kind,
        "color": pattern.color,
        "width": pattern.width,
        "spacing": pattern.spacing,
    }


def _with_pattern(entry: dict[str, Any], pattern: Pattern | None) -> dict[str, Any]:
    described = _pattern(pattern)
    return entry if described is None else {**entry, "pattern": described}


def legend(spec: MapSpec, *, unclaimed: bool = False) -> list[dict[str, Any]]:
    """The legend entries in the order the legend lists them: the highlight groups (label,
    colour, pattern), the overlays (and their date), the markers that have a ``note``, and
    land no country holds when the map has some (``unclaimed``). Every entry has ``label`` and
    ``color``; ``kind`` is group, overlay, marker or unclaimed."""
    entries = [
        _with_pattern({"kind": "group", "label": group.label, "color": group.color}, group.pattern)
        for group in spec.highlight
    ]
    for overlay in spec.overlays:
        entry: dict[str, Any] = {
            "kind": "overlay",
            "label": overlay.label,
            "color": overlay.color,
            "outline": overlay.outline,
            "outline_color": overlay.outline_color,
        }
        if overlay.date:
            entry["date"] = overlay.date
        entries.append(_with_pattern(entry, overlay.pattern))
    for marker in spec.markers:
        if marker.note:
            entries.append(
                {
                    "kind": "marker",
                    "label": marker.label,
                    "color": marker.color,
                    "symbol": marker.symbol,
                    "note": marker.note,
                }
            )
    if unclaimed:
        entry = {"kind": "unclaimed", "label": UNCLAIMED_LEGEND, "color": UNCLAIMED_COLOR}
        entries.append(_with_pattern(entry, UNCLAIMED_PATTERN))
    return entries
