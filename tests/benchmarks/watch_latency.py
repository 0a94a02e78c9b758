"""How long `tilepress serve --watch` takes from saving a colour change to serving it.

`watch_latency(workdir, runs)` starts `tilepress serve --watch -c config/config.yaml` in
``workdir`` (with the reference config copied there when it has none), waits until the first
build is served, then ``runs`` times: saves the config with the first map's first highlight
in a new colour and times until the served ``style.json`` (its legend) carries it, polled
every 20 ms. style.json and the tiles come from one build, swapped together, so the tile
holding the colour is checked once after each run, untimed. Each time covers the debounce,
the `tilepress run` (Snakemake, the tile, style, glyph, bundle and print steps the colour
reruns), reading the build and forking the new workers.

    .venv/bin/python tests/benchmarks/watch_latency.py [--runs N] [--keep DIR]

prints each time and the median.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REFERENCE_CONFIG = REPO / "config" / "config.yaml"
POLL_SECONDS = 0.02
TIMEOUT_SECONDS = 600.0

__all__ = ["watch_latency"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body: bytes = response.read()
            return body
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _serves(url: str, wanted: bytes) -> bool:
    """Whether the document at ``url`` holds ``wanted``."""
    return wanted in (_get(url) or b"")


def _first_color(config: Path) -> tuple[str, str]:
    """The first map's id and its first highlight group's colour, as written in the file."""
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    spec = data["maps"][0]
    return spec["id"], spec["highlight"][0]["color"]


def _wait(
    what: str, check: Callable[[], bool], process: subprocess.Popen[bytes], log: Path
) -> float:
    """Poll ``check()`` until true; the monotonic time it became so."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text(errors='replace')[-4000:]}")
        if check():
            return time.monotonic()
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"{what}: not after {TIMEOUT_SECONDS} s; see {log}")


def watch_latency(workdir: Path, runs: int) -> list[float]:
    """Seconds from saving a colour change to the new colour being served, once per run."""
    workdir = Path(workdir)
    config = workdir / "config" / "config.yaml"
    if not config.is_file():
        config.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REFERENCE_CONFIG, config)
    map_id, color = _first_color(config)
    script = Path(sys.executable).with_name("tilepress")
    tilepress = [str(script)] if script.exists() else [sys.executable, "-m", "tilepress.cli"]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILEPRESS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    log = workdir / "watch-latency.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*tilepress, "serve", "--watch", "-c", "config/config.yaml", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    style_url = f"{base}/{map_id}/style.json"
    times: list[float] = []
    try:
        _wait("the first build", lambda: _get(style_url) is not None, process, log)
        for run in range(runs):
            new = f"#{(0x31 + 37 * run) % 256:02x}{(0x9D + 11 * run) % 256:02x}{0x5A:02x}"
            if new == color:
                new = "#123456"
            text = config.read_text(encoding="utf-8")
            started = time.monotonic()
            config.write_text(text.replace(f'"{color}"', f'"{new}"', 1), encoding="utf-8")
            wanted = new.encode()
            served = _wait(f"colour {new}", partial(_serves, style_url, wanted), process, log)
            times.append(served - started)
            tilejson = json.loads(_get(f"{base}/{map_id}/tiles.json") or b"{}")
            tile = _get(tilejson["tiles"][0].format(z=0, x=0, y=0)) or b""
            if tile[:2] == b"\x1f\x8b":
                tile = gzip.decompress(tile)
            if wanted not in tile:  # MVT keeps string values as they are
                raise RuntimeError(f"style.json has {new} but the tile 0/0/0 does not")
            color = new
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="colour changes timed (default 3)")
    parser.add_argument("--keep", type=Path, help="work in this folder and leave it")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        times = watch_latency(args.keep, args.runs)
    else:
        with tempfile.TemporaryDirectory(prefix="tilepress-watch-latency-") as folder:
            times = watch_latency(Path(folder), args.runs)
    for number, seconds in enumerate(times, 1):
        print(f"run {number}: {seconds:.2f} s")
    print(f"median: {statistics.median(times):.2f} s over {len(times)} run(s)")


if __name__ == "__main__":
    main()
