"""The print map's geometry pipeline: the countries cut at the projection's own antimeridian,
densified, projected, generalized together to the printed scale (shared borders stay shared)
and clipped to the map frame, so nothing outside the frame is written; they leave it as page
rings in integer tenths of a point (:mod:`tilepress.printing.paths`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.geometry.parallel import PARALLEL_MIN, helper_thread, on_each
from tilepress.geometry.projection import Extent, PrintProjection, transformer, wrap_and_clip
from tilepress.geometry.rings import Rings, rings_of
from tilepress.geometry.shared import thin_shared
from tilepress.printing.frame import EDGE_INSET_DEGREES, Box, FloatArray, ProjectedFrame, lonlat_box
from tilepress.printing.paths import page_rings
from tilepress.sources.repair import polygonal

SIMPLIFY_MM = 0.05  # generalization tolerance on paper
DENSIFY_DEGREES = 0.5  # longest edge before projecting, so parallels curve


# ---------------------------------------------------------------------------------------------
# A second thread for the work that releases the GIL (PROJ, GEOS, zlib)


def _project_in_place(xy: tuple[FloatArray, FloatArray], crs: str) -> None:
    """Project x and y in place, with this thread's transformer."""
    transformer("EPSG:4326", crs).transform(*xy, errcheck=False, inplace=True)


def project(lon: FloatArray, lat: FloatArray, crs: str) -> tuple[FloatArray, FloatArray]:
    """Longitudes and latitudes (new arrays) projected to ``crs``; a large array in two
    halves, one in the helper thread (every point on its own: the same numbers)."""
    x = np.array(lon, dtype=np.float64)  # contiguous copies, projected in place
    y = np.array(lat, dtype=np.float64)
    if len(x) < PARALLEL_MIN:
        _project_in_place((x, y), crs)
        return x, y
    half = len(x) // 2
    on_each([(x[:half], y[:half]), (x[half:], y[half:])], _project_in_place, crs)
    return x, y


def polygonal_or_empty(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    """:func:`tilepress.sources.repair.polygonal`, with empty results as empty MultiPolygons."""
    result = polygonal(geometries)
    result[shapely.is_empty(result)] = shapely.MultiPolygon()
    return result


@dataclass
class MapGeometry:
    """The countries of one map, ready to draw."""

    page: NDArray[np.object_]  # countries in page points, clipped to the frame
    rings: Rings  # the same in integer tenths of a point, ready to write
    dropped_vertices: int
    specks: int  # polygons smaller than the output resolution (0.1 pt), left out
    tolerance_m: float


def clip_outside(geometries: NDArray[np.object_], box: Box) -> NDArray[np.object_]:
    """clip_by_rect, skipping geometries already inside the box."""
    bounds = shapely.bounds(geometries)
    with np.errstate(invalid="ignore"):
        inside = (
            (bounds[:, 0] >= box[0])
            & (bounds[:, 1] >= box[1])
            & (bounds[:, 2] <= box[2])
            & (bounds[:, 3] <= box[3])
        )
    result = geometries.copy()
    crossing = ~inside & ~shapely.is_empty(geometries)
    result[crossing] = shapely.clip_by_rect(geometries[crossing], *box)
    return polygonal_or_empty(result)


def map_geometry(
    geometries: NDArray[np.object_], proj: PrintProjection, frame: ProjectedFrame
) -> MapGeometry:
    """Clip, wrap, densify, project, generalize and clip the countries to the frame."""
    # The helper thread's own transformer (one serves one thread), made while rings are read.
    helper_thread().submit(transformer, "EPSG:4326", proj.crs)
    if proj.is_world:  # all longitudes, but only the extent's latitudes (the globe outline)
        box: Extent | None = (
            proj.lon_0 - 180.0,
            proj.extent[1],
            proj.lon_0 + 180.0,
            proj.extent[3],
        )
    else:
        box = lonlat_box(frame.projected, proj)
    wrapped = polygonal_or_empty(wrap_and_clip(geometries, proj.lon_0, box))
    rings = rings_of(wrapped).densified(DENSIFY_DEGREES)
    lon = np.clip(
        rings.xy[:, 0],
        proj.lon_0 - 180.0 + EDGE_INSET_DEGREES,
        proj.lon_0 + 180.0 - EDGE_INSET_DEGREES,
    )  # see tilepress.printing.frame._inside_window
    x, y = project(lon, rings.xy[:, 1], proj.crs)
    rings.xy = np.column_stack([x, y])
    finite = np.isfinite(x)
    finite &= np.isfinite(y)
    dropped = len(finite) - int(np.count_nonzero(finite))
    if dropped:
        rings = rings.keep_vertices(finite)
        x, y = rings.xy[:, 0], rings.xy[:, 1]
    tolerance = SIMPLIFY_MM / 25.4 * 72.0 / frame.scale
    fx0, fy0, fx1, fy1 = frame.projected
    margin = 0.02 * max(fx1 - fx0, fy1 - fy0)
    near_box = (fx0 - margin, fy0 - margin, fx1 + margin, fy1 + margin)
    if len(x) and not (
        x.min() >= near_box[0]
        and y.min() >= near_box[1]
        and x.max() <= near_box[2]
        and y.max() <= near_box[3]
    ):
        rings = rings_of(clip_outside(rings.to_geometries(), near_box))
    thinned = thin_shared(rings, area=tolerance**2, rounds=12)
    clipped = clip_outside(polygonal_or_empty(thinned.to_geometries()), frame.projected)
    oriented = shapely.orient_polygons(clipped, exterior_cw=False)
    on_page: NDArray[np.object_] = shapely.transform(oriented, frame.transform)
    rings_on_page = page_rings(on_page, frame.page)
    specks = int(shapely.get_num_geometries(on_page).sum()) - len(rings_on_page.polygon_geometry)
    return MapGeometry(on_page, rings_on_page, dropped, specks, tolerance)
