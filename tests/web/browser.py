"""Headless Chromium for the viewer tests: Debian's (``/usr/bin/chromium``, or
``TILEPRESS_CHROMIUM``) driven through Playwright's ``executable_path``, with WebGL on
SwiftShader; what a page shows, read from its WebGL canvas and its console."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.servers import require_module, require_tool

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
DESKTOP = {"width": 1400, "height": 900}
TIMEOUT_MS = 90_000
MARKER_LAYERS = ("markers", "markers-labels")
SYMBOL_LAYERS = ("labels", "labels-highlighted", *MARKER_LAYERS)
"""The layers drawn over the areas: hidden while a test reads the areas' colours."""

READ_PIXELS = """
([[lon, lat], count]) => {
  // `count` pixels of the canvas in a row, from the one at (lon, lat) rightwards: RGBA each.
  const point = window.map.project([lon, lat]);
  const canvas = window.map.getCanvas();
  const gl = canvas.getContext("webgl2") || canvas.getContext("webgl");
  const ratio = canvas.width / canvas.clientWidth;
  const x = Math.floor(point.x * ratio);
  const y = canvas.height - 1 - Math.floor(point.y * ratio);
  const pixels = new Uint8Array(4 * count);
  gl.readPixels(x, y, count, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
  return Array.from(pixels);
}
"""
HIDE_SYMBOLS = """ids => {
  window.tilepress.idle = false;
  ids.forEach(id => window.map.setLayoutProperty(id, "visibility", "none"));
}"""


def launch_browser() -> Iterator[Any]:
    """Chromium, for the tests of one module; skipped (failed under CI) when missing."""
    executable = require_tool("chromium")
    require_module("playwright", "pip install playwright (no browser download needed)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageEvents:
    """What a page reported while a test viewed it (filled in as the events come)."""

    errors: list[str] = field(default_factory=list)  # page errors, console, failed requests
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    bad_responses: list[str] = field(default_factory=list)  # answers of status 400 and up


def watch_page(page: Any, *, console_warnings: str | None = None) -> PageEvents:
    """Record ``page``'s errors, requests and bad answers from now on; console messages count
    as errors when they are errors, or when they mention ``console_warnings`` (any type)."""
    events = PageEvents()

    def console(message: Any) -> None:
        mentioned = console_warnings is not None and console_warnings in message.text.lower()
        if message.type == "error" or mentioned:
            events.errors.append(f"console {message.type}: {message.text}")

    def response(answer: Any) -> None:
        if answer.status >= 400:
            events.bad_responses.append(f"{answer.status} {answer.url}")

    page.on("pageerror", lambda error: events.errors.append(f"page error: {error}"))
    page.on("console", console)
    page.on("request", lambda request: events.requests.append(request.url))
    page.on(
        "requestfailed",
        lambda request: events.errors.append(f"request failed: {request.url} {request.failure}"),
    )
    page.on("response", response)
    return events


def wait_idle(page: Any) -> None:
    """Until the map has drawn everything it asked for (the viewer's ``idle``)."""
    page.wait_for_function("window.tilepress && window.tilepress.idle", timeout=TIMEOUT_MS)


def read_pixels(page: Any, point: tuple[float, float], count: int = 1) -> list[list[int]]:
    """The RGBA colours of ``count`` canvas pixels in a row from the one at ``point``."""
    flat = page.evaluate(READ_PIXELS, [list(point), count])
    return [flat[i : i + 4] for i in range(0, len(flat), 4)]


def hide_symbols(page: Any) -> None:
    """Hide the labels and markers and wait until the map is drawn again without them."""
    page.evaluate(HIDE_SYMBOLS, list(SYMBOL_LAYERS))
    wait_idle(page)


def keep_screenshot(screenshot: Path) -> None:
    """Copy a screenshot to TILEPRESS_SCREENSHOT_DIR when set (to look at it)."""
    folder = os.environ.get("TILEPRESS_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(folder) / screenshot.name)
