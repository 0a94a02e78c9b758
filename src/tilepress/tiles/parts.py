"""Part files: what one tile job writes (an SQLite file, complete or absent) and the merge
reads back, checked to belong to the map's current settings and to cover every row once.

A tile's bytes do not depend on the job that cut it, and the merge streams the parts in
(z, x, y) and in PMTiles' tile-id order, so a sharded build's archives are byte-identical to
an unsharded one's.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from pmtiles.tile import zxy_to_tileid

from tilepress.errors import TilingError
from tilepress.files import atomic_path
from tilepress.tiles.archives import TileKey
from tilepress.tiles.report import ZoomStats
from tilepress.tiles.shards import Shard, parse_shard

PART_FORMAT = "tilepress-part/1"
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
        info = {**self.info, "stats": [s.to_json() for s in stats]}
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
        [ZoomStats.from_json(value) for value in info["stats"]],
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
