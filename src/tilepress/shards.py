"""Sharded tiling: a map's pyramid cut into jobs, the part file each job writes, the merge.

A *shard* is one job's share of a map's tiles: the low zooms together (few tiles each), or a
band of tile rows of one deeper zoom. Each shard job writes a *part* (an SQLite file, written
under a temporary name and renamed only when complete). The merge streams the parts, in
(z, x, y) order and in PMTiles' tile-id order, into the z/x/y folder, the MBTiles and the
PMTiles archive. A tile's bytes do not depend on the band it was cut in, and the archive
writers see the same tile sequence however the pyramid was cut: the merged files are
byte-identical to an unsharded build.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pmtiles.tile import zxy_to_tileid

from tilepress.archives import TileKey, atomic_path
from tilepress.errors import TilingError

if TYPE_CHECKING:  # the workflow imports this module while it parses: keep that light
    from tilepress.tiling import ZoomStats

LOW_ZOOM = 5  # zooms up to this one (at most 1024 tiles each) are cut together in one job
AUTO_FROM_ZOOM = 6  # auto: zoom z > 6 is cut into 2^(z - 6) bands of rows (one job each)
MAX_SHARDS = 4096  # bands per zoom, whatever the configuration asks
PASS_TILES = 4096  # a job cuts at most this many grid tiles at once (bounded memory)
PART_FORMAT = "tilepress-part/1"

_NAME = re.compile(r"z(\d+)(?:-(\d+))?(?:_(\d+)of(\d+)|_rows(\d+)-(\d+))?")
SHARD_PATTERN = _NAME.pattern  # for the workflow's wildcard constraint


@dataclass(frozen=True)
class Shard:
    """One tile job: whole zooms (``bands == 1``), band ``band`` of ``bands`` of one zoom, or
    the tile rows ``row_range`` of one zoom (a local build sizes its bands by their work)."""

    zooms: range
    band: int = 0
    bands: int = 1
    row_range: range | None = None

    def __post_init__(self) -> None:
        if not self.zooms or self.zooms.step != 1:
            raise TilingError(f"a shard needs a zoom range, got {self.zooms!r}")
        if (self.bands > 1 or self.row_range is not None) and len(self.zooms) != 1:
            raise TilingError("only a single zoom can be cut into bands")
        if not 0 <= self.band < self.bands <= (1 << self.zooms[0]):
            raise TilingError(
                f"band {self.band} of {self.bands} is not possible at zoom {self.zooms[0]}"
            )
        rows = self.row_range
        if rows is not None and (
            self.bands > 1
            or rows.step != 1
            or not 0 <= rows.start < rows.stop <= 1 << self.zooms[0]
        ):
            raise TilingError(f"tile rows {rows!r} are not a band of zoom {self.zooms[0]}")

    @property
    def name(self) -> str:
        """``z0-5`` (zooms 0 to 5), ``z6`` (all of zoom 6), ``z8_3of16`` (a band of zoom 8),
        ``z6_rows0-24`` (tile rows 0 to 24 of zoom 6)."""
        first, last = self.zooms[0], self.zooms[-1]
        text = f"z{first}" if first == last else f"z{first}-{last}"
        if self.row_range is not None:
            return f"{text}_rows{self.row_range.start}-{self.row_range.stop - 1}"
        return f"{text}_{self.band}of{self.bands}" if self.bands > 1 else text

    def rows(self, zoom: int) -> range:
        """The tile rows of ``zoom`` this shard cuts."""
        if self.row_range is not None:
            return self.row_range
        count = 1 << zoom
        return range(self.band * count // self.bands, (self.band + 1) * count // self.bands)

    def tasks(self) -> list[tuple[int, range]]:
        """(zoom, tile rows) this shard cuts, deepest zoom first."""
        return [(zoom, self.rows(zoom)) for zoom in reversed(self.zooms)]


def parse_shard(name: str) -> Shard:
    """The shard a name (from :attr:`Shard.name`) stands for."""
    match = _NAME.fullmatch(name)
    if match is None:
        raise TilingError(
            f"{name!r} is not a shard name",
            hint="shard names look like z0-5, z6, z8_3of16 or z6_rows0-24",
        )
    first, last, band, bands, first_row, last_row = match.groups()
    zooms = range(int(first), int(last if last is not None else first) + 1)
    if first_row is not None:
        return Shard(zooms, row_range=range(int(first_row), int(last_row) + 1))
    if band is None:
        return Shard(zooms)
    return Shard(zooms, int(band), int(bands))


def auto_bands(zoom: int) -> int:
    """Bands a zoom deeper than :data:`LOW_ZOOM` is cut into when the count is ``auto``:
    one up to zoom 6, then twice as many per zoom (each band then holds twice the tiles of
    the one a zoom above: jobs grow slowly, their number stays small)."""
    return 1 << max(0, zoom - AUTO_FROM_ZOOM)


def plan_shards(min_zoom: int, max_zoom: int, bands: int | None = None) -> list[Shard]:
    """The tile jobs of a zoom range: zooms up to :data:`LOW_ZOOM` in one job, each deeper
    zoom cut into ``bands`` bands of tile rows (``None``: :func:`auto_bands`)."""
    if not 0 <= min_zoom <= max_zoom:
        raise TilingError(f"bad zoom range {min_zoom}-{max_zoom}")
    if bands is not None and bands < 1:
        raise TilingError(f"the shard count must be at least 1, got {bands}")
    shards: list[Shard] = []
    low = range(min_zoom, min(max_zoom, LOW_ZOOM) + 1)
    if low:
        shards.append(Shard(low))
    for zoom in range(max(min_zoom, LOW_ZOOM + 1), max_zoom + 1):
        count = min(auto_bands(zoom) if bands is None else bands, 1 << zoom, MAX_SHARDS)
        shards += [Shard(range(zoom, zoom + 1), band, count) for band in range(count)]
    return shards


def passes(zoom: int, rows: range, pass_tiles: int = PASS_TILES) -> list[range]:
    """``rows`` of ``zoom`` in groups of at most ``pass_tiles`` tiles (one row at least):
    what a job cuts at once, so its memory does not grow with the zoom."""
    step = max(1, pass_tiles >> zoom)
    return [
        range(start, min(start + step, rows.stop)) for start in range(rows.start, rows.stop, step)
    ]


def spec_digest(spec: dict[str, Any]) -> str:
    """SHA-256 of a map's settings (canonical JSON): ties a part to the settings it encodes."""
    text = json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Part files

_PART_SCHEMA = """
CREATE TABLE tiles (tile_id INTEGER PRIMARY KEY, zoom INTEGER NOT NULL, x INTEGER NOT NULL,
                    y INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE part (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class PartWriter:
    """Writes one shard's tiles into a part file; the file appears only when complete.

    Use as a context manager; :meth:`add` each tile, then :meth:`finish` with the zoom
    statistics. Leaving the block without :meth:`finish` (or by an exception) leaves nothing.
    """

    def __init__(self, target: Path, *, map_id: str, shard: Shard, digest: str) -> None:
        self.target = target
        self.info = {
            "format": PART_FORMAT,
            "map": map_id,
            "shard": shard.name,
            "spec_sha256": digest,
        }
        self._atomic = atomic_path(target)
        self._finished = False
        self._connection: sqlite3.Connection | None = None

    def __enter__(self) -> PartWriter:
        temporary = self._atomic.__enter__()
        temporary.unlink()
        connection = sqlite3.connect(temporary)
        connection.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        connection.executescript(_PART_SCHEMA)
        self._connection = connection
        return self

    def add(self, zoom: int, x: int, y: int, data: bytes) -> None:
        """Store one tile."""
        self._db().execute(
            "INSERT INTO tiles (tile_id, zoom, x, y, data) VALUES (?, ?, ?, ?, ?)",
            (zxy_to_tileid(zoom, x, y), zoom, x, y, data),
        )

    def finish(self, stats: Sequence[ZoomStats]) -> None:
        """Record the statistics of every zoom the shard cut; the part is then complete."""
        connection = self._db()
        info = {**self.info, "stats": [_stats_to_json(s) for s in stats]}
        connection.execute("CREATE INDEX tiles_zxy ON tiles (zoom, x, y)")
        connection.executemany(
            "INSERT INTO part (key, value) VALUES (?, ?)",
            [(key, json.dumps(value)) for key, value in sorted(info.items())],
        )
        connection.commit()
        self._finished = True

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise TilingError(f"part {self.target}: PartWriter used outside its `with` block")
        return self._connection

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if kind is None and not self._finished:
            unfinished = TilingError(f"part {self.target} was left unfinished")
            self._atomic.__exit__(TilingError, unfinished, None)  # removes the temporary file
            raise unfinished
        self._atomic.__exit__(kind, error, traceback)  # renames it only without an error


def _stats_to_json(stats: ZoomStats) -> dict[str, Any]:
    """Every field of a ZoomStats, lists unsorted (the merge keeps their order)."""
    return {
        "zoom": stats.zoom,
        "tiles": stats.tiles,
        "features": stats.features,
        "bytes": stats.bytes,
        "largest_tile": stats.largest_tile,
        "vertices": stats.vertices,
        "traces": stats.traces,
        "dropped": stats.dropped,
        "over_budget": stats.over_budget,
    }


def _stats_from_json(value: dict[str, Any]) -> ZoomStats:
    from tilepress.tiling import ZoomStats

    return ZoomStats(**value)


@dataclass
class Part:
    """A complete part file, opened read-only."""

    path: Path
    shard: Shard
    map_id: str
    digest: str
    stats: list[ZoomStats]
    connection: sqlite3.Connection

    def tiles_zxy(self) -> Iterator[tuple[TileKey, bytes]]:
        """The part's tiles in (z, x, y) order."""
        cursor = self.connection.execute("SELECT zoom, x, y, data FROM tiles ORDER BY zoom, x, y")
        for zoom, x, y, data in cursor:
            yield (zoom, x, y), data

    def tiles_by_id(self) -> Iterator[tuple[int, bytes]]:
        """The part's tiles in PMTiles tile-id (Hilbert) order."""
        yield from self.connection.execute("SELECT tile_id, data FROM tiles ORDER BY tile_id")

    def close(self) -> None:
        """Close the file."""
        self.connection.close()


def open_part(path: Path) -> Part:
    """Open a part file; a missing, partial or foreign file raises TilingError naming it."""
    if not path.is_file():
        raise TilingError(f"no such part file {path}", hint="run the shard's tile job first")
    try:
        # immutable: no locks and no journal, so parts on a shared file system read safely
        connection = sqlite3.connect(f"file:{path.resolve()}?mode=ro&immutable=1", uri=True)
        info = {key: json.loads(value) for key, value in connection.execute("SELECT * FROM part")}
    except sqlite3.Error as error:
        raise TilingError(f"{path} is not a complete tile part: {error}") from None
    if info.get("format") != PART_FORMAT or "stats" not in info:
        connection.close()
        raise TilingError(f"{path} is not a complete tile part ({info.get('format')!r})")
    return Part(
        path,
        parse_shard(info["shard"]),
        info["map"],
        info["spec_sha256"],
        [_stats_from_json(value) for value in info["stats"]],
        connection,
    )


class PartSet:
    """A map's complete set of parts, checked, ready to be merged (a context manager)."""

    def __init__(self, paths: Iterable[Path], *, map_id: str, digest: str, zooms: range):
        self.parts: list[Part] = []
        try:
            for path in paths:
                self.parts.append(open_part(Path(path)))
            self._check(map_id, digest, zooms)
        except BaseException:
            self.close()
            raise
        self.parts.sort(
            key=lambda part: (part.shard.zooms[0], part.shard.rows(part.shard.zooms[0]).start)
        )
        self.zooms = zooms

    def _check(self, map_id: str, digest: str, zooms: range) -> None:
        """Every part belongs to this map and these settings; the parts cover every row of
        every zoom exactly once."""
        covered: dict[int, list[tuple[range, Path]]] = {zoom: [] for zoom in zooms}
        for part in self.parts:
            if part.map_id != map_id:
                raise TilingError(f"{part.path} holds tiles of map {part.map_id!r}, not {map_id!r}")
            if part.digest != digest:
                raise TilingError(
                    f"{part.path} was cut with other settings than map {map_id!r} has now",
                    hint="rerun the workflow: Snakemake redoes parts whose settings changed",
                )
            for zoom, rows in part.shard.tasks():
                if zoom not in covered:
                    raise TilingError(
                        f"{part.path} holds zoom {zoom}, outside {zooms[0]}-{zooms[-1]}"
                    )
                covered[zoom].append((rows, part.path))
        for zoom, bands in covered.items():
            bands.sort(key=lambda band: band[0].start)
            expected = 0
            for rows, path in bands:
                if rows.start != expected:
                    what = "overlaps another part" if rows.start < expected else "leaves a gap"
                    raise TilingError(f"zoom {zoom}: {path} {what} at tile row {expected}")
                expected = rows.stop
            if expected != 1 << zoom:
                raise TilingError(
                    f"zoom {zoom}: tile rows {expected} to {(1 << zoom) - 1} are in no part",
                    hint="every shard of the map must be built before the merge",
                )

    def zoom_stats(self) -> list[ZoomStats]:
        """Each zoom's statistics, summed over its parts in band order."""
        from tilepress.tiling import ZoomStats

        by_zoom = {zoom: ZoomStats(zoom) for zoom in self.zooms}
        for part in self.parts:
            for stats in part.stats:
                by_zoom[stats.zoom].merge(stats)
        return [by_zoom[zoom] for zoom in self.zooms]

    def tiles_zxy(self) -> Iterator[tuple[TileKey, bytes]]:
        """Every tile of every part in (z, x, y) order, streamed (k-way merge)."""
        return heapq.merge(*(part.tiles_zxy() for part in self.parts))

    def tiles_by_id(self) -> Iterator[tuple[int, bytes]]:
        """Every tile of every part in tile-id order, streamed (k-way merge)."""
        return heapq.merge(*(part.tiles_by_id() for part in self.parts))

    def close(self) -> None:
        """Close every part."""
        for part in self.parts:
            part.close()

    def __enter__(self) -> PartSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
