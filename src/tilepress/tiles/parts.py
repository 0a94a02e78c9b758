"""Part files: what one tile geometry job writes (an SQLite file, complete or absent): the
shared geometry of its shard's tiles (:class:`~tilepress.tiles.geometry_tiles.GeometryTile`),
read back by every map's assembly, checked to belong to the source and zooms it is assembled
for and to cover every row once.

A tile's geometry does not depend on the job that cut it, and the assembly reads the parts
band by band in (z, y, x) order, so tiles assembled from a sharded build are byte-identical
to those of an unsharded one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pmtiles.tile import zxy_to_tileid

from tilepress.errors import TilingError
from tilepress.files import atomic_path
from tilepress.tiles.geometry_tiles import GeometryTile
from tilepress.tiles.report import ZoomStats
from tilepress.tiles.shards import Shard, parse_shard

PART_FORMAT = "tilepress-geometry-part/1"
_PART_SCHEMA = """
CREATE TABLE tiles (tile_id INTEGER PRIMARY KEY, zoom INTEGER NOT NULL, x INTEGER NOT NULL,
                    y INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE part (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class TileTableWriter:
    """Writes an SQLite file of tiles (tile id, zoom, x, y, data) and facts about them (a
    key/value table); the file appears only when complete.

    Use as a context manager; :meth:`add` each tile, then :meth:`finish`. Leaving the block
    without :meth:`finish` (or by an exception) leaves nothing.
    """

    def __init__(self, target: Path, info: dict[str, Any], *, index: str = "zoom, y, x") -> None:
        self.target, self.info, self.index = target, info, index
        self._atomic = atomic_path(target)
        self._finished = False
        self._connection: sqlite3.Connection | None = None

    def __enter__(self) -> Self:
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

    def finish(self, facts: dict[str, Any]) -> None:
        """Record ``facts`` with the writer's info: the file is then complete."""
        connection = self._db()
        info = {**self.info, **facts}
        connection.execute(f"CREATE INDEX tiles_order ON tiles ({self.index})")
        connection.executemany(
            "INSERT INTO part (key, value) VALUES (?, ?)",
            [(key, json.dumps(value)) for key, value in sorted(info.items())],
        )
        connection.commit()
        self._finished = True

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise TilingError(f"{self.target}: written outside its `with` block")
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
            unfinished = TilingError(f"{self.target} was left unfinished")
            self._atomic.__exit__(TilingError, unfinished, None)  # removes the temporary file
            raise unfinished
        self._atomic.__exit__(kind, error, traceback)  # renames it only without an error


class PartWriter(TileTableWriter):
    """Writes one shard's tile geometry (:meth:`GeometryTile.to_bytes` per tile) into a part
    file; :meth:`finish` it with the zoom statistics."""

    def __init__(self, target: Path, *, owner: str, shard: Shard, digest: str) -> None:
        info = {"format": PART_FORMAT, "owner": owner, "shard": shard.name, "spec_sha256": digest}
        super().__init__(target, info)

    def finish(self, stats: Sequence[ZoomStats]) -> None:  # type: ignore[override]
        """Record the statistics of every zoom the shard cut; the part is then complete."""
        super().finish({"stats": [s.to_json() for s in stats]})


def read_tile_table(path: Path, what: str) -> tuple[sqlite3.Connection, dict[str, Any]]:
    """A complete tile file (of :class:`TileTableWriter`) opened read-only, with its facts;
    a missing or partial file raises TilingError naming it and ``what`` it should be."""
    if not path.is_file():
        raise TilingError(f"no such {what} {path}", hint="run the job that writes it first")
    try:
        # immutable: no locks and no journal, so files on a shared file system read safely
        connection = sqlite3.connect(f"file:{path.resolve()}?mode=ro&immutable=1", uri=True)
        info = {key: json.loads(value) for key, value in connection.execute("SELECT * FROM part")}
    except sqlite3.Error as error:
        raise TilingError(f"{path} is not a complete {what}: {error}") from None
    return connection, info


@dataclass
class Part:
    """A complete part file, opened read-only."""

    path: Path
    shard: Shard
    owner: str
    digest: str
    stats: list[ZoomStats]
    connection: sqlite3.Connection

    def geometry(self, zoom: int, rows: range) -> Iterator[GeometryTile]:
        """The part's tiles of ``rows`` of ``zoom``, in (y, x) order."""
        cursor = self.connection.execute(
            "SELECT x, y, data FROM tiles WHERE zoom = ? AND y >= ? AND y < ? ORDER BY y, x",
            (zoom, rows.start, rows.stop),
        )
        for x, y, data in cursor:
            yield GeometryTile.from_bytes(x, y, data)

    def close(self) -> None:
        """Close the file."""
        self.connection.close()


def open_part(path: Path) -> Part:
    """Open a part file; a missing, partial or foreign file raises TilingError naming it."""
    connection, info = read_tile_table(path, "tile part")
    if info.get("format") != PART_FORMAT or "stats" not in info:
        connection.close()
        raise TilingError(f"{path} is not a complete tile part ({info.get('format')!r})")
    return Part(
        path,
        parse_shard(info["shard"]),
        info["owner"],
        info["spec_sha256"],
        [ZoomStats.from_json(value) for value in info["stats"]],
        connection,
    )


class PartSet:
    """The complete set of geometry parts of a source and zoom range, checked, ready to be
    assembled into a map's tiles (a context manager)."""

    def __init__(self, paths: Iterable[Path], *, owner: str, digest: str, zooms: range):
        self.parts: list[Part] = []
        try:
            for path in paths:
                self.parts.append(open_part(Path(path)))
            self._check(owner, digest, zooms)
        except BaseException:
            self.close()
            raise
        self.parts.sort(
            key=lambda part: (part.shard.zooms[0], part.shard.rows(part.shard.zooms[0]).start)
        )
        self.zooms = zooms

    def _check(self, owner: str, digest: str, zooms: range) -> None:
        """Every part belongs to this source and zoom range, with its current settings; the
        parts cover every row of every zoom exactly once."""
        covered: dict[int, list[tuple[range, Path]]] = {zoom: [] for zoom in zooms}
        for part in self.parts:
            if part.owner != owner:
                raise TilingError(
                    f"{part.path} holds the geometry of {part.owner!r}, not {owner!r}"
                )
            if part.digest != digest:
                raise TilingError(
                    f"{part.path} was cut with other settings than {owner!r} has now",
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
                    hint="every shard must be built before the tiles are assembled",
                )

    def zoom_stats(self) -> list[ZoomStats]:
        """Each zoom's statistics, summed over its parts in band order."""
        by_zoom = {zoom: ZoomStats(zoom) for zoom in self.zooms}
        for part in self.parts:
            for stats in part.stats:
                by_zoom[stats.zoom].merge(stats)
        return [by_zoom[zoom] for zoom in self.zooms]

    def geometry(self, zoom: int, rows: range) -> dict[tuple[int, int], GeometryTile]:
        """The tiles of ``rows`` of ``zoom``, from whichever parts hold them, by (x, y)."""
        tiles: dict[tuple[int, int], GeometryTile] = {}
        for part in self.parts:
            for shard_zoom, shard_rows in part.shard.tasks():
                if (
                    shard_zoom == zoom
                    and shard_rows.start < rows.stop
                    and rows.start < shard_rows.stop
                ):
                    tiles.update(((t.x, t.y), t) for t in part.geometry(zoom, rows))
        return tiles

    def close(self) -> None:
        """Close every part."""
        for part in self.parts:
            part.close()

    def __enter__(self) -> PartSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
