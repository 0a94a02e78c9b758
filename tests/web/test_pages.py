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
from tilepress.web.marks import MARKER_IMAGE_SIZE
from tilepress.web.pages import legend_html, plain_text


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


# --------------------------------------------------------------------------- story marks

MARKS_LEGEND: list[Any] = [
    {"kind": "group", "label": "Ukraine", "color": "#1f5fbf",
     "pattern": {"kind": "hatch", "color": "#ffffff", "width": 2.0, "spacing": 8.0}},
    {"kind": "group", "label": "Dotted <i>", "color": "#f28e1c",
     "pattern": {"kind": "dots", "color": "#1a1a1a", "width": 1.5, "spacing": 4}},
    {"kind": "overlay", "label": "Occupied & held", "color": "#8c2d04", "outline": "dashed",
     "outline_color": "#541b02", "date": "2026-11-20",
     "pattern": {"kind": "cross", "color": "#ffd700", "width": 1.2, "spacing": 5.0}},
    {"kind": "overlay", "label": "Claimed", "color": "#2a9d8f", "outline": "solid",
     "outline_color": "#195e56"},
    {"kind": "marker", "label": "Kursk", "color": "#1a1a1a", "symbol": "star",
     "note": "Kursk region: soldiers captured"},
    {"kind": "marker", "label": "Kyiv", "color": "#d62828", "symbol": "square",
     "note": "where <script>they</script> are held"},
    {"kind": "unclaimed", "label": "No country / disputed", "color": "#efece5",
     "pattern": {"kind": "hatch", "color": "#a8a293", "width": 0.5, "spacing": 3.0}},
    {"kind": "group", "label": "Hostile", "color": "red;x", "pattern": {
        "kind": 'stripes"><script>', "color": "url(javascript:x)", "width": '9"', "spacing": -1}},
    {"kind": "marker", "label": "Odd", "color": "#123456", "symbol": "<svg onload=x>",
     "note": "fine"},
    {"kind": "overlay", "label": "Bad sizes", "color": "#000000", "outline_color": "red;x",
     "pattern": {"kind": "hatch", "color": "#ffffff", "width": True, "spacing": 1e9}},
]  # fmt: skip


def test_the_legend_shows_patterns_overlays_markers_and_land_no_country_holds() -> None:
    html_text = legend_html(MARKS_LEGEND)
    items = re.findall(r"<li[^>]*>.*?</li>", html_text)
    assert len(items) == len(MARKS_LEGEND)
    texts = [
        re.sub(r"<svg.*?</svg>|<span class=\"swatch\"[^>]*></span>", "", item) for item in items
    ]
    assert [plain_text(text) for text in texts] == [
        "Ukraine",
        "Dotted &lt;i&gt;",
        "Occupied &amp; held, as of 2026-11-20",
        "Claimed",
        "Kursk region: soldiers captured",  # the note starts with the label: alone
        "Kyiv: where &lt;script&gt;they&lt;/script&gt; are held",
        "No country / disputed",
        "Hostile",
        "Odd: fine",
        "Bad sizes",
    ]
    hatch, dots, occupied, claimed, kursk, kyiv, unclaimed, hostile, odd, bad = items
    # a pattern's swatch: its stripes turned 45 degrees over the colour, as in the viewer
    assert '<svg class="swatch" width="14" height="9"' in hatch
    assert (
        '<pattern id="tp-legend-0" patternUnits="userSpaceOnUse" width="8" height="8" '
        'patternTransform="rotate(45)"><rect width="8" height="8" fill="#1f5fbf"/>'
        '<rect x="3" width="2" height="8" fill="#ffffff"/></pattern>'
    ) in hatch
    assert 'fill="url(#tp-legend-0)"' in hatch
    assert '<circle cx="2" cy="2" r="0.75" fill="#1a1a1a"/>' in dots and "rotate" not in dots
    # an overlay's: its pattern (crossed here), and its outline a shade darker, dashed or not
    assert occupied.count("<rect x=") + occupied.count("<rect y=") == 3  # tile + two stripes
    assert 'stroke="#541b02" stroke-width="1.5" stroke-dasharray="3 2"' in occupied
    assert 'fill="#2a9d8f" stroke="#195e56" stroke-width="1.5"/>' in claimed
    assert "stroke-dasharray" not in claimed
    # a marker's: its symbol in its colour
    assert '<svg class="symbol"' in kursk and '<g fill="#1a1a1a"' in kursk
    assert "<polygon points=" in kursk and '<rect x="-5" y="-5"' in kyiv
    assert '<pattern id="tp-legend-6"' in unclaimed and 'fill="#a8a293"' in unclaimed
    # nothing from the data reaches the markup unchecked
    assert "<script" not in html_text and "javascript" not in html_text
    assert "red;x" not in html_text and "onload" not in html_text
    assert '<span class="swatch" style="background:#c8c8c8"></span>' in hostile  # no pattern
    assert '<circle r="5"/>' in odd  # an unknown symbol is a dot
    assert 'width="5" height="5"' in bad and 'stroke="#333333"' in bad  # default sizes
    assert legend_html([{"label": "Old", "color": "#0057b7"}]) == (
        '<li class="group"><span class="swatch" style="background:#0057b7"></span>'
        "<span>Old</span></li>"
    )  # an entry of an older TileJSON, without a kind


_IMAGES_CHECK = """
const assert = require("node:assert");
%s
// a hatch: a whole number of pixels per period, the same on both sides of every edge
const hatch = patternImage(PATTERN_ID.exec("tp-hatch-ffffff-1f5fbf-2-8"), 1);
assert.strictEqual(hatch.image.width, 11);
assert.deepStrictEqual(hatch.options, { pixelRatio: 1 });
const px = (image, x, y) => Array.from(image.image.data.slice((y * image.image.width + x) * 4,
  (y * image.image.width + x) * 4 + 4));
const colors = new Set();
for (let y = 0; y < 11; y++) {
  for (let x = 0; x < 11; x++) { colors.add(px(hatch, x, y).join(",")); }
}
assert(colors.has("255,255,255,255") && colors.has("31,95,191,255"), [...colors].join(" "));
// along a row, stripe and fill alternate; the stripes are "/" (x + y constant)
assert.deepStrictEqual(px(hatch, 0, 10), px(hatch, 10, 0));
const sharp = patternImage(PATTERN_ID.exec("tp-hatch-ffffff-1f5fbf-2-8"), 2);
assert.strictEqual(sharp.image.width, 23);
assert.deepStrictEqual(sharp.options, { pixelRatio: 2 });
const cross = patternImage(PATTERN_ID.exec("tp-cross-ffffff-d62828-1.5-6"), 1);
assert.deepStrictEqual(px(cross, 0, 0), px(cross, 0, cross.image.width - 1));
const dots = patternImage(PATTERN_ID.exec("tp-dots-1a1a1a-f28e1c-3-6"), 1);
assert.strictEqual(dots.image.width, 6);
assert.deepStrictEqual(px(dots, 3, 3), [26, 26, 26, 255]);
assert.deepStrictEqual(px(dots, 0, 0), [242, 142, 28, 255]);
assert.strictEqual(PATTERN_ID.exec("tp-hatch-ffffff-1f5fbf-1e-05-5")[4], "1e-05");
assert.strictEqual(PATTERN_ID.exec("tp-zigzag-ffffff-1f5fbf-2-8"), null);
assert.strictEqual(PATTERN_ID.exec("tp-hatch-fff-1f5fbf-2-8"), null);
// markers: white shapes as distance fields, the edge at alpha 0.75
for (const symbol of ["dot", "square", "triangle", "star"]) {
  const marker = markerImage(symbol);
  assert.deepStrictEqual(marker.options, { sdf: true, pixelRatio: 1 });
  assert.strictEqual(marker.image.width, 40);
  assert.deepStrictEqual(px(marker, 20, 20), [255, 255, 255, 255], symbol);
  assert.strictEqual(px(marker, 0, 0)[3], 0, symbol);
}
const dot = markerImage("dot");
assert(Math.abs(px(dot, 31, 20)[3] - 191) < 20, px(dot, 31, 20));  // 0.5 px inside the edge
assert.deepStrictEqual(markerImage("star").image.data, markerImage("star").image.data);
assert.strictEqual(MARKER_ID.exec("tp-marker-circle"), null);
"""


def test_the_viewer_draws_patterns_and_marker_symbols_itself(
    client: TestClient, tmp_path: Path
) -> None:
    page = client.get("/demo/").text
    (script,) = re.findall(r'<script type="module">(.*?)</script>', page, re.S)
    assert "map.setMissingStyleImageResolver(" in script  # asked for, and waited for
    assert 'map.on("styleimagemissing"' in script  # MapLibre without a resolver
    assert "drawImages(map);" in script
    assert f"const MARKER_SIZE = {MARKER_IMAGE_SIZE};" in script  # what the style scales
    start = script.index("const NUMBER = ")
    code = script[start : script.index("function drawImages(map)")]
    check = tmp_path / "images.cjs"
    check.write_text(_IMAGES_CHECK % code)
    node = require_tool("node")
    result = subprocess.run([node, str(check)], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
