"""Writing tilesets: a z/x/y folder, MBTiles 1.3 and PMTiles v3, each atomically."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from tilepress.errors import TilingError

TileKey = tuple[int, int, int]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@dataclass(frozen=True)
class TilesetMetadata:
    """What archives and TileJSON say about a tileset."""

    name: str
    description: str
    attribution: str
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float]
    center: tuple[float, float, int]
    vector_layers: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        temporary.chmod(0o666 & ~_umask())  # mkstemp creates 0600; outputs are shared files
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write a whole file at once, never leaving a partial one."""
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)


def write_json_atomic(target: Path, value: Any) -> None:
    """Write JSON (sorted keys off, stable indentation) atomically."""
    write_bytes_atomic(target, (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode())


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A fresh hidden folder beside ``target`` that replaces it only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        staging.chmod(0o777 & ~_umask())
        if target.exists():
            shutil.rmtree(target)
        staging.replace(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def write_tiles_into(folder: Path, tiles: Mapping[TileKey, bytes]) -> None:
    """Write ``{z}/{x}/{y}.pbf`` files into ``folder`` (several writers may share it)."""
    made: set[Path] = set()
    for (z, x, y), data in sorted(tiles.items()):
        column = folder / str(z) / str(x)
        if column not in made:
            column.mkdir(parents=True, exist_ok=True)
            made.add(column)
        (column / f"{y}.pbf").write_bytes(data)


def write_tile_folder(tiles: Mapping[TileKey, bytes], target: Path) -> None:
    """Write ``{z}/{x}/{y}.pbf`` files into a fresh folder, swapped in when complete."""
    with staged_folder(target) as staging:
        write_tiles_into(staging, tiles)


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


def write_mbtiles(tiles: Mapping[TileKey, bytes], meta: TilesetMetadata, target: Path) -> None:
    """Write an MBTiles 1.3 file; identical tiles are stored once (map/images schema)."""
    with atomic_path(target) as temporary:
        temporary.unlink()
        connection = sqlite3.connect(temporary)
        try:
            connection.executescript(MBTILES_SCHEMA)
            connection.executemany(
                "INSERT INTO metadata (name, value) VALUES (?, ?)",
                sorted(mbtiles_metadata(meta).items()),
            )
            seen: set[str] = set()
            images = []
            rows = []
            for (z, x, y), data in sorted(tiles.items()):
                digest = hashlib.sha256(data).hexdigest()
                if digest not in seen:
                    seen.add(digest)
                    images.append((digest, data))
                rows.append((z, x, (1 << z) - 1 - y, digest))
            connection.executemany("INSERT INTO images (tile_id, tile_data) VALUES (?, ?)", images)
            connection.executemany(
                "INSERT INTO map (zoom_level, tile_column, tile_row, tile_id) VALUES (?, ?, ?, ?)",
                rows,
            )
            connection.commit()
        except sqlite3.Error as error:
            raise TilingError(f"cannot write {target}: {error}") from None
        finally:
            connection.close()


def _e7(value: float) -> int:
    return round(value * 10_000_000)


def write_pmtiles(tiles: Mapping[TileKey, bytes], meta: TilesetMetadata, target: Path) -> None:
    """Write a PMTiles v3 archive (Hilbert order, identical tiles shared, run-lengths)."""
    if not tiles:
        raise TilingError(f"cannot write {target}: the tileset has no tiles")
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
    ordered = sorted((zxy_to_tileid(z, x, y), data) for (z, x, y), data in tiles.items())
    with atomic_path(target) as temporary, temporary.open("wb") as handle:
        writer = Writer(handle)  # type: ignore[no-untyped-call]
        for tile_id, data in ordered:
            writer.write_tile(tile_id, data)  # type: ignore[no-untyped-call]
        writer.finalize(header, metadata)  # type: ignore[no-untyped-call]
