"""The graticule: parallels and meridians at a step fitted to the extent, projected and clipped
to the frame (and the globe), drawn thin in a shade of the ocean colour."""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.geometry.projection import PrintProjection, transformer
from tilepress.printing.frame import EDGE_INSET_DEGREES, FloatArray, ProjectedFrame, lonlat_box

GRATICULE_STEPS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0)
GRATICULE_WIDTH = 0.25


def graticule_step(proj: PrintProjection, step: float | None) -> float:
    """The configured step, or one giving about six lines across the extent."""
    if step:
        return step
    if proj.is_world:
        return 30.0
    west, south, east, north = proj.extent
    span = max((east - west) % 360.0 or 360.0, north - south)
    fitting = [s for s in GRATICULE_STEPS if span / s <= 8]
    return fitting[0] if fitting else GRATICULE_STEPS[-1]


def graticule_lines(
    proj: PrintProjection, frame: ProjectedFrame, step: float, globe: shapely.Geometry | None
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Parallels and meridians every ``step`` degrees, densified, projected and clipped to
    the frame (and the globe outline on a world map), as page tenths with move flags."""
    lon_low, lon_high = proj.lon_0 - 180.0, proj.lon_0 + 180.0
    box = None if proj.is_world else lonlat_box(frame.projected, proj)
    west, south, east, north = box if box is not None else (lon_low, -90.0, lon_high, 90.0)
    if proj.is_world:
        south, north = max(south, proj.extent[1]), min(north, proj.extent[3])
    west, east = max(west, lon_low), min(east, lon_high)
    lons = np.arange(math.ceil(west / step) * step, east + 1e-9, step)
    lons = lons[(lons > lon_low + 1e-9) & (lons < lon_high - 1e-9)]  # the edges are the outline
    lats = np.arange(math.ceil(south / step) * step, north + 1e-9, step)
    lats = lats[np.abs(lats) < 90.0 - 1e-9]
    samples = np.linspace(0.0, 1.0, 181)
    lat_top = min(north, 89.999)
    lat_bottom = max(south, -89.999)
    meridian_lat = lat_bottom + samples * (lat_top - lat_bottom)
    parallel_lon = (west + EDGE_INSET_DEGREES) + samples * (east - west - 2 * EDGE_INSET_DEGREES)
    coords = [np.column_stack([np.full_like(samples, lon), meridian_lat]) for lon in lons] + [
        np.column_stack([parallel_lon, np.full_like(samples, lat)]) for lat in lats
    ]
    if not coords:
        return np.empty((0, 2)), np.zeros(0, dtype=bool)
    xy = np.vstack(coords)
    x, y = transformer("EPSG:4326", proj.crs).transform(xy[:, 0], xy[:, 1], errcheck=False)
    projected = np.column_stack([x, y])
    line_index = np.repeat(np.arange(len(coords)), len(samples))
    finite = np.isfinite(projected).all(axis=1)
    enough = np.bincount(line_index[finite], minlength=len(coords)) >= 2
    keep = finite & enough[line_index]
    if not keep.any():
        return np.empty((0, 2)), np.zeros(0, dtype=bool)
    _lines, dense_index = np.unique(line_index[keep], return_inverse=True)
    lines = shapely.linestrings(projected[keep], indices=dense_index)
    on_page = shapely.transform(lines, frame.transform)
    clipped = shapely.clip_by_rect(on_page, *frame.page)
    if globe is not None:
        clipped = shapely.intersection(clipped, globe)
    parts = shapely.get_parts(clipped)
    parts = parts[shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING]
    parts = parts[~shapely.is_empty(parts)]
    if len(parts) == 0:
        return np.empty((0, 2)), np.zeros(0, dtype=bool)
    page_xy, index = shapely.get_coordinates(parts, return_index=True)
    tenths = np.rint(page_xy * 10.0)
    tenths[:, 0] = np.clip(
        tenths[:, 0], math.ceil(frame.page[0] * 10), math.floor(frame.page[2] * 10)
    )
    tenths[:, 1] = np.clip(
        tenths[:, 1], math.ceil(frame.page[1] * 10), math.floor(frame.page[3] * 10)
    )
    moves = np.r_[True, index[1:] != index[:-1]]
    # Parallels are straight in many projections: keep only the vertices where a line bends.
    middle = ~moves[1:-1] & ~moves[2:]  # neither a line's first nor its last vertex
    before, here, after = tenths[:-2], tenths[1:-1], tenths[2:]
    to_before, to_after = before - here, after - here
    straight = (
        middle
        & (to_before[:, 0] * to_after[:, 1] == to_before[:, 1] * to_after[:, 0])
        & ((to_before * to_after).sum(axis=1) < 0)
    )
    keep = np.r_[True, ~straight, True] if len(tenths) > 2 else np.ones(len(tenths), dtype=bool)
    return tenths[keep], moves[keep]


def graticule_color(ocean: str) -> str:
    """A line colour a little darker than the ocean."""
    r, g, b = (int(ocean[i : i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(round(v * 0.86) for v in (r, g, b)))
