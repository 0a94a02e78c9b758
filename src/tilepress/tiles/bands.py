"""Planning a local build's jobs: how much work a zoom is (by its vertices and tiles), which
zooms are split into bands of tile rows, and where the bands end so each holds an equal
share of the work."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np
import shapely

from tilepress.geometry.rings import Rings
from tilepress.tiles.grid import EXTENT, WORLD, ZoomLevel, to_grid
from tilepress.tiles.shards import Shard


def row_bands(level: ZoomLevel, count: int) -> list[Shard]:
    """A zoom in ``count`` bands of tile rows (fewer if it has fewer rows) with about equal
    shares of its vertices, the measure of the work of cutting and encoding them: on a world
    map three quarters of the vertices lie in the northern half of the rows."""
    zoom = level.zoom
    rows = 1 << zoom
    count = min(count, rows)
    if count <= 1:
        return [Shard(range(zoom, zoom + 1))]
    y = shapely.get_coordinates(level.countries)[:, 1]
    row_of_vertex = np.clip((y // EXTENT).astype(np.int64), 0, rows - 1)
    cumulative = np.cumsum(np.bincount(row_of_vertex, minlength=rows) + 1)  # work above a row end
    targets = cumulative[-1] * np.arange(1, count) / count
    # Each band ends at the row end whose work above it comes closest to its share.
    after = np.clip(np.searchsorted(cumulative, targets), 1, rows - 1)
    closer = np.abs(cumulative[after - 1] - targets) <= np.abs(cumulative[after] - targets)
    ends = np.unique(np.where(closer, after, after + 1).clip(1, rows - 1))
    edges = [0, *ends.tolist(), rows]
    return [
        Shard(range(zoom, zoom + 1), row_range=range(start, stop))
        for start, stop in itertools.pairwise(edges)
    ]


def local_shards(levels: Mapping[int, ZoomLevel], zooms: list[int], workers: int) -> list[Shard]:
    """Shards of an unsharded build: one per zoom, zooms from 5 on cut into bands for the
    workers, deepest (slowest) first."""
    shards: list[Shard] = []
    for zoom in sorted(zooms, reverse=True):
        shards += row_bands(levels[zoom], 2 * workers if workers > 1 and zoom >= 5 else 1)
    return shards


# What the work of a zoom's job (snap, cut, encode, write) grows with, in CPU seconds on the
# reference map: each vertex of its thinned rings and each tile; and how the vertices shrink
# from one zoom to the next shallower one (Natural Earth 10m: 0.7-0.8). Only used to decide
# which zooms are split into bands.
VERTEX_WORK, TILE_WORK, VERTEX_SHRINK = 1.6e-6, 60e-6, 0.8


def estimated_work(rings: Rings, zoom: int, land_area: float) -> tuple[float, float]:
    """CPU seconds of a zoom's job by its vertices, and by its tiles: those inside the land
    (``land_area`` over a tile's, in square metres) and those on its outlines (those that
    every 8th vertex falls in, quick to count)."""
    count = 1 << zoom
    sample = np.clip(to_grid(rings.xy[::8], zoom) // EXTENT, 0, count - 1).astype(np.int64)
    outline = len(np.unique(sample[:, 1] * count + sample[:, 0]))
    inside = land_area / (WORLD / count) ** 2
    return VERTEX_WORK * len(rings.xy), TILE_WORK * (outline + inside)


def build_work(by_vertices: float, by_tiles: float, zooms_above: int) -> float:
    """A build's estimated work from its deepest zoom's (:func:`estimated_work`): each of the
    ``zooms_above`` shallower zooms has ``VERTEX_SHRINK`` of the vertices and a quarter of the
    tiles of the one below it."""
    return sum(
        (by_vertices * VERTEX_SHRINK**k + by_tiles / 4.0**k for k in range(zooms_above + 1)), 0.0
    )


def band_count(work: float, total: float, workers: int) -> int:
    """Bands for a zoom of ``work`` in a build of ``total``: one, unless its work exceeds a
    worker's share (then as many as it holds shares)."""
    return max(1, math.ceil(work / total * workers - 1e-9))
