"""Glyph PBFs served from memory: stored ranges with their headers, conditionals and gzip; empty
ranges for what is well-formed but not stored; combined fontstacks; 404 for the malformed."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.glyph_proto import decode_stack
from tests.web.http_helpers import GZIP, IDENTITY, TestClient, raw_body
from tests.web.sample_dist import BUILD_URL, PUBLIC_URL, build_dist
from tilepress.web.app import create_app
from tilepress.web.glyphs import BOLD_STACK, REGULAR_STACK, write_glyphs

FONTS = Path(__file__).resolve().parents[2] / "src" / "tilepress" / "fonts"
BOLD_URL = "/demo/glyphs/Noto%20Sans%20Bold"
REGULAR_URL = "/demo/glyphs/Noto%20Sans%20Regular"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = build_dist(tmp_path_factory.mktemp("glyph-server"))
    stacks = {
        REGULAR_STACK: [FONTS / "NotoSans-Regular.ttf"],
        BOLD_STACK: [FONTS / "NotoSans-Bold.ttf"],
    }
    write_glyphs(stacks, {BOLD_STACK: "Ukraine", REGULAR_STACK: "Ёлка"}, dist / "demo" / "glyphs")
    style_path = dist / "demo" / "style.json"
    style = json.loads(style_path.read_text())
    style["glyphs"] = f"{BUILD_URL}/demo/glyphs/{{fontstack}}/{{range}}.pbf"
    style_path.write_text(json.dumps(style))
    return dist


@pytest.fixture(scope="module")
def client(dist: Path) -> Iterator[TestClient]:
    with TestClient(create_app(dist, public_url=PUBLIC_URL)) as test_client:
        yield test_client


def stored(dist: Path, stack: str, name: str) -> bytes:
    return (dist / "demo" / "glyphs" / stack / name).read_bytes()


def test_stored_range_with_headers(client: TestClient, dist: Path) -> None:
    response, body = raw_body(client, f"{BOLD_URL}/0-255.pbf", IDENTITY)
    assert response.status_code == 200
    assert body == stored(dist, BOLD_STACK, "0-255.pbf")
    headers = response.headers
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["cache-control"] == "public, max-age=3600"
    assert headers["access-control-allow-origin"] == "*"
    assert headers["content-length"] == str(len(body))
    etag = headers["etag"]
    again = client.get(f"{BOLD_URL}/0-255.pbf", headers={"If-None-Match": etag, **IDENTITY})
    assert again.status_code == 304 and again.content == b""
    head = client.head(f"{BOLD_URL}/0-255.pbf", headers=IDENTITY)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
    other = client.get(f"{REGULAR_URL}/0-255.pbf")
    assert other.headers["etag"] != etag
    cors = client.get(f"{BOLD_URL}/0-255.pbf", headers={"Origin": "https://news.example"})
    assert cors.headers["access-control-allow-origin"] == "*"


def test_gzip_when_accepted(client: TestClient, dist: Path) -> None:
    response, body = raw_body(client, f"{BOLD_URL}/0-255.pbf", GZIP)
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    assert gzip.decompress(body) == stored(dist, BOLD_STACK, "0-255.pbf")


def test_stored_empty_range(client: TestClient, dist: Path) -> None:
    response = client.get(f"{BOLD_URL}/1024-1279.pbf")
    assert response.status_code == 200
    assert response.content == stored(dist, BOLD_STACK, "1024-1279.pbf")
    decoded = decode_stack(response.content)
    assert (decoded.name, decoded.range, decoded.glyphs) == (BOLD_STACK, "1024-1279", [])


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/demo/glyphs/Open%20Sans%20Regular/512-767.pbf", "Open Sans Regular"),
        ("/atlas/glyphs/Noto%20Sans%20Bold/0-255.pbf", BOLD_STACK),  # a map without glyphs
        ("/demo/glyphs/Noto%20Sans%20Bold/65280-65535.pbf", BOLD_STACK),
    ],
)
def test_well_formed_but_not_stored_is_an_empty_range(
    client: TestClient, path: str, name: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    start = path.rsplit("/", 1)[1].removesuffix(".pbf")
    decoded = decode_stack(response.content)
    assert (decoded.name, decoded.range, decoded.glyphs) == (name, start, [])


def test_combined_fontstacks(client: TestClient, dist: Path) -> None:
    both = "/demo/glyphs/Noto%20Sans%20Bold,Noto%20Sans%20Regular"
    cyrillic = decode_stack(client.get(f"{both}/1024-1279.pbf").content)
    regular = decode_stack(stored(dist, REGULAR_STACK, "1024-1279.pbf"))
    assert cyrillic.name == "Noto Sans Bold,Noto Sans Regular"
    assert cyrillic.glyphs == regular.glyphs  # Bold has none there: all from Regular
    latin = decode_stack(client.get(f"{both}/0-255.pbf").content)
    bold = decode_stack(stored(dist, BOLD_STACK, "0-255.pbf"))
    assert latin.glyphs == bold.glyphs  # the first stack wins each codepoint
    unknown_first = client.get("/demo/glyphs/Arial%20Unicode%20MS,Noto%20Sans%20Bold/0-255.pbf")
    assert decode_stack(unknown_first.content).glyphs == bold.glyphs
    again = client.get(f"{both}/0-255.pbf")
    assert again.headers["etag"] == client.get(f"{both}/0-255.pbf").headers["etag"]


@pytest.mark.parametrize(
    "path",
    [
        f"{BOLD_URL}/1-256.pbf",
        f"{BOLD_URL}/0-254.pbf",
        f"{BOLD_URL}/256-255.pbf",
        f"{BOLD_URL}/0-511.pbf",
        f"{BOLD_URL}/65536-65791.pbf",
        f"{BOLD_URL}/0-255.json",
        f"{BOLD_URL}/0-255",
        f"{BOLD_URL}/-256--1.pbf",
        f"{BOLD_URL}/0-255.pbf/extra",
        "/demo/glyphs/,/0-255.pbf",
        "/demo/glyphs/Noto%20Sans%20Bold%2F..%2F..%2Fdemo.pdf/0-255.pbf",
        "/nomap/glyphs/Noto%20Sans%20Bold/0-255.pbf",
        "/demo/glyphs/" + "A" * 600 + "/0-255.pbf",
    ],
)
def test_malformed_or_unknown_map_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")


def test_style_points_at_the_served_glyphs(client: TestClient) -> None:
    style = client.get("/demo/style.json").json()
    assert style["glyphs"] == f"{PUBLIC_URL}/demo/glyphs/{{fontstack}}/{{range}}.pbf"
