"""The viewer's scripts and stylesheet, served under ``/static/``: read once, into memory.

MapLibre GL JS (its module, its worker module and its stylesheet) and the PMTiles protocol are
vendored in ``static/`` from their npm packages (``static/vendored.json`` pins the versions
and checksums; ``static/vendor.py`` redoes the vendoring). Only these named files are served:
a request never names a file on disk. The static bundle (:mod:`tilepress.web.bundle`) copies
the same files.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from tilepress.web.assets import STATIC_CACHE, Asset, Blob

__all__ = ["static_files", "static_version"]

log = logging.getLogger(__name__)

STATIC_FOLDER: Final = Path(__file__).with_name("static")
JAVASCRIPT: Final = "text/javascript; charset=utf-8"
STATIC_FILES: Final = {  # file in static/: media type
    # MapLibre GL JS 6 is an ES module; named .js, as every static host serves .js files as
    # JavaScript (nginx's mime.types has no .mjs, and a module needs a JavaScript type).
    "maplibre-gl.js": JAVASCRIPT,
    "maplibre-gl-worker.js": JAVASCRIPT,  # its web worker, also a module (setWorkerUrl)
    "maplibre-gl.css": "text/css; charset=utf-8",
    "pmtiles.js": JAVASCRIPT,
    "LICENSE-maplibre-gl.txt": "text/plain; charset=utf-8",
    "LICENSE-pmtiles.txt": "text/plain; charset=utf-8",
}


@functools.cache
def static_files() -> dict[str, Asset]:
    """The vendored MapLibre GL JS and PMTiles files and their licences, by file name, each
    with a gzip representation."""
    files = [(STATIC_FOLDER / name, name, kind) for name, kind in STATIC_FILES.items()]
    assets: dict[str, Asset] = {}
    for path, name, media_type in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc)
            continue
        assets[name] = Asset(
            Blob.of(data),
            media_type,
            STATIC_CACHE,
            gzipped=Blob.of(gzip.compress(data, compresslevel=6, mtime=0)),
        )
    return assets


def static_version(assets: Mapping[str, Asset]) -> str:
    """A short fingerprint of the static files, used to bust browser caches on upgrade."""
    joined = "".join(asset.identity.etag for _, asset in sorted(assets.items()))
    return hashlib.blake2b(joined.encode(), digest_size=6).hexdigest()
