"""The work done per tile: a band of one zoom's tile rows cut from its level, each tile's
countries, borders and labels encoded as MVT and compressed, with what they count."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import shapely

from tilepress.tiles.content import LabelPoints, MapContent
from tilepress.tiles.cut import iter_tiles
from tilepress.tiles.grid import EXTENT, ZoomLevel, to_grid
from tilepress.tiles.mvt import Feature, compress, encode_tile, encode_tiles
from tilepress.tiles.pyramid import dropped_rows
from tilepress.tiles.report import ZoomStats
from tilepress.tiles.schema import BOUNDARIES_LAYER, COUNTRIES_LAYER, LABELS_LAYER

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
    yielding them row by row; counts go into ``stats``."""
    zoom = level.zoom
    properties, codes, labels = content.properties, content.codes, content.labels
    labels_here = labels_by_tile(labels, zoom, tile_rows)
    border_properties = {
        (a, b): {
            "kind": "land",
            "adm0_a3_a": min(codes[a], codes[b]),
            "adm0_a3_b": max(codes[a], codes[b]),
        }
        for a, b in level.border_rows.tolist()
    }
    tiles = list(iter_tiles(level, tile_rows, content.trace_from))
    all_layers: list[dict[str, list[Feature]]] = []
    for tile in tiles:
        countries = [
            (geometry, {**properties[row], "trace": True} if trace else properties[row])
            for row, geometry, trace in zip(
                tile.rows.tolist(), tile.geometries, tile.traces.tolist(), strict=True
            )
        ]
        borders = [
            (lines, border_properties[(a, b)])
            for (a, b), lines in zip(tile.border_rows.tolist(), tile.borders, strict=True)
        ]
        points = [
            (shapely.Point(u, v), labels.properties[row])
            for row, u, v in labels_here.get((tile.x, tile.y), [])
        ]
        all_layers.append(
            {
                COUNTRIES_LAYER: countries,
                BOUNDARIES_LAYER: borders,  # type: ignore[dict-item]
                LABELS_LAYER: points,  # type: ignore[dict-item]
            }
        )
    if tiles:  # counted for the whole batch: one call instead of one per tile
        fills = np.concatenate([tile.geometries for tile in tiles])
        stats.vertices += int(shapely.get_num_coordinates(fills).sum())
        stats.traces += int(np.count_nonzero(np.concatenate([tile.traces for tile in tiles])))
    for tile, layers, raw in zip(tiles, all_layers, encode_tiles(all_layers), strict=True):
        data = compress(raw)
        if len(data) > BUDGET_BYTES:  # never seen with Natural Earth; keep the map usable
            layers[LABELS_LAYER] = []
            data = compress(encode_tile(layers))
            stats.over_budget.append(f"{zoom}/{tile.x}/{tile.y}")
        stats.tiles += 1
        stats.features += sum(len(features) for features in layers.values())
        stats.bytes += len(data)
        stats.largest_tile = max(stats.largest_tile, len(data))
        yield tile.x, tile.y, data


def dropped_names(content: MapContent, level: ZoomLevel) -> list[str]:
    """The countries too small to show anywhere in a zoom (see :func:`dropped_rows`)."""
    return [content.names[row] for row in dropped_rows(level, content.trace_from)]
