"""Overlay areas: a map's polygon files (an occupied area, a region) read, checked against their
SHA-256, reprojected to WGS 84 and repaired, one polygonal geometry per overlay.

Every problem names the map, the overlay and what to do: a missing file, a file GDAL cannot
read, one without polygons, a checksum that differs. Invalid polygons are repaired and other
coordinate systems reprojected, each with a note in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from tilepress.config.model import MapSpec, OverlaySpec
from tilepress.errors import SourceError
from tilepress.sources.download import verify_checksum
from tilepress.sources.files import read_errors
from tilepress.sources.repair import polygonal, repair

log = logging.getLogger("tilepress")


@dataclass(frozen=True)
class OverlayArea:
    """One overlay of a map: its settings and its area, a valid (Multi)Polygon in WGS 84."""

    index: int  # its place in the map's `overlays`
    spec: OverlaySpec
    geometry: shapely.Geometry


def read_overlays(spec: MapSpec, paths: Sequence[str | Path] | None = None) -> list[OverlayArea]:
    """Every overlay of the map, in configuration order; ``paths`` replace their files (the
    workflow passes the files it fetched), one per overlay."""
    if paths is not None and len(paths) != len(spec.overlays):
        raise SourceError(
            f"map {spec.id!r}: {len(paths)} overlay files for {len(spec.overlays)} overlays"
        )
    return [
        read_overlay(spec, index, Path(paths[index]) if paths is not None else None)
        for index in range(len(spec.overlays))
    ]


def read_overlay(spec: MapSpec, index: int, path: Path | None = None) -> OverlayArea:
    """One overlay of the map, read from ``path`` (default: its configured file)."""
    overlay = spec.overlays[index]
    where = f"map {spec.id!r}, overlays[{index}] ({overlay.label!r})"
    path = Path(path or overlay.local_path)
    if not path.is_file():
        raise SourceError(
            f"no such overlay file {str(path)!r}",
            where=where,
            hint="fix `path`, or run the workflow, which downloads `url` overlays",
        )
    verify_checksum(path, overlay.sha256, source=f"{spec.id}: overlay {overlay.label}")
    import pyogrio.raw

    gdal_path = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else path
    try:
        meta, _fids, wkb, _columns = pyogrio.raw.read(gdal_path, layer=overlay.layer, columns=[])
    except read_errors() as error:
        raise SourceError(
            f"cannot read {path}: {error}",
            where=where,
            hint="give a GeoJSON, GeoPackage or shapefile (or a .zip of one) of polygons",
        ) from None
    geometries: NDArray[np.object_] = shapely.from_wkb(wkb)
    geometries = geometries[~shapely.is_missing(geometries) & ~shapely.is_empty(geometries)]
    crs = meta.get("crs")
    if crs and not CRS.from_user_input(crs).equals(CRS.from_epsg(4326), ignore_axis_order=True):
        log.info("%s: %s is in %s: reprojected to WGS 84", where, path, crs)
        transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        geometries = shapely.transform(
            geometries, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
        )
    invalid = int(np.count_nonzero(~shapely.is_valid(geometries)))
    if invalid:
        log.info("%s: %d invalid polygon(s) in %s repaired", where, invalid, path)
    area = shapely.union_all(polygonal(repair(geometries)))
    if shapely.is_empty(area) or shapely.area(area) == 0.0:
        kinds = sorted(set(shapely.get_type_id(geometries).tolist()))
        names = ", ".join(shapely.GeometryType(kind).name.title() for kind in kinds) or "nothing"
        raise SourceError(
            f"{path} holds no polygons (it holds {names})",
            where=where,
            hint="an overlay is an area: give a file of Polygon or MultiPolygon features",
        )
    return OverlayArea(index, overlay, area)
