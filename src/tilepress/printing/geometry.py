"""The print map's geometry: frame, projection pipeline, shared borders and path text.

Countries are cut at the projection's own antimeridian, densified, projected, generalized
together to the printed scale (shared borders stay shared) and clipped to the map frame, so
nothing outside the frame is written. Coordinates leave this module as integer tenths of a
point, formatted with numpy into PDF path operators or SVG path data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.errors import PrintError, ProjectionError
from tilepress.geometry.parallel import PARALLEL_MIN, helper_thread, on_each
from tilepress.geometry.projection import (
    Extent,
    PrintProjection,
    extent_outline,
    project_outline,
    transformer,
    wrap_and_clip,
)
from tilepress.geometry.rings import Rings, around_ring, rings_of
from tilepress.geometry.shared import first_shared_edges, junctions, thin_shared
from tilepress.sources.repair import polygonal

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pt (or projected metres)
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

SIMPLIFY_MM = 0.05  # generalization tolerance on paper
DENSIFY_DEGREES = 0.5  # longest edge before projecting, so parallels curve
EDGE_INSET_DEGREES = 1e-7  # keeps points on lon_0 +/- 180 on their side of the map
WORLD_PADDING = 0.025  # white paper around the globe, as a fraction of its size
MAX_FRAME_GROWTH = 1.3  # a world frame may be this much wider than the globe ...
MAX_FRAME_TALLER = 1.12  # ... or this much taller (a portrait page keeps the rest for text)
GRATICULE_STEPS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0)


# ---------------------------------------------------------------------------------------------
# Frame


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


def _lonlat_box(frame: Box, proj: PrintProjection) -> Extent | None:
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


# ---------------------------------------------------------------------------------------------
# Rings: polygons as flat numpy arrays


def polygonal_or_empty(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    """:func:`tilepress.sources.repair.polygonal`, with empty results as empty MultiPolygons."""
    result = polygonal(geometries)
    result[shapely.is_empty(result)] = shapely.MultiPolygon()
    return result


# ---------------------------------------------------------------------------------------------
# The map geometry pipeline


@dataclass
class MapGeometry:
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
        box = _lonlat_box(frame.projected, proj)
    wrapped = polygonal_or_empty(wrap_and_clip(geometries, proj.lon_0, box))
    rings = rings_of(wrapped).densified(DENSIFY_DEGREES)
    lon = np.clip(
        rings.xy[:, 0],
        proj.lon_0 - 180.0 + EDGE_INSET_DEGREES,
        proj.lon_0 + 180.0 - EDGE_INSET_DEGREES,
    )  # see _inside_window
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


def page_rings(geometries: NDArray[np.object_], frame: Box) -> Rings:
    """Rings in integer tenths of a point inside the frame, repeated points dropped."""
    rings = rings_of(geometries)
    xy = np.rint(rings.xy * 10.0)
    xy[:, 0] = np.clip(xy[:, 0], math.ceil(frame[0] * 10), math.floor(frame[2] * 10))
    xy[:, 1] = np.clip(xy[:, 1], math.ceil(frame[1] * 10), math.floor(frame[3] * 10))
    rings.xy = xy
    previous, _following = rings.neighbours()
    repeated = (xy == xy[previous]).all(axis=1)
    return drop_straight(rings.keep_vertices(~repeated))


def drop_straight(rings: Rings) -> Rings:
    """Leave out the vertices lying on the straight line between their two neighbours (on the
    integer grid of the page, where that test is exact): the outlines stay the same, point for
    point. A vertex of several rings goes only inside a shared border (the same neighbours in
    both rings), so shared borders stay identical; every ring keeps at least three vertices.
    """
    if len(rings.xy) == 0:
        return rings
    sizes = rings.sizes
    x_before, x_after = around_ring(rings.xy[:, 0], sizes)
    y_before, y_after = around_ring(rings.xy[:, 1], sizes)
    x_before -= rings.xy[:, 0]
    x_after -= rings.xy[:, 0]
    y_before -= rings.xy[:, 1]
    y_after -= rings.xy[:, 1]
    straight = x_before * y_after == y_before * x_after  # exact: integers below 2**26
    straight &= x_before * x_after + y_before * y_after < 0  # the neighbours on either side
    if not straight.any():
        return rings
    point, stays = junctions(rings)  # junctions stay
    stays[point[~straight]] = True
    drop = ~stays[point]
    left = np.bincount(rings.ring_of_vertex[~drop], minlength=len(sizes))
    if (left < 3).any():  # such a ring keeps all its vertices, and so do the rings it touches
        stays[point[np.repeat(left < 3, sizes)]] = True
        drop = ~stays[point]
    return rings.keep_vertices(~drop)


# ---------------------------------------------------------------------------------------------
# PDF path operators


def _tenths_table(values: IntArray) -> NDArray[np.uint8]:
    """Integer tenths (0..99999) as ASCII columns ``dddd.d``; 0 bytes where a character is left
    out (leading zeros, a trailing ``.0``)."""
    table = np.zeros((len(values), 6), dtype=np.uint8)
    tenths = values % 10
    table[:, 5] = np.where(tenths > 0, 48 + tenths, 0)
    table[:, 4] = np.where(tenths > 0, ord("."), 0)
    table[:, 3] = 48 + values // 10 % 10
    for digit, position in ((2, 2), (3, 1), (4, 0)):
        table[:, position] = np.where(values >= 10**digit, 48 + values // 10**digit % 10, 0)
    return table


def _checked(xy: FloatArray) -> IntArray:
    values = xy.astype(np.int64)
    if len(values) and (values.min() < 0 or values.max() > 99_999):
        raise PrintError("path coordinates outside the page")
    return values


def path_operators(xy: FloatArray, moves: NDArray[np.bool_]) -> tuple[bytes, IntArray]:
    """``x y m`` / ``x y l`` lines for coordinates in integer tenths of a point, with numpy.

    Tenths (0.035 mm) are finer than the generalization tolerance. Returns the bytes and the
    end offset of each line (to cut out one country's path).
    """
    values = _checked(xy)
    space, newline = (
        np.full((len(values), 1), ord(" "), np.uint8),
        np.full((len(values), 1), ord("\n"), np.uint8),
    )
    operator = np.where(moves, ord("m"), ord("l")).astype(np.uint8)[:, None]
    table = np.hstack(
        [_tenths_table(values[:, 0]), space, _tenths_table(values[:, 1]), space, operator, newline]
    )
    filled = table != 0
    return table[filled].tobytes(), np.cumsum(filled.sum(axis=1))


def svg_path_data(
    xy: FloatArray, moves: NDArray[np.bool_], height: int, close: bool = False
) -> tuple[bytes, IntArray]:
    """SVG path data (``M x y L x y ... Z``) in pt for coordinates in integer tenths of a point
    (from the lower left), y flipped within ``height`` tenths; ``close`` ends each subpath with
    ``Z``. Returns the bytes and each vertex's end offset."""
    values = _checked(xy)
    flipped = height - values[:, 1]
    if len(values) and (flipped.min() < 0 or flipped.max() > 99_999):
        raise PrintError("path coordinates outside the SVG")
    command = np.where(moves, ord("M"), ord("L")).astype(np.uint8)[:, None]
    space = np.full((len(values), 1), ord(" "), np.uint8)
    last = np.r_[moves[1:], True] if close else np.zeros(len(values), dtype=bool)
    closing = np.where(last, ord("Z"), 0).astype(np.uint8)[:, None]
    table = np.hstack(
        [command, _tenths_table(values[:, 0]), space, _tenths_table(flipped), closing]
    )
    filled = table != 0
    return table[filled].tobytes(), np.cumsum(filled.sum(axis=1))


def ring_moves(rings: Rings) -> NDArray[np.bool_]:
    moves = np.zeros(len(rings.xy), dtype=bool)
    moves[rings.starts[rings.sizes > 0]] = True
    return moves


def shared_borders(rings: Rings) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Polylines of the edges two different countries share, each drawn once.

    Returns vertices and their move-to flags; coastlines, frame edges and seams inside one
    country (Chukotka at 180 degrees) are not borders.
    """
    if len(rings.xy) == 0:
        return np.empty((0, 2)), np.zeros(0, dtype=bool)
    previous, following = rings.neighbours()
    draw = np.zeros(len(rings.xy), dtype=bool)
    draw[first_shared_edges(rings)[0]] = True  # first occurrence of each shared edge
    ring_first = np.zeros(len(rings.xy), dtype=bool)
    ring_first[rings.starts[rings.sizes > 0]] = True
    start_run = draw & (~draw[previous] | ring_first)
    per_edge = draw.astype(np.int64) + start_run
    position = np.cumsum(per_edge) - per_edge  # first output row of each edge
    total = int(per_edge.sum())
    out = np.empty((total, 2))
    moves = np.zeros(total, dtype=bool)
    starts = np.flatnonzero(start_run)
    out[position[starts]] = rings.xy[starts]
    moves[position[starts]] = True
    drawn = np.flatnonzero(draw)
    ends = position[drawn] + start_run[drawn]
    out[ends] = rings.xy[following[drawn]]
    return out, moves


# ---------------------------------------------------------------------------------------------
# Graticule


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
    box = None if proj.is_world else _lonlat_box(frame.projected, proj)
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
