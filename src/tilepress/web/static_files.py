"""The viewer's scripts and stylesheet, served under ``/static/``: read once, into memory.

MapLibre GL JS and its stylesheet come from the installed ``maplibre`` package; the PMTiles
protocol is vendored in ``static/`` (see its README for the source and checksum). Only these
named files are served: a request never names a file on disk.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from tilepress.web.assets import STATIC_CACHE, Asset, Blob

__all__ = ["static_files", "static_version"]

log = logging.getLogger(__name__)

_MAPLIBRE_FILES: Final = {
    "maplibre-gl.js": "text/javascript; charset=utf-8",
    "maplibre-gl.css": "text/css; charset=utf-8",
}
_VENDORED_FILES: Final = {
    "pmtiles.js": "text/javascript; charset=utf-8",
}


def _maplibre_folder() -> Path | None:
    """The ``srcjs`` folder of the installed ``maplibre`` package, found without importing it."""
    spec = importlib.util.find_spec("maplibre")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        log.warning("the maplibre package is not installed: the viewer will not work")
        return None
    return Path(locations[0]) / "srcjs"


@functools.cache
def static_files() -> dict[str, Asset]:
    """MapLibre GL JS (from the ``maplibre`` package) and the vendored PMTiles protocol, by
    file name, each with a gzip representation."""
    maplibre = _maplibre_folder()
    vendored = Path(__file__).with_name("static")
    files = [(vendored / name, name, kind) for name, kind in _VENDORED_FILES.items()]
    if maplibre is not None:
        files += [(maplibre / name, name, kind) for name, kind in _MAPLIBRE_FILES.items()]
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
