"""A small but real ``dist`` folder for the server tests: two maps and folders that are not.

The "demo" map has an MBTiles file (read by the server), the same tiles in a PMTiles archive
and a tile folder, a style, a PDF and a PNG; the "atlas" map has only a tile folder and a
TileJSON. Their texts carry hostile markup, which the server must escape.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import mapbox_vector_tile
from PIL import Image
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

PUBLIC_URL = "https://maps.example.org/base"
BUILD_URL = "http://127.0.0.1:8000"

SAFE_ATTRIBUTION = (
    '<a href="https://creativecommons.org/licenses/by-sa/4.0/">CC BY-SA 4.0</a>'
    ' · Made with <a href="https://www.naturalearthdata.com/">Natural Earth</a>'
)
ATTRIBUTION = (
    SAFE_ATTRIBUTION + '<script>alert("pwned")</script><img src=x onerror="alert(1)">'
    '<a href="javascript:alert(3)" onclick="alert(4)">more</a>'
)
TITLE = "War & <b>Peace</b>"
AUTHOR = "</script><script>alert(2)</script>"
LEGEND = [
    {"label": "Ukraine", "color": "#0057b7"},
    {"label": "Supporters <i>", "color": "#ffd700"},
    {"label": "Injected", "color": "red;background:url(x)"},
]

# Stored tiles of the "demo" map: (z, x, y) -> feature name. (1, 0, 1) is empty sea.
DEMO_TILES = {(0, 0, 0): "World", (1, 0, 0): "North-west", (1, 1, 0): "North-east",
              (1, 1, 1): "South-east", (2, 1, 1): "Detail"}  # fmt: skip
ATLAS_TILES = {(1, 0, 0): "Atlas NW", (1, 1, 1): "Atlas SE"}


def _tile(name: str, size: int) -> bytes:
    """A gzip-compressed MVT tile holding one square country."""
    square = f"POLYGON ((100 100, {size} 100, {size} {size}, 100 {size}, 100 100))"
    layer = {
        "name": "countries",
        "features": [
            {
                "geometry": square,
                "properties": {"adm0_a3": "UKR", "name": name, "color": "#0057b7"},
            }
        ],
    }
    return gzip.compress(mapbox_vector_tile.encode([layer]), mtime=0)


def _tilejson(map_id: str, *, title: str, minzoom: int, maxzoom: int) -> dict[str, Any]:
    return {
        "tilejson": "3.0.0",
        "name": title,
        "description": "Countries that <em>matter</em>",
        "attribution": ATTRIBUTION,
        "tiles": [f"{BUILD_URL}/{map_id}/tiles/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": [-180, -85.0511, 180, 85.0511],
        "center": [31.0, 49.0, 1],
        "vector_layers": [
            {
                "id": "countries",
                "fields": {"adm0_a3": "String", "name": "String", "color": "String"},
                "minzoom": minzoom,
                "maxzoom": maxzoom,
            }
        ],
        "tilepress": {
            "id": map_id,
            "title": title,
            "caption": "Countries that <em>matter</em>",
            "author": AUTHOR,
            "license": {
                "id": "CC-BY-SA-4.0",
                "name": "CC BY-SA 4.0",
                "url": "https://creativecommons.org/licenses/by-sa/4.0/",
            },
            "legend": LEGEND,
            "ocean_color": "#dce8f2",
            "base_color": "#eeeeee",
        },
    }


def _style(map_id: str) -> dict[str, Any]:
    return {
        "version": 8,
        "sources": {"countries": {"type": "vector", "url": f"{BUILD_URL}/{map_id}/tiles.json"}},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#dce8f2"}},
            {
                "id": "fill",
                "type": "fill",
                "source": "countries",
                "source-layer": "countries",
                "paint": {"fill-color": ["get", "color"]},
            },
            {
                "id": "line",
                "type": "line",
                "source": "countries",
                "source-layer": "countries",
                "paint": {"line-color": "#ffffff"},
            },
        ],
    }


def _write_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], name: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, "
            "tile_row INTEGER, tile_data BLOB)"
        )
        metadata = {
            "name": name,
            "format": "pbf",
            "minzoom": "0",
            "maxzoom": "2",
            "bounds": "-180,-85.0511,180,85.0511",
            "center": "31,49,1",
            "attribution": SAFE_ATTRIBUTION,
            "json": json.dumps({"vector_layers": [{"id": "countries", "fields": {}}]}),
        }
        db.executemany("INSERT INTO metadata VALUES (?, ?)", metadata.items())
        db.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()],
        )
        db.commit()


def _write_pmtiles(path: Path, tiles: dict[tuple[int, int, int], bytes]) -> None:
    with path.open("wb") as file:
        writer = Writer(file)
        for tile_id, data in sorted((zxy_to_tileid(*key), data) for key, data in tiles.items()):
            writer.write_tile(tile_id, data)
        header = {
            "tile_type": TileType.MVT,
            "tile_compression": Compression.GZIP,
            "min_lon_e7": -1800000000,
            "min_lat_e7": -850511000,
            "max_lon_e7": 1800000000,
            "max_lat_e7": 850511000,
            "center_zoom": 1,
            "center_lon_e7": 310000000,
            "center_lat_e7": 490000000,
        }
        writer.finalize(header, {"name": "demo", "vector_layers": [{"id": "countries"}]})


def _write_tile_folder(folder: Path, tiles: dict[tuple[int, int, int], bytes]) -> None:
    for (z, x, y), data in tiles.items():
        path = folder / "tiles" / str(z) / str(x) / f"{y}.pbf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "#0057b7").save(buffer, format="PNG")
    return buffer.getvalue()


def build_dist(root: Path) -> Path:
    """A dist folder with two maps and a few folders that are not maps."""
    dist = root / "dist"
    demo = dist / "demo"
    demo.mkdir(parents=True)
    tiles = {key: _tile(name, 1000 + 500 * i) for i, (key, name) in enumerate(DEMO_TILES.items())}
    _write_mbtiles(demo / "demo.mbtiles", tiles, TITLE)
    _write_pmtiles(demo / "demo.pmtiles", tiles)
    _write_tile_folder(demo, tiles)
    (demo / "tiles.json").write_text(
        json.dumps(_tilejson("demo", title=TITLE, minzoom=0, maxzoom=2))
    )
    (demo / "style.json").write_text(json.dumps(_style("demo")))
    (demo / "demo.pdf").write_bytes(b"%PDF-1.7\n% tilepress test\n%%EOF\n")
    (demo / "demo.png").write_bytes(_png())

    # A map with only a tile folder: no MBTiles, no style, no downloads.
    atlas = dist / "atlas"
    atlas.mkdir()
    _write_tile_folder(atlas, {key: _tile(name, 3000) for key, name in ATLAS_TILES.items()})
    (atlas / "tiles.json").write_text(
        json.dumps(_tilejson("atlas", title="Atlas", minzoom=1, maxzoom=1))
    )

    (dist / "_work").mkdir()
    (dist / "_work" / "log.txt").write_text("not a map")
    bad = dist / "Bad Name"
    bad.mkdir()
    (bad / "tiles.json").write_text("{}")
    (dist / "README.txt").write_text("loose file")
    return dist


def stored_tile(dist: Path, z: int, x: int, y: int) -> bytes:
    return (dist / "demo" / "tiles" / str(z) / str(x) / f"{y}.pbf").read_bytes()
