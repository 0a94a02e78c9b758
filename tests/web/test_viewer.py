"""The viewer in a real browser: `tilepress serve` on the reference map, headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``, or ``TILEPRESS_CHROMIUM``) driven through
Playwright's ``executable_path``; WebGL runs on SwiftShader. Under CI (``CI=true``) a missing
browser or Playwright fails these tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REFERENCE_CONFIG, REFERENCE_ID
from tests.support.servers import require_module, require_tool, running_tilepress
from tilepress.project import load_config

pytestmark = pytest.mark.e2e  # every test here views the reference build

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
OVERVIEW = {"center": [78.0, 58.0], "zoom": 3}
"""A view with Ukraine, Russia and North Korea in it, Kyiv below the panel."""
CITIES = {"Ukraine": (30.5234, 50.4501), "Russia": (37.6173, 55.7558),
          "North Korea": (125.7625, 39.0392)}  # fmt: skip
"""A point inside each highlighted country: Kyiv, Moscow, Pyongyang."""
SEA = {"Black Sea": (34.0, 43.3), "Sea of Japan": (134.0, 40.0), "Caspian Sea": (50.5, 41.5)}
TIMEOUT_MS = 90_000

SPEC = load_config(REFERENCE_CONFIG).map(REFERENCE_ID)


def _rgb(color: str) -> list[int]:
    return [int(color[i : i + 2], 16) for i in (1, 3, 5)]


@dataclass
class ViewerRun:
    """What one page load of the viewer showed."""

    pixels: dict[str, list[int]]
    errors: list[str]
    requests: list[str]
    bad_responses: list[str] = field(default_factory=list)
    source: str = ""
    legend: list[str] = field(default_factory=list)
    attribution: str = ""
    pdf_href: str = ""
    screenshot: Path | None = None


@pytest.fixture(scope="module")
def base_url(reference_dist: Path) -> Iterator[str]:
    """`tilepress serve` on the folder holding the reference map."""
    with running_tilepress(reference_dist.parent, workers=1) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = require_tool("chromium")
    require_module("playwright", "pip install playwright (no browser download needed)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


_READ_PIXEL = """
([lon, lat]) => {
  const point = window.map.project([lon, lat]);
  const canvas = window.map.getCanvas();
  const gl = canvas.getContext("webgl2") || canvas.getContext("webgl");
  const ratio = canvas.width / canvas.clientWidth;
  const x = Math.floor(point.x * ratio);
  const y = canvas.height - 1 - Math.floor(point.y * ratio);
  const pixel = new Uint8Array(4);
  gl.readPixels(x, y, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
  return Array.from(pixel);
}
"""


def _view(browser: Any, url: str, screenshot: Path) -> ViewerRun:
    """Open the viewer, wait for `idle`, move to the overview, read pixels."""
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    requests: list[str] = []
    bad: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "requestfailed",
        lambda request: errors.append(f"request failed: {request.url} {request.failure}"),
    )
    page.on(
        "response",
        lambda response: (
            bad.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )
    try:
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_function("window.tilepress && window.tilepress.idle", timeout=TIMEOUT_MS)
        page.evaluate(
            "view => { window.tilepress.idle = false; window.map.jumpTo(view); }", OVERVIEW
        )
        page.wait_for_function("window.tilepress.idle", timeout=TIMEOUT_MS)
        pixels = {
            name: page.evaluate(_READ_PIXEL, list(point))
            for name, point in {**CITIES, **SEA}.items()
        }
        state = page.evaluate("() => window.tilepress")
        page.screenshot(path=str(screenshot))
        return ViewerRun(
            pixels=pixels,
            errors=errors + list(state["errors"]),
            requests=requests,
            bad_responses=bad,
            source=state["source"],
            legend=[text.strip() for text in page.locator(".legend li").all_inner_texts()],
            attribution=page.locator(".maplibregl-ctrl-attrib").inner_text(),
            pdf_href=page.evaluate("() => document.querySelector('a.button').href"),
            screenshot=screenshot,
        )
    finally:
        page.close()


def _keep(screenshot: Path) -> None:
    """Copy a screenshot to TILEPRESS_SCREENSHOT_DIR when set (to look at it)."""
    folder = os.environ.get("TILEPRESS_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(folder) / screenshot.name)


def _check(run: ViewerRun, base_url: str) -> None:
    assert run.errors == []
    assert run.bad_responses == []
    colors = {group.label: _rgb(group.color) for group in SPEC.highlight}
    for country in CITIES:
        assert run.pixels[country] == [*colors[country], 255], country
    for sea in SEA:
        assert run.pixels[sea] == [*_rgb(SPEC.ocean_color), 255], sea
    assert run.legend == [group.label for group in SPEC.highlight]
    assert "Natural Earth" in run.attribution
    assert SPEC.license_name in run.attribution
    assert run.pdf_href == f"{base_url}/{REFERENCE_ID}/{REFERENCE_ID}.pdf"
    assert not any("unpkg" in url or "cdn" in url for url in run.requests)
    with urllib.request.urlopen(run.pdf_href, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.read(5) == b"%PDF-"


def test_viewer_draws_the_map_from_the_tile_server(
    browser: Any, base_url: str, tmp_path: Path
) -> None:
    run = _view(browser, f"{base_url}/{REFERENCE_ID}/", tmp_path / "viewer-tiles.png")
    _keep(tmp_path / "viewer-tiles.png")
    _check(run, base_url)
    assert run.source == "server"
    tiles = [url for url in run.requests if "/tiles/" in url and url.endswith(".pbf")]
    assert len(tiles) > 10
    assert f"{base_url}/{REFERENCE_ID}/tiles.json" in run.requests
    assert not any(url.endswith(".pmtiles") for url in run.requests)


def test_viewer_draws_the_map_from_the_pmtiles_archive(
    browser: Any, base_url: str, tmp_path: Path
) -> None:
    url = f"{base_url}/{REFERENCE_ID}/?source=pmtiles"
    run = _view(browser, url, tmp_path / "viewer-pmtiles.png")
    _keep(tmp_path / "viewer-pmtiles.png")
    _check(run, base_url)
    assert run.source == "pmtiles"
    assert f"{base_url}/{REFERENCE_ID}/{REFERENCE_ID}.pmtiles" in run.requests
    assert not any("/tiles/" in url or url.endswith("tiles.json") for url in run.requests)


def test_reference_style_passes_gl_style_validate(
    base_url: str, reference_dist: Path, tmp_path: Path
) -> None:
    validate = require_tool("gl-style-validate")
    served = tmp_path / "served-style.json"
    with urllib.request.urlopen(f"{base_url}/{REFERENCE_ID}/style.json", timeout=10) as response:
        served.write_bytes(response.read())
    assert json.loads(served.read_text())["sources"]["countries"]["url"] == (
        f"{base_url}/{REFERENCE_ID}/tiles.json"
    )
    for style in (reference_dist / "style.json", served):
        result = subprocess.run(
            [validate, str(style)], capture_output=True, text=True, check=False, timeout=60
        )
        assert result.returncode == 0, f"{style}:\n{result.stdout}{result.stderr}"
