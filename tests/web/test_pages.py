"""The HTML pages (catalog and viewer), with hostile text escaped, and the static files."""

from __future__ import annotations

import gzip
import hashlib
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
    # MapLibre GL JS 6, an ES module, and its worker, from the server itself
    assert re.search(
        r'import \* as maplibregl from "\.\./static/maplibre-gl\.js\?v=[0-9a-f]+";', page
    )
    assert re.search(
        r'setWorkerUrl\(absolute\("\.\./static/maplibre-gl-worker\.js\?v=[0-9a-f]+"\)\)', page
    )
    assert re.search(r'href="\.\./static/maplibre-gl\.css\?v=[0-9a-f]+"', page)
    # the map inside a figure, described by its text alternative
    assert '<figure class="viewer">' in page and '<figcaption class="panel">' in page
    assert 'aria-describedby="map-description"' in page
    assert '<p id="map-description">' in page
    assert '<textarea id="embed-code" readonly>&lt;div style=' in page
    assert '<p class="nav"><a href="../">All maps</a></p>' in page
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
    # Only three script elements: the data block, PMTiles and the viewer's module.
    assert page.count("<script") == 3
    assert page.count("</script>") == 3
    assert "\\u003c/script\\u003e" in page  # inside the JSON block
    data = _data_block(page)
    assert data["attribution"] == SAFE_ATTRIBUTION + "<a>more</a>"
    assert data["author"] == AUTHOR


def test_viewer_script_is_valid_javascript(client: TestClient, tmp_path: Path) -> None:
    page = client.get("/demo/").text
    scripts = re.findall(r'<script type="module">(.*?)</script>', page, re.S)
    assert len(scripts) == 1
    script = tmp_path / "viewer.mjs"  # an ES module
    script.write_text(scripts[0])
    node = require_tool("node")
    result = subprocess.run(
        [node, "--check", str(script)], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- static files


def test_static_maplibre_is_the_vendored_release(client: TestClient) -> None:
    static = REPO / "src" / "tilepress" / "web" / "static"
    manifest = json.loads((static / "vendored.json").read_text())["packages"]["maplibre-gl"]
    assert manifest["version"] == "6.20.0"
    for name, pinned in manifest["files"].items():
        data = (static / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == pinned["sha256"], name
        assert pinned["sha256"] in (static / "README.md").read_text(), name
    script = (static / "maplibre-gl.js").read_bytes()
    assert script.startswith(b"/**\n* MapLibre GL JS\n* @license 3-Clause BSD.")
    assert b"/v6.20.0/LICENSE.txt" in script[:300]
    assert (
        "Copyright (c) 2023, MapLibre contributors"
        in (static / "LICENSE-maplibre-gl.txt").read_text()
    )
    response, body = raw_body(client, "/static/maplibre-gl.js", GZIP)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == script
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "max-age=31536000" in response.headers["cache-control"]
    plain, plain_body = raw_body(client, "/static/maplibre-gl.js", IDENTITY)
    assert plain_body == script
    assert "content-encoding" not in plain.headers
    worker = client.get("/static/maplibre-gl-worker.js")
    assert worker.content == (static / "maplibre-gl-worker.js").read_bytes()
    assert worker.headers["content-type"] == "text/javascript; charset=utf-8"
    css = client.get("/static/maplibre-gl.css")
    assert css.content == (static / "maplibre-gl.css").read_bytes()
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert client.get("/static/LICENSE-maplibre-gl.txt").status_code == 200
    assert client.get("/static/ipywidget.js").status_code == 404
    assert client.get("/static/vendor.py").status_code == 404
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
