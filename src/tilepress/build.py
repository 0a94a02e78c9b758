"""The workflow's steps for one map: tiles and archives, TileJSON and style, print sheet."""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import multiprocessing
import pickle
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.archives import (
    TileFolder,
    staged_folder,
    write_json_atomic,
    write_mbtiles_stream,
    write_pmtiles_stream,
    write_tile_stream_into,
)
from tilepress.config import LABEL_LANGUAGES, MapSpec, SourceSpec
from tilepress.encoding import Feature, compress, encode_tile, encode_tiles
from tilepress.errors import TilingError
from tilepress.generalize import Rings
from tilepress.projection import (
    Extent,
    resolve_extent,
    to_web_mercator,
)
from tilepress.shards import PASS_TILES, PartSet, PartWriter, Shard, passes, spec_digest
from tilepress.sourcefile import ReadAhead, map_fields
from tilepress.sources import (
    CountryTable,
    Highlighting,
    attribute_text,
    fill_colors,
    read_countries,
    repair,
    resolve_highlights,
)
from tilepress.style import (
    BOUNDARIES_LAYER,
    COUNTRIES_LAYER,
    LABELS_LAYER,
    maplibre_style,
    tilejson,
    tileset_metadata,
)
from tilepress.tiling import (
    EXTENT,
    WORLD,
    ZoomLevel,
    ZoomStats,
    dropped_rows,
    generalize_pyramid,
    iter_tiles,
    load_pyramid,
    prepare_mercator,
    save_pyramid,
    thinned_levels,
    to_grid,
    zoom_level,
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


def load_map(
    spec: MapSpec, source_path: str | Path | None = None, *, read_ahead: ReadAhead | None = None
) -> LoadedMap:
    """Read and check the map's source and resolve its countries. Its polygons are not
    repaired: the tiles check them on each zoom's grid (see :func:`read_countries`); only
    the fields a map uses are read (:func:`map_fields`)."""
    fields = map_fields(spec.source)
    table = read_countries(
        spec.source, source_path, repaired=False, fields=fields, read_ahead=read_ahead
    )
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
    lon = np.array([np.nan if v is None else float(v) for v in table.field("LABEL_X")])
    lat = np.array([np.nan if v is None else float(v) for v in table.field("LABEL_Y")])
    missing = ~np.isfinite(lon) | ~np.isfinite(lat)
    inside = shapely.point_on_surface(repair(table.geometries[missing]))  # unrepaired so far
    lon[missing], lat[missing] = shapely.get_x(inside), shapely.get_y(inside)
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


def _labels_by_tile(
    labels: LabelPoints, zoom: int, tile_rows: range
) -> dict[tuple[int, int], list[tuple[int, float, float]]]:
    """Label rows shown at a zoom, by tile: (row, x, y in tile coordinates)."""
    shown = np.flatnonzero(np.floor(labels.min_zoom) <= zoom)
    grid = np.floor(to_grid(labels.xy[shown], zoom))
    tile = np.floor(grid / EXTENT).astype(np.int64)
    local = grid - tile * EXTENT
    by_tile: dict[tuple[int, int], list[tuple[int, float, float]]] = {}
    for row, (x, y), (u, v) in zip(shown.tolist(), tile.tolist(), local.tolist(), strict=True):
        if y in tile_rows:
            by_tile.setdefault((x, y), []).append((row, u, v))
    return by_tile


EncodedTile = tuple[int, int, bytes]  # x, y, gzip-compressed tile


def _encode_rows(level: ZoomLevel, tile_rows: range, stats: ZoomStats) -> Iterator[EncodedTile]:
    """Encode the tiles of some rows of one zoom (in one batch), yielding them row by row;
    counts go into ``stats``."""
    zoom = level.zoom
    properties: list[dict[str, str]] = _WORKER_STATE["properties"]
    codes: list[str] = _WORKER_STATE["codes"]
    labels: LabelPoints = _WORKER_STATE["labels"]
    labels_here = _labels_by_tile(labels, zoom, tile_rows)
    border_properties = {
        (a, b): {
            "kind": "land",
            "adm0_a3_a": min(codes[a], codes[b]),
            "adm0_a3_b": max(codes[a], codes[b]),
        }
        for a, b in level.border_rows.tolist()
    }
    tiles = list(iter_tiles(level, tile_rows, _WORKER_STATE["trace_from"]))
    all_layers: list[dict[str, list[Feature]]] = []
    for tile in tiles:
        countries = [
            (geometry, {**properties[row], "trace": True} if trace else properties[row])
            for row, geometry, trace in zip(
                tile.rows.tolist(), tile.geometries, tile.traces.tolist(), strict=True
            )
        ]
        borders = [
            (lines, border_properties[(a, b)])
            for (a, b), lines in zip(tile.border_rows.tolist(), tile.borders, strict=True)
        ]
        points = [
            (shapely.Point(u, v), labels.properties[row])
            for row, u, v in labels_here.get((tile.x, tile.y), [])
        ]
        all_layers.append(
            {
                COUNTRIES_LAYER: countries,
                BOUNDARIES_LAYER: borders,  # type: ignore[dict-item]
                LABELS_LAYER: points,  # type: ignore[dict-item]
            }
        )
    if tiles:  # counted for the whole batch: one call instead of one per tile
        fills = np.concatenate([tile.geometries for tile in tiles])
        stats.vertices += int(shapely.get_num_coordinates(fills).sum())
        stats.traces += int(np.count_nonzero(np.concatenate([tile.traces for tile in tiles])))
    for tile, layers, raw in zip(tiles, all_layers, encode_tiles(all_layers), strict=True):
        data = compress(raw)
        if len(data) > BUDGET_BYTES:  # never seen with Natural Earth; keep the map usable
            layers[LABELS_LAYER] = []
            data = compress(encode_tile(layers))
            stats.over_budget.append(f"{zoom}/{tile.x}/{tile.y}")
        stats.tiles += 1
        stats.features += sum(len(features) for features in layers.values())
        stats.bytes += len(data)
        stats.largest_tile = max(stats.largest_tile, len(data))
        yield tile.x, tile.y, data


def _cut_shard(
    shard: Shard,
    levels: Mapping[int, ZoomLevel],
    writer: PartWriter,
    pass_tiles: int = PASS_TILES,
) -> list[ZoomStats]:
    """Cut and encode one shard's tiles into its part, a few rows at a time."""
    all_stats = []
    folder: TileFolder | None = _WORKER_STATE.get("tile_folder")  # when this process writes files
    for zoom, rows in shard.tasks():
        level, stats = levels[zoom], ZoomStats(zoom)
        for band in passes(zoom, rows, pass_tiles):
            for x, y, data in _encode_rows(level, band, stats):
                writer.add(zoom, x, y, data)
                if folder is not None:
                    folder.write(zoom, x, y, data)
        if rows.start == 0:
            names = _WORKER_STATE["names"]
            stats.dropped = [names[row] for row in dropped_rows(level, _WORKER_STATE["trace_from"])]
        all_stats.append(stats)
    return all_stats


@dataclass(frozen=True)
class HandedRings:
    """Thinned rings of one zoom handed to a worker. Rings thinned before the workers fork
    (the deepest zoom's) wait in the state they inherit, and are never copied; later ones
    are written to a file: sent through the pool's pipe instead, megabytes of arrays cross it
    in pipe-sized pieces, each waiting for the GIL while the main process goes on thinning
    (50 ms for the deepest zoom, not 10)."""

    zoom: int
    path: Path | None = None  # None: in the inherited state

    @classmethod
    def hand_over(cls, rings: Rings, zoom: int, folder: Path, *, forked: bool) -> HandedRings:
        """Keep ``rings`` for workers yet to fork, or write them to ``folder`` if ``forked``."""
        if not forked:
            _WORKER_STATE.setdefault("inherited_rings", {})[zoom] = rings
            return cls(zoom)
        path = folder / f"z{zoom}.rings"
        path.write_bytes(pickle.dumps(rings, protocol=pickle.HIGHEST_PROTOCOL))
        return cls(zoom, path)

    def read(self) -> Rings:
        """The rings (a file stays: it is the part folder's, removed with it)."""
        if self.path is None:
            inherited: Rings = _WORKER_STATE["inherited_rings"][self.zoom]
            return inherited
        # Unpickling is safe here (S301 warns of untrusted data): this build wrote it.
        rings: Rings = pickle.loads(self.path.read_bytes())  # noqa: S301
        return rings


# A shard, what to cut it from (thinned rings to snap, directly or handed over; the file of
# a level a worker snapped; or None for the levels already in the worker), and its part file.
PartTask = tuple[Shard, Rings | HandedRings | Path | None, Path]


def _write_part_task(task: PartTask) -> Path:
    """Worker: one shard of a map into a part file, from a level a worker snapped, from
    thinned rings handed over (snapped here), or from the stored pyramid's levels."""
    shard, geometry, target = task
    levels: dict[int, ZoomLevel] = dict(_WORKER_STATE.get("levels", {}))
    if isinstance(geometry, Path):
        level = _snapped_level(geometry)
        levels[level.zoom] = level
    elif geometry is not None:  # rings are handed over for a one-zoom shard
        zoom = shard.zooms[0]
        rings = geometry.read() if isinstance(geometry, HandedRings) else geometry
        levels[zoom] = zoom_level(zoom, rings, deepest=zoom == _WORKER_STATE["max_zoom"])
    for zoom in shard.zooms:
        if zoom not in levels:
            raise TilingError(f"zoom {zoom} is neither in the stored pyramid nor handed over")
    with PartWriter(
        target, map_id=_WORKER_STATE["map_id"], shard=shard, digest=_WORKER_STATE["digest"]
    ) as writer:
        writer.finish(_cut_shard(shard, levels, writer))
    return target


def build_pyramid(
    source: SourceSpec,
    zooms: range,
    target: Path,
    source_path: str | Path | None = None,
    workers: int = 1,
) -> None:
    """Generalize a source for a zoom range and store it (the geometry-only step)."""
    fields = (source.code_field, source.name_field)  # the geometry is what counts here
    table = read_countries(source, source_path, repaired=False, fields=fields)
    mercator = prepare_mercator(table.geometries)
    save_pyramid(generalize_pyramid(mercator, zooms, workers), target)


def map_digest(spec: MapSpec) -> str:
    """The digest a map's parts carry: every setting except the shard count (which changes
    no output)."""
    settings = spec.to_dict()
    settings.pop("shards", None)
    return spec_digest(settings)


def _prepare_state(loaded: LoadedMap) -> None:
    """What every tile job of this map needs, set before any worker forks."""
    countries = country_properties(loaded)
    min_zoom = loaded.table.field("MIN_ZOOM")
    _WORKER_STATE.update(
        map_id=loaded.spec.id,
        digest=map_digest(loaded.spec),
        max_zoom=loaded.spec.max_zoom,
        properties=countries,
        codes=loaded.table.codes,
        names=loaded.table.names,
        labels=label_points(loaded, countries),
        trace_from=np.array([0.0 if v is None else float(v) for v in min_zoom]),
    )


def build_part(
    loaded: LoadedMap,
    pyramid: Path,
    shard: Shard,
    target: Path,
    *,
    pass_tiles: int = PASS_TILES,
) -> list[ZoomStats]:
    """One tile job of the sharded workflow: the shard's tiles into the part file ``target``.

    The part appears only when complete. At most ``pass_tiles`` grid tiles are cut at once,
    so memory stays bounded however deep the zoom.
    """
    started = time.perf_counter()
    spec = loaded.spec
    for zoom in shard.zooms:
        if not spec.min_zoom <= zoom <= spec.max_zoom:
            raise TilingError(
                f"shard {shard.name} holds zoom {zoom}, outside map {spec.id!r}'s zooms "
                f"{spec.min_zoom}-{spec.max_zoom}"
            )
    levels = load_pyramid(pyramid, shard.zooms)  # only this shard's zooms: bounded memory
    missing = [zoom for zoom in shard.zooms if zoom not in levels]
    if missing:
        raise TilingError(
            f"{pyramid} has no zoom {missing[0]}", hint="it was generalized for other zooms"
        )
    _prepare_state(loaded)
    try:
        with PartWriter(target, map_id=spec.id, shard=shard, digest=map_digest(spec)) as writer:
            stats = _cut_shard(shard, levels, writer, pass_tiles)
            writer.finish(stats)
    finally:
        _WORKER_STATE.clear()
    log.info(
        "%s: shard %s: %d tiles, %.1f KB in %.1f s",
        spec.id,
        shard.name,
        sum(s.tiles for s in stats),
        sum(s.bytes for s in stats) / 1024,
        time.perf_counter() - started,
    )
    return stats


def _bands(level: ZoomLevel, count: int) -> list[Shard]:
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


def _local_shards(levels: Mapping[int, ZoomLevel], zooms: list[int], workers: int) -> list[Shard]:
    """Shards of an unsharded build: one per zoom, zooms from 5 on cut into bands for the
    workers, deepest (slowest) first."""
    shards: list[Shard] = []
    for zoom in sorted(zooms, reverse=True):
        shards += _bands(levels[zoom], 2 * workers if workers > 1 and zoom >= 5 else 1)
    return shards


def _write_parts(
    loaded: LoadedMap, zooms: list[int], workers: int, pyramid: Path | None, folder: Path
) -> list[Path]:
    """Cut every zoom into part files in ``folder``, on ``workers`` processes.

    With a stored pyramid, deep zooms are split into bands of rows. Without one, the main
    process thins zoom after zoom (deepest first) while the workers already snap, cut and
    encode the zooms it has handed over.
    """
    parallel = workers > 1 and "fork" in multiprocessing.get_all_start_methods()
    if pyramid is not None:
        levels = _WORKER_STATE["levels"] = load_pyramid(pyramid)
        tasks: list[PartTask] = [
            (s, None, folder / f"{s.name}.part") for s in _local_shards(levels, zooms, workers)
        ]
        if not parallel:
            return [_write_part_task(task) for task in tasks]
        with _fork_pool(workers) as pool:
            return list(pool.map(_write_part_task, tasks))
    mercator = prepare_mercator(loaded.table.geometries)
    thinned = thinned_levels(mercator, zooms, parallel=parallel)
    if not parallel:
        return [
            _write_part_task((Shard(range(zoom, zoom + 1)), rings, folder / f"z{zoom}.part"))
            for zoom, rings in thinned
        ]
    with _fork_pool(workers) as pool:
        land_area = float(shapely.area(mercator).sum())
        return _PipelinedParts(pool, workers, folder, land_area).run(thinned, min(zooms))


@contextmanager
def _fork_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """Worker processes forked from this one (they inherit ``_WORKER_STATE``). Leaving the
    block does not wait for them: they end (tearing down hundreds of MB each) while the
    parts they wrote are merged."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _snap_deep_zoom(zoom: int, rings: HandedRings, bands: int, target: Path) -> list[Shard]:
    """Worker: a deep zoom snapped and kept here, and written to ``target`` for the other
    workers (the level's data never passes through the main process); its ``bands``."""
    level = zoom_level(zoom, rings.read(), deepest=zoom == _WORKER_STATE["max_zoom"])
    target.write_bytes(pickle.dumps(level, protocol=pickle.HIGHEST_PROTOCOL))  # read only later
    _WORKER_STATE["snapped"] = {target: level}
    return _bands(level, bands)


def _snapped_level(path: Path) -> ZoomLevel:
    """A level written by :func:`_snap_deep_zoom`: this worker's own if it snapped it. A
    worker keeps one such level at a time (a deep zoom's level can take hundreds of MB)."""
    snapped: dict[Path, ZoomLevel] = _WORKER_STATE.get("snapped", {})
    if path not in snapped:
        snapped.clear()  # freed before the next one is read
        # Unpickling is safe here (S301 warns of untrusted data): a worker of ours wrote it.
        snapped = _WORKER_STATE["snapped"] = {path: pickle.loads(path.read_bytes())}  # noqa: S301
    return snapped[path]


# What the work of a zoom's job (snap, cut, encode, write) grows with, in CPU seconds on the
# reference map: each vertex of its thinned rings and each tile; and how the vertices shrink
# from one zoom to the next shallower one (Natural Earth 10m: 0.7-0.8). Only used to decide
# which zooms are split into bands.
VERTEX_WORK, TILE_WORK, VERTEX_SHRINK = 1.6e-6, 60e-6, 0.8


def _estimated_work(rings: Rings, zoom: int, land_area: float) -> tuple[float, float]:
    """CPU seconds of a zoom's job by its vertices, and by its tiles: those inside the land
    (``land_area`` over a tile's, in square metres) and those on its outlines (those that
    every 8th vertex falls in, quick to count)."""
    count = 1 << zoom
    sample = np.clip(to_grid(rings.xy[::8], zoom) // EXTENT, 0, count - 1).astype(np.int64)
    outline = len(np.unique(sample[:, 1] * count + sample[:, 0]))
    inside = land_area / (WORLD / count) ** 2
    return VERTEX_WORK * len(rings.xy), TILE_WORK * (outline + inside)


def _build_work(by_vertices: float, by_tiles: float, zooms_above: int) -> float:
    """A build's estimated work from its deepest zoom's (:func:`_estimated_work`): each of the
    ``zooms_above`` shallower zooms has ``VERTEX_SHRINK`` of the vertices and a quarter of the
    tiles of the one below it."""
    return sum(
        (by_vertices * VERTEX_SHRINK**k + by_tiles / 4.0**k for k in range(zooms_above + 1)), 0.0
    )


def _band_count(work: float, total: float, workers: int) -> int:
    """Bands for a zoom of ``work`` in a build of ``total``: one, unless its work exceeds a
    worker's share (then as many as it holds shares)."""
    return max(1, math.ceil(work / total * workers - 1e-9))


class _PipelinedParts:
    """Zooms handed to the workers as soon as they are thinned, the largest job first.

    A zoom whose estimated work (:func:`_estimated_work`) is at most a worker's share of the
    whole build is one job (snap, cut, encode). A larger one, such as the deepest zoom of a
    deep build, is snapped once, by one worker, which keeps the level and writes it to a file
    for the others; its bands of rows, sized by their work, then go to any worker. Only one
    job more than there are workers is handed over at a time (the spare one keeps a worker
    that just finished busy while the next jobs are sent), so the largest jobs run first and
    small ones fill the gaps at the end.
    """

    def __init__(
        self, pool: ProcessPoolExecutor, workers: int, folder: Path, land_area: float
    ) -> None:
        self.pool, self.workers, self.folder, self.land_area = pool, workers, folder, land_area
        self.waiting: list[tuple[tuple[int, int, int], Any]] = []  # (priority, job)
        self.running: dict[Future[Any], Path | None] = {}  # job -> its level file, if it snaps
        self.parts: list[Path] = []
        self.submitted = 0

    def run(self, thinned: Iterable[tuple[int, Rings]], shallowest: int) -> list[Path]:
        """Every zoom of ``thinned`` (deepest first, down to ``shallowest``) into part files;
        their paths."""
        total = 0.0  # the build's estimated work, from its deepest zoom
        for zoom, thinned_rings in thinned:
            by_vertices, by_tiles = _estimated_work(thinned_rings, zoom, self.land_area)
            total = total or _build_work(by_vertices, by_tiles, zoom - shallowest)
            bands = _band_count(by_vertices + by_tiles, total, self.workers)
            forked = self.submitted > 0  # the pool forks its workers at the first job
            rings = HandedRings.hand_over(thinned_rings, zoom, self.folder, forked=forked)
            if bands > 1:
                level_file = self.folder / f"z{zoom}.level"
                self._add((0, -zoom, 0), (_snap_deep_zoom, zoom, rings, bands, level_file))
            else:
                task = (Shard(range(zoom, zoom + 1)), rings, self.folder / f"z{zoom}.part")
                self._add((2, -zoom, 0), (_write_part_task, task))
            self._collect(wait(self.running, timeout=0).done)
        while self.running:
            self._collect(wait(self.running, return_when=FIRST_COMPLETED).done)
        return sorted(self.parts)

    def _add(self, priority: tuple[int, int, int], job: tuple[Any, ...]) -> None:
        heapq.heappush(self.waiting, (priority, job))
        self._hand_over()

    def _hand_over(self) -> None:
        while self.waiting and len(self.running) <= self.workers:
            _priority, (function, *arguments) = heapq.heappop(self.waiting)
            level_file = arguments[-1] if function is _snap_deep_zoom else None
            self.running[self.pool.submit(function, *arguments)] = level_file
            self.submitted += 1

    def _collect(self, done: Iterable[Future[Any]]) -> None:
        for future in done:
            level_file = self.running.pop(future)
            if level_file is not None:
                for band, shard in enumerate(future.result()):
                    task = (shard, level_file, self.folder / f"{shard.name}.part")
                    zoom = shard.zooms[0]
                    heapq.heappush(self.waiting, ((1, -zoom, band), (_write_part_task, task)))
            else:
                self.parts.append(future.result())
        self._hand_over()


def build_tiles(
    loaded: LoadedMap, out_dir: Path, *, workers: int = 1, pyramid: Path | None = None
) -> dict[str, Any]:
    """Write ``tiles/``, ``<id>.mbtiles``, ``<id>.pmtiles`` and ``tiles-report.json``.

    ``pyramid`` is the output of :func:`build_pyramid` for the same source and zooms; without
    it the geometry is generalized here. The tiles go through part files and
    :func:`merge_tiles`, exactly as in the sharded workflow.
    """
    zooms = list(range(loaded.spec.min_zoom, loaded.spec.max_zoom + 1))
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parts.", dir=out_dir) as folder:
        # The workers also write the tile files as they encode them (creating thousands of
        # files costs seconds on some disks: better spread over the workers than left to
        # the merge), so the merge only swaps that folder in (or removes it on failure).
        tile_folder = Path(tempfile.mkdtemp(prefix=".tiles.", dir=out_dir))
        try:
            _prepare_state(loaded)
            _WORKER_STATE["tile_folder"] = TileFolder(tile_folder)
            try:
                parts = _write_parts(loaded, zooms, workers, pyramid, Path(folder))
            finally:
                _WORKER_STATE.clear()
            return merge_tiles(loaded, parts, out_dir, written=tile_folder)
        finally:
            shutil.rmtree(tile_folder, ignore_errors=True)  # gone already when merged


def merge_tiles(
    loaded: LoadedMap, parts: Sequence[Path], out_dir: Path, written: Path | None = None
) -> dict[str, Any]:
    """Merge a map's part files into ``tiles/``, ``<id>.mbtiles``, ``<id>.pmtiles`` and
    ``tiles-report.json`` in ``out_dir``.

    The parts are streamed (one tile per part in memory at a time). They must carry the map's
    current settings and cover every tile row of every zoom exactly once, or nothing is
    written. Each output replaces its old version only when complete. ``written`` is a
    folder (beside ``out_dir``) that already holds exactly these tiles as files; it becomes
    ``tiles/`` instead of a new one.
    """
    spec = loaded.spec
    started = time.perf_counter()
    zooms = range(spec.min_zoom, spec.max_zoom + 1)
    with PartSet(parts, map_id=spec.id, digest=map_digest(spec), zooms=zooms) as part_set:
        stats = part_set.zoom_stats()
        for zoom_stats in stats:
            if zoom_stats.dropped:
                log.info(
                    "z%d: %d countries too small to show: %s",
                    zoom_stats.zoom,
                    len(zoom_stats.dropped),
                    ", ".join(sorted(zoom_stats.dropped)),
                )
            log.info(
                "z%d: %d tiles, %d features, %.1f KB (largest %.1f KB)",
                zoom_stats.zoom,
                zoom_stats.tiles,
                zoom_stats.features,
                zoom_stats.bytes / 1024,
                zoom_stats.largest_tile / 1024,
            )
        zoom_dicts = [s.as_dict() for s in stats]
        meta = tileset_metadata(spec, loaded.extent, extra={"tilepress_stats": zoom_dicts})
        with staged_folder(out_dir / "tiles", written) as staging:
            tiles = part_set.tiles_zxy()
            counts = write_mbtiles_stream(
                tiles if written is not None else write_tile_stream_into(staging, tiles),
                meta,
                out_dir / f"{spec.id}.mbtiles",
            )
            if counts.tiles != sum(s.tiles for s in stats):
                raise TilingError(
                    f"the parts of map {spec.id!r} hold {counts.tiles} tiles but report "
                    f"{sum(s.tiles for s in stats)}",
                    hint="a part file was changed after it was written; rebuild the parts",
                )
            write_pmtiles_stream(part_set.tiles_by_id(), meta, out_dir / f"{spec.id}.pmtiles")
    report: dict[str, Any] = {
        "map": spec.id,
        "tiles": counts.tiles,
        "unique_tiles": counts.unique_tiles,
        "bytes": counts.bytes,
        "zooms": zoom_dicts,
    }
    write_json_atomic(out_dir / "tiles-report.json", report)
    log.info(
        "%s: %d tiles (%d unique), %.2f MB from %d part(s), merged in %.1f s",
        spec.id,
        report["tiles"],
        report["unique_tiles"],
        report["bytes"] / 1e6,
        len(parts),
        time.perf_counter() - started,
    )
    return report


def build_style(loaded: LoadedMap, out_dir: Path) -> None:
    """Write ``tiles.json`` (TileJSON 3.0.0) and ``style.json`` (MapLibre style v8)."""
    meta = tileset_metadata(loaded.spec, loaded.extent)
    write_json_atomic(out_dir / "tiles.json", tilejson(loaded.spec, meta))
    write_json_atomic(out_dir / "style.json", maplibre_style(loaded.spec, meta))
