"""A map's tiles, assembled: for a band of one zoom's tile rows, the source's shared tile
geometry with the map's tags, and its overlays, labels and markers, encoded as MVT and
compressed, with what they count."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import shapely

from tilepress.tiles.content import LabelPoints, MapContent
from tilepress.tiles.geometry_tiles import GeometryTile, SourceContent
from tilepress.tiles.grid import EXTENT, ZoomLevel, to_grid
from tilepress.tiles.mvt import (
    Feature,
    compress,
    encode_tile,
    encode_tiles,
    layer_chunk,
    layer_from_bodies,
)
from tilepress.tiles.pyramid import dropped_rows
from tilepress.tiles.report import ZoomStats
from tilepress.tiles.schema import (
    COUNTRIES_LAYER,
    LABELS_LAYER,
    MARKERS_LAYER,
    OVERLAYS_LAYER,
)

BUDGET_BYTES = 500 * 1024  # largest compressed tile, as tippecanoe and GDAL cap it


def labels_by_tile(
    labels: LabelPoints, zoom: int, tile_rows: range
) -> dict[tuple[int, int], list[tuple[int, float, float]]]:
    """Label rows shown at a zoom, by tile: (row, x, y in tile coordinates)."""
    shown = np.flatnonzero(np.floor(labels.min_zoom) <= zoom)
    grid = np.floor(to_grid(labels.xy[shown], zoom))
    tile = np.floor(grid / EXTENT).astype(np.int64)
    local = grid - tile * EXTENT
    by_tile: dict[tuple[int, int], list[tuple[int, float, float]]] = {}
    for row, (x, y), (u, v) in zip(shown.tolist(), tile.tolist(), local.tolist(), strict=True):
        if y in tile_rows:
            by_tile.setdefault((x, y), []).append((row, u, v))
    return by_tile


EncodedTile = tuple[int, int, bytes]  # x, y, gzip-compressed tile


def assemble_rows(
    content: MapContent,
    zoom: int,
    tile_rows: range,
    geometry: Mapping[tuple[int, int], GeometryTile],
    stats: ZoomStats,
) -> Iterator[EncodedTile]:
    """A map's tiles of some rows of one zoom, from the source's shared ``geometry`` of those
    rows (:mod:`tilepress.tiles.geometry_tiles`) with the map's ``content``: its properties
    as the country features' tags, and its own overlays, labels and markers. Yielded row by
    row; counts go into ``stats``. A tile is written where it holds a country, a border, an
    overlay or a marker (labels lie on land: they make none)."""
    properties, labels = content.properties, content.labels
    traced = [{**values, "trace": True} for values in properties]
    labels_here = labels_by_tile(labels, zoom, tile_rows)
    overlays_here = content.overlays.by_tile(zoom, tile_rows)
    markers_here = content.markers.by_tile(zoom, tile_rows)
    keys = sorted({*geometry, *overlays_here, *markers_here}, key=lambda key: key[::-1])
    own_layers: list[dict[str, Sequence[Feature]]] = []
    for key in keys:
        points: list[Feature] = [
            (shapely.Point(u, v), labels.properties[row]) for row, u, v in labels_here.get(key, [])
        ]
        markers: list[Feature] = [
            (shapely.Point(u, v), content.markers.properties[index])
            for index, u, v in markers_here.get(key, [])
        ]
        own_layers.append(
            {
                OVERLAYS_LAYER: overlays_here.get(key, []),
                LABELS_LAYER: points,
                MARKERS_LAYER: markers,
            }
        )
    for (x, y), layers, own in zip(keys, own_layers, encode_tiles(own_layers), strict=True):
        shared = geometry.get((x, y))
        countries = b""
        given = 0
        if shared is not None:
            tags = [
                traced[row] if trace else properties[row]
                for row, trace in zip(shared.rows.tolist(), shared.traces.tolist(), strict=True)
            ]
            countries = layer_chunk(
                layer_from_bodies(COUNTRIES_LAYER, tags, shared.country_bodies())
            )
            countries += shared.borders
            given = shared.countries_given + shared.borders_given
        data = compress(countries + own)
        if len(data) > BUDGET_BYTES:  # never seen with Natural Earth; keep the map usable
            layers[LABELS_LAYER] = []
            data = compress(countries + encode_tile(layers))
            stats.over_budget.append(f"{zoom}/{x}/{y}")
        stats.tiles += 1
        stats.features += given + sum(len(features) for features in layers.values())
        stats.bytes += len(data)
        stats.largest_tile = max(stats.largest_tile, len(data))
        yield x, y, data


def dropped_names(source: SourceContent, level: ZoomLevel) -> list[str]:
    """The countries too small to show anywhere in a zoom (see :func:`dropped_rows`)."""
    return [source.names[row] for row in dropped_rows(level, source.trace_from)]
