"""HTTP semantics of the application: tile answers, conditionals, ranges, methods, CORS,
request limits and path traversal, through Starlette's test client and raw ASGI calls."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
from pmtiles.reader import Reader
from pmtiles.tile import TileType
from starlette.applications import Starlette

from tests.support.mvt import decode
from tests.web.http_helpers import GZIP, IDENTITY, TRAVERSALS, TestClient, asgi_get, raw_body
from tests.web.sample_dist import stored_tile
from tilepress.errors import ServeError
from tilepress.web.app import app_from_env
from tilepress.web.limits import MAX_HEADER_BYTES, MAX_URL_LENGTH


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


# --------------------------------------------------------------------------- tiles


def test_tile_is_sent_gzip_with_cache_headers(client: TestClient, dist: Path) -> None:
    response, body = raw_body(client, "/demo/tiles/1/1/0.pbf", GZIP)
    assert response.status_code == 200
    assert body == stored_tile(dist, 1, 1, 0)
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
    again, _ = raw_body(client, "/demo/tiles/1/1/0.pbf", GZIP)
    other, _ = raw_body(client, "/demo/tiles/1/0/0.pbf", GZIP)
    assert again.headers["etag"] == etag
    assert other.headers["etag"] != etag
    layer = decode(gzip.decompress(body))["countries"]
    assert layer["features"][0]["properties"]["name"] == "North-east"


def test_mvt_extension(client: TestClient, dist: Path) -> None:
    response, body = raw_body(client, "/demo/tiles/0/0/0.mvt", GZIP)
    assert response.status_code == 200
    assert body == stored_tile(dist, 0, 0, 0)


def test_identity_for_a_client_without_gzip(client: TestClient, dist: Path) -> None:
    gz, _ = raw_body(client, "/demo/tiles/2/1/1.pbf", GZIP)
    for accept in ("identity", "gzip;q=0, br", "br"):
        response, body = raw_body(client, "/demo/tiles/2/1/1.pbf", {"Accept-Encoding": accept})
        assert response.status_code == 200, accept
        assert "content-encoding" not in response.headers
        assert body == gzip.decompress(stored_tile(dist, 2, 1, 1))
        assert response.headers["content-length"] == str(len(body))
        assert response.headers["etag"] != gz.headers["etag"]
        feature = decode(body)["countries"]["features"][0]
        assert feature["properties"] == {"adm0_a3": "UKR", "name": "Detail", "color": "#0057b7"}
        assert feature["geometry"]["type"] == "Polygon"
    starred, _ = raw_body(client, "/demo/tiles/2/1/1.pbf", {"Accept-Encoding": "*"})
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


# --------------------------------------------------------------------------- documents, redirect


def test_json_documents_support_etags(client: TestClient) -> None:
    first = client.get("/demo/style.json")
    assert first.headers["cache-control"] == "no-cache"
    again = client.get("/demo/style.json", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_redirect_to_viewer(client: TestClient) -> None:
    response = client.get("/demo", headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == "demo/"
    assert urljoin("http://testserver/demo", response.headers["location"]) == (
        "http://testserver/demo/"
    )
    assert client.get("/demo").url.path == "/demo/"


# --------------------------------------------------------------------------- downloads


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
    _, body = raw_body(client, "/demo/tiles/2/1/1.pbf", GZIP)
    assert tile == body


# --------------------------------------------------------------------------- methods, CORS, limits


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


@pytest.mark.parametrize("raw_path", TRAVERSALS)
def test_path_traversal_never_returns_files(app: Starlette, raw_path: bytes) -> None:
    status, _, body = asgi_get(app, raw_path)
    assert status in (400, 404), raw_path
    for secret in (b"root:", b"[build-system]", b"%PDF", b"import ", b"not a map", b"tilejson"):
        assert secret not in body
