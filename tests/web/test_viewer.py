"""The web map in a real browser: the viewer of `tilepress serve` and the static bundle served
by a plain nginx, on the reference build, in headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``, or ``TILEPRESS_CHROMIUM``) driven through
Playwright's ``executable_path``; WebGL runs on SwiftShader. Under CI (``CI=true``) a missing
browser, nginx or Playwright fails these tests instead of skipping them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import REFERENCE_CONFIG, REFERENCE_ID
from tests.support.commands import run_workflow
from tests.support.servers import require_tool, running_nginx, running_tilepress
from tests.web.browser import (
    DESKTOP,
    MARKER_LAYERS,
    TIMEOUT_MS,
    hide_symbols,
    keep_screenshot,
    read_pixels,
    wait_idle,
    watch_page,
)
from tilepress.project import load_config
from tilepress.sources.files import map_fields
from tilepress.sources.table import read_countries

pytestmark = pytest.mark.e2e  # every test here views a build of the workflow

PHONE = {"width": 390, "height": 844}
OVERVIEW = {"center": [82.0, 48.0], "zoom": 2.5}
"""A view of the 1,080 pixels the map has beside its caption with every city and sea below."""
CITIES = {"Ukraine": (30.5234, 50.4501), "Russia": (37.6173, 55.7558),
          "North Korea": (125.7625, 39.0392)}  # fmt: skip
"""A point inside each highlighted country: Kyiv, Moscow, Pyongyang."""
SEA = {"Black Sea": (34.0, 43.3), "Sea of Japan": (134.0, 40.0), "Caspian Sea": (50.5, 41.5)}

SPEC = load_config(REFERENCE_CONFIG).map(REFERENCE_ID)
COLORS = {g.label: [int(g.color[i : i + 2], 16) for i in (1, 3, 5)] for g in SPEC.highlight}
LEGEND = [
    *(group.label for group in SPEC.highlight),
    "Kursk region: North Korean soldiers captured, January 2025",  # the notes start with
    "Kyiv: where the captured soldiers are held",  # the markers' labels: alone
    "No country / disputed",  # Abyei and the others: a world map holds them
]


def label_points() -> dict[str, tuple[float, float]]:
    """Natural Earth's label point of each highlighted country (the tiles' ``labels``)."""
    table = read_countries(SPEC.source, repaired=False, fields=map_fields(SPEC.source))
    points = {}
    for group in SPEC.highlight:
        (row,) = [row for country in group.countries for row in table.lookup(country)]
        points[group.label] = (table.field("LABEL_X")[row], table.field("LABEL_Y")[row])
    return points


@dataclass
class ViewerRun:
    """What one page load of the viewer showed."""

    state: dict[str, Any]
    labels: set[str]
    markers: dict[str, set[str]]
    pixels: dict[str, list[int]]
    requests: list[str]
    errors: list[str]
    bad_responses: list[str] = field(default_factory=list)
    legend: list[str] = field(default_factory=list)
    attribution: str = ""
    pdf_href: str = ""
    embed: str = ""
    boxes: dict[str, dict[str, float]] = field(default_factory=dict)
    view: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def served(reference_dist: Path) -> Iterator[str]:
    """`tilepress serve` on the folder holding the reference map."""
    with running_tilepress(reference_dist.parent, workers=1) as base:
        yield base


@pytest.fixture(scope="module")
def bundle(reference_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The static bundle, copied alone (``cp -r``) into a folder that a plain nginx serves."""
    nginx = require_tool("nginx")
    root = tmp_path_factory.mktemp("host")
    shutil.copytree(reference_dist / "web", root / "maps" / "reference")
    with running_nginx(nginx, root, root.parent / "nginx-bundle", plain=True) as base:
        yield f"{base}/maps/reference/"


_LABELS = """layer => window.map.queryRenderedFeatures({layers: [layer]})
  .map(feature => feature.properties.name || feature.properties.label)"""
_BOX = "selector => document.querySelector(selector).getBoundingClientRect().toJSON()"
_VIEW = """points => ({
  bounds: window.map.getBounds().toArray(),
  inside: Object.fromEntries(Object.entries(points).map(([name, point]) => {
    const p = window.map.project(point);
    const canvas = window.map.getCanvas();
    return [name, p.x >= 0 && p.y >= 0 && p.x < canvas.clientWidth && p.y < canvas.clientHeight];
  })),
})"""


def _view(
    browser: Any,
    url: str,
    screenshot: Path,
    *,
    viewport: dict[str, int] = DESKTOP,
    points: dict[str, tuple[float, float]] | None = None,
) -> ViewerRun:
    """Open the viewer and wait for `idle`; read its state, the labels it placed, the first
    view and the boxes of the map, the caption panel and the zoom buttons; then read the
    colours (labels and markers hidden) at ``points`` in the first view, or at the cities and seas
    of the overview."""
    page = browser.new_page(viewport=viewport)
    events = watch_page(page)
    try:
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        wait_idle(page)
        labels = set(page.evaluate(_LABELS, "labels-highlighted"))
        markers = {layer: set(page.evaluate(_LABELS, layer)) for layer in MARKER_LAYERS}
        view = page.evaluate(_VIEW, {name: list(p) for name, p in label_points().items()})
        boxes = {
            name: page.evaluate(_BOX, selector)
            for name, selector in (
                ("map", "#map"),
                ("panel", ".panel"),
                ("zoom", ".maplibregl-ctrl-zoom-in"),
            )
        }
        page.screenshot(path=str(screenshot))
        hide_symbols(page)  # the Kyiv marker covers Kyiv
        if points is None:
            page.evaluate("view => { window.tilepress.idle = false; window.map.jumpTo(view); }",
                          OVERVIEW)  # fmt: skip
            points = {**CITIES, **SEA}
            wait_idle(page)
        pixels = {name: read_pixels(page, point)[0] for name, point in points.items()}
        return ViewerRun(
            state=page.evaluate("() => window.tilepress"),
            labels=labels,
            markers=markers,
            pixels=pixels,
            requests=events.requests,
            errors=events.errors,
            bad_responses=events.bad_responses,
            legend=[text.strip() for text in page.locator(".legend li").all_inner_texts()],
            attribution=page.locator(".maplibregl-ctrl-attrib").inner_text(),
            pdf_href=page.evaluate("() => document.querySelector('a.button').href"),
            embed=page.evaluate("() => document.getElementById('embed-code').value"),
            boxes=boxes,
            view=view,
        )
    finally:
        page.close()


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and (b["top"] < a["bottom"])
    )


def _check(run: ViewerRun, page_url: str) -> None:
    """What every view of the reference map must show."""
    assert run.errors == [] and run.state["errors"] == []
    assert run.bad_responses == []
    for country in CITIES:
        assert run.pixels[country] == [*COLORS[country], 255], country
    for sea in SEA:
        sea_color = [int(SPEC.ocean_color[i : i + 2], 16) for i in (1, 3, 5)]
        assert run.pixels[sea] == [*sea_color, 255], sea
    assert run.labels >= {"Ukraine", "Russia", "North Korea"}  # drawn as symbols, not HTML
    assert run.markers == {layer: {"Kursk", "Kyiv"} for layer in MARKER_LAYERS}  # on top
    assert run.view["inside"] == dict.fromkeys(COLORS, True)  # the first view shows all
    assert run.legend == LEGEND
    assert "Natural Earth" in run.attribution and SPEC.license_name in run.attribution
    assert not _overlap(run.boxes["panel"], run.boxes["map"])
    page_address = page_url.split("?", maxsplit=1)[0]
    assert f'<iframe src="{page_address}" title="' in run.embed  # for its own address
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(page_url))
    network = [url for url in run.requests if not url.startswith(("data:", "blob:"))]
    assert all(url.startswith(origin) for url in network), network  # nothing from elsewhere
    glyphs = [url for url in network if "/glyphs/" in url and url.endswith(".pbf")]
    # bold capitals for the countries, regular for the markers' labels
    stacks = {url.split("/glyphs/")[1].split("/")[0] for url in glyphs}
    assert stacks == {"Noto%20Sans%20Bold", "Noto%20Sans%20Regular"}, glyphs
    with urllib.request.urlopen(run.pdf_href, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.read(5) == b"%PDF-"


def test_viewer_draws_the_map_from_the_tile_server(
    browser: Any, served: str, tmp_path: Path
) -> None:
    url = f"{served}/{REFERENCE_ID}/"
    run = _view(browser, url, tmp_path / "viewer-tiles.png")
    keep_screenshot(tmp_path / "viewer-tiles.png")
    _check(run, url)
    assert run.state["source"] == "server"
    tiles = [url for url in run.requests if "/tiles/" in url and url.endswith(".pbf")]
    assert len(tiles) >= 6  # the first view (zoom 1) and the overview (zoom 2.5)
    assert f"{served}/{REFERENCE_ID}/tiles.json" in run.requests
    assert not any(url.endswith(".pmtiles") for url in run.requests)
    assert run.pdf_href == f"{served}/{REFERENCE_ID}/{REFERENCE_ID}.pdf"


def test_viewer_draws_the_map_from_the_pmtiles_archive(
    browser: Any, served: str, tmp_path: Path
) -> None:
    url = f"{served}/{REFERENCE_ID}/?source=pmtiles"
    run = _view(browser, url, tmp_path / "viewer-pmtiles.png")
    keep_screenshot(tmp_path / "viewer-pmtiles.png")
    _check(run, url)
    assert run.state["source"] == "pmtiles"
    assert f"{served}/{REFERENCE_ID}/{REFERENCE_ID}.pmtiles" in run.requests
    assert not any("/tiles/" in url or url.endswith("tiles.json") for url in run.requests)


def test_the_static_bundle_shows_the_same_map_on_a_plain_host(
    browser: Any, bundle: str, tmp_path: Path
) -> None:
    run = _view(browser, bundle, tmp_path / "bundle.png")
    keep_screenshot(tmp_path / "bundle.png")
    _check(run, bundle)
    assert run.state["source"] == "pmtiles"
    assert all(url.startswith(bundle) for url in run.requests if url.startswith("http"))
    assert f"{bundle}{REFERENCE_ID}.pmtiles" in run.requests
    assert f"{bundle}static/maplibre-gl-worker.js?v=" in " ".join(run.requests)
    assert run.pdf_href == f"{bundle}{REFERENCE_ID}.pdf"


@pytest.mark.parametrize("where", ["served", "bundle"])
def test_on_a_phone_the_caption_leaves_the_map_and_its_controls_free(
    browser: Any, where: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = (
        request.getfixturevalue("served") + f"/{REFERENCE_ID}/"
        if where == "served"
        else (request.getfixturevalue("bundle"))
    )
    points = label_points()
    run = _view(browser, url, tmp_path / f"phone-{where}.png", viewport=PHONE, points=points)
    keep_screenshot(tmp_path / f"phone-{where}.png")
    assert run.errors == [] and run.bad_responses == []
    assert run.view["inside"] == dict.fromkeys(COLORS, True), run.view
    for name, color in COLORS.items():  # the colours at the label points, nothing over them
        assert run.pixels[name] == [*color, 255], name
    assert run.labels >= {"Ukraine", "Russia", "North Korea"}
    panel, map_box, zoom = run.boxes["panel"], run.boxes["map"], run.boxes["zoom"]
    assert not _overlap(panel, map_box)
    assert map_box["width"] == PHONE["width"] and map_box["top"] == 0  # the map first, full width
    assert panel["top"] >= map_box["bottom"]  # the caption below it
    assert not _overlap(zoom, panel) and zoom["right"] <= map_box["right"]


REGIONAL = """\
output_dir: dist
maps:
  - id: black-sea
    title: Around the Black Sea
    highlight:
      - {label: Ukraine, color: "#1f5fbf", countries: [UKR]}
      - {label: Turkey, color: "#b33939", countries: [TUR]}
    extent: [20, 38, 45, 52]
    zoom: {min: 0, max: 4}
"""


def test_a_regional_map_opens_on_its_extent(browser: Any, tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "config.yaml"
    config.write_text(textwrap.dedent(REGIONAL))
    result = run_workflow(tmp_path, config)
    assert result.returncode == 0, result.stderr[-3000:]
    with running_tilepress(tmp_path / "dist") as base:
        page = browser.new_page(viewport=DESKTOP)
        try:
            page.goto(f"{base}/black-sea/", wait_until="load", timeout=TIMEOUT_MS)
            wait_idle(page)
            (west, south), (east, north) = page.evaluate("() => window.map.getBounds().toArray()")
        finally:
            page.close()
    # The whole extent is in view, and fills it in one direction (20 px of padding aside).
    assert west <= 20 and east >= 45 and south <= 38 and north >= 52
    assert (east - west) < 25 * 1.2 or (north - south) < 14 * 1.6


def test_the_styles_pass_gl_style_validate(
    served: str, reference_dist: Path, tmp_path: Path
) -> None:
    validate = require_tool("gl-style-validate")
    served_style = tmp_path / "served-style.json"
    with urllib.request.urlopen(f"{served}/{REFERENCE_ID}/style.json", timeout=10) as response:
        served_style.write_bytes(response.read())
    document = json.loads(served_style.read_text())
    assert document["sources"]["countries"]["url"] == f"{served}/{REFERENCE_ID}/tiles.json"
    assert document["glyphs"] == f"{served}/{REFERENCE_ID}/glyphs/{{fontstack}}/{{range}}.pbf"
    bundled = reference_dist / "web" / "style.json"
    for style in (reference_dist / "style.json", served_style, bundled):
        result = subprocess.run(
            [validate, str(style)], capture_output=True, text=True, check=False, timeout=60
        )
        assert result.returncode == 0, f"{style}:\n{result.stdout}{result.stderr}"
