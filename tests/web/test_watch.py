"""`tilepress serve --watch -c CONFIG`: a real server rebuilding with the real `tilepress run`
on a config change, new workers swapped in after a good build only, open pages (real
Chromium) reloading by themselves at the same view, and a failed build's error shown in the
pages while the last good map stays served."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REFERENCE_CONFIG, REFERENCE_ID
from tests.support.commands import free_port, tilepress_command, tilepress_env
from tests.support.mvt import decode
from tests.support.servers import stop
from tests.web.browser import TIMEOUT_MS, hide_symbols, read_pixels, wait_idle, watch_page
from tests.web.http_helpers import TestClient
from tests.web.sample_dist import PUBLIC_URL
from tilepress.web.app import create_app
from tilepress.web.watch import error_text, watch_targets
from tilepress.web.watch_status import WatchLink, write_status

OLD_COLOR = "#1f5fbf"  # Ukraine in the reference config
NEW_COLOR = "#2a9d8f"
BAD_COLOR = "#zz9d8f"
UKRAINE = (31.5, 49.0)  # a point inside Ukraine, away from its label and the markers
VIEW = {"zoom": 4.25, "center": [33.0, 49.5]}
BUILD_TIMEOUT = 300.0


# ---- the parts, without a build


def test_the_watched_files_are_the_config_and_its_overlay_files(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "output_dir: out/maps\nmaps:\n  - id: a\n    overlays:\n"
        "      - {label: Front, path: data/front.geojson}\n"
        "      - {label: Zone, url: 'https://example.org/z.geojson', sha256: '00'}\n"
        "  - id: b\n    overlays: [{label: Front, path: data/front.geojson}]\n",
        encoding="utf-8",
    )
    targets = watch_targets(config)
    assert targets.output_dir == Path("out/maps")
    assert targets.files == (config, Path("data/front.geojson"))
    config.write_text("maps: [\n", encoding="utf-8")  # broken: the last known files stay
    assert watch_targets(config, targets) == targets


def test_a_failed_build_s_error_is_its_tilepress_error_lines() -> None:
    output = [
        "Building DAG of jobs...\n",
        "tilepress: error: 1 problem(s) in the configuration c.yaml:\n",
        "  - c.yaml:19: maps[0].highlight[0].color: '#zz' is not a colour\n",
        "Exiting because a job execution failed.\n",
    ]
    assert error_text(output, 1) == (
        "1 problem(s) in the configuration c.yaml:\n"
        "  - c.yaml:19: maps[0].highlight[0].color: '#zz' is not a colour"
    )
    assert error_text(["Killed\n"], -9) == "`tilepress run` exited with status -9\nKilled"


def test_a_watched_app_tells_its_build_and_the_last_error(dist: Path, tmp_path: Path) -> None:
    status = tmp_path / "status.json"
    app = create_app(dist, public_url=PUBLIC_URL, watch=WatchLink("run-7", status))
    with TestClient(app) as client:
        assert client.get("/_watch/state").json() == {
            "build": "run-7",
            "building": False,
            "error": None,
        }
        write_status(status, building=True, error="config.yaml:3: bad <colour>")
        answer = client.get("/_watch/state")
        assert answer.headers["cache-control"] == "no-store"
        assert answer.json()["error"] == "config.yaml:3: bad <colour>"
        viewer = client.get("/demo/").text
        assert 'id="tilepress-watch"' in viewer and '"../_watch/state"' in viewer
        assert '"run-7"' in viewer
        assert 'id="tilepress-watch"' in client.get("/").text
        tiles = client.get("/demo/tiles.json").json()["tiles"]
        assert tiles == [f"{PUBLIC_URL}/demo/tiles/{{z}}/{{x}}/{{y}}.pbf?build=run-7"]
        assert client.get("/demo/tiles/0/0/0.pbf?build=run-7").status_code == 200

    plain = create_app(dist, public_url=PUBLIC_URL)
    with TestClient(plain) as client:
        assert client.get("/_watch/state").status_code == 404
        assert "tilepress-watch" not in client.get("/demo/").text
        assert "tilepress-watch" not in client.get("/").text


# ---- the real thing


@dataclass
class Watched:
    """A `tilepress serve --watch` process, its working folder, base URL and log file."""

    workdir: Path
    config: Path
    base: str
    log: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def set_color(self, color: str) -> None:
        """Save the config with Ukraine's colour changed (as an editor does)."""
        text = self.config.read_text(encoding="utf-8")
        current = next(c for c in (OLD_COLOR, NEW_COLOR, BAD_COLOR) if f'"{c}"' in text)
        self.config.write_text(text.replace(f'"{current}"', f'"{color}"'), encoding="utf-8")


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def state(watched: Watched) -> dict[str, Any]:
    status, body = get(f"{watched.base}/_watch/state")
    assert status == 200
    answer: dict[str, Any] = json.loads(body)
    return answer


def wait_for(what: str, check: Any, watched: Watched, timeout: float = BUILD_TIMEOUT) -> Any:
    """Poll ``check()`` until it gives something true; fail with the server's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if watched.process.poll() is not None:
            pytest.fail(f"the server exited ({watched.process.returncode}):\n{watched.log_text()}")
        with contextlib.suppress(OSError):
            value = check()
            if value:
                return value
        time.sleep(0.2)
    pytest.fail(f"{what}: not after {timeout} s; server log:\n{watched.log_text()[-6000:]}")


def ukraine_color(watched: Watched) -> str:
    """Ukraine's colour in the served tile 0/0/0, through the served TileJSON's URL."""
    status, body = get(f"{watched.base}/{REFERENCE_ID}/tiles.json")
    assert status == 200
    url = json.loads(body)["tiles"][0].format(z=0, x=0, y=0)
    status, tile = get(url)
    assert status == 200
    features = decode(tile)["countries"]["features"]
    colors = [f["properties"]["color"] for f in features if f["properties"]["adm0_a3"] == "UKR"]
    assert len(colors) == 1
    return str(colors[0])


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    """`tilepress serve --watch` in a folder with the reference config and no dist yet."""
    workdir = tmp_path_factory.mktemp("watch")
    (workdir / "config").mkdir()
    config = workdir / "config" / "config.yaml"
    shutil.copy(REFERENCE_CONFIG, config)
    port = free_port()
    log = workdir / "serve.log"
    env = {k: v for k, v in tilepress_env().items() if not k.startswith("TILEPRESS_")}
    command = [*tilepress_command(), "serve", "--watch", "-c", "config/config.yaml"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--workers", "2"],
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    run = Watched(workdir, config, f"http://127.0.0.1:{port}", log, process)
    try:
        yield run
    finally:
        stop(process)


@pytest.mark.e2e
def test_serve_watch_rebuilds_reloads_and_shows_errors(watched: Watched, browser: Any) -> None:
    # No dist yet: it builds first, then serves.
    wait_for("the first build served", lambda: get(f"{watched.base}/health")[0] == 200, watched)
    assert "no map in dist yet: building first" in watched.log_text()
    assert ukraine_color(watched) == OLD_COLOR
    bundle = watched.workdir / "dist" / REFERENCE_ID / "web" / "index.html"
    assert "_watch" not in bundle.read_text(encoding="utf-8")  # the static bundle: unchanged
    first = state(watched)
    assert first["error"] is None

    page = browser.new_page(viewport={"width": 1200, "height": 800})
    events = watch_page(page)
    catalog = browser.new_page()
    try:
        page.goto(f"{watched.base}/{REFERENCE_ID}/", wait_until="load", timeout=TIMEOUT_MS)
        wait_idle(page)
        assert page.evaluate("() => window.tilepressWatch.build") == first["build"]
        page.evaluate(
            "view => { window.stayed = true; window.tilepress.idle = false;"
            " window.map.jumpTo(view); }",
            VIEW,
        )
        wait_idle(page)
        catalog.goto(f"{watched.base}/", wait_until="load", timeout=TIMEOUT_MS)
        assert not catalog.locator("#tilepress-watch").is_visible()

        # A new colour: rebuilt, served, and the open page reloads itself at the same view.
        watched.set_color(NEW_COLOR)
        seen: list[tuple[bool, str]] = []

        def swapped() -> bool:
            """The style and then the tile: once either is new, every later answer is."""
            style = get(f"{watched.base}/{REFERENCE_ID}/style.json")[1].decode()
            seen.append((NEW_COLOR in style, ukraine_color(watched)))
            return seen[-1] == (True, NEW_COLOR)

        wait_for("the new colour served", swapped, watched)
        first_new = next(i for i, (style, tile) in enumerate(seen) if style or tile == NEW_COLOR)
        assert seen[first_new:] == [(True, NEW_COLOR)] * (len(seen) - first_new), seen
        status, style = get(f"{watched.base}/{REFERENCE_ID}/style.json")
        assert status == 200 and NEW_COLOR in style.decode() and OLD_COLOR not in style.decode()
        second = state(watched)
        assert second["build"] != first["build"] and second["error"] is None
        page.wait_for_function(
            "build => window.tilepressWatch && window.tilepressWatch.build === build"
            " && window.stayed === undefined",
            arg=second["build"],
            timeout=TIMEOUT_MS,
        )
        wait_idle(page)
        view = page.evaluate(
            "() => ({zoom: window.map.getZoom(), center: window.map.getCenter().toArray()})"
        )
        assert view["zoom"] == pytest.approx(VIEW["zoom"], abs=1e-3)
        assert view["center"] == pytest.approx(VIEW["center"], abs=1e-3)
        drawn = page.evaluate(
            """() => window.map.queryRenderedFeatures({layers: ["countries-fill"]})
                 .filter(f => f.properties.adm0_a3 === "UKR").map(f => f.properties.color)"""
        )
        assert drawn and set(drawn) == {NEW_COLOR}
        hide_symbols(page)
        rgb = [int(NEW_COLOR[i : i + 2], 16) for i in (1, 3, 5)]
        assert read_pixels(page, UKRAINE)[0] == [*rgb, 255]

        # A broken config: its error in the pages, the last good map still served.
        watched.set_color(BAD_COLOR)
        banner = page.locator("#tilepress-watch")
        banner.wait_for(state="visible", timeout=BUILD_TIMEOUT * 1000)
        assert "is not a colour" in banner.inner_text() and BAD_COLOR in banner.inner_text()
        catalog.locator("#tilepress-watch").wait_for(state="visible", timeout=TIMEOUT_MS)
        assert "is not a colour" in catalog.locator("#tilepress-watch").inner_text()
        assert "is not a colour" in state(watched)["error"]
        assert state(watched)["build"] == second["build"]
        status, style = get(f"{watched.base}/{REFERENCE_ID}/style.json")
        assert status == 200 and NEW_COLOR in style.decode()
        assert ukraine_color(watched) == NEW_COLOR
        assert get(f"{watched.base}/{REFERENCE_ID}/")[0] == 200
        assert "is not a colour" in watched.log_text()  # and in the terminal

        # Fixed: the banner goes away.
        watched.set_color(NEW_COLOR)
        banner.wait_for(state="hidden", timeout=BUILD_TIMEOUT * 1000)
        catalog.locator("#tilepress-watch").wait_for(state="hidden", timeout=TIMEOUT_MS)
        assert state(watched)["error"] is None
        assert ukraine_color(watched) == NEW_COLOR
        page_errors = [e for e in events.errors if "_watch/state" not in e]
        assert page_errors == [], page_errors
    finally:
        page.close()
        catalog.close()
