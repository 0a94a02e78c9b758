"""The workflow's steps for one map: tiles and archives, TileJSON and style, print sheet."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tilepress.archives import (
    TileKey,
    write_json_atomic,
    write_mbtiles,
    write_pmtiles,
    write_tile_folder,
)
from tilepress.config import MapSpec
from tilepress.encoding import compress, encode_tile
from tilepress.projection import Extent, resolve_extent
from tilepress.sources import (
    CountryTable,
    Highlighting,
    fill_colors,
    read_countries,
    resolve_highlights,
)
from tilepress.style import COUNTRIES_LAYER, maplibre_style, tilejson, tileset_metadata
from tilepress.tiling import ZoomStats, iter_tile_geometries, prepare_mercator

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


def country_properties(loaded: LoadedMap) -> list[dict[str, str]]:
    """The ``countries`` layer's properties of every row of the source."""
    spec, table = loaded.spec, loaded.table
    colors = fill_colors(spec, table, loaded.highlighting)
    properties = []
    for row, (code, name) in enumerate(zip(table.codes, table.names, strict=True)):
        values = {"adm0_a3": code, "name": name, "color": colors[row]}
        group = loaded.highlighting.group(row)
        if group is not None:
            values["group"] = spec.highlight[group].label
        properties.append(values)
    return properties


# Worker state: set before the pool forks, so the geometry is not pickled per task.
_WORKER_STATE: dict[str, Any] = {}


def _tiles_for_zoom(zoom: int) -> tuple[dict[TileKey, bytes], ZoomStats]:
    mercator: NDArray[np.object_] = _WORKER_STATE["mercator"]
    properties: list[dict[str, str]] = _WORKER_STATE["properties"]
    names: list[str] = _WORKER_STATE["names"]
    stats = ZoomStats(zoom)
    tiles: dict[TileKey, bytes] = {}
    for tile in iter_tile_geometries(mercator, zoom, stats, names):
        features = [
            (geometry, properties[row])
            for row, geometry in zip(tile.rows, tile.geometries, strict=True)
        ]
        data = compress(encode_tile({COUNTRIES_LAYER: features}))
        tiles[(tile.zoom, tile.x, tile.y)] = data
        stats.tiles += 1
        stats.features += len(features)
        stats.bytes += len(data)
        stats.largest_tile = max(stats.largest_tile, len(data))
    return tiles, stats


def build_tiles(loaded: LoadedMap, out_dir: Path, *, workers: int = 1) -> dict[str, Any]:
    """Write ``tiles/``, ``<id>.mbtiles``, ``<id>.pmtiles`` and ``tiles-report.json``."""
    spec = loaded.spec
    started = time.perf_counter()
    _WORKER_STATE.update(
        mercator=prepare_mercator(loaded.table.geometries),
        properties=country_properties(loaded),
        names=loaded.table.names,
    )
    zooms = list(range(spec.min_zoom, spec.max_zoom + 1))
    tiles: dict[TileKey, bytes] = {}
    stats: list[ZoomStats] = []
    # Deepest zooms first: they take longest, so the pool stays busy to the end.
    order = sorted(zooms, reverse=True)
    if workers > 1 and len(zooms) > 1 and "fork" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(workers, len(zooms)), mp_context=context) as pool:
            results = list(pool.map(_tiles_for_zoom, order))
    else:
        results = [_tiles_for_zoom(zoom) for zoom in order]
    for zoom_tiles, zoom_stats in sorted(results, key=lambda item: item[1].zoom):
        tiles.update(zoom_tiles)
        stats.append(zoom_stats)
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


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
