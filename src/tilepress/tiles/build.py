"""A tile build, orchestrated: what runs where, and in which order.

The steps of the workflow (``tilepress step ...``) enter here:

- :func:`build_geometry` (``step tile-geometry``, rule ``tile_geometry``): a source's shared
  tile geometry for a zoom range (:mod:`tilepress.tiles.geometry_tiles`), thinned, cut and
  encoded in this process and its workers, into a folder of part files;
- :func:`build_pyramid` (``step generalize``, rule ``generalize``) and :func:`build_part`
  (``step tile-part``, rule ``tile_part``): the same for a deep pyramid, sharded: the
  countries thinned and snapped once and stored, then each shard's geometry cut from it;
- :func:`build_tiles` (``step tiles``, and the benchmark): a map's tiles and archives in one
  process and its workers, through the same geometry parts, assembly and archives
  (:mod:`tilepress.tiles.assemble`).

In :func:`build_geometry` the main process thins the countries zoom after zoom, deepest
first (:func:`~tilepress.tiles.pyramid.thinned_levels`), while worker processes forked from
it snap, cut and encode the zooms it has handed over (the per-tile work:
:mod:`tilepress.tiles.jobs` and :mod:`tilepress.tiles.geometry_tiles`). Geometry depends only
on the source and the zoom range: every map with the same ones shares it.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
import multiprocessing
import time
from collections.abc import Collection, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Any, NamedTuple

import shapely

from tilepress.config.model import SourceSpec
from tilepress.errors import TilingError
from tilepress.files import scratch_folder, staged_folder
from tilepress.geometry.rings import Rings
from tilepress.sources.loaded import LoadedMap
from tilepress.sources.table import CountryTable, read_countries
from tilepress.tiles.assemble import assemble_in_scratch
from tilepress.tiles.bands import band_count, build_work, estimated_work, local_shards
from tilepress.tiles.geometry_tiles import SourceContent, source_fields
from tilepress.tiles.jobs import (
    InheritedRings,
    Job,
    RingsFile,
    RingsInProcess,
    RingSource,
    SnapDeepZoom,
    SnappedBandPart,
    StoredZoomsPart,
    ThinnedZoomPart,
    TileJobContext,
    Worker,
    run_in_worker,
    start_worker,
    write_part,
)
from tilepress.tiles.pyramid import (
    generalize_pyramid,
    load_pyramid,
    prepare_mercator,
    save_pyramid,
    thinned_levels,
)
from tilepress.tiles.report import ZoomStats
from tilepress.tiles.shards import PASS_TILES, Shard

log = logging.getLogger("tilepress")


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


def _geometry_table(source: SourceSpec, source_path: str | Path | None) -> CountryTable:
    """The source's table as the shared tile geometry reads it (unrepaired: each zoom's grid
    is checked anyway; only the fields it needs)."""
    return read_countries(source, source_path, repaired=False, fields=source_fields(source))


def build_part(
    source: SourceSpec,
    zooms: range,
    pyramid: Path,
    shard: Shard,
    target: Path,
    source_path: str | Path | None = None,
    *,
    pass_tiles: int = PASS_TILES,
) -> list[ZoomStats]:
    """One geometry job of the sharded workflow: the shard's tile geometry, cut from the stored
    pyramid, into the part file ``target``.

    The part appears only when complete. At most ``pass_tiles`` grid tiles are cut at once,
    so memory stays bounded however deep the zoom.
    """
    started = time.perf_counter()
    for zoom in shard.zooms:
        if zoom not in zooms:
            raise TilingError(
                f"shard {shard.name} holds zoom {zoom}, outside the zooms "
                f"{zooms[0]}-{zooms[-1]} of source {source.name!r}"
            )
    levels = load_pyramid(pyramid, shard.zooms)  # only this shard's zooms: bounded memory
    missing = [zoom for zoom in shard.zooms if zoom not in levels]
    if missing:
        raise TilingError(
            f"{pyramid} has no zoom {missing[0]}", hint="it was generalized for other zooms"
        )
    context = TileJobContext.of(
        source, zooms, SourceContent.of(_geometry_table(source, source_path))
    )
    stats = write_part(context, shard, levels, target, pass_tiles)
    log.info(
        "%s: shard %s: %d vertices in %.1f s",
        context.owner,
        shard.name,
        sum(s.vertices for s in stats),
        time.perf_counter() - started,
    )
    return stats


def build_geometry(
    source: SourceSpec,
    zooms: range,
    out_dir: Path,
    source_path: str | Path | None = None,
    *,
    workers: int = 1,
    pyramid: Path | None = None,
) -> list[Path]:
    """A source's shared tile geometry for ``zooms``: part files in the folder ``out_dir``,
    which appears (or replaces its old version) only when complete. ``pyramid`` is the
    output of :func:`build_pyramid` for the same source and zooms; without it the geometry
    is generalized here."""
    started = time.perf_counter()
    with staged_folder(out_dir) as staging:
        parts = _write_parts(source, zooms, source_path, workers, pyramid, staging)
    log.info(
        "%s: tile geometry of zooms %d-%d in %d part(s), %.1f s",
        source.name,
        zooms[0],
        zooms[-1],
        len(parts),
        time.perf_counter() - started,
    )
    return [out_dir / part.name for part in parts]


def build_tiles(
    loaded: LoadedMap, out_dir: Path, *, workers: int = 1, pyramid: Path | None = None
) -> dict[str, Any]:
    """Write ``tiles/``, ``<id>.mbtiles``, ``<id>.pmtiles`` and ``tiles-report.json``.

    ``pyramid`` is the output of :func:`build_pyramid` for the same source and zooms; without
    it the geometry is generalized here. The tiles go through geometry parts, the assembly
    and the archives, exactly as in the workflow.
    """
    spec = loaded.spec
    zooms = range(spec.min_zoom, spec.max_zoom + 1)
    with scratch_folder(".geometry.", out_dir) as folder:
        parts = _write_parts(spec.source, zooms, None, workers, pyramid, folder, loaded.table)
        return assemble_in_scratch(loaded, parts, out_dir)


def _write_parts(
    source: SourceSpec,
    zoom_range: range,
    source_path: str | Path | None,
    workers: int,
    pyramid: Path | None,
    folder: Path,
    table: CountryTable | None = None,
) -> list[Path]:
    """Cut every zoom's geometry into part files in ``folder``, on ``workers`` processes.

    With a stored pyramid, deep zooms are split into bands of rows. Without one, the main
    process thins zoom after zoom (deepest first) while the workers already snap, cut and
    encode the zooms it has handed over (:class:`_PipelinedParts`). ``table`` is the
    source's table if read already.
    """
    zooms = list(zoom_range)
    parallel = workers > 1 and "fork" in multiprocessing.get_all_start_methods()
    if table is None:
        table = _geometry_table(source, source_path)
    content = SourceContent.of(table)
    if pyramid is not None:
        levels = load_pyramid(pyramid)
        context = TileJobContext.of(source, zoom_range, content, stored_levels=levels)
        jobs = [
            StoredZoomsPart(shard, folder / f"{shard.name}.part")
            for shard in local_shards(levels, zooms, workers)
        ]
        if not parallel:
            worker = Worker(context)
            return [worker.run(job) for job in jobs]
        with _worker_pool(workers, context) as pool:
            return list(pool.map(run_in_worker, jobs))
    context = TileJobContext.of(source, zoom_range, content)
    mercator = prepare_mercator(table.geometries)
    thinned = thinned_levels(mercator, zooms, parallel=parallel)
    if not parallel:
        worker = Worker(context)
        return [
            worker.run(ThinnedZoomPart(zoom, RingsInProcess(rings), folder / f"z{zoom}.part"))
            for zoom, rings in thinned
        ]
    # The deepest zoom's rings are thinned before the workers start: they inherit them with
    # their context. The context is fixed from then on: later zooms go through files.
    deepest, deepest_rings = next(thinned)
    context = dataclasses.replace(context, inherited_rings={deepest: deepest_rings})
    land_area = float(shapely.area(mercator).sum())
    with _worker_pool(workers, context) as pool:
        pipeline = _PipelinedParts(pool, workers, folder, land_area, inherited={deepest})
        return pipeline.run(itertools.chain([(deepest, deepest_rings)], thinned), min(zooms))


@contextmanager
def _worker_pool(workers: int, context: TileJobContext) -> Iterator[ProcessPoolExecutor]:
    """``workers`` processes forked from this one, each started with ``context`` (inherited
    through the fork, not copied; see :func:`~tilepress.tiles.jobs.start_worker`).

    After success, leaving the block does not wait for them: they end (tearing down hundreds
    of MB each) while the parts they wrote are merged. After a failure, it waits for the
    running jobs (and cancels the waiting ones) first, so no worker still writes into the
    folders the build then removes; the error that ended the block is the one raised.
    """
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=start_worker,
        initargs=(context,),
    )
    try:
        yield pool
    except BaseException:
        try:
            pool.shutdown(wait=True, cancel_futures=True)
        except Exception as cleanup:
            log.warning("tile workers did not shut down cleanly: %s", cleanup)
        raise
    pool.shutdown(wait=False, cancel_futures=True)


class JobKind(IntEnum):
    """Which of the waiting jobs goes first (lowest first)."""

    SNAP_DEEP_ZOOM = 0  # its bands wait for it
    SNAPPED_BAND = 1  # a band of a zoom snapped already
    WHOLE_ZOOM = 2  # snap, cut and encode one zoom


class JobPriority(NamedTuple):
    """The order of waiting jobs: by kind, then deeper zooms (more work) first, then by band."""

    kind: JobKind
    minus_zoom: int
    band: int


class _PipelinedParts:
    """Zooms handed to the workers as soon as they are thinned, the largest job first.

    A zoom whose estimated work (:func:`~tilepress.tiles.bands.estimated_work`) is at most a
    worker's share of the whole build is one job (:class:`ThinnedZoomPart`). A larger one,
    such as the deepest zoom of a deep build, is snapped once, by one worker
    (:class:`SnapDeepZoom`), which keeps the level and writes it to a file for the others; its
    bands of rows, sized by their work, then go to any worker (:class:`SnappedBandPart`). Only
    one job more than there are workers is handed over at a time (the spare one keeps a
    worker that just finished busy while the next jobs are sent), so the largest jobs run
    first and small ones fill the gaps at the end.
    """

    def __init__(
        self,
        pool: ProcessPoolExecutor,
        workers: int,
        folder: Path,
        land_area: float,
        *,
        inherited: Collection[int],
    ) -> None:
        self.pool, self.workers, self.folder, self.land_area = pool, workers, folder, land_area
        self.inherited = inherited  # zooms whose rings are in the workers' context
        self.waiting: list[tuple[JobPriority, int, Job[Any]]] = []  # a heap
        self.order = itertools.count()  # ties between equal priorities go by arrival
        self.running: dict[Future[Any], Job[Any]] = {}
        self.parts: list[Path] = []

    def run(self, thinned: Iterator[tuple[int, Rings]], shallowest: int) -> list[Path]:
        """Every zoom of ``thinned`` (deepest first, down to ``shallowest``; the deepest in the
        workers' context) into part files; their paths."""
        total = 0.0  # the build's estimated work, from its deepest zoom
        for zoom, rings in thinned:
            by_vertices, by_tiles = estimated_work(rings, zoom, self.land_area)
            total = total or build_work(by_vertices, by_tiles, zoom - shallowest)
            bands = band_count(by_vertices + by_tiles, total, self.workers)
            source: RingSource = (
                InheritedRings(zoom)
                if zoom in self.inherited
                else RingsFile.write(rings, self.folder / f"z{zoom}.rings")
            )
            if bands > 1:
                job: Job[Any] = SnapDeepZoom(zoom, source, bands, self.folder / f"z{zoom}.level")
                self._add(JobPriority(JobKind.SNAP_DEEP_ZOOM, -zoom, 0), job)
            else:
                job = ThinnedZoomPart(zoom, source, self.folder / f"z{zoom}.part")
                self._add(JobPriority(JobKind.WHOLE_ZOOM, -zoom, 0), job)
            self._collect(wait(self.running, timeout=0).done)
        while self.running:
            self._collect(wait(self.running, return_when=FIRST_COMPLETED).done)
        return sorted(self.parts)

    def _add(self, priority: JobPriority, job: Job[Any]) -> None:
        self._queue(priority, job)
        self._hand_over()

    def _queue(self, priority: JobPriority, job: Job[Any]) -> None:
        heapq.heappush(self.waiting, (priority, next(self.order), job))

    def _hand_over(self) -> None:
        while self.waiting and len(self.running) <= self.workers:
            _priority, _order, job = heapq.heappop(self.waiting)
            self.running[self.pool.submit(run_in_worker, job)] = job

    def _collect(self, done: set[Future[Any]]) -> None:
        for future in done:
            job = self.running.pop(future)
            if isinstance(job, SnapDeepZoom):  # its bands wait now
                for band, shard in enumerate(future.result()):
                    part = SnappedBandPart(
                        shard, job.level_file, self.folder / f"{shard.name}.part"
                    )
                    self._queue(JobPriority(JobKind.SNAPPED_BAND, -job.zoom, band), part)
            else:
                self.parts.append(future.result())
        self._hand_over()
