"""The tile grid: Web Mercator metres to tile units (1/4096 of a tile, from the world's
north-west corner, y down) and :class:`ZoomLevel`, one zoom's countries and borders on it.

Each zoom level is worked out once for the whole world on that zoom's grid, so neighbours
round to the same points before any tile is cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tilepress.geometry.projection import WEB_MERCATOR_HALF_WORLD

EXTENT = 4096
BUFFER = 64  # even (see _cut_pad)
WORLD = 2.0 * WEB_MERCATOR_HALF_WORLD

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Geometries = NDArray[np.object_]


def tile_unit(zoom: int) -> float:
    """Size of one tile coordinate unit (1/4096 of a tile) in Web Mercator metres."""
    return WORLD / (EXTENT * (1 << zoom))


def to_grid(xy: FloatArray, zoom: int) -> FloatArray:
    """Web Mercator metres to the zoom's grid: tile units from the world's north-west corner."""
    unit = tile_unit(zoom)
    grid = np.empty_like(xy)
    grid[:, 0] = (xy[:, 0] + WEB_MERCATOR_HALF_WORLD) / unit
    grid[:, 1] = (WEB_MERCATOR_HALF_WORLD - xy[:, 1]) / unit
    return grid


@dataclass
class ZoomLevel:
    """One zoom's countries and land borders on the zoom's grid (see the module docstring)."""

    zoom: int
    countries: Geometries  # one valid (Multi)Polygon per source row, possibly empty
    borders: Geometries  # land borders, one (Multi)LineString per pair of neighbours
    border_rows: IntArray  # (n, 2): the two rows of each border, lower first
    collapsed_xy: FloatArray  # (m, 2): where a piece of a country vanished on the grid
    collapsed_rows: IntArray  # (m,): whose piece it was
