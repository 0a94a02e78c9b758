"""The shipped ``deploy/nginx/tilepress.conf`` in a real nginx, serving the sample dist folder
as the tile server would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pmtiles.reader import Reader

from tests.support.servers import require_tool, running_nginx
from tests.web.http_helpers import TRAVERSALS, raw_request
from tests.web.sample_dist import stored_tile


@pytest.fixture(scope="module")
def nginx_url(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Real nginx running the shipped deploy/nginx/tilepress.conf on the test dist."""
    nginx = require_tool("nginx")
    with running_nginx(nginx, dist, tmp_path_factory.mktemp("nginx"), workers=1) as base:
        yield base


def test_nginx_config_serves_tiles_with_the_right_headers(nginx_url: str, dist: Path) -> None:
    gz = {"Accept-Encoding": "gzip"}
    status, headers, body = raw_request(nginx_url, "/demo/tiles/1/1/0.pbf", gz)
    assert status == 200
    assert body == stored_tile(dist, 1, 1, 0)  # the stored bytes, not compressed again
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert headers["cache-control"] == "public, max-age=3600"
    assert headers["access-control-allow-origin"] == "*"
    assert "server" not in headers or headers["server"] == "nginx"  # server_tokens off
    status, _, body = raw_request(
        nginx_url, "/demo/tiles/1/1/0.pbf", {**gz, "If-None-Match": headers["etag"]}
    )
    assert (status, body) == (304, b"")
    status, headers, body = raw_request(nginx_url, "/demo/tiles/1/0/1.pbf", gz)
    assert (status, body) == (204, b"")
    assert headers["access-control-allow-origin"] == "*"
    assert "content-encoding" not in headers
    assert raw_request(nginx_url, "/demo/tiles/1/1/0.pbf", gz, method="DELETE")[0] == 405
    preflight = {
        "Origin": "https://viewer.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range",
    }
    status, headers, _ = raw_request(nginx_url, "/demo/demo.pmtiles", preflight, "OPTIONS")
    assert status == 204
    assert headers["access-control-allow-origin"] == "*"
    assert "range" in headers["access-control-allow-headers"].lower()
    status, headers, _ = raw_request(nginx_url, "/demo/tiles.json", gz)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["access-control-allow-origin"] == "*"
    status, headers, body = raw_request(nginx_url, "/demo/demo.pdf")
    assert (status, headers["content-type"]) == (200, "application/pdf")
    assert body == (dist / "demo" / "demo.pdf").read_bytes()


def test_nginx_config_serves_pmtiles_ranges(nginx_url: str, dist: Path) -> None:
    data = (dist / "demo" / "demo.pmtiles").read_bytes()
    status, headers, body = raw_request(nginx_url, "/demo/demo.pmtiles", {"Range": "bytes=0-6"})
    assert (status, body) == (206, b"PMTiles")
    assert headers["content-range"] == f"bytes 0-6/{len(data)}"
    assert headers["content-type"] == "application/vnd.pmtiles"
    assert headers["access-control-allow-origin"] == "*"
    assert "Content-Range" in headers["access-control-expose-headers"]
    past_end = {"Range": f"bytes={len(data)}-"}
    status, headers, _ = raw_request(nginx_url, "/demo/demo.pmtiles", past_end)
    assert status == 416
    assert headers["access-control-allow-origin"] == "*"

    def get_bytes(offset: int, length: int) -> bytes:
        range_ = {"Range": f"bytes={offset}-{offset + length - 1}"}
        status, _, body = raw_request(nginx_url, "/demo/demo.pmtiles", range_)
        assert status == 206
        return body

    assert Reader(get_bytes).get(2, 1, 1) == stored_tile(dist, 2, 1, 1)


def test_nginx_config_never_returns_other_files(nginx_url: str) -> None:
    for raw in [*TRAVERSALS, b"/", b"/README.txt", b"/demo/", b"/demo/tiles/", b"/.cache/x"]:
        status, _, content = raw_request(nginx_url, raw.decode())
        assert status in (400, 404), raw
        for secret in (b"root:", b"[build-system]", b"%PDF", b"import ", b"not a map", b"loose"):
            assert secret not in content
