"""The ``markers`` layer: a map's markers as points in Web Mercator with their properties,
and at each zoom the tile that holds each of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tilepress.config.model import MapSpec
from tilepress.geometry.projection import WEB_MERCATOR_MAX_LAT, transformer
from tilepress.tiles.grid import EXTENT, FloatArray, to_grid

MarkerProperties = dict[str, str | float | int]


@dataclass(frozen=True)
class MarkerPoints:
    """A map's markers: where each is (Web Mercator metres, latitudes clamped to the tiles'
    world) and its properties."""

    xy: FloatArray  # (n, 2)
    properties: list[MarkerProperties]

    @classmethod
    def of(cls, spec: MapSpec) -> MarkerPoints:
        """The markers of a map, in configuration order."""
        lon = np.array([marker.lon for marker in spec.markers], dtype=np.float64)
        lat = np.array([marker.lat for marker in spec.markers], dtype=np.float64)
        lat = np.clip(lat, -WEB_MERCATOR_MAX_LAT, WEB_MERCATOR_MAX_LAT)
        x, y = transformer("EPSG:4326", "EPSG:3857").transform(lon, lat)
        properties: list[MarkerProperties] = []
        for index, marker in enumerate(spec.markers):
            values: MarkerProperties = {
                "label": marker.label,
                "symbol": marker.symbol,
                "color": marker.color,
                "size": float(marker.size),
                "anchor": marker.anchor,
            }
            if marker.note is not None:
                values["note"] = marker.note
            values["index"] = index
            properties.append(values)
        return cls(np.column_stack([x, y]).reshape(-1, 2), properties)

    def by_tile(
        self, zoom: int, tile_rows: range
    ) -> dict[tuple[int, int], list[tuple[int, int, int]]]:
        """The markers in the tiles of ``tile_rows`` of a zoom, by tile: (marker, x and y in
        tile units, rounded). A marker lies in one tile, as a label does (MapLibre draws a
        symbol past its tile's edge); on the world's east or south edge, in the last one."""
        if len(self.xy) == 0:
            return {}
        grid = to_grid(self.xy, zoom)
        tile = np.clip(np.floor(grid / EXTENT), 0, (1 << zoom) - 1).astype(np.int64)
        local = np.rint(grid - tile * EXTENT).astype(np.int64)
        by_tile: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
        for index, ((x, y), (u, v)) in enumerate(zip(tile.tolist(), local.tolist(), strict=True)):
            if y in tile_rows:
                by_tile.setdefault((x, y), []).append((index, u, v))
        return by_tile
