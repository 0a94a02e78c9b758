"""Archives by the spec: MBTiles read by GDAL, PMTiles headers, atomic writes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from pmtiles.reader import MmapSource, Reader

from tests.conftest import REFERENCE_ID
from tests.support.oracles import write_mbtiles, write_pmtiles
from tests.support.servers import require_tool
from tilepress.files import atomic_path
from tilepress.tiles.archives import TileFolder
from tilepress.tiles.schema import TilesetMetadata

META = TilesetMetadata(
    name="t",
    description="d",
    attribution="a",
    minzoom=0,
    maxzoom=1,
    bounds=(-180.0, -85.0511, 180.0, 85.0511),
    center=(10.0, 20.0, 1),
    vector_layers=[{"id": "countries", "fields": {"name": "String"}, "minzoom": 0, "maxzoom": 1}],
)


def test_mbtiles_stores_identical_tiles_once_with_tms_rows(tmp_path: Path) -> None:
    tiles = {(0, 0, 0): b"a", (1, 0, 0): b"b", (1, 1, 0): b"b", (1, 1, 1): b"c"}
    write_mbtiles(tiles, META, tmp_path / "t.mbtiles")
    with sqlite3.connect(tmp_path / "t.mbtiles") as connection:
        assert connection.execute("SELECT count(*) FROM images").fetchone() == (3,)
        rows = sorted(
            connection.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")
        )
        metadata = dict(connection.execute("SELECT name, value FROM metadata"))
    assert rows == [(0, 0, 0, b"a"), (1, 0, 1, b"b"), (1, 1, 0, b"c"), (1, 1, 1, b"b")]
    assert metadata["center"] == "10.000000,20.000000,1"
    assert json.loads(metadata["json"])["vector_layers"][0]["id"] == "countries"


def test_pmtiles_header_counts_and_run_lengths(tmp_path: Path) -> None:
    tiles = {(0, 0, 0): b"a", (1, 0, 0): b"b", (1, 0, 1): b"b", (1, 1, 1): b"b", (1, 1, 0): b"c"}
    write_pmtiles(tiles, META, tmp_path / "t.pmtiles")
    with (tmp_path / "t.pmtiles").open("rb") as handle:
        data = handle.read(7)
        handle.seek(0)
        reader = Reader(MmapSource(handle))
        header = reader.header()
        assert data == b"PMTiles"
        assert header["addressed_tiles_count"] == 5
        assert header["tile_contents_count"] == 3
        assert header["tile_entries_count"] < 5  # consecutive equal tiles share one entry
        assert (header["min_zoom"], header["max_zoom"], header["center_zoom"]) == (0, 1, 1)
        for (z, x, y), payload in tiles.items():
            assert reader.get(z, x, y) == payload
        assert reader.metadata()["vector_layers"] == META.vector_layers


def test_tile_folder_links_repeated_tiles(tmp_path: Path) -> None:
    folder = TileFolder(tmp_path)
    folder.write(3, 1, 2, b"solid")
    folder.write(3, 5, 7, b"coast")
    folder.write(4, 2, 9, b"solid")  # same bytes, another column and zoom
    solid, coast, again = (tmp_path / p for p in ("3/1/2.pbf", "3/5/7.pbf", "4/2/9.pbf"))
    assert [f.read_bytes() for f in (solid, coast, again)] == [b"solid", b"coast", b"solid"]
    assert again.stat().st_ino == solid.stat().st_ino and solid.stat().st_nlink == 2
    assert coast.stat().st_nlink == 1


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


@pytest.mark.e2e
def test_gdal_reads_the_mbtiles(reference_dist: Path) -> None:
    ogrinfo = require_tool("ogrinfo")  # QGIS reads MBTiles through GDAL's driver
    mbtiles = str(reference_dist / f"{REFERENCE_ID}.mbtiles")
    summary = subprocess.run(
        [ogrinfo, "-ro", "-so", mbtiles], capture_output=True, text=True, check=True
    ).stdout
    assert "using driver `MBTiles' successful" in summary
    for layer in ("1: countries", "2: boundaries", "3: overlays", "4: labels", "5: markers"):
        assert layer in summary
    fields = subprocess.run(
        [ogrinfo, "-ro", "-so", mbtiles, "countries"], capture_output=True, text=True, check=True
    ).stdout
    assert "adm0_a3: String" in fields and "color: String" in fields
    korea = subprocess.run(
        [ogrinfo, "-ro", "-q", mbtiles, "countries", "-where", "adm0_a3='PRK'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "color (String) = #f28e1c" in korea
    assert "POLYGON" in korea  # MULTIPOLYGON or POLYGON, in EPSG:3857
