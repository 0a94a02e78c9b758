"""The worker side of a tile geometry build: the context a source's geometry jobs share, the
jobs (cut and encode a shard into a part file, or snap a deep zoom for the others) and the
rings they start from.

Which job runs where, and when, is decided by :mod:`tilepress.tiles.build`. A job runs in
this process (:meth:`Worker.run`) or in a worker process forked by the build's pool, which
gives each worker its :class:`TileJobContext` once, when it starts (:func:`start_worker`):
the context is inherited through the fork, never pickled, and never changes afterwards.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from tilepress.config.model import SourceSpec
from tilepress.errors import TilingError
from tilepress.geometry.rings import Rings
from tilepress.tiles.bands import row_bands
from tilepress.tiles.features import dropped_names
from tilepress.tiles.geometry_tiles import SourceContent, encode_geometry_rows
from tilepress.tiles.grid import ZoomLevel
from tilepress.tiles.parts import PartWriter
from tilepress.tiles.pyramid import zoom_level
from tilepress.tiles.report import ZoomStats
from tilepress.tiles.shards import PASS_TILES, Shard, geometry_digest, geometry_owner, passes

T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class TileJobContext:
    """What every geometry job of one source and zoom range needs besides its own task;
    fixed before any job runs."""

    owner: str  # the source and zoom range (:func:`~tilepress.tiles.shards.geometry_owner`)
    digest: str  # of the source's settings (:func:`~tilepress.tiles.shards.geometry_digest`)
    max_zoom: int
    source: SourceContent
    # The levels of a stored pyramid (``step generalize``), for jobs that cut from them.
    stored_levels: Mapping[int, ZoomLevel] = field(default_factory=dict)
    # Zooms thinned before the worker processes started: they inherit these rings.
    inherited_rings: Mapping[int, Rings] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        spec: SourceSpec,
        zooms: range,
        source: SourceContent,
        *,
        stored_levels: Mapping[int, ZoomLevel] | None = None,
        inherited_rings: Mapping[int, Rings] | None = None,
    ) -> TileJobContext:
        """The context of the geometry jobs of ``spec`` for ``zooms``."""
        return cls(
            owner=geometry_owner(spec, zooms),
            digest=geometry_digest(spec, zooms),
            max_zoom=zooms[-1],
            source=source,
            stored_levels=stored_levels or {},
            inherited_rings=inherited_rings or {},
        )


def write_part(
    context: TileJobContext,
    shard: Shard,
    levels: Mapping[int, ZoomLevel],
    target: Path,
    pass_tiles: int = PASS_TILES,
) -> list[ZoomStats]:
    """Cut and encode one shard's tile geometry from ``levels`` into the part file ``target``,
    ``pass_tiles`` grid tiles at most at once; the part appears only when complete. Returns
    each zoom's statistics (vertices, traces and dropped countries: the rest is the map's)."""
    table_rows = len(context.source.codes)
    for zoom in shard.zooms:
        if zoom not in levels:
            raise TilingError(f"zoom {zoom} is neither in the stored pyramid nor handed over")
        if len(levels[zoom].countries) != table_rows:
            raise TilingError(
                f"zoom {zoom} holds {len(levels[zoom].countries)} rows, the map's country "
                f"table {table_rows}",
                hint="the generalized pyramid was made by an older tilepress or from another "
                "source: delete it (dist/.cache/) and run again",
            )
    all_stats = []
    with PartWriter(target, owner=context.owner, shard=shard, digest=context.digest) as writer:
        for zoom, rows in shard.tasks():
            level, stats = levels[zoom], ZoomStats(zoom)
            for band in passes(zoom, rows, pass_tiles):
                for tile in encode_geometry_rows(context.source, level, band, stats):
                    writer.add(zoom, tile.x, tile.y, tile.to_bytes())
            if rows.start == 0:  # counted once per zoom, by the job with its first row
                stats.dropped = dropped_names(context.source, level)
            all_stats.append(stats)
        writer.finish(all_stats)
    return all_stats


# ---------------------------------------------------------------------------------------------
# Where a job's thinned rings come from


@dataclass(frozen=True)
class InheritedRings:
    """Rings thinned before the workers started, in their context (never copied)."""

    zoom: int

    def read(self, context: TileJobContext) -> Rings:
        """The rings."""
        return context.inherited_rings[self.zoom]


@dataclass(frozen=True)
class RingsFile:
    """Rings thinned after the workers started, written to a file in the build's part folder
    (removed with it). Sent through the pool's pipe instead, megabytes of arrays would cross
    it in pipe-sized pieces, each waiting for the GIL while the main process thins the next
    zoom (50 ms for a deep zoom, not 10)."""

    path: Path

    @classmethod
    def write(cls, rings: Rings, path: Path) -> RingsFile:
        """Write ``rings`` to ``path``."""
        path.write_bytes(pickle.dumps(rings, protocol=pickle.HIGHEST_PROTOCOL))
        return cls(path)

    def read(self, _context: TileJobContext) -> Rings:
        """The rings."""
        # Unpickling is safe here (S301 warns of untrusted data): this build wrote it.
        rings: Rings = pickle.loads(self.path.read_bytes())  # noqa: S301
        return rings


@dataclass(frozen=True)
class RingsInProcess:
    """Rings for a job run in this process (a build without worker processes)."""

    rings: Rings

    def read(self, _context: TileJobContext) -> Rings:
        """The rings."""
        return self.rings


RingSource = InheritedRings | RingsFile | RingsInProcess


# ---------------------------------------------------------------------------------------------
# The jobs


class Job(Protocol[T_co]):
    """A unit of a tile build's work, run by a :class:`Worker`."""

    def run(self, worker: Worker) -> T_co:
        """Do the work; the result goes back to the build."""
        ...


@dataclass(frozen=True)
class StoredZoomsPart:
    """A shard cut from the stored pyramid's levels into its part file."""

    shard: Shard
    target: Path

    def run(self, worker: Worker) -> Path:
        """Write the part; its path."""
        write_part(worker.context, self.shard, worker.context.stored_levels, self.target)
        return self.target


@dataclass(frozen=True)
class ThinnedZoomPart:
    """A whole zoom snapped from its thinned rings here, then cut into its part file."""

    zoom: int
    rings: RingSource
    target: Path

    def run(self, worker: Worker) -> Path:
        """Snap the zoom, write the part; its path."""
        level = worker.snap(self.zoom, self.rings)
        shard = Shard(range(self.zoom, self.zoom + 1))
        write_part(worker.context, shard, {level.zoom: level}, self.target)
        return self.target


@dataclass(frozen=True)
class SnapDeepZoom:
    """A zoom too large for one job, snapped once: the level is written to ``level_file`` for
    the workers that cut its bands (it never passes through the main process) and kept by
    this one. The result is the zoom cut into ``bands`` bands of rows of about equal work."""

    zoom: int
    rings: RingSource
    bands: int
    level_file: Path

    def run(self, worker: Worker) -> list[Shard]:
        """Snap, write and keep the level; its bands."""
        level = worker.snap(self.zoom, self.rings)
        self.level_file.write_bytes(pickle.dumps(level, protocol=pickle.HIGHEST_PROTOCOL))
        worker.keep(self.level_file, level)
        return row_bands(level, self.bands)


@dataclass(frozen=True)
class SnappedBandPart:
    """A band of rows of a zoom that :class:`SnapDeepZoom` snapped, cut into its part file."""

    shard: Shard
    level_file: Path
    target: Path

    def run(self, worker: Worker) -> Path:
        """Write the part; its path."""
        level = worker.level_from(self.level_file)
        write_part(worker.context, self.shard, {level.zoom: level}, self.target)
        return self.target


# ---------------------------------------------------------------------------------------------
# Workers


class Worker:
    """Runs tile jobs with a map's context: in this process, or in a worker process of the
    build's pool. It keeps at most one snapped deep level (one can take hundreds of MB): its
    own, or the last one a band of it was cut from."""

    def __init__(self, context: TileJobContext) -> None:
        self.context = context
        self._kept: tuple[Path, ZoomLevel] | None = None

    def run(self, job: Job[T_co]) -> T_co:
        """Run one job here."""
        return job.run(self)

    def snap(self, zoom: int, rings: RingSource) -> ZoomLevel:
        """One zoom's level snapped from its thinned rings (specks kept at the deepest zoom)."""
        return zoom_level(zoom, rings.read(self.context), deepest=zoom == self.context.max_zoom)

    def keep(self, path: Path, level: ZoomLevel) -> None:
        """Keep ``level``, written to ``path``, for the bands this worker may cut of it."""
        self._kept = (path, level)

    def level_from(self, path: Path) -> ZoomLevel:
        """The level written to ``path``: the kept one, or read (and then kept)."""
        if self._kept is None or self._kept[0] != path:
            self._kept = None  # freed before the next one is read
            # Unpickling is safe here (S301 warns of untrusted data): a worker of ours wrote it.
            self._kept = (path, pickle.loads(path.read_bytes()))  # noqa: S301
        return self._kept[1]


_this_worker: Worker | None = None  # in a worker process: set once, when it starts


def start_worker(context: TileJobContext) -> None:
    """The pool's initializer: makes this worker process run jobs with ``context``."""
    global _this_worker  # noqa: PLW0603 - one worker per process, set once when it starts
    _this_worker = Worker(context)


def run_in_worker(job: Job[T_co]) -> T_co:
    """What the pool runs: ``job`` on this worker process's :class:`Worker`."""
    if _this_worker is None:
        raise TilingError("a tile job ran in a process that was not started as a tile worker")
    return _this_worker.run(job)
