"""`tilepress serve` as real processes: HTTP on the wire, request limits, keep-alive and
pipelining, worker processes, command-line options and errors."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.commands import tilepress_command
from tests.support.mvt import decode
from tests.support.servers import running_tilepress
from tests.web.http_helpers import TRAVERSALS, TestClient, raw_request
from tests.web.sample_dist import stored_tile
from tilepress.web.app import ENV_CORS, ENV_DIST, ENV_PUBLIC_URL, app_from_env
from tilepress.web.limits import MAX_HEADER_BYTES, MAX_URL_LENGTH


@pytest.fixture(scope="module")
def live(dist: Path) -> Iterator[str]:
    """`tilepress serve` with two worker processes on the test dist."""
    with running_tilepress(dist, workers=2) as base:
        yield base


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


# --------------------------------------------------------------------------- real server


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
    assert body == stored_tile(dist, 1, 1, 0)
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
    status, headers, body = raw_request(live, "/demo/tiles/2/1/1.pbf")
    assert status == 200
    assert "content-encoding" not in headers
    assert body == gzip.decompress(stored_tile(dist, 2, 1, 1))
    status, headers, _ = raw_request(live, "/demo/tiles/2/1/1.pbf", gz)
    assert (
        raw_request(live, "/demo/tiles/2/1/1.pbf", {**gz, "If-None-Match": headers["etag"]})[0]
        == 304
    )
    status, headers, body = raw_request(live, "/demo/tiles/2/1/1.pbf", gz, method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["content-length"] == str(len(stored_tile(dist, 2, 1, 1)))
    expected = {
        "/demo/tiles/1/0/1.pbf": 204,
        "/demo/tiles/3/0/0.pbf": 404,
        "/demo/tiles/1/2/0.pbf": 404,
        "/demo/tiles/x/0/0.pbf": 400,
        "/nope/tiles/0/0/0.pbf": 404,
    }
    for target, code in expected.items():
        assert raw_request(live, target, gz)[0] == code, target
    assert raw_request(live, "/demo/tiles/0/0/0.pbf", gz, method="DELETE")[0] == 405
    status, headers, body = raw_request(live, "/demo/demo.pmtiles", {"Range": "bytes=0-6"})
    assert (status, body) == (206, b"PMTiles")
    size = (dist / "demo" / "demo.pmtiles").stat().st_size
    assert headers["content-range"] == f"bytes 0-6/{size}"
    assert raw_request(live, "/demo/demo.pmtiles", {"Range": f"bytes={size}-"})[0] == 416


def test_real_server_never_returns_files(live: str) -> None:
    for raw in TRAVERSALS:
        status, _, content = raw_request(live, raw.decode())
        assert status in (400, 404), raw
        for secret in (b"root:", b"[build-system]", b"%PDF", b"import ", b"not a map"):
            assert secret not in content


def test_real_server_request_limits(live: str) -> None:
    assert raw_request(live, "/demo/" + "a" * 3000)[0] == 414
    assert raw_request(live, "/demo/tiles/0/0/0.pbf?" + "a" * MAX_URL_LENGTH)[0] == 414
    assert raw_request(live, "/health", {"X-Filler": "a" * 8000})[0] == 200
    status, _, body = raw_request(live, "/health", {"X-Filler": "a" * (MAX_HEADER_BYTES + 1)})
    assert (status, body) == (431, b"Request Header Fields Too Large")
    many = {f"X-Filler-{i}": "a" * 1000 for i in range(20)}
    assert raw_request(live, "/demo/tiles/0/0/0.pbf", many)[0] == 431
    # A head far larger than the limits in one piece is refused before it is parsed.
    flood = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 200_000 + b"\r\n\r\n"
    ((status, _, _),) = _responses(_exchange(live, flood))
    assert status == 431


def test_real_server_keep_alive_and_pipelining(live: str, dist: Path) -> None:
    """Fast-path tiles and app responses in order on one connection, pipelined."""
    tile = stored_tile(dist, 1, 1, 0)
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


def _without_date(headers: dict[str, str]) -> dict[str, str]:
    """Response headers but uvicorn's Date (two answers may be a second apart)."""
    assert "date" in headers
    return {name: value for name, value in headers.items() if name != "date"}


def test_real_server_fast_path_and_app_send_the_same_headers(live: str) -> None:
    """On the wire, a stored tile (the protocol's fast path) and the same tile with a query
    (uvicorn's ASGI path into the app) get the same status, headers and body."""
    tile = "/demo/tiles/1/1/0.pbf"
    gz = {"Accept-Encoding": "gzip"}
    gzip_etag = raw_request(live, tile, gz)[1]["etag"]
    identity_etag = raw_request(live, tile)[1]["etag"]
    assert gzip_etag != identity_etag
    cases = [
        ("GET", gz, 200),
        ("GET", {}, 200),
        ("HEAD", gz, 200),
        ("HEAD", {}, 200),
        ("GET", {**gz, "If-None-Match": gzip_etag}, 304),
        ("GET", {"If-None-Match": identity_etag}, 304),
        ("HEAD", {**gz, "If-None-Match": gzip_etag}, 304),
        ("GET", {**gz, "Origin": "https://viewer.example"}, 200),
    ]
    for method, headers, status in cases:
        fast = raw_request(live, tile, headers, method)
        app = raw_request(live, tile + "?via=app", headers, method)
        assert fast[0] == app[0] == status, (method, headers)
        assert _without_date(fast[1]) == _without_date(app[1]), (method, headers)
        assert fast[2] == app[2], (method, headers)


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
        _, _, body = raw_request(base, "/demo/tiles.json", {"Host": "evil.example"})
        assert json.loads(body)["tiles"] == ["https://maps.example.org/demo/tiles/{z}/{x}/{y}.pbf"]
        gz = {"Accept-Encoding": "gzip"}
        tile = "/demo/tiles/1/1/0.pbf"
        _, allowed, _ = raw_request(base, tile, {**gz, "Origin": "https://a.example"})
        assert allowed["access-control-allow-origin"] == "https://a.example"
        _, other, _ = raw_request(base, tile, {**gz, "Origin": "https://b.example"})
        assert "access-control-allow-origin" not in other
        _, plain, _ = raw_request(base, tile, gz)
        assert "access-control-allow-origin" not in plain


def test_serve_falls_back_to_uvicorn_workers(dist: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without fork and SO_REUSEPORT, uvicorn's own workers each build the app from the
    environment `serve` sets, through the factory it names."""
    from uvicorn.importer import import_from_string

    from tilepress.web import server

    for name in (ENV_DIST, ENV_PUBLIC_URL, ENV_CORS):
        monkeypatch.setenv(name, "")  # so that what `serve` sets is undone after the test
        monkeypatch.delenv(name)
    runs: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(server, "reuse_port_supported", lambda: False)
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **options: runs.append((app, options)))
    server.serve(dist, port=8123, workers=3, cors_origins=("https://a.example/",))
    ((target, options),) = runs
    assert (options["factory"], options["workers"]) == (True, 3)
    assert import_from_string(target) is app_from_env
    app = app_from_env()
    assert app.state.maps == ("atlas", "demo")
    assert app.state.public_url == "http://127.0.0.1:8123"
    with TestClient(app) as client:
        allowed = client.get("/health", headers={"Origin": "https://a.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://a.example"
