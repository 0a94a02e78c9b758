"""A map's tiles assembled from its source's shared tile geometry, and its archives.

- :func:`assemble_map` (``step assemble-tiles``, rule ``tiles``): the geometry parts of the
  map's source and zoom range, band by band, with the map's properties and its own layers
  (:func:`~tilepress.tiles.features.assemble_rows`), into ``tiles/`` (z/x/y),
  ``tiles-report.json`` and the map's tile store: every tile once, for the archives. It reads
  none of the map's text: a new title leaves it alone.
- :func:`write_archives` (``step archives``, rule ``archives``): ``<id>.mbtiles`` and
  ``<id>.pmtiles`` from the tile store, with the map's metadata (title, caption,
  attribution): a new title rewrites only these, with the same tiles.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tilepress.config.model import MapSpec
from tilepress.errors import TilingError
from tilepress.files import scratch_folder, staged_folder, write_json_atomic
from tilepress.geometry.projection import Extent
from tilepress.sources.loaded import LoadedMap
from tilepress.tiles.archives import TileFolder, write_mbtiles_stream, write_pmtiles_stream
from tilepress.tiles.content import MapContent
from tilepress.tiles.features import assemble_rows
from tilepress.tiles.parts import PartSet, TileTableWriter, read_tile_table
from tilepress.tiles.report import log_zoom_stats
from tilepress.tiles.schema import tileset_metadata
from tilepress.tiles.shards import PASS_TILES, geometry_digest, geometry_owner, passes

log = logging.getLogger("tilepress")

STORE_FORMAT = "tilepress-tile-store/1"
FOLDER_THREADS = 4  # threads creating the z/x/y files while the tiles are assembled


def geometry_part_paths(paths: Sequence[Path]) -> list[Path]:
    """The part files among ``paths``: files as they are, folders (of a whole-pyramid
    geometry job) by their ``*.part`` files."""
    found: list[Path] = []
    for path in paths:
        found += sorted(Path(path).glob("*.part")) if Path(path).is_dir() else [Path(path)]
    return found


def assemble_map(
    loaded: LoadedMap,
    geometry: Sequence[Path],
    out_dir: Path,
    store: Path,
    *,
    pass_tiles: int = PASS_TILES,
) -> dict[str, Any]:
    """Assemble a map's tiles from the geometry parts (or folders of them) of its source and
    zoom range: ``tiles/`` and ``tiles-report.json`` in ``out_dir``, and the tile ``store``
    :func:`write_archives` reads. Each replaces its old version only when complete."""
    spec = loaded.spec
    started = time.perf_counter()
    zooms = range(spec.min_zoom, spec.max_zoom + 1)
    content = MapContent.of(loaded)
    owner, digest = geometry_owner(spec.source, zooms), geometry_digest(spec.source, zooms)
    parts = geometry_part_paths(geometry)
    with (
        PartSet(parts, owner=owner, digest=digest, zooms=zooms) as part_set,
        staged_folder(out_dir / "tiles") as staging,
        _TileStore.writing(store, spec.id) as tile_store,
    ):
        folder = TileFolder(staging, threads=FOLDER_THREADS)
        stats = part_set.zoom_stats()
        try:
            for zoom_stats in stats:
                zoom = zoom_stats.zoom
                for band in passes(zoom, range(1 << zoom), pass_tiles):
                    shared = part_set.geometry(zoom, band)
                    for x, y, data in assemble_rows(content, zoom, band, shared, zoom_stats):
                        folder.write(zoom, x, y, data)
                        tile_store.add(zoom, x, y, data)
        finally:
            folder.close()
        log_zoom_stats(stats)
        report: dict[str, Any] = {
            "map": spec.id,
            "tiles": sum(s.tiles for s in stats),
            "unique_tiles": folder.unique_tiles,
            "bytes": sum(s.bytes for s in stats),
            "zooms": [s.as_dict() for s in stats],
        }
        tile_store.finish({"report": report})
    write_json_atomic(out_dir / "tiles-report.json", report)
    log.info(
        "%s: %d tiles (%d unique), %.2f MB assembled from %d geometry part(s) in %.1f s",
        spec.id,
        report["tiles"],
        report["unique_tiles"],
        report["bytes"] / 1e6,
        len(parts),
        time.perf_counter() - started,
    )
    return report


def write_archives(spec: MapSpec, extent: Extent, store: Path, out_dir: Path) -> None:
    """``<id>.mbtiles`` and ``<id>.pmtiles`` in ``out_dir`` from the map's tile store, with
    the map's metadata; each replaces its old version only when complete."""
    started = time.perf_counter()
    with _TileStore(store, spec.id) as tile_store:
        zoom_dicts = tile_store.report["zooms"]
        meta = tileset_metadata(spec, extent, extra={"tilepress_stats": zoom_dicts})
        counts = write_mbtiles_stream(tile_store.tiles_zxy(), meta, out_dir / f"{spec.id}.mbtiles")
        if counts.tiles != tile_store.report["tiles"]:
            raise TilingError(
                f"{store} holds {counts.tiles} tiles but reports {tile_store.report['tiles']}",
                hint="it was changed after it was written: rerun the workflow",
            )
        write_pmtiles_stream(tile_store.tiles_by_id(), meta, out_dir / f"{spec.id}.pmtiles")
    log.info(
        "%s: MBTiles and PMTiles of %d tiles in %.1f s",
        spec.id,
        counts.tiles,
        time.perf_counter() - started,
    )


class _TileStore:
    """A map's assembled tiles, each once, with its tile report (a tile file of
    :class:`~tilepress.tiles.parts.TileTableWriter`), read by :func:`write_archives` in
    (z, x, y) and tile-id order."""

    def __init__(self, path: Path, map_id: str) -> None:
        self.path, self.map_id = path, map_id
        self.connection: sqlite3.Connection | None = None
        self.report: dict[str, Any] = {}

    @staticmethod
    def writing(target: Path, map_id: str) -> TileTableWriter:
        """A writer of the store of ``map_id``; finish it with ``{"report": ...}``."""
        return TileTableWriter(target, {"format": STORE_FORMAT, "map": map_id}, index="zoom, x, y")

    def __enter__(self) -> _TileStore:
        self.connection, info = read_tile_table(self.path, "tile store")
        if info.get("format") != STORE_FORMAT or info.get("map") != self.map_id:
            self.connection.close()
            raise TilingError(
                f"{self.path} is not the tile store of map {self.map_id!r}",
                hint="rerun the workflow",
            )
        self.report = info["report"]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.connection is not None:
            self.connection.close()

    def tiles_zxy(self) -> Iterator[tuple[tuple[int, int, int], bytes]]:
        """Every tile in (z, x, y) order."""
        cursor = self._db().execute("SELECT zoom, x, y, data FROM tiles ORDER BY zoom, x, y")
        for zoom, x, y, data in cursor:
            yield (zoom, x, y), data

    def tiles_by_id(self) -> Iterator[tuple[int, bytes]]:
        """Every tile in PMTiles tile-id (Hilbert) order."""
        yield from self._db().execute("SELECT tile_id, data FROM tiles ORDER BY tile_id")

    def _db(self) -> sqlite3.Connection:
        if self.connection is None:
            raise TilingError(f"{self.path}: read outside its `with` block")
        return self.connection


def assemble_in_scratch(
    loaded: LoadedMap, geometry: Sequence[Path], out_dir: Path
) -> dict[str, Any]:
    """Assemble a map's tiles and write its archives in one go, the tile store in a scratch
    folder (``step tiles``)."""
    from tilepress.tiles.schema import map_extent

    with scratch_folder(".store.", out_dir) as scratch:
        store = scratch / "tiles.store"
        report = assemble_map(loaded, geometry, out_dir, store)
        write_archives(loaded.spec, map_extent(loaded), store, out_dir)
    return report
