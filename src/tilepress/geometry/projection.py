"""Coordinate reference systems: Web Mercator for tiles, an equal-area projection for print."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from tilepress.errors import ProjectionError
from tilepress.geometry.parallel import map_in_pieces

WEB_MERCATOR_MAX_LAT = 85.0511287798066
WEB_MERCATOR_HALF_WORLD = 20037508.342789244
WORLD_SPAN_DEGREES = 270.0  # an extent at least this wide is drawn as a world map

Extent = tuple[float, float, float, float]


_per_thread = threading.local()


def transformer(source: str, target: str) -> Transformer:
    """One pyproj transformer per pair of CRS and thread (building one costs ~5 ms; one
    transformer serves one thread at a time)."""
    cache: dict[tuple[str, str], Transformer] = _per_thread.__dict__.setdefault("cache", {})
    if (source, target) not in cache:
        cache[(source, target)] = Transformer.from_crs(source, target, always_xy=True)
    return cache[(source, target)]


def transform_geometries(
    geometries: NDArray[np.object_], source: str, target: str
) -> NDArray[np.object_]:
    """Reproject an array of geometries with pyproj, all coordinates in one vectorized call."""
    between = transformer(source, target)

    def apply(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = between.transform(xy[:, 0], xy[:, 1], errcheck=False)
        return np.column_stack([x, y])

    try:
        result: NDArray[np.object_] = shapely.transform(geometries, apply)
    except (ProjError, ValueError) as error:
        raise ProjectionError(f"cannot project from {source} to {target}: {error}") from None
    return result


def to_web_mercator(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    """WGS 84 geometries to EPSG:3857, latitudes clamped to +/-85.0511 first (many vertices
    in pieces shared with the helper thread)."""
    return map_in_pieces(_to_web_mercator, geometries)


def _to_web_mercator(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    clipped = shapely.clip_by_rect(
        geometries, -180.0, -WEB_MERCATOR_MAX_LAT, 180.0, WEB_MERCATOR_MAX_LAT
    )
    return transform_geometries(clipped, "EPSG:4326", "EPSG:3857")


def lonlat_to_web_mercator(lon: float, lat: float) -> tuple[float, float]:
    """One point from degrees to EPSG:3857 metres (latitude clamped)."""
    lat = max(-WEB_MERCATOR_MAX_LAT, min(WEB_MERCATOR_MAX_LAT, lat))
    x, y = transformer("EPSG:4326", "EPSG:3857").transform(lon, lat)
    return float(x), float(y)


def normalize_lon(lon: float) -> float:
    """A longitude in [-180, 180]; exactly +/-180 stays on the side it was given."""
    wrapped = (lon + 180.0) % 360.0 - 180.0
    return 180.0 if wrapped == -180.0 and lon > 0 else wrapped


def extent_width(extent: Extent) -> float:
    """East-west span of an extent in degrees; west > east means it crosses 180."""
    west, _south, east, _north = extent
    return (east - west) % 360.0 or 360.0


def extent_center(extent: Extent) -> tuple[float, float]:
    """Centre (lon, lat) of an extent, antimeridian-aware."""
    west, south, _east, north = extent
    return normalize_lon(west + extent_width(extent) / 2.0), (south + north) / 2.0


def fit_extent(
    geometries: Sequence[shapely.Geometry] | NDArray[np.object_], margin: float = 0.08
) -> Extent:
    """Smallest lon/lat extent covering the geometries, crossing 180 degrees where shorter.

    The longitudes of all parts are merged on the circle and the largest empty arc is left out.
    A margin (fraction of the size, at least 2 degrees) is added on every side.
    """
    parts = shapely.get_parts(np.asarray(geometries, dtype=object))
    parts = parts[~shapely.is_empty(parts)]
    if len(parts) == 0:
        raise ProjectionError("cannot fit an extent to nothing: no highlighted geometry")
    bounds = shapely.bounds(parts)
    intervals = bounds[np.argsort(bounds[:, 0])][:, [0, 2]]
    merged: list[list[float]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([float(start), float(end)])
    # Largest gap between consecutive covered arcs, including the wrap from last to first.
    gaps = [(merged[(i + 1) % len(merged)][0] - merged[i][1]) % 360.0 for i in range(len(merged))]
    if len(merged) == 1:
        gaps = [360.0 - (merged[0][1] - merged[0][0])]
    widest = int(np.argmax(gaps))
    west = merged[(widest + 1) % len(merged)][0]
    east = merged[widest][1]
    south, north = float(bounds[:, 1].min()), float(bounds[:, 3].max())
    width = (east - west) % 360.0 or 360.0
    if width + 2 * max(2.0, width * margin) >= WORLD_SPAN_DEGREES:
        return (-180.0, -90.0, 180.0, 90.0)
    pad_x = max(2.0, width * margin)
    pad_y = max(2.0, (north - south) * margin)
    return (
        normalize_lon(west - pad_x),
        max(-90.0, south - pad_y),
        normalize_lon(east + pad_x),
        min(90.0, north + pad_y),
    )


@dataclass(frozen=True)
class PrintProjection:
    """The print map's projection and the part of the world it shows."""

    crs: str
    lon_0: float
    extent: Extent
    is_world: bool

    @property
    def cut_meridian(self) -> float:
        """The projection's own antimeridian, where polygons must be cut."""
        return normalize_lon(self.lon_0 + 180.0)


def build_crs(text: str) -> CRS:
    """A pyproj CRS from an EPSG code or PROJ string, or ProjectionError saying why not."""
    try:
        crs = CRS.from_user_input(text)
    except CRSError as error:
        raise ProjectionError(f"PROJ cannot build {text!r}: {error}".split("\n")[0]) from None
    if crs.is_geographic:
        raise ProjectionError(f"{text!r} is geographic; a print map needs a projected CRS")
    return crs


def central_meridian(crs: CRS) -> float:
    """The projection's central meridian (``lon_0``), 0 when it has none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            params = crs.to_dict()
    except (CRSError, ValueError):
        params = {}
    for key in ("lon_0", "lonc"):
        if key in params:
            return float(params[key])
    if crs.coordinate_operation is not None:
        for param in crs.coordinate_operation.params:
            if "longitude of natural origin" in param.name.lower() or (
                "longitude of" in param.name.lower() and "origin" in param.name.lower()
            ):
                return float(param.value)
    return 0.0


def _degrees(value: float) -> str:
    """Degrees for a PROJ string: 6 decimals (about 0.1 m), no trailing zeros."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def choose_print_projection(projection: str, extent: Extent) -> PrintProjection:
    """Resolve ``auto`` (Equal Earth for the world, Lambert azimuthal equal-area for a region)."""
    is_world = extent_width(extent) >= WORLD_SPAN_DEGREES
    center_lon, center_lat = extent_center(extent)
    if projection == "auto":
        if is_world:
            lon_0 = 0.0 if extent == (-180.0, -90.0, 180.0, 90.0) else center_lon
            text = f"+proj=eqearth +lon_0={_degrees(lon_0)} +datum=WGS84 +units=m +no_defs"
        else:
            text = (
                f"+proj=laea +lat_0={_degrees(center_lat)} +lon_0={_degrees(center_lon)} "
                "+datum=WGS84 +units=m +no_defs"
            )
        crs = build_crs(text)
    else:
        crs = build_crs(projection)
        text = projection
    return PrintProjection(crs=text, lon_0=central_meridian(crs), extent=extent, is_world=is_world)


def extent_outline(extent: Extent, lon_0: float, steps: int = 180) -> shapely.Polygon:
    """The extent as a densified lon/lat polygon in the window around ``lon_0``."""
    west, south, _east, north = extent
    width = extent_width(extent)
    start = west
    while start < lon_0 - 180.0 - 1e-9:
        start += 360.0
    while start >= lon_0 + 180.0 - 1e-9 and width < 360.0:
        start -= 360.0
    if width >= 360.0:
        start = lon_0 - 180.0
    lons = np.linspace(start, start + width, steps)
    lats = np.linspace(south, north, max(2, steps // 2))
    ring = np.concatenate(
        [
            np.column_stack([lons, np.full_like(lons, south)]),
            np.column_stack([np.full_like(lats, start + width), lats]),
            np.column_stack([lons[::-1], np.full_like(lons, north)]),
            np.column_stack([np.full_like(lats, start), lats[::-1]]),
        ]
    )
    return shapely.Polygon(ring)


def project_outline(outline: shapely.Polygon, crs: str) -> shapely.Polygon:
    """Project a lon/lat outline; ProjectionError if PROJ returns non-finite points."""
    projected = transform_geometries(np.array([outline], dtype=object), "EPSG:4326", crs)[0]
    coords = shapely.get_coordinates(projected)
    if not np.isfinite(coords).all():
        raise ProjectionError(
            f"the extent cannot be projected with {crs!r} (points at infinity)",
            hint="choose a smaller extent or another projection",
        )
    return shapely.make_valid(projected)


def resolve_extent(
    extent: str | Sequence[float], highlighted: Sequence[shapely.Geometry] | NDArray[np.object_]
) -> Extent:
    """A map's extent in degrees: ``world``, ``auto`` (fit the highlighted countries) or given."""
    if extent == "world":
        return (-180.0, -90.0, 180.0, 90.0)
    if extent == "auto":
        return fit_extent(highlighted)
    west, south, east, north = (float(v) for v in extent)
    return (west, south, east, north)


def wrap_and_clip(
    geometries: NDArray[np.object_], lon_0: float, box: Extent | None = None
) -> NDArray[np.object_]:
    """:func:`wrap_to_meridian`, optionally limited to ``box``, touching only what needs it.

    ``box`` is (west, south, east, north) in the longitudes of the window ``lon_0 +/- 180``
    (it may extend past +/-180 degrees); the default is the whole window. A geometry lying in
    the box as it is, or shifted by 360 degrees, is only shifted; one crossing the box edge is
    clipped; one reaching the box from two sides (Russia or Fiji around 180 degrees, or one
    cut by the window's edge) is clipped on each side and dissolved, as ``wrap_to_meridian``
    does. The result has one (possibly empty) geometry per input.
    """
    window_west, window_east = lon_0 - 180.0, lon_0 + 180.0
    west, south, east, north = box if box is not None else (window_west, -90.0, window_east, 90.0)
    west, east = max(west, window_west), min(east, window_east)
    bounds = shapely.bounds(geometries)
    with np.errstate(invalid="ignore"):
        rows_in_lat = (bounds[:, 3] > south) & (bounds[:, 1] < north)
        lat_inside = (bounds[:, 1] >= south) & (bounds[:, 3] <= north)
        shifts = (-360.0, 0.0, 360.0)
        touching = np.column_stack(
            [rows_in_lat & (bounds[:, 2] + s > west) & (bounds[:, 0] + s < east) for s in shifts]
        )
        inside = np.column_stack(
            [lat_inside & (bounds[:, 0] + s >= west) & (bounds[:, 2] + s <= east) for s in shifts]
        )
    result = np.full(len(geometries), shapely.Polygon(), dtype=object)
    single = touching.sum(axis=1) == 1
    for column, shift in enumerate(shifts):
        rows = np.flatnonzero(single & touching[:, column])
        if not len(rows):
            continue
        moved = geometries[rows]
        if shift:
            moved = shapely.transform(moved, lambda xy, s=shift: xy + np.array([s, 0.0]))
        keep = inside[rows, column]
        moved[~keep] = shapely.clip_by_rect(moved[~keep], west, south, east, north)
        result[rows] = moved
    for row in np.flatnonzero(touching.sum(axis=1) > 1):
        pieces = [
            shapely.clip_by_rect(
                shapely.transform(geometries[row], lambda xy, s=shift: xy + np.array([s, 0.0])),
                west,
                south,
                east,
                north,
            )
            for column, shift in enumerate(shifts)
            if touching[row, column]
        ]
        result[row] = shapely.make_valid(shapely.union_all(pieces))
    return result


def projection_name(proj: PrintProjection) -> str:
    """A reader's name of the projection, for the credit line."""
    crs = CRS.from_user_input(proj.crs)
    code = crs.to_epsg(min_confidence=90) if proj.crs.upper().startswith("EPSG:") else None
    if code is not None:
        return f"{crs.name} (EPSG:{code})"
    operation = crs.coordinate_operation
    method = operation.method_name if operation is not None else crs.name
    method = {"Lambert Azimuthal Equal Area": "Lambert azimuthal equal-area"}.get(method, method)
    latitudes = [
        p.value
        for p in (operation.params if operation is not None else [])
        if p.name.lower().startswith("latitude of natural origin")
    ]
    if latitudes and method.lower().startswith(("lambert azimuthal", "azimuthal", "orthographic")):
        return (
            f"{method} projection centred on {_degrees_text(float(latitudes[0]), 'N', 'S')}, "
            f"{_degrees_text(proj.lon_0, 'E', 'W')}"
        )
    if proj.lon_0:
        return f"{method} projection centred on {_degrees_text(proj.lon_0, 'E', 'W')}"
    return f"{method} projection"


def _degrees_text(value: float, positive: str, negative: str) -> str:
    return f"{abs(value):.4g}°{positive if value >= 0 else negative}"
