"""Tests of the tile server, on a small but real dist folder built here."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import http.client
import importlib.util
import io
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin

import mapbox_vector_tile
import pytest
from PIL import Image
from pmtiles.reader import Reader
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from starlette.applications import Starlette

with warnings.catch_warnings():  # Starlette 1.x deprecates httpx in favour of httpx2
    warnings.filterwarnings("ignore", message=".*httpx.*")
    from starlette.testclient import TestClient

from tests.conftest import REPO
from tests.support.commands import tilepress_command
from tests.support.mvt import decode
from tests.support.servers import require_tool, running_nginx, running_tilepress
from tilepress.errors import ServeError
from tilepress.web.limits import MAX_HEADER_BYTES, MAX_URL_LENGTH
from tilepress.web.pages import clean_attribution
from tilepress.web.server import app_from_env, create_app

PUBLIC_URL = "https://maps.example.org/base"
BUILD_URL = "http://127.0.0.1:8000"
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}

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


# --------------------------------------------------------------------------- fixture dist


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


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dist(tmp_path_factory.mktemp("server"))


@pytest.fixture(scope="module")
def app(dist: Path) -> Starlette:
    return create_app(dist, public_url=PUBLIC_URL + "/")


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _raw_body(client: TestClient, url: str, headers: dict[str, str]) -> tuple[Any, bytes]:
    """Response headers and the body exactly as sent, before any content decoding."""
    with client.stream("GET", url, headers=headers) as response:
        return response, b"".join(response.iter_raw())


def _stored(dist: Path, z: int, x: int, y: int) -> bytes:
    return (dist / "demo" / "tiles" / str(z) / str(x) / f"{y}.pbf").read_bytes()


def _asgi_get(app: Starlette, raw_path: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send one GET with an exact, un-normalised request target, as uvicorn would."""
    messages: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"accept-encoding", b"identity")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], headers, body


# --------------------------------------------------------------------------- start-up


def test_start_up_skips_folders_that_are_not_maps(app: Starlette) -> None:
    assert app.state.maps == ("atlas", "demo")
    assert app.state.public_url == PUBLIC_URL


def test_empty_folder_raises_serve_error(tmp_path: Path) -> None:
    (tmp_path / "_work").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "run.log").write_text("")
    with pytest.raises(ServeError) as caught:
        create_app(tmp_path, public_url=PUBLIC_URL)
    message = str(caught.value)
    assert "holds no map" in message
    assert "tilepress run" in message
    assert caught.value.where == str(tmp_path)


def test_missing_folder_and_bad_public_url_raise_serve_error(tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="does not exist"):
        create_app(tmp_path / "nope", public_url=PUBLIC_URL)
    with pytest.raises(ServeError, match="public URL"):
        create_app(tmp_path, public_url="ftp://example.org")


def test_broken_tilejson_raises_serve_error(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "tiles.json").write_text("{not json")
    with pytest.raises(ServeError) as caught:
        create_app(tmp_path, public_url=PUBLIC_URL)
    assert caught.value.where == str(tmp_path / "demo" / "tiles.json")


def test_mbtiles_is_opened_read_only(dist: Path) -> None:
    mbtiles = dist / "demo" / "demo.mbtiles"
    before = hashlib.sha256(mbtiles.read_bytes()).hexdigest()
    create_app(dist, public_url=PUBLIC_URL)
    assert hashlib.sha256(mbtiles.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in (dist / "demo").glob("demo.mbtiles*")) == ["demo.mbtiles"]


def test_requests_never_touch_the_disk(tmp_path: Path) -> None:
    dist = build_dist(tmp_path)
    pdf = (dist / "demo" / "demo.pdf").read_bytes()
    tile = _stored(dist, 1, 1, 0)
    app = create_app(dist, public_url=PUBLIC_URL)
    shutil.rmtree(dist)
    with TestClient(app) as client:
        response, body = _raw_body(client, "/demo/tiles/1/1/0.pbf", GZIP)
        assert response.status_code == 200
        assert body == tile
        assert client.get("/demo/demo.pdf").content == pdf
        assert client.get("/demo/").status_code == 200
        assert client.get("/atlas/tiles/1/0/0.pbf").status_code == 200


def test_app_from_env(dist: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILEPRESS_DIST", str(dist))
    monkeypatch.setenv("TILEPRESS_PUBLIC_URL", "https://env.example")
    monkeypatch.setenv("TILEPRESS_CORS", "https://a.example, https://b.example")
    with TestClient(app_from_env()) as client:
        tilejson = client.get("/demo/tiles.json").json()
        assert tilejson["tiles"] == ["https://env.example/demo/tiles/{z}/{x}/{y}.pbf"]
        allowed = client.get("/health", headers={"Origin": "https://b.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://b.example"
        other = client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    monkeypatch.delenv("TILEPRESS_DIST")
    with pytest.raises(ServeError, match="TILEPRESS_DIST"):
        app_from_env()


# --------------------------------------------------------------------------- catalog


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "maps": 2}


def test_catalog_json_lists_the_maps(client: TestClient) -> None:
    response = client.get("/catalog.json")
    assert response.status_code == 200
    catalog = response.json()
    assert catalog["public_url"] == PUBLIC_URL
    maps = {entry["id"]: entry for entry in catalog["maps"]}
    assert sorted(maps) == ["atlas", "demo"]
    demo = maps["demo"]
    assert demo["title"] == TITLE
    assert demo["caption"] == "Countries that <em>matter</em>"
    assert demo["minzoom"] == 0
    assert demo["maxzoom"] == 2
    assert demo["tile_count"] == len(DEMO_TILES)
    assert demo["license"]["id"] == "CC-BY-SA-4.0"
    assert demo["links"] == {
        "viewer": f"{PUBLIC_URL}/demo/",
        "tilejson": f"{PUBLIC_URL}/demo/tiles.json",
        "style": f"{PUBLIC_URL}/demo/style.json",
        "pdf": f"{PUBLIC_URL}/demo/demo.pdf",
        "png": f"{PUBLIC_URL}/demo/demo.png",
        "pmtiles": f"{PUBLIC_URL}/demo/demo.pmtiles",
        "mbtiles": f"{PUBLIC_URL}/demo/demo.mbtiles",
        "tiles": f"{PUBLIC_URL}/demo/tiles/{{z}}/{{x}}/{{y}}.pbf",
    }
    assert set(maps["atlas"]["links"]) == {"viewer", "tilejson", "style", "tiles"}


def test_catalog_page(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "2 maps" in page
    assert "War &amp; &lt;b&gt;Peace&lt;/b&gt;" in page
    assert "<b>Peace" not in page
    hrefs = ["demo/", "demo/demo.pdf", "demo/demo.png", "demo/tiles.json", "demo/style.json",
             "demo/demo.mbtiles", "demo/demo.pmtiles", "atlas/"]  # fmt: skip
    for href in hrefs:
        assert f'href="{href}"' in page
    assert 'href="atlas/atlas.pdf"' not in page
    assert "<script>" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(2)" in page


# --------------------------------------------------------------------------- tiles


def test_tile_is_sent_gzip_with_cache_headers(client: TestClient, dist: Path) -> None:
    response, body = _raw_body(client, "/demo/tiles/1/1/0.pbf", GZIP)
    assert response.status_code == 200
    assert body == _stored(dist, 1, 1, 0)
    headers = response.headers
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert headers["content-length"] == str(len(body))
    assert headers["cache-control"] == "public, max-age=3600"
    assert "Accept-Encoding" in headers["vary"]
    assert headers["access-control-allow-origin"] == "*"
    etag = headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    # The ETag is a hash of the stored bytes: stable, and different for another tile.
    again, _ = _raw_body(client, "/demo/tiles/1/1/0.pbf", GZIP)
    other, _ = _raw_body(client, "/demo/tiles/1/0/0.pbf", GZIP)
    assert again.headers["etag"] == etag
    assert other.headers["etag"] != etag
    layer = decode(gzip.decompress(body))["countries"]
    assert layer["features"][0]["properties"]["name"] == "North-east"


def test_tile_from_mbtiles_uses_the_tms_row_flip(client: TestClient) -> None:
    for (z, x, y), name in DEMO_TILES.items():
        response = client.get(f"/demo/tiles/{z}/{x}/{y}.pbf", headers=GZIP)
        assert response.status_code == 200, (z, x, y)
        feature = decode(response.content)["countries"]["features"][0]
        assert feature["properties"] == {"adm0_a3": "UKR", "name": name, "color": "#0057b7"}


def test_mvt_extension(client: TestClient, dist: Path) -> None:
    response, body = _raw_body(client, "/demo/tiles/0/0/0.mvt", GZIP)
    assert response.status_code == 200
    assert body == _stored(dist, 0, 0, 0)


def test_tiles_from_folder_when_there_is_no_mbtiles(client: TestClient) -> None:
    response = client.get("/atlas/tiles/1/1/1.pbf", headers=GZIP)
    assert response.status_code == 200
    assert decode(response.content)["countries"]["features"][0]["properties"]["name"] == (
        "Atlas SE"
    )
    assert client.get("/atlas/tiles/1/0/1.pbf").status_code == 204
    assert client.get("/atlas/tiles/0/0/0.pbf").status_code == 404  # below minzoom


def test_identity_for_a_client_without_gzip(client: TestClient, dist: Path) -> None:
    gz, _ = _raw_body(client, "/demo/tiles/2/1/1.pbf", GZIP)
    for accept in ("identity", "gzip;q=0, br", "br"):
        response, body = _raw_body(client, "/demo/tiles/2/1/1.pbf", {"Accept-Encoding": accept})
        assert response.status_code == 200, accept
        assert "content-encoding" not in response.headers
        assert body == gzip.decompress(_stored(dist, 2, 1, 1))
        assert response.headers["content-length"] == str(len(body))
        assert response.headers["etag"] != gz.headers["etag"]
        feature = decode(body)["countries"]["features"][0]
        assert feature["properties"] == {"adm0_a3": "UKR", "name": "Detail", "color": "#0057b7"}
        assert feature["geometry"]["type"] == "Polygon"
    starred, _ = _raw_body(client, "/demo/tiles/2/1/1.pbf", {"Accept-Encoding": "*"})
    assert starred.headers["content-encoding"] == "gzip"


def test_if_none_match_gives_304(client: TestClient) -> None:
    first = client.get("/demo/tiles/0/0/0.pbf", headers=GZIP)
    etag = first.headers["etag"]
    for condition in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get("/demo/tiles/0/0/0.pbf", headers={**GZIP, "If-None-Match": condition})
        assert response.status_code == 304, condition
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "public, max-age=3600"
    changed = client.get("/demo/tiles/0/0/0.pbf", headers={**GZIP, "If-None-Match": '"other"'})
    assert changed.status_code == 200
    assert changed.content == first.content
    # The gzip ETag does not validate the identity representation.
    identity = client.get("/demo/tiles/0/0/0.pbf", headers={**IDENTITY, "If-None-Match": etag})
    assert identity.status_code == 200


def test_empty_sea_gives_204(client: TestClient) -> None:
    response = client.get("/demo/tiles/1/0/1.pbf", headers={**GZIP, "Origin": "https://x.org"})
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "content-encoding" not in response.headers
    assert client.get("/demo/tiles/2/3/3.pbf").status_code == 204


@pytest.mark.parametrize(
    "path",
    [
        "/demo/tiles/3/0/0.pbf",  # above maxzoom
        "/demo/tiles/31/0/0.pbf",
        "/demo/tiles/1/2/0.pbf",  # x >= 2^z
        "/demo/tiles/1/0/2.pbf",  # y >= 2^z
        "/demo/tiles/0/1/0.pbf",
        "/nope/tiles/0/0/0.pbf",  # unknown map
        "/_work/tiles/0/0/0.pbf",
        "/nope/",
        "/nope/tiles.json",
        "/nope/style.json",
        "/nope",
    ],
)
def test_not_found(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.text == "Not Found"


@pytest.mark.parametrize(
    "path",
    [
        "/demo/tiles/a/0/0.pbf",
        "/demo/tiles/0/0/0.png",
        "/demo/tiles/0/0/0",
        "/demo/tiles/0/0.pbf",
        "/demo/tiles/0/0/-1.pbf",
        "/demo/tiles/1/0/0.pbf/extra",
        "/demo/tiles/1.5/0/0.pbf",
        "/demo/tiles/0/0/0x1.pbf",
        "/demo/tiles/%D9%A1/0/0.pbf",  # an Arabic-Indic digit
        "/demo/tiles/",
    ],
)
def test_malformed_tile_path_gives_400(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert response.text.startswith("Bad Request")


# --------------------------------------------------------------------------- JSON documents


def test_tilejson_uses_public_url_whatever_the_host(client: TestClient) -> None:
    response = client.get("/demo/tiles.json", headers={"Host": "evil.example"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    tilejson = response.json()
    assert tilejson["tiles"] == [f"{PUBLIC_URL}/demo/tiles/{{z}}/{{x}}/{{y}}.pbf"]
    assert "evil.example" not in response.text
    assert tilejson["tilejson"] == "3.0.0"
    assert tilejson["vector_layers"][0]["id"] == "countries"
    assert tilejson["tilepress"]["legend"] == LEGEND


def test_tilejson_attribution_is_cleaned(client: TestClient) -> None:
    attribution = client.get("/demo/tiles.json").json()["attribution"]
    assert attribution == SAFE_ATTRIBUTION + "<a>more</a>"
    assert clean_attribution(SAFE_ATTRIBUTION) == SAFE_ATTRIBUTION
    assert clean_attribution('<b>x<a href="http://e.org" target="_blank">y') == (
        '<b>x<a href="http://e.org" target="_blank">y</a></b>'
    )


def test_style_points_at_public_url(client: TestClient) -> None:
    response = client.get("/demo/style.json", headers={"Host": "evil.example"})
    assert response.status_code == 200
    style = response.json()
    assert style["sources"] == {
        "countries": {"type": "vector", "url": f"{PUBLIC_URL}/demo/tiles.json"}
    }
    assert [layer["id"] for layer in style["layers"]] == ["background", "fill", "line"]


def test_default_style_for_a_map_without_one(client: TestClient) -> None:
    style = client.get("/atlas/style.json").json()
    assert style["version"] == 8
    assert style["sources"]["countries"]["url"] == f"{PUBLIC_URL}/atlas/tiles.json"
    fill = next(layer for layer in style["layers"] if layer["type"] == "fill")
    assert fill["paint"]["fill-color"][1] == ["get", "color"]


def test_json_documents_support_etags(client: TestClient) -> None:
    first = client.get("/demo/style.json")
    assert first.headers["cache-control"] == "no-cache"
    again = client.get("/demo/style.json", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


# --------------------------------------------------------------------------- pages


def test_redirect_to_viewer(client: TestClient) -> None:
    response = client.get("/demo", headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == "demo/"
    assert urljoin("http://testserver/demo", response.headers["location"]) == (
        "http://testserver/demo/"
    )
    assert client.get("/demo").url.path == "/demo/"


def _data_block(page: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="tilepress-data">(.*?)</script>', page, re.S
    )
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_viewer_page(client: TestClient) -> None:
    response = client.get("/demo/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "<title>War &amp; &lt;b&gt;Peace&lt;/b&gt;</title>" in page
    assert "<h1>War &amp; &lt;b&gt;Peace&lt;/b&gt;</h1>" in page
    assert '<p class="caption">Countries that &lt;em&gt;matter&lt;/em&gt;</p>' in page
    assert re.search(r'<script src="\.\./static/maplibre-gl\.js\?v=[0-9a-f]+"></script>', page)
    assert re.search(r'href="\.\./static/maplibre-gl\.css\?v=[0-9a-f]+"', page)
    assert "unpkg" not in page
    assert "cdn" not in page.lower()
    assert "canvasContextAttributes: { preserveDrawingBuffer: true }" in page
    assert "window.map = map" in page
    assert "new maplibregl.AttributionControl(" in page
    assert 'href="demo.pdf"' in page
    assert '<span class="swatch" style="background:#0057b7"></span><span>Ukraine</span>' in page
    assert "<span>Supporters &lt;i&gt;</span>" in page
    # An invalid colour falls back to grey: it never reaches the CSS.
    assert '<span class="swatch" style="background:#c8c8c8"></span><span>Injected</span>' in page
    assert 'style="background:red' not in page
    assert '<a href="https://creativecommons.org/licenses/by-sa/4.0/" rel="license">' in page
    data = _data_block(page)
    assert data["title"] == TITLE
    assert data["style"] == "style.json"
    assert data["legend"] == LEGEND
    assert data["links"]["pdf"] == "demo.pdf"
    assert data["minzoom"] == 0
    assert data["maxzoom"] == 2


def test_viewer_escapes_hostile_text(client: TestClient) -> None:
    page = client.get("/demo/").text
    assert '<script>alert("pwned")' not in page
    assert "onerror" not in page
    assert "javascript:" not in page
    assert "<script>alert(2)" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page  # the author, as text
    # Only four script elements: the data block, MapLibre, PMTiles and the viewer code.
    assert page.count("<script") == 4
    assert page.count("</script>") == 4
    assert "\\u003c/script\\u003e" in page  # inside the JSON block
    data = _data_block(page)
    assert data["attribution"] == SAFE_ATTRIBUTION + "<a>more</a>"
    assert data["author"] == AUTHOR


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_viewer_script_is_valid_javascript(client: TestClient, tmp_path: Path) -> None:
    page = client.get("/demo/").text
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    script = tmp_path / "viewer.js"
    script.write_text(scripts[0])
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "--check", str(script)], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_static_maplibre(client: TestClient) -> None:
    spec = importlib.util.find_spec("maplibre")
    assert spec is not None
    assert spec.submodule_search_locations is not None
    folder = Path(next(iter(spec.submodule_search_locations))) / "srcjs"
    expected = (folder / "maplibre-gl.js").read_bytes()
    response, body = _raw_body(client, "/static/maplibre-gl.js", GZIP)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == expected
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "max-age=31536000" in response.headers["cache-control"]
    plain, plain_body = _raw_body(client, "/static/maplibre-gl.js", IDENTITY)
    assert plain_body == expected
    assert "content-encoding" not in plain.headers
    css = client.get("/static/maplibre-gl.css")
    assert css.content == (folder / "maplibre-gl.css").read_bytes()
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert client.get("/static/ipywidget.js").status_code == 404
    assert client.get("/static/../server.py").status_code == 404


# --------------------------------------------------------------------------- downloads


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("demo.pdf", "application/pdf"),
        ("demo.png", "image/png"),
        ("demo.pmtiles", "application/vnd.pmtiles"),
        ("demo.mbtiles", "application/vnd.sqlite3"),
    ],
)
def test_downloads(client: TestClient, dist: Path, name: str, content_type: str) -> None:
    response = client.get(f"/demo/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == (dist / "demo" / name).read_bytes()
    assert response.headers["etag"].startswith('"')


def test_download_headers(client: TestClient) -> None:
    assert client.get("/demo/demo.pdf").content.startswith(b"%PDF")
    assert client.get("/demo/demo.png").content.startswith(b"\x89PNG")
    mbtiles = client.get("/demo/demo.mbtiles")
    assert mbtiles.headers["content-disposition"] == 'attachment; filename="demo.mbtiles"'
    for path in ("/demo/other.pdf", "/demo/atlas.pdf", "/atlas/atlas.pdf", "/demo/tiles.json.bak",
                 "/demo/style.json/", "/demo/demo.PDF"):  # fmt: skip
        assert client.get(path).status_code == 404, path


def test_pmtiles_range_requests(client: TestClient, dist: Path) -> None:
    data = (dist / "demo" / "demo.pmtiles").read_bytes()
    size = len(data)
    head = client.get("/demo/demo.pmtiles", headers={"Range": "bytes=0-6"})
    assert head.status_code == 206
    assert head.content == b"PMTiles"
    assert head.headers["content-range"] == f"bytes 0-6/{size}"
    assert head.headers["content-length"] == "7"
    assert head.headers["accept-ranges"] == "bytes"
    tail = client.get("/demo/demo.pmtiles", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206
    assert tail.content == data[-10:]
    assert tail.headers["content-range"] == f"bytes {size - 10}-{size - 1}/{size}"
    rest = client.get("/demo/demo.pmtiles", headers={"Range": f"bytes=100-{size + 50}"})
    assert rest.status_code == 206
    assert rest.content == data[100:]
    for unsatisfiable in (f"bytes={size}-", f"bytes={size + 5}-{size + 9}", "bytes=-0"):
        response = client.get("/demo/demo.pmtiles", headers={"Range": unsatisfiable})
        assert response.status_code == 416, unsatisfiable
        assert response.headers["content-range"] == f"bytes */{size}"
    for ignored in ("bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=a-b"):
        response = client.get("/demo/demo.pmtiles", headers={"Range": ignored})
        assert response.status_code == 200, ignored
        assert response.content == data
    etag = head.headers["etag"]
    stale = client.get("/demo/demo.pmtiles", headers={"Range": "bytes=0-6", "If-Range": '"x"'})
    assert stale.status_code == 200
    fresh = client.get("/demo/demo.pmtiles", headers={"Range": "bytes=0-6", "If-Range": etag})
    assert fresh.status_code == 206
    assert client.get("/demo/demo.pmtiles", headers={"If-Match": '"x"'}).status_code == 412
    assert client.get("/demo/demo.pmtiles", headers={"If-Match": etag}).status_code == 200


def test_pmtiles_reader_over_http(client: TestClient) -> None:
    """A PMTiles reader fetching only byte ranges finds the tiles the server sends."""

    def get_bytes(offset: int, length: int) -> bytes:
        end = offset + length - 1
        response = client.get("/demo/demo.pmtiles", headers={"Range": f"bytes={offset}-{end}"})
        assert response.status_code == 206
        return response.content

    reader = Reader(get_bytes)
    assert reader.header()["tile_type"] == TileType.MVT
    tile = reader.get(2, 1, 1)
    _, body = _raw_body(client, "/demo/tiles/2/1/1.pbf", GZIP)
    assert tile == body


# --------------------------------------------------------------------------- methods, CORS


def test_head(client: TestClient) -> None:
    for path in ("/demo/tiles/0/0/0.pbf", "/demo/", "/demo/demo.pmtiles", "/demo/tiles.json",
                 "/", "/static/maplibre-gl.css"):  # fmt: skip
        get = client.get(path, headers=GZIP)
        head = client.head(path, headers=GZIP)
        assert head.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"]
        assert head.headers["etag"] == get.headers["etag"]
        assert head.headers["content-type"] == get.headers["content-type"]
    assert client.head("/demo/tiles/1/0/1.pbf").status_code == 204
    assert client.head("/demo/tiles/9/0/0.pbf").status_code == 404
    ranged = client.head("/demo/demo.pmtiles", headers={"Range": "bytes=0-6"})
    assert ranged.status_code == 206
    assert ranged.headers["content-length"] == "7"


def test_cors_preflight(client: TestClient) -> None:
    response = client.options(
        "/demo/demo.pmtiles",
        headers={
            "Origin": "https://viewer.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range, if-none-match, if-match",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "HEAD", "OPTIONS"}
    allowed = response.headers["access-control-allow-headers"].lower()
    for header in ("range", "if-none-match", "if-match"):
        assert header in allowed
    refused = client.options(
        "/demo/tiles.json",
        headers={"Origin": "https://viewer.example", "Access-Control-Request-Method": "DELETE"},
    )
    assert refused.status_code == 400
    simple = client.get("/demo/demo.pmtiles", headers={"Origin": "https://viewer.example"})
    exposed = simple.headers["access-control-expose-headers"]
    assert {h.strip() for h in exposed.split(",")} == {"ETag", "Content-Range", "Content-Length"}
    plain = client.options("/demo/tiles.json")
    assert plain.status_code == 204
    assert plain.headers["allow"] == "GET, HEAD, OPTIONS"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/demo/tiles/0/0/0.pbf", "/demo/tiles.json", "/", "/health"])
def test_other_methods_give_405(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}


def test_url_too_long_gives_414(client: TestClient) -> None:
    response = client.get("/demo/tiles/0/0/0.pbf?" + "a" * MAX_URL_LENGTH)
    assert response.status_code == 414
    assert client.get("/demo/" + "a" * (MAX_URL_LENGTH + 1)).status_code == 414
    assert client.get("/demo/tiles/0/0/0.pbf?" + "a" * 100).status_code == 200


def test_oversized_headers_give_431(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Filler": "a" * MAX_HEADER_BYTES})
    assert response.status_code == 431
    assert client.get("/health", headers={"X-Filler": "a" * 8000}).status_code == 200


# --------------------------------------------------------------------------- path traversal


TRAVERSALS = [
    b"/../etc/passwd",
    b"/%2e%2e/%2e%2e/etc/passwd",
    b"/demo/..%2f..%2fpyproject.toml",
    b"//etc/passwd",
    b"/demo/../../../etc/passwd",
    b"/demo/%2e%2e/%2e%2e/tiles.json",
    b"/demo/tiles/..%2f..%2f..%2fdemo.pdf",
    b"/demo/tiles/0/0/..%2f..%2f0%2f0.pbf",
    b"/static/..%2f__init__.py",
    b"/static/%2e%2e/server.py",
    b"/demo/%2Fetc%2Fpasswd",
    b"/demo/demo.pdf%00.png",
    b"/_work/log.txt",
    b"/%2e%2e",
]


@pytest.mark.parametrize("raw_path", TRAVERSALS)
def test_path_traversal_never_returns_files(app: Starlette, raw_path: bytes) -> None:
    status, _, body = _asgi_get(app, raw_path)
    assert status in (400, 404), raw_path
    for secret in (b"root:", b"[build-system]", b"%PDF", b"import ", b"not a map", b"tilejson"):
        assert secret not in body


# --------------------------------------------------------------------------- fast tile path


FAST_CASES = [
    GZIP,
    IDENTITY,
    {},
    {"Accept-Encoding": "gzip;q=0, identity"},
    {"Accept-Encoding": "br, *;q=0.5"},
    {**GZIP, "If-None-Match": "*"},
    {**GZIP, "If-None-Match": '"nope"'},
    {**GZIP, "Origin": "https://viewer.example"},
]


@pytest.mark.parametrize("headers", FAST_CASES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_fast_path_answers_as_the_app_does(
    client: TestClient, method: str, headers: dict[str, str]
) -> None:
    """A stored tile (fast path) and the same tile with a query (the Starlette app) agree."""
    path = "/demo/tiles/1/1/0.pbf"
    etag = client.get(path, headers=GZIP).headers["etag"]
    headers = {k: v.replace("*", etag) if k == "If-None-Match" else v for k, v in headers.items()}
    with client.stream(method, path, headers=headers) as fast:
        fast_body = b"".join(fast.iter_raw())
    with client.stream(method, path + "?via=app", headers=headers) as slow:
        slow_body = b"".join(slow.iter_raw())
    assert fast.status_code == slow.status_code
    assert fast_body == slow_body
    assert dict(fast.headers) == dict(slow.headers)


def test_fast_path_leaves_other_requests_to_the_app(dist: Path) -> None:
    app = create_app(dist, public_url=PUBLIC_URL, cors_origins=["https://viewer.example"])
    fast = app.fast_path
    head = [(b"accept-encoding", b"gzip")]
    assert fast.lookup(b"/demo/tiles/1/1/0.pbf", head, head=False) is not None
    assert fast.lookup(b"/demo/tiles/1/1/0.mvt", head, head=False) is not None
    misses = [b"/demo/tiles/1/0/1.pbf", b"/demo/tiles/9/0/0.pbf", b"/demo/tiles/1/1/00.pbf",
              b"/demo/tiles/1/1/%30.pbf", b"/demo/demo.pdf", b"/nope/tiles/1/1/0.pbf"]  # fmt: skip
    for path in misses:
        assert fast.lookup(path, head, head=False) is None, path
    for extra in ((b"origin", b"https://viewer.example"), (b"if-match", b'"x"'),
                  (b"cookie", b"a=b"), (b"x-filler", b"a" * MAX_HEADER_BYTES)):  # fmt: skip
        assert fast.lookup(b"/demo/tiles/1/1/0.pbf", [*head, extra], head=False) is None
    with TestClient(app) as client:
        allowed = client.get("/demo/tiles/1/1/0.pbf", headers={"Origin": "https://viewer.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://viewer.example"
        other = client.get("/demo/tiles/1/1/0.pbf", headers={"Origin": "https://evil.example"})
        assert other.status_code == 200
        assert "access-control-allow-origin" not in other.headers


def test_vendored_pmtiles_js(client: TestClient) -> None:
    static = REPO / "src" / "tilepress" / "web" / "static"
    data = (static / "pmtiles.js").read_bytes()
    note = (static / "README.md").read_text()
    assert hashlib.sha256(data).hexdigest() in note
    assert "BSD-3-Clause" in note
    licence = (static / "LICENSE-pmtiles.txt").read_text()
    assert "Copyright 2021 Protomaps LLC" in licence
    assert "Copyright (c) 2023 Arjun Barrett" in licence
    response, body = _raw_body(client, "/static/pmtiles.js", GZIP)
    assert response.status_code == 200
    assert gzip.decompress(body) == data
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    page = client.get("/demo/").text
    assert re.search(r'<script src="\.\./static/pmtiles\.js\?v=[0-9a-f]+"></script>', page)
    assert 'href="./?source=pmtiles"' in page
    assert _data_block(page)["links"]["pmtiles"] == "demo.pmtiles"


# --------------------------------------------------------------------------- real server


@pytest.fixture(scope="module")
def live(dist: Path) -> Iterator[str]:
    """`tilepress serve` with two worker processes on the test dist."""
    with running_tilepress(dist, workers=2) as base:
        yield base


def _raw_request(
    base: str, target: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """A request sent exactly as written: http.client does not normalise the target."""
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _exchange(base: str, data: bytes) -> bytes:
    """Send raw bytes on one connection and read until the server closes it."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _responses(raw: bytes, heads: tuple[int, ...] = ()) -> list[tuple[int, dict[str, str], bytes]]:
    """Split the bytes of several HTTP/1.1 responses (with Content-Length or no body).

    ``heads`` are the positions of the answers to HEAD requests, which have no body.
    """
    parsed: list[tuple[int, dict[str, str], bytes]] = []
    while raw:
        head, _, raw = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        size = 0 if len(parsed) in heads else int(headers.get("content-length", "0"))
        body, raw = raw[:size], raw[size:]
        parsed.append((status, headers, body))
    return parsed


def _tile_request(path: str, *extra: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: x", "Accept-Encoding: gzip", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_real_server_over_http(live: str, dist: Path) -> None:
    request = urllib.request.Request(
        f"{live}/demo/tiles/1/1/0.pbf",
        headers={"Accept-Encoding": "gzip", "Origin": "https://viewer.example"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "server" not in {k.lower() for k in response.headers}
        body = response.read()
    assert body == _stored(dist, 1, 1, 0)
    feature = decode(gzip.decompress(body))["countries"]["features"][0]
    assert feature["properties"]["name"] == "North-east"

    with urllib.request.urlopen(f"{live}/demo/", timeout=10) as response:
        page = response.read().decode()
    assert "window.map = map" in page
    with urllib.request.urlopen(f"{live}/demo/tiles.json", timeout=10) as response:
        tilejson = json.load(response)
    assert tilejson["tiles"] == [f"{live}/demo/tiles/{{z}}/{{x}}/{{y}}.pbf"]


def test_real_server_statuses(live: str, dist: Path) -> None:
    gz = {"Accept-Encoding": "gzip"}
    status, headers, body = _raw_request(live, "/demo/tiles/2/1/1.pbf")
    assert status == 200
    assert "content-encoding" not in headers
    assert body == gzip.decompress(_stored(dist, 2, 1, 1))
    status, headers, _ = _raw_request(live, "/demo/tiles/2/1/1.pbf", gz)
    assert (
        _raw_request(live, "/demo/tiles/2/1/1.pbf", {**gz, "If-None-Match": headers["etag"]})[0]
        == 304
    )
    status, headers, body = _raw_request(live, "/demo/tiles/2/1/1.pbf", gz, method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["content-length"] == str(len(_stored(dist, 2, 1, 1)))
    expected = {
        "/demo/tiles/1/0/1.pbf": 204,
        "/demo/tiles/3/0/0.pbf": 404,
        "/demo/tiles/1/2/0.pbf": 404,
        "/demo/tiles/x/0/0.pbf": 400,
        "/nope/tiles/0/0/0.pbf": 404,
    }
    for target, code in expected.items():
        assert _raw_request(live, target, gz)[0] == code, target
    assert _raw_request(live, "/demo/tiles/0/0/0.pbf", gz, method="DELETE")[0] == 405
    status, headers, body = _raw_request(live, "/demo/demo.pmtiles", {"Range": "bytes=0-6"})
    assert (status, body) == (206, b"PMTiles")
    size = (dist / "demo" / "demo.pmtiles").stat().st_size
    assert headers["content-range"] == f"bytes 0-6/{size}"
    assert _raw_request(live, "/demo/demo.pmtiles", {"Range": f"bytes={size}-"})[0] == 416


def test_real_server_never_returns_files(live: str) -> None:
    for raw in TRAVERSALS:
        status, _, content = _raw_request(live, raw.decode())
        assert status in (400, 404), raw
        for secret in (b"root:", b"[build-system]", b"%PDF", b"import ", b"not a map"):
            assert secret not in content


def test_real_server_request_limits(live: str) -> None:
    assert _raw_request(live, "/demo/" + "a" * 3000)[0] == 414
    assert _raw_request(live, "/demo/tiles/0/0/0.pbf?" + "a" * MAX_URL_LENGTH)[0] == 414
    assert _raw_request(live, "/health", {"X-Filler": "a" * 8000})[0] == 200
    status, _, body = _raw_request(live, "/health", {"X-Filler": "a" * (MAX_HEADER_BYTES + 1)})
    assert (status, body) == (431, b"Request Header Fields Too Large")
    many = {f"X-Filler-{i}": "a" * 1000 for i in range(20)}
    assert _raw_request(live, "/demo/tiles/0/0/0.pbf", many)[0] == 431
    # A head far larger than the limits in one piece is refused before it is parsed.
    flood = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 200_000 + b"\r\n\r\n"
    ((status, _, _),) = _responses(_exchange(live, flood))
    assert status == 431


def test_real_server_keep_alive_and_pipelining(live: str, dist: Path) -> None:
    """Fast-path tiles and app responses in order on one connection, pipelined."""
    tile = _stored(dist, 1, 1, 0)
    data = (
        _tile_request("/demo/tiles/1/1/0.pbf")
        + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        + _tile_request("/demo/tiles/1/1/0.pbf", "Content-Length: 5") + b"hello"
        + _tile_request("/demo/tiles/1/0/1.pbf")
        + b"HEAD /demo/tiles/1/1/0.pbf HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"
        + _tile_request("/demo/tiles/1/1/0.mvt", "Connection: close")
    )  # fmt: skip
    responses = _responses(_exchange(live, data), heads=(4,))
    assert [status for status, _, _ in responses] == [200, 200, 200, 204, 200, 200]
    assert responses[0][2] == tile
    assert json.loads(responses[1][2]) == {"status": "ok", "maps": 2}
    assert responses[2][2] == tile
    assert responses[4][1]["content-length"] == str(len(tile))
    assert responses[5][2] == tile
    assert responses[5][1]["connection"] == "close"
    # HTTP/1.0 without keep-alive: one answer, then the server closes the connection.
    old = b"GET /demo/tiles/1/1/0.pbf HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n"
    ((status, _, body),) = _responses(_exchange(live, old))
    assert (status, body) == (200, tile)


# --------------------------------------------------------------------------- nginx, style spec


@pytest.fixture(scope="module")
def nginx_url(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Real nginx running the shipped deploy/nginx/tilepress.conf on the test dist."""
    nginx = require_tool("nginx")
    with running_nginx(nginx, dist, tmp_path_factory.mktemp("nginx"), workers=1) as base:
        yield base


def test_nginx_config_serves_tiles_with_the_right_headers(nginx_url: str, dist: Path) -> None:
    gz = {"Accept-Encoding": "gzip"}
    status, headers, body = _raw_request(nginx_url, "/demo/tiles/1/1/0.pbf", gz)
    assert status == 200
    assert body == _stored(dist, 1, 1, 0)  # the stored bytes, not compressed again
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert headers["cache-control"] == "public, max-age=3600"
    assert headers["access-control-allow-origin"] == "*"
    assert "server" not in headers or headers["server"] == "nginx"  # server_tokens off
    status, _, body = _raw_request(
        nginx_url, "/demo/tiles/1/1/0.pbf", {**gz, "If-None-Match": headers["etag"]}
    )
    assert (status, body) == (304, b"")
    status, headers, body = _raw_request(nginx_url, "/demo/tiles/1/0/1.pbf", gz)
    assert (status, body) == (204, b"")
    assert headers["access-control-allow-origin"] == "*"
    assert "content-encoding" not in headers
    assert _raw_request(nginx_url, "/demo/tiles/1/1/0.pbf", gz, method="DELETE")[0] == 405
    preflight = {
        "Origin": "https://viewer.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range",
    }
    status, headers, _ = _raw_request(nginx_url, "/demo/demo.pmtiles", preflight, "OPTIONS")
    assert status == 204
    assert headers["access-control-allow-origin"] == "*"
    assert "range" in headers["access-control-allow-headers"].lower()
    status, headers, _ = _raw_request(nginx_url, "/demo/tiles.json", gz)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["access-control-allow-origin"] == "*"
    status, headers, body = _raw_request(nginx_url, "/demo/demo.pdf")
    assert (status, headers["content-type"]) == (200, "application/pdf")
    assert body == (dist / "demo" / "demo.pdf").read_bytes()


def test_nginx_config_serves_pmtiles_ranges(nginx_url: str, dist: Path) -> None:
    data = (dist / "demo" / "demo.pmtiles").read_bytes()
    status, headers, body = _raw_request(nginx_url, "/demo/demo.pmtiles", {"Range": "bytes=0-6"})
    assert (status, body) == (206, b"PMTiles")
    assert headers["content-range"] == f"bytes 0-6/{len(data)}"
    assert headers["content-type"] == "application/vnd.pmtiles"
    assert headers["access-control-allow-origin"] == "*"
    assert "Content-Range" in headers["access-control-expose-headers"]
    past_end = {"Range": f"bytes={len(data)}-"}
    status, headers, _ = _raw_request(nginx_url, "/demo/demo.pmtiles", past_end)
    assert status == 416
    assert headers["access-control-allow-origin"] == "*"

    def get_bytes(offset: int, length: int) -> bytes:
        range_ = {"Range": f"bytes={offset}-{offset + length - 1}"}
        status, _, body = _raw_request(nginx_url, "/demo/demo.pmtiles", range_)
        assert status == 206
        return body

    assert Reader(get_bytes).get(2, 1, 1) == _stored(dist, 2, 1, 1)


def test_nginx_config_never_returns_other_files(nginx_url: str) -> None:
    for raw in [*TRAVERSALS, b"/", b"/README.txt", b"/demo/", b"/demo/tiles/", b"/.cache/x"]:
        status, _, content = _raw_request(nginx_url, raw.decode())
        assert status in (400, 404), raw
        for secret in (b"root:", b"[build-system]", b"%PDF", b"import ", b"not a map", b"loose"):
            assert secret not in content


def test_styles_pass_gl_style_validate(client: TestClient, tmp_path: Path) -> None:
    """The style served for a map without style.json is valid MapLibre style spec."""
    validate = require_tool("gl-style-validate")
    for map_id in ("atlas", "demo"):
        path = tmp_path / f"{map_id}.json"
        path.write_bytes(client.get(f"/{map_id}/style.json").content)
        result = subprocess.run(
            [validate, str(path)], capture_output=True, text=True, check=False, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"version": 8, "sources": {}, "layers": [{"id": "x"}]}))
    result = subprocess.run([validate, str(broken)], capture_output=True, text=True, check=False)
    assert result.returncode != 0  # the validator does reject an invalid style


# --------------------------------------------------------------------------- `tilepress serve`


def test_cli_serve_reports_errors_without_traceback(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tilepress.cli.commands import main

    runner = CliRunner()
    missing = runner.invoke(main, ["serve", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    assert "tilepress: error:" in missing.stderr
    assert "does not exist" in missing.stderr
    assert "Traceback" not in missing.output
    bad = runner.invoke(main, ["serve", str(tmp_path), "--workers", "many"])
    assert bad.exit_code == 2
    assert "'many' is neither a number from 1 to 64 nor 'auto'" in bad.stderr
    assert runner.invoke(main, ["serve", str(tmp_path), "--workers", "0"]).exit_code == 2
    help_text = runner.invoke(main, ["serve", "--help"]).output
    options = ("--host", "--port", "--public-url", "--cors-origin", "--workers", "--access-log")
    for option in options:
        assert option in help_text


def test_serve_refuses_a_port_in_use(dist: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = subprocess.run(
            [*tilepress_command(), "serve", str(dist), "--port", str(port), "--workers", "2"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_public_url_and_cors_origin(dist: Path) -> None:
    args = ("--public-url", "https://maps.example.org/", "--cors-origin", "https://a.example")
    with running_tilepress(dist, *args, workers=1) as base:
        _, _, body = _raw_request(base, "/demo/tiles.json", {"Host": "evil.example"})
        assert json.loads(body)["tiles"] == ["https://maps.example.org/demo/tiles/{z}/{x}/{y}.pbf"]
        gz = {"Accept-Encoding": "gzip"}
        tile = "/demo/tiles/1/1/0.pbf"
        _, allowed, _ = _raw_request(base, tile, {**gz, "Origin": "https://a.example"})
        assert allowed["access-control-allow-origin"] == "https://a.example"
        _, other, _ = _raw_request(base, tile, {**gz, "Origin": "https://b.example"})
        assert "access-control-allow-origin" not in other
        _, plain, _ = _raw_request(base, tile, gz)
        assert "access-control-allow-origin" not in plain
