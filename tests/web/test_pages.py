"""The HTML pages (catalog and viewer), with hostile text escaped, and the static files."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.support.servers import require_tool
from tests.web.http_helpers import GZIP, IDENTITY, TestClient, raw_body
from tests.web.sample_dist import AUTHOR, LEGEND, SAFE_ATTRIBUTION, TITLE


def _data_block(page: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="tilepress-data">(.*?)</script>', page, re.S
    )
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


# --------------------------------------------------------------------------- pages


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


def test_viewer_script_is_valid_javascript(client: TestClient, tmp_path: Path) -> None:
    page = client.get("/demo/").text
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    script = tmp_path / "viewer.js"
    script.write_text(scripts[0])
    node = require_tool("node")
    result = subprocess.run(
        [node, "--check", str(script)], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- static files


def test_static_maplibre(client: TestClient) -> None:
    spec = importlib.util.find_spec("maplibre")
    assert spec is not None
    assert spec.submodule_search_locations is not None
    folder = Path(next(iter(spec.submodule_search_locations))) / "srcjs"
    expected = (folder / "maplibre-gl.js").read_bytes()
    response, body = raw_body(client, "/static/maplibre-gl.js", GZIP)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == expected
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "max-age=31536000" in response.headers["cache-control"]
    plain, plain_body = raw_body(client, "/static/maplibre-gl.js", IDENTITY)
    assert plain_body == expected
    assert "content-encoding" not in plain.headers
    css = client.get("/static/maplibre-gl.css")
    assert css.content == (folder / "maplibre-gl.css").read_bytes()
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert client.get("/static/ipywidget.js").status_code == 404
    assert client.get("/static/../server.py").status_code == 404


def test_vendored_pmtiles_js(client: TestClient) -> None:
    static = REPO / "src" / "tilepress" / "web" / "static"
    data = (static / "pmtiles.js").read_bytes()
    note = (static / "README.md").read_text()
    assert hashlib.sha256(data).hexdigest() in note
    assert "BSD-3-Clause" in note
    licence = (static / "LICENSE-pmtiles.txt").read_text()
    assert "Copyright 2021 Protomaps LLC" in licence
    assert "Copyright (c) 2023 Arjun Barrett" in licence
    response, body = raw_body(client, "/static/pmtiles.js", GZIP)
    assert response.status_code == 200
    assert gzip.decompress(body) == data
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    page = client.get("/demo/").text
    assert re.search(r'<script src="\.\./static/pmtiles\.js\?v=[0-9a-f]+"></script>', page)
    assert 'href="./?source=pmtiles"' in page
    assert _data_block(page)["links"]["pmtiles"] == "demo.pmtiles"
