"""Story marks in a real browser: a map built by the workflow with a hatched highlight group, a
hatched overlay, a dashed one, two markers and Abyei (land no country holds), viewed through
`tilepress serve` and as the static bundle on a plain nginx, in headless Chromium.

The patterns and marker symbols are images the page draws itself; every request goes to the
page's own origin.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

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

pytestmark = pytest.mark.e2e  # every test here views a build of the workflow

MAP_ID = "abyei"
CONFIG = """\
output_dir: dist
maps:
  - id: abyei
    title: Around Abyei
    highlight:
      - label: South Sudan
        color: "#1f5fbf"
        countries: [SSD]
        pattern: {{type: hatch, color: "#ffffff", width: 2, spacing: 8}}
      - {{label: Sudan, color: "#d62828", countries: [SDN]}}
    overlays:
      - label: Hatched area
        path: {hatched}
        color: "#8c2d04"
        pattern: {{type: hatch, color: "#ffd700", width: 2, spacing: 8}}
        date: "2026-11-20"
      - {{label: Dashed area, path: {dashed}, color: "#2a9d8f", outline: dashed}}
    markers:
      - {{label: Khartoum, lon: 32.53, lat: 15.59, symbol: star, size: 12,
          note: "Khartoum: the capital"}}
      - {{label: Juba, lon: 31.58, lat: 4.85, symbol: square, color: "#f28e1c", size: 10,
          anchor: left}}
    extent: [20, 2, 42, 20]
    zoom: {{min: 0, max: 5}}
"""
HATCHED_AREA = (21.0, 10.0, 24.0, 13.0)  # west, south, east, north: Darfur and eastern Chad
DASHED_AREA = (36.0, 7.0, 39.0, 10.0)  # the Ethiopian highlands
ABYEI = (28.4, 9.7)
ROWS = {
    # a row of pixels from (lon, lat) rightwards: its stripe and fill colours
    "South Sudan": ((29.5, 7.0), "#ffffff", "#1f5fbf"),
    "Hatched area": ((21.5, 11.5), "#ffd700", "#8c2d04"),
}
ROW_PIXELS = 60
OCEAN = "#d4e4f1"  # the default ocean colour
UNCLAIMED = ("#efece5", "#a8a293")  # land no country holds and its fine hatch
LEGEND = [
    "South Sudan",
    "Sudan",
    "Hatched area, as of 2026-11-20",
    "Dashed area",
    "Khartoum: the capital",
    "No country / disputed",
]


def _rgb(color: str) -> tuple[int, int, int]:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _distance(pixel: list[int], color: str) -> float:
    return float(sum((a - b) ** 2 for a, b in zip(pixel[:3], _rgb(color), strict=True)) ** 0.5)


def _runs(pixels: list[list[int]], stripe: str, fill: str) -> list[str]:
    """The row as runs of pixels nearer the stripe colour ("s") or the fill colour ("f")."""
    kinds = ["s" if _distance(p, stripe) < _distance(p, fill) else "f" for p in pixels]
    return [kind for i, kind in enumerate(kinds) if i == 0 or kinds[i - 1] != kind]


def _square(bounds: tuple[float, float, float, float]) -> dict[str, Any]:
    west, south, east, north = bounds
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


@pytest.fixture(scope="module")
def story_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The story map built by the workflow; its ``dist`` folder."""
    workdir = tmp_path_factory.mktemp("story")
    paths = {}
    for name, bounds in (("hatched", HATCHED_AREA), ("dashed", DASHED_AREA)):
        path = workdir / "data" / f"{name}.geojson"
        path.parent.mkdir(exist_ok=True)
        collection = {"type": "FeatureCollection", "features": [_square(bounds)]}
        path.write_text(json.dumps(collection), encoding="utf-8")
        paths[name] = str(path)
    (workdir / "config").mkdir()
    config = workdir / "config" / "config.yaml"
    config.write_text(textwrap.dedent(CONFIG.format(**paths)), encoding="utf-8")
    result = run_workflow(workdir, config)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir / "dist"


@pytest.fixture(scope="module")
def story_served(story_dist: Path) -> Iterator[str]:
    with running_tilepress(story_dist, workers=1) as base:
        yield f"{base}/{MAP_ID}/"


@pytest.fixture(scope="module")
def story_bundle(story_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The static bundle alone on a plain static host."""
    nginx = require_tool("nginx")
    root = tmp_path_factory.mktemp("story-host")
    shutil.copytree(story_dist / MAP_ID / "web", root / MAP_ID)
    with running_nginx(nginx, root, root.parent / "nginx-story", plain=True) as base:
        yield f"{base}/{MAP_ID}/"


@dataclass
class StoryRun:
    """What one page load of the story map showed."""

    rendered: dict[str, list[str]]
    rows: dict[str, list[list[int]]]
    abyei: list[int]
    legend: list[str]
    requests: list[str]
    errors: list[str] = field(default_factory=list)
    state_errors: list[str] = field(default_factory=list)


_RENDERED = """layers => Object.fromEntries(layers.map(id => [id,
  window.map.queryRenderedFeatures({layers: [id]}).map(f => f.properties.label || "")]))"""


def _view_story(browser: Any, url: str, screenshot: Path) -> StoryRun:
    page = browser.new_page(viewport=DESKTOP)
    # an image MapLibre could not get is only a console warning: an error here
    events = watch_page(page, console_warnings="image")
    try:
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        wait_idle(page)
        layers = [*MARKER_LAYERS, "overlays-outline-dashed", "overlays-pattern"]
        rendered = page.evaluate(_RENDERED, layers)
        page.screenshot(path=str(screenshot))
        keep_screenshot(screenshot)
        hide_symbols(page)
        rows = {name: read_pixels(page, start, ROW_PIXELS) for name, (start, _, _) in ROWS.items()}
        return StoryRun(
            rendered=rendered,
            rows=rows,
            abyei=read_pixels(page, ABYEI)[0],
            legend=[text.strip() for text in page.locator(".legend li").all_inner_texts()],
            requests=events.requests,
            errors=events.errors + events.bad_responses,
            state_errors=page.evaluate("() => window.tilepress.errors"),
        )
    finally:
        page.close()


def _check_story(run: StoryRun, url: str) -> None:
    assert run.errors == [] and run.state_errors == []
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(url))
    network = [u for u in run.requests if not u.startswith(("data:", "blob:"))]
    assert all(u.startswith(origin) for u in network), network  # no sprite, no CDN
    # stripes inside the hatched group and the hatched overlay: stripe, fill, stripe, ...
    for name, (_, stripe, fill) in ROWS.items():
        runs = _runs(run.rows[name], stripe, fill)
        assert len(runs) >= 6, (name, runs, run.rows[name][:12])
        nearest = [min(_distance(p, stripe), _distance(p, fill)) for p in run.rows[name]]
        assert min(nearest) < 8, (name, run.rows[name][:12])  # the colours themselves
    # Abyei is land, light and finely hatched, not water
    assert _distance(run.abyei, OCEAN) > 8, run.abyei
    low = [min(a, b) - 8 for a, b in zip(*map(_rgb, UNCLAIMED), strict=True)]
    high = [max(a, b) + 8 for a, b in zip(*map(_rgb, UNCLAIMED), strict=True)]
    assert all(lo <= c <= hi for lo, c, hi in zip(low, run.abyei[:3], high, strict=True))
    # both markers, with their labels, over everything
    for layer in MARKER_LAYERS:
        assert set(run.rendered[layer]) == {"Khartoum", "Juba"}, (layer, run.rendered)
    assert run.rendered["overlays-outline-dashed"] and run.rendered["overlays-pattern"]
    assert run.legend == LEGEND


def test_story_marks_in_the_served_viewer(browser: Any, story_served: str, tmp_path: Path) -> None:
    run = _view_story(browser, story_served, tmp_path / "story-served.png")
    _check_story(run, story_served)
    assert any("/tiles/" in u and u.endswith(".pbf") for u in run.requests)
    glyphs = {u.split("/glyphs/")[1].split("/")[0] for u in run.requests if "/glyphs/" in u}
    assert glyphs == {"Noto%20Sans%20Bold", "Noto%20Sans%20Regular"}  # the markers' labels


def test_story_marks_in_the_static_bundle(browser: Any, story_bundle: str, tmp_path: Path) -> None:
    run = _view_story(browser, story_bundle, tmp_path / "story-bundle.png")
    _check_story(run, story_bundle)
    assert f"{story_bundle}{MAP_ID}.pmtiles" in run.requests
