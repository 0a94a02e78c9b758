"""The tiles of a map, held in memory: read once, at start-up, from its MBTiles or tile folder.

Each tile is kept gzip-compressed, with its strong ETags and length computed once, so that
answering a request for it needs no work but a lookup; identical tiles (open sea, say) share
one record.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tilepress.errors import ServeError
from tilepress.web.httputil import etag

__all__ = ["StoredTile", "TileInterner", "TileKey", "load_tiles"]

log = logging.getLogger(__name__)

_GZIP_MAGIC: Final = b"\x1f\x8b"

TileKey = tuple[int, int, int]
"""A tile's ``(z, x, y)`` in XYZ order (row 0 at the top, unlike MBTiles' TMS rows)."""


@dataclass(frozen=True, slots=True)
class StoredTile:
    """A tile held in memory: its gzip bytes and what its responses always carry."""

    gzipped: bytes
    etag: bytes
    """Strong ETag of the gzip representation (the bytes sent), quoted."""
    identity_etag: bytes
    """Strong ETag of the decompressed representation, for clients without gzip."""
    length: bytes
    """``Content-Length`` of the gzip representation, as ASCII digits."""

    @property
    def identity(self) -> bytes:
        """The decompressed tile, for the rare client that does not accept gzip."""
        return gzip.decompress(self.gzipped)


class TileInterner:
    """Builds `StoredTile` records, sharing one record between tiles with identical bytes.

    Tiles stored uncompressed are gzip-compressed once, here, at start-up.
    """

    def __init__(self) -> None:
        self._seen: dict[bytes, StoredTile] = {}

    def __call__(self, data: bytes) -> StoredTile:
        if not data.startswith(_GZIP_MAGIC):
            data = gzip.compress(data, compresslevel=9, mtime=0)
        tile = self._seen.get(data)
        if tile is None:
            tag = etag(data).encode("ascii")
            tile = StoredTile(data, tag, tag[:-1] + b'-identity"', str(len(data)).encode())
            self._seen[data] = tile
        return tile


def _valid_tile(z: int, x: int, y: int) -> bool:
    return 0 <= z <= 30 and 0 <= x < (1 << z) and 0 <= y < (1 << z)


def _tiles_from_mbtiles(path: Path, intern: TileInterner) -> dict[TileKey, StoredTile]:
    """Every tile of an MBTiles file, opened read-only, keyed by XYZ (not TMS) coordinates."""
    tiles: dict[TileKey, StoredTile] = {}
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = connection.execute(
                "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"
            )
            for z, x, row, data in rows:
                if not (isinstance(z, int) and isinstance(x, int) and isinstance(row, int)):
                    continue
                if not isinstance(data, bytes) or not data:
                    continue
                y = (1 << z) - 1 - row if 0 <= z <= 30 else -1
                if _valid_tile(z, x, y):
                    tiles[(z, x, y)] = intern(data)
    except sqlite3.Error as exc:
        raise ServeError(
            f"cannot read the MBTiles file: {exc}",
            where=str(path),
            hint="rebuild the map with `tilepress run`",
        ) from exc
    return tiles


def _numbered(folder: Path) -> Iterator[tuple[int, Path]]:
    for child in folder.iterdir():
        if child.is_dir() and child.name.isascii() and child.name.isdigit():
            yield int(child.name), child


def _tiles_from_folder(folder: Path, intern: TileInterner) -> dict[TileKey, StoredTile]:
    """Every tile of a ``{z}/{x}/{y}.pbf`` folder."""
    tiles: dict[TileKey, StoredTile] = {}
    if not folder.is_dir():
        return tiles
    try:
        for z, z_dir in _numbered(folder):
            for x, x_dir in _numbered(z_dir):
                for file in x_dir.iterdir():
                    stem, suffix = file.stem, file.suffix
                    if suffix not in (".pbf", ".mvt") or not (stem.isascii() and stem.isdigit()):
                        continue
                    y = int(stem)
                    data = file.read_bytes()
                    if data and _valid_tile(z, x, y):
                        tiles[(z, x, y)] = intern(data)
    except OSError as exc:
        raise ServeError(
            f"cannot read the tile folder: {exc}",
            where=str(folder),
            hint="rebuild the map with `tilepress run`",
        ) from exc
    return tiles


def load_tiles(folder: Path, map_id: str) -> dict[TileKey, StoredTile]:
    """The tiles of the map in ``folder``: from its MBTiles when there is one, else from its
    ``tiles/`` folder. Raises `ServeError` when they cannot be read."""
    intern = TileInterner()
    mbtiles = folder / f"{map_id}.mbtiles"
    if mbtiles.is_file():
        tiles = _tiles_from_mbtiles(mbtiles, intern)
    else:
        tiles = _tiles_from_folder(folder / "tiles", intern)
    if not tiles:
        log.warning("map %s has no tiles: every tile request will get 204", map_id)
    return tiles
