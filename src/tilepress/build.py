"""The workflow's steps for one map: tiles and archives, TileJSON and style, print sheet."""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.archives import (
    TileKey,
    write_json_atomic,
    write_mbtiles,
    write_pmtiles,
    write_tile_folder,
)
from tilepress.config import MapSpec, SourceSpec
from tilepress.encoding import Feature, compress, encode_tile
from tilepress.projection import (
    WEB_MERCATOR_HALF_WORLD,
    Extent,
    resolve_extent,
    to_web_mercator,
)
from tilepress.sources import (
    CountryTable,
    Highlighting,
    attribute_text,
    fill_colors,
    read_countries,
    resolve_highlights,
)
from tilepress.style import (
    BOUNDARIES_LAYER,
    COUNTRIES_LAYER,
    LABEL_LANGUAGES,
    LABELS_LAYER,
    maplibre_style,
    tilejson,
    tileset_metadata,
)
from tilepress.tiling import (
    EXTENT,
    ZoomStats,
    border_lines,
    generalize_pyramid,
    iter_tile_geometries,
    load_pyramid,
    prepare_mercator,
    save_pyramid,
    tile_bounds,
    tile_unit,
)

log = logging.getLogger("tilepress")


@dataclass
class LoadedMap:
    """A map's specification with its source read and its highlighted countries resolved."""

    spec: MapSpec
    table: CountryTable
    highlighting: Highlighting

    @property
    def extent(self) -> Extent:
        """The map's extent in degrees (fitted to the highlighted countries when ``auto``)."""
        rows = sorted(self.highlighting.group_of_row)
        return resolve_extent(self.spec.extent, self.table.geometries[rows])


def load_map(spec: MapSpec, source_path: str | Path | None = None) -> LoadedMap:
    """Read and check the map's source and resolve its countries."""
    table = read_countries(spec.source, source_path)
    return LoadedMap(spec, table, resolve_highlights(spec, table))


BUDGET_BYTES = 500 * 1024  # largest compressed tile, as tippecanoe and GDAL cap it


def country_properties(loaded: LoadedMap) -> list[dict[str, str]]:
    """The ``countries`` layer's properties of every row of the source."""
    spec, table = loaded.spec, loaded.table
    colors = fill_colors(spec, table, loaded.highlighting)
    iso_a2 = table.field("ISO_A2_EH") if "ISO_A2_EH" in table.attributes else table.field("ISO_A2")
    english_names = table.field("NAME_EN")
    properties = []
    for row, (code, name) in enumerate(zip(table.codes, table.names, strict=True)):
        values = {"adm0_a3": code, "name": name, "color": colors[row]}
        if (iso := attribute_text(iso_a2[row])) is not None:
            values["iso_a2"] = iso
        if (english := attribute_text(english_names[row])) is not None:
            values["name_en"] = english
        group = loaded.highlighting.group(row)
        if group is not None:
            values["group"] = spec.highlight[group].label
        properties.append(values)
    return properties


@dataclass
class LabelPoints:
    """One label point per country, in Web Mercator, with its properties and first zoom."""

    xy: NDArray[np.float64]
    properties: list[dict[str, str | float]]
    min_zoom: NDArray[np.float64]


def label_points(loaded: LoadedMap, countries: list[dict[str, str]]) -> LabelPoints:
    """Natural Earth's label positions (LABEL_X/LABEL_Y, else a point inside the country),
    with the names in every language the source has and ``min_zoom`` from MIN_LABEL.

    ``countries`` are the rows' :func:`country_properties` (code, name and group are reused).
    """
    table = loaded.table
    inside = shapely.get_coordinates(shapely.point_on_surface(table.geometries))
    lon = np.array([np.nan if v is None else float(v) for v in table.field("LABEL_X")])
    lat = np.array([np.nan if v is None else float(v) for v in table.field("LABEL_Y")])
    missing = ~np.isfinite(lon) | ~np.isfinite(lat)
    lon[missing], lat[missing] = inside[missing, 0], inside[missing, 1]
    points = to_web_mercator(shapely.points(lon, lat))
    min_label = np.array([0.0 if v is None else float(v) for v in table.field("MIN_LABEL")])
    highlighted = np.zeros(len(table), dtype=bool)
    highlighted[list(loaded.highlighting.group_of_row)] = True
    min_zoom = np.where(highlighted, 0.0, min_label)
    name_fields = [f"NAME_{code.upper()}" for code in LABEL_LANGUAGES]
    name_fields = [name for name in name_fields if name in table.attributes]
    properties: list[dict[str, str | float]] = []
    for row in range(len(table)):
        values: dict[str, str | float] = {
            key: countries[row][key]
            for key in ("adm0_a3", "name", "group")
            if key in countries[row]
        }
        values["min_zoom"] = float(min_zoom[row])
        for field_name in name_fields:
            if (text := attribute_text(table.attributes[field_name][row])) is not None:
                values[field_name.lower()] = text
        properties.append(values)
    return LabelPoints(shapely.get_coordinates(points), properties, min_zoom)


# Worker state: set before the pool forks, so the geometry is not pickled per task.
_WORKER_STATE: dict[str, Any] = {}


def _labels_by_tile(labels: LabelPoints, zoom: int) -> dict[tuple[int, int], list[int]]:
    size = tile_unit(zoom) * EXTENT
    shown = np.flatnonzero(np.floor(labels.min_zoom) <= zoom)
    tx = np.floor((labels.xy[shown, 0] + WEB_MERCATOR_HALF_WORLD) / size).astype(np.int64)
    ty = np.floor((WEB_MERCATOR_HALF_WORLD - labels.xy[shown, 1]) / size).astype(np.int64)
    by_tile: dict[tuple[int, int], list[int]] = {}
    for row, x, y in zip(shown, tx, ty, strict=True):
        by_tile.setdefault((int(x), int(y)), []).append(int(row))
    return by_tile


def _tiles_for_rows(task: tuple[int, range]) -> tuple[dict[TileKey, bytes], ZoomStats]:
    zoom, tile_rows = task
    generalized: NDArray[np.object_] = _WORKER_STATE["generalized"][zoom]
    properties: list[dict[str, str]] = _WORKER_STATE["properties"]
    codes: list[str] = _WORKER_STATE["codes"]
    labels: LabelPoints = _WORKER_STATE["labels"]
    labels_here = _labels_by_tile(labels, zoom)
    stats = ZoomStats(zoom)
    tiles: dict[TileKey, bytes] = {}
    unit = tile_unit(zoom)
    for tile in iter_tile_geometries(
        generalized, zoom, stats, trace_from=_WORKER_STATE["trace_from"], tile_rows=tile_rows
    ):
        countries = [
            (geometry, {**properties[row], "trace": True} if trace else properties[row])
            for row, geometry, trace in zip(tile.rows, tile.geometries, tile.traces, strict=True)
        ]
        real = ~tile.traces
        borders = [
            (
                lines,
                {
                    "kind": "land",
                    "adm0_a3_a": min(codes[a], codes[b]),
                    "adm0_a3_b": max(codes[a], codes[b]),
                },
            )
            for a, b, lines in border_lines(tile.rows[real], tile.geometries[real])
        ]
        minx, _miny, _maxx, maxy = tile_bounds(zoom, tile.x, tile.y)
        points = [
            (
                shapely.Point(
                    np.floor((labels.xy[row, 0] - minx) / unit),
                    np.floor((maxy - labels.xy[row, 1]) / unit),
                ),
                labels.properties[row],
            )
            for row in labels_here.get((tile.x, tile.y), [])
        ]
        layers: dict[str, list[Feature]] = {
            COUNTRIES_LAYER: countries,
            BOUNDARIES_LAYER: borders,  # type: ignore[dict-item]
            LABELS_LAYER: points,  # type: ignore[dict-item]
        }
        data = compress(encode_tile(layers))
        if len(data) > BUDGET_BYTES:  # never seen with Natural Earth; keep the map usable
            layers[LABELS_LAYER] = []
            data = compress(encode_tile(layers))
            stats.over_budget.append(f"{zoom}/{tile.x}/{tile.y}")
        tiles[(tile.zoom, tile.x, tile.y)] = data
        stats.tiles += 1
        stats.features += sum(len(features) for features in layers.values())
        stats.traces += int(tile.traces.sum())
        stats.vertices += int(shapely.get_num_coordinates(tile.geometries).sum())
        stats.bytes += len(data)
        stats.largest_tile = max(stats.largest_tile, len(data))
    return tiles, stats


def build_pyramid(
    source: SourceSpec, zooms: range, target: Path, source_path: str | Path | None = None
) -> None:
    """Generalize a source for a zoom range and store it (the geometry-only step)."""
    table = read_countries(source, source_path)
    save_pyramid(generalize_pyramid(prepare_mercator(table.geometries), zooms), target)


def _tasks(zooms: list[int], workers: int) -> list[tuple[int, range]]:
    """Work units: deep zooms split into bands of tile rows, deepest (slowest) first."""
    tasks = []
    for zoom in sorted(zooms, reverse=True):
        rows = 1 << zoom
        bands = min(rows, 4 * workers) if workers > 1 and zoom >= 4 else 1
        edges = np.linspace(0, rows, bands + 1).astype(int)
        tasks += [(zoom, range(int(a), int(b))) for a, b in itertools.pairwise(edges)]
    return tasks


def build_tiles(
    loaded: LoadedMap, out_dir: Path, *, workers: int = 1, pyramid: Path | None = None
) -> dict[str, Any]:
    """Write ``tiles/``, ``<id>.mbtiles``, ``<id>.pmtiles`` and ``tiles-report.json``.

    ``pyramid`` is the output of :func:`build_pyramid` for the same source and zooms; without
    it the geometry is generalized here.
    """
    spec = loaded.spec
    started = time.perf_counter()
    zooms = list(range(spec.min_zoom, spec.max_zoom + 1))
    min_zoom = loaded.table.field("MIN_ZOOM")
    countries = country_properties(loaded)
    _WORKER_STATE.update(
        generalized=(
            load_pyramid(pyramid)
            if pyramid is not None
            else generalize_pyramid(prepare_mercator(loaded.table.geometries), zooms)
        ),
        properties=countries,
        codes=loaded.table.codes,
        labels=label_points(loaded, countries),
        trace_from=np.array([0.0 if v is None else float(v) for v in min_zoom]),
    )
    tasks = _tasks(zooms, workers)
    if workers > 1 and len(tasks) > 1 and "fork" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = list(pool.map(_tiles_for_rows, tasks))
    else:
        results = [_tiles_for_rows(task) for task in tasks]
    tiles: dict[TileKey, bytes] = {}
    by_zoom = {zoom: ZoomStats(zoom) for zoom in zooms}
    for part_tiles, part_stats in results:
        tiles.update(part_tiles)
        by_zoom[part_stats.zoom].merge(part_stats)
    stats = [by_zoom[zoom] for zoom in zooms]
    for zoom_stats in stats:
        zoom_stats.finish(loaded.table.names)
        log.info(
            "z%d: %d tiles, %d features, %.1f KB (largest %.1f KB)",
            zoom_stats.zoom,
            zoom_stats.tiles,
            zoom_stats.features,
            zoom_stats.bytes / 1024,
            zoom_stats.largest_tile / 1024,
        )
    _WORKER_STATE.clear()
    report: dict[str, Any] = {
        "map": spec.id,
        "tiles": len(tiles),
        "unique_tiles": len(set(tiles.values())),
        "bytes": sum(len(data) for data in tiles.values()),
        "zooms": [s.as_dict() for s in stats],
    }
    meta = tileset_metadata(spec, loaded.extent, extra={"tilepress_stats": report["zooms"]})
    write_tile_folder(tiles, out_dir / "tiles")
    write_mbtiles(tiles, meta, out_dir / f"{spec.id}.mbtiles")
    write_pmtiles(tiles, meta, out_dir / f"{spec.id}.pmtiles")
    write_json_atomic(out_dir / "tiles-report.json", report)
    log.info(
        "%s: %d tiles (%d unique), %.2f MB in %.1f s",
        spec.id,
        report["tiles"],
        report["unique_tiles"],
        report["bytes"] / 1e6,
        time.perf_counter() - started,
    )
    return report


def build_style(loaded: LoadedMap, out_dir: Path) -> None:
    """Write ``tiles.json`` (TileJSON 3.0.0) and ``style.json`` (MapLibre style v8)."""
    meta = tileset_metadata(loaded.spec, loaded.extent)
    write_json_atomic(out_dir / "tiles.json", tilejson(loaded.spec, meta))
    write_json_atomic(out_dir / "style.json", maplibre_style(loaded.spec, meta))
