"""The work done per tile: a band of one zoom's tile rows cut from its level, each tile's
countries, borders, overlays, labels and markers encoded as MVT and compressed, with what
they count."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import shapely

from tilepress.tiles.content import CountryProperties, LabelPoints, MapContent
from tilepress.tiles.cut import TileGeometry, iter_tiles
from tilepress.tiles.grid import EXTENT, ZoomLevel, to_grid
from tilepress.tiles.mvt import Feature, compress, encode_tile, encode_tiles
from tilepress.tiles.pyramid import dropped_rows
from tilepress.tiles.report import ZoomStats
from tilepress.tiles.schema import (
    BOUNDARIES_LAYER,
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


def encode_rows(
    content: MapContent, level: ZoomLevel, tile_rows: range, stats: ZoomStats
) -> Iterator[EncodedTile]:
    """Encode the tiles of some rows of one zoom (in one batch) with the map's ``content``,
    yielding them row by row; counts go into ``stats``. A tile is written where it holds a
    country, a border, an overlay or a marker (labels lie on land: they make none)."""
    zoom = level.zoom
    properties, codes, labels = content.properties, content.codes, content.labels
    labels_here = labels_by_tile(labels, zoom, tile_rows)
    overlays_here = content.overlays.by_tile(zoom, tile_rows)
    markers_here = content.markers.by_tile(zoom, tile_rows)
    border_properties = {
        (a, b): {
            "kind": "land",
            "adm0_a3_a": min(codes[a], codes[b]),
            "adm0_a3_b": max(codes[a], codes[b]),
        }
        for a, b in level.border_rows.tolist()
    }
    country_tiles = {(t.x, t.y): t for t in iter_tiles(level, tile_rows, content.trace_from)}
    keys = sorted({*country_tiles, *overlays_here, *markers_here}, key=lambda key: key[::-1])
    tiles = [country_tiles.get(key) for key in keys]
    all_layers: list[dict[str, Sequence[Feature]]] = []
    for key, tile in zip(keys, tiles, strict=True):
        countries, borders = _countries_and_borders(tile, properties, border_properties)
        points: list[Feature] = [
            (shapely.Point(u, v), labels.properties[row]) for row, u, v in labels_here.get(key, [])
        ]
        markers: list[Feature] = [
            (shapely.Point(u, v), content.markers.properties[index])
            for index, u, v in markers_here.get(key, [])
        ]
        all_layers.append(
            {
                COUNTRIES_LAYER: countries,
                BOUNDARIES_LAYER: borders,
                OVERLAYS_LAYER: overlays_here.get(key, []),
                LABELS_LAYER: points,
                MARKERS_LAYER: markers,
            }
        )
    filled = [tile for tile in tiles if tile is not None]
    if filled:  # counted for the whole batch: one call instead of one per tile
        fills = np.concatenate([tile.geometries for tile in filled])
        stats.vertices += int(shapely.get_num_coordinates(fills).sum())
        stats.traces += int(np.count_nonzero(np.concatenate([tile.traces for tile in filled])))
    for (x, y), layers, raw in zip(keys, all_layers, encode_tiles(all_layers), strict=True):
        data = compress(raw)
        if len(data) > BUDGET_BYTES:  # never seen with Natural Earth; keep the map usable
            layers[LABELS_LAYER] = []
            data = compress(encode_tile(layers))
            stats.over_budget.append(f"{zoom}/{x}/{y}")
        stats.tiles += 1
        stats.features += sum(len(features) for features in layers.values())
        stats.bytes += len(data)
        stats.largest_tile = max(stats.largest_tile, len(data))
        yield x, y, data


def _countries_and_borders(
    tile: TileGeometry | None,
    properties: list[CountryProperties],
    border_properties: dict[tuple[int, int], dict[str, str]],
) -> tuple[list[Feature], list[Feature]]:
    """A tile's ``countries`` and ``boundaries`` features (none for a tile of sea)."""
    if tile is None:
        return [], []
    countries: list[Feature] = [
        (geometry, {**properties[row], "trace": True} if trace else properties[row])
        for row, geometry, trace in zip(
            tile.rows.tolist(), tile.geometries, tile.traces.tolist(), strict=True
        )
    ]
    borders: list[Feature] = [
        (lines, border_properties[(a, b)])
        for (a, b), lines in zip(tile.border_rows.tolist(), tile.borders, strict=True)
    ]
    return countries, borders


def dropped_names(content: MapContent, level: ZoomLevel) -> list[str]:
    """The countries too small to show anywhere in a zoom (see :func:`dropped_rows`)."""
    return [content.names[row] for row in dropped_rows(level, content.trace_from)]
