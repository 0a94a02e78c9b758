"""Writing tilesets: a z/x/y folder (identical tiles as hard links), MBTiles 1.3 and
PMTiles v3 from a stream of tiles, each atomically and byte-identical for the same tiles."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tilepress.errors import TilingError
from tilepress.files import atomic_path
from tilepress.tiles.schema import TilesetMetadata

if TYPE_CHECKING:
    import sqlite3

TileKey = tuple[int, int, int]


def write_file(path: str, data: bytes) -> None:
    """Create (or replace) a file with ``data``: plain system calls, as a tile folder has
    thousands of small files and pathlib's overhead per file shows."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    handle = os.open(path, flags, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
    finally:
        os.close(handle)


class TileFolder:
    """Writes tiles as ``{z}/{x}/{y}.pbf`` under a folder.

    A tile whose bytes this writer has written before becomes a hard link to that file: a
    deep zoom repeats the same solid-fill and coast tiles thousands of times, and on some
    disks creating a file costs twenty times more than linking one. Plain ``os`` calls on
    string paths, as a deep zoom has hundreds of thousands of files.

    With ``threads``, the files are created by that many threads while the caller goes on
    (creating a file is a system call that releases the GIL, and on a slow disk it costs
    more than encoding the tile); :meth:`close` waits for them and raises the first error.
    """

    def __init__(self, folder: Path, threads: int = 0) -> None:
        self.folder = folder
        self._first_path: dict[bytes, str] = {}  # digest of the bytes -> first file with them
        self._pool = ThreadPoolExecutor(threads) if threads else None
        self._pending: list[Future[None]] = []
        self._written: dict[str, Future[None]] = {}  # first files, while being written

    def write(self, z: int, x: int, y: int, data: bytes) -> None:
        """Write (or link) one tile; the folder must not hold it yet."""
        column = f"{self.folder}{os.sep}{z}{os.sep}{x}"
        path = f"{column}{os.sep}{y}.pbf"
        digest = hashlib.blake2b(data, digest_size=16).digest()
        first = self._first_path.get(digest)
        if first is None:
            self._first_path[digest] = path
        if self._pool is None:
            _place_tile(column, path, data, first, None)
            return
        # A link waits for its first file, submitted before it: never a deadlock, as the
        # pool takes tasks in order.
        future = self._pool.submit(
            _place_tile, column, path, data, first, self._written.get(first or "")
        )
        if first is None:
            self._written[path] = future
        self._pending.append(future)
        if len(self._pending) > 4096:  # bounded memory: wait for the older half
            for done in self._pending[:2048]:
                done.result()
            del self._pending[:2048]
            self._written = {k: f for k, f in self._written.items() if not f.done()}

    def close(self) -> None:
        """Wait for every file (with threads); the first error is raised."""
        if self._pool is None:
            return
        try:
            for future in self._pending:
                future.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pending.clear()
            self._written.clear()

    @property
    def unique_tiles(self) -> int:
        """How many distinct tiles (by content) were written."""
        return len(self._first_path)


def _place_tile(
    column: str, path: str, data: bytes, same_as: str | None, first: Future[None] | None
) -> None:
    if first is not None:
        first.result()
    try:
        _place_file(path, data, same_as)
    except FileNotFoundError:  # the first tile of its column
        Path(column).mkdir(parents=True, exist_ok=True)
        _place_file(path, data, same_as)


def _place_file(path: str, data: bytes, same_as: str | None) -> None:
    """Create ``path`` as a hard link to ``same_as`` (a file holding ``data``), else write it."""
    if same_as is not None:
        try:
            os.link(same_as, path)
            return
        except FileNotFoundError:
            raise
        except OSError:  # a file system without hard links: write a copy
            pass
    write_file(path, data)


MBTILES_SCHEMA = """
CREATE TABLE metadata (name TEXT NOT NULL, value TEXT);
CREATE UNIQUE INDEX metadata_name ON metadata (name);
CREATE TABLE map (zoom_level INTEGER NOT NULL, tile_column INTEGER NOT NULL,
                  tile_row INTEGER NOT NULL, tile_id TEXT NOT NULL);
CREATE UNIQUE INDEX map_index ON map (zoom_level, tile_column, tile_row);
CREATE TABLE images (tile_id TEXT NOT NULL, tile_data BLOB NOT NULL);
CREATE UNIQUE INDEX images_id ON images (tile_id);
CREATE VIEW tiles AS
    SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column,
           map.tile_row AS tile_row, images.tile_data AS tile_data
    FROM map JOIN images ON images.tile_id = map.tile_id;
"""


def mbtiles_metadata(meta: TilesetMetadata) -> dict[str, str]:
    """MBTiles 1.3 ``metadata`` rows."""
    west, south, east, north = meta.bounds
    lon, lat, zoom = meta.center
    rows = {
        "name": meta.name,
        "format": "pbf",
        "type": "overlay",
        "version": "1.3",
        "description": meta.description,
        "attribution": meta.attribution,
        "minzoom": str(meta.minzoom),
        "maxzoom": str(meta.maxzoom),
        "bounds": f"{west:.6f},{south:.6f},{east:.6f},{north:.6f}",
        "center": f"{lon:.6f},{lat:.6f},{zoom}",
        "json": json.dumps(
            {"vector_layers": meta.vector_layers, **meta.extra},
            ensure_ascii=False,
            separators=(",", ":"),
        ),
    }
    return rows


@dataclass
class ArchiveCounts:
    """What a tile stream held: tiles, distinct tiles (by content) and bytes."""

    tiles: int = 0
    unique_tiles: int = 0
    bytes: int = 0


MBTILES_BATCH = 2000  # rows per executemany: a steady memory use however many tiles


def write_mbtiles_stream(
    tiles: Iterable[tuple[TileKey, bytes]], meta: TilesetMetadata, target: Path
) -> ArchiveCounts:
    """Write an MBTiles 1.3 file from tiles in (z, x, y) order, holding none of them.

    Identical tiles are stored once (map/images schema); only their digests are kept. The
    same sequence of tiles always gives the same bytes, however it was produced.
    """
    import sqlite3  # here, not at the top: the print step writes through this module too

    counts = ArchiveCounts()
    with atomic_path(target) as temporary:
        temporary.unlink()
        connection = sqlite3.connect(temporary)
        try:
            # A temporary file, renamed only when complete: no journal, no flushing to disk
            # after each of the schema's statements (one fsync pair each, a millisecond apiece).
            connection.execute("PRAGMA journal_mode = OFF")
            connection.execute("PRAGMA synchronous = OFF")
            connection.executescript(MBTILES_SCHEMA)
            connection.executemany(
                "INSERT INTO metadata (name, value) VALUES (?, ?)",
                sorted(mbtiles_metadata(meta).items()),
            )
            seen: set[bytes] = set()
            images: list[tuple[str, bytes]] = []
            rows: list[tuple[int, int, int, str]] = []
            previous: TileKey | None = None
            for key, data in tiles:
                if previous is not None and key <= previous:
                    raise TilingError(
                        f"cannot write {target}: tile {key} follows {previous} (not in z/x/y "
                        "order, or twice)"
                    )
                previous = key
                digest = hashlib.sha256(data).digest()
                if digest not in seen:
                    seen.add(digest)
                    images.append((digest.hex(), data))
                z, x, y = key
                rows.append((z, x, (1 << z) - 1 - y, digest.hex()))
                counts.tiles += 1
                counts.bytes += len(data)
                if len(rows) >= MBTILES_BATCH:
                    _insert_tiles(connection, images, rows)
            _insert_tiles(connection, images, rows)
            counts.unique_tiles = len(seen)
            connection.commit()
        except sqlite3.Error as error:
            raise TilingError(f"cannot write {target}: {error}") from None
        finally:
            connection.close()
    return counts


def _insert_tiles(
    connection: sqlite3.Connection,
    images: list[tuple[str, bytes]],
    rows: list[tuple[int, int, int, str]],
) -> None:
    """Insert and forget a batch of images and map rows."""
    connection.executemany("INSERT INTO images (tile_id, tile_data) VALUES (?, ?)", images)
    connection.executemany(
        "INSERT INTO map (zoom_level, tile_column, tile_row, tile_id) VALUES (?, ?, ?, ?)", rows
    )
    images.clear()
    rows.clear()


def _e7(value: float) -> int:
    return round(value * 10_000_000)


def write_pmtiles_stream(
    tiles: Iterable[tuple[int, bytes]], meta: TilesetMetadata, target: Path
) -> int:
    """Write a PMTiles v3 archive from (tile id, data) in tile-id (Hilbert) order.

    Tile data goes to a temporary file as it comes (the writer keeps one small directory
    entry per run of tiles); identical tiles are shared. Returns the number of tiles.
    """
    from pmtiles.tile import Compression, TileType
    from pmtiles.writer import Writer

    west, south, east, north = meta.bounds
    lon, lat, zoom = meta.center
    header = {
        "tile_type": TileType.MVT,
        "tile_compression": Compression.GZIP,
        "min_zoom": meta.minzoom,
        "max_zoom": meta.maxzoom,
        "min_lon_e7": _e7(west),
        "min_lat_e7": _e7(south),
        "max_lon_e7": _e7(east),
        "max_lat_e7": _e7(north),
        "center_zoom": zoom,
        "center_lon_e7": _e7(lon),
        "center_lat_e7": _e7(lat),
    }
    metadata = {
        "name": meta.name,
        "description": meta.description,
        "attribution": meta.attribution,
        "type": "overlay",
        "format": "pbf",
        "minzoom": meta.minzoom,
        "maxzoom": meta.maxzoom,
        "vector_layers": meta.vector_layers,
        **meta.extra,
    }
    count = 0
    with atomic_path(target) as temporary, temporary.open("wb") as handle:
        writer = Writer(handle)  # type: ignore[no-untyped-call]
        previous = -1
        for tile_id, data in tiles:
            if tile_id <= previous:
                raise TilingError(
                    f"cannot write {target}: tile id {tile_id} follows {previous} (not in "
                    "Hilbert order, or twice)"
                )
            previous = tile_id
            writer.write_tile(tile_id, data)  # type: ignore[no-untyped-call]
            count += 1
        if count == 0:
            raise TilingError(f"cannot write {target}: the tileset has no tiles")
        writer.finalize(header, metadata)  # type: ignore[no-untyped-call]
    return count
