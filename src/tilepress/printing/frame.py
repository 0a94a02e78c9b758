"""The map frame: the projected extent grown to the shape of the map's area on the page, the
affine map from projected metres to page points, and the lon/lat box a frame covers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.errors import ProjectionError
from tilepress.geometry.projection import (
    Extent,
    PrintProjection,
    extent_outline,
    project_outline,
    transformer,
)

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pt (or projected metres)
FloatArray = NDArray[np.float64]

EDGE_INSET_DEGREES = 1e-7  # keeps points on lon_0 +/- 180 on their side of the map
WORLD_PADDING = 0.025  # white paper around the globe, as a fraction of its size
MAX_FRAME_GROWTH = 1.3  # a world frame may be this much wider than the globe ...
MAX_FRAME_TALLER = 1.12  # ... or this much taller (a portrait page keeps the rest for text)


@dataclass(frozen=True)
class ProjectedFrame:
    """The affine map from projected metres to page points."""

    projected: Box
    page: Box

    @property
    def scale(self) -> float:
        """Page points per projected metre."""
        return (self.page[2] - self.page[0]) / (self.projected[2] - self.projected[0])

    def to_page(self, x: float, y: float) -> tuple[float, float]:
        """One projected point on the page."""
        return (
            self.page[0] + (x - self.projected[0]) * self.scale,
            self.page[1] + (y - self.projected[1]) * self.scale,
        )

    def transform(self, xy: FloatArray) -> FloatArray:
        """Projected coordinates (n, 2) to page points."""
        origin = np.array(self.projected[:2])
        result: FloatArray = (xy - origin) * self.scale + np.array(self.page[:2])
        return result


def compute_frame(proj: PrintProjection, area: Box) -> tuple[ProjectedFrame, shapely.Polygon]:
    """The projected extent's box grown to the map area's shape, and the projected outline."""
    outline = project_outline(
        _inside_window(extent_outline(proj.extent, proj.lon_0), proj), proj.crs
    )
    x0, y0, x1, y1 = outline.bounds
    if not (x1 > x0 and y1 > y0) or max((x1 - x0) / (y1 - y0), (y1 - y0) / (x1 - x0)) > 12:
        raise ProjectionError(
            f"the extent {_extent_text(proj.extent)} projects with {proj.crs!r} to a "
            "degenerate outline (it folds over itself, collapses to a line or runs off "
            "towards infinity, as Mercator does at the poles)",
            hint="choose a projection suited to the extent (`auto`), or a smaller extent",
        )
    if proj.is_world:
        pad = WORLD_PADDING * max(x1 - x0, y1 - y0)
        x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    area_w, area_h = area[2] - area[0], area[3] - area[1]
    ratio = (x1 - x0) / (y1 - y0)
    # A regional map just shows more of its surroundings; a world map would float in white
    # paper, so there the frame hugs the globe (the page keeps the rest blank).
    if proj.is_world and ratio > area_w / area_h * MAX_FRAME_TALLER:
        area = (area[0], area[3] - area_w * MAX_FRAME_TALLER / ratio, area[2], area[3])
    elif proj.is_world and ratio < area_w / area_h / MAX_FRAME_GROWTH:
        narrower = area_h * ratio * MAX_FRAME_GROWTH
        left = area[0] + (area_w - narrower) / 2  # centred on the page
        area = (left, area[1], left + narrower, area[3])
    area_ratio = (area[2] - area[0]) / (area[3] - area[1])
    if (x1 - x0) / (y1 - y0) > area_ratio:
        grow = ((x1 - x0) / area_ratio - (y1 - y0)) / 2
        y0, y1 = y0 - grow, y1 + grow
    else:
        grow = ((y1 - y0) * area_ratio - (x1 - x0)) / 2
        x0, x1 = x0 - grow, x1 + grow
    return ProjectedFrame((x0, y0, x1, y1), area), outline


def _extent_text(extent: Extent) -> str:
    return "[" + ", ".join(f"{v:g}" for v in extent) + "]"


def _inside_window(outline: shapely.Polygon, proj: PrintProjection) -> shapely.Polygon:
    """Move longitudes on the window's edges (lon_0 +/- 180) a hair inwards.

    PROJ may wrap a point exactly on the edge to the other side of the map, which makes a
    world outline centred off Greenwich collapse and draws streaks across the map.
    """
    low, high = proj.lon_0 - 180.0 + EDGE_INSET_DEGREES, proj.lon_0 + 180.0 - EDGE_INSET_DEGREES

    def inset(xy: FloatArray) -> FloatArray:
        return np.column_stack([np.clip(xy[:, 0], low, high), xy[:, 1]])

    result: shapely.Polygon = shapely.transform(outline, inset)
    return result


def lonlat_box(frame: Box, proj: PrintProjection) -> Extent | None:
    """Lon/lat box (window longitudes) covering the frame with a margin; None for everything."""
    x0, y0, x1, y1 = frame
    steps = np.linspace(0.0, 1.0, 65)
    xs = np.concatenate(
        [x0 + steps * (x1 - x0), np.full(65, x1), x1 - steps * (x1 - x0), np.full(65, x0)]
    )
    ys = np.concatenate(
        [np.full(65, y0), y0 + steps * (y1 - y0), np.full(65, y1), y1 - steps * (y1 - y0)]
    )
    lon, lat = transformer(proj.crs, "EPSG:4326").transform(xs, ys, errcheck=False)
    lon, lat = np.asarray(lon), np.asarray(lat)
    finite = np.isfinite(lon) & np.isfinite(lat)
    if finite.sum() < len(lon) * 0.9:
        return None
    lon = proj.lon_0 + (lon[finite] - proj.lon_0 + 180.0) % 360.0 - 180.0
    lat = lat[finite]
    west, east, south, north = lon.min(), lon.max(), lat.min(), lat.max()
    pad_x, pad_y = 3.0 + 0.15 * (east - west), 3.0 + 0.15 * (north - south)
    box = (west - pad_x, max(-90.0, south - pad_y), east + pad_x, min(90.0, north + pad_y))
    for pole in (90.0, -90.0):
        px, py = transformer("EPSG:4326", proj.crs).transform(proj.lon_0, pole)
        if np.isfinite(px) and x0 <= px <= x1 and y0 <= py <= y1:
            box = (proj.lon_0 - 180.0, min(box[1], pole), proj.lon_0 + 180.0, max(box[3], pole))
    if box[2] - box[0] >= 300.0:
        box = (proj.lon_0 - 180.0, box[1], proj.lon_0 + 180.0, box[3])
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
