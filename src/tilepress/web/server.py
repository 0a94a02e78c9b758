"""The tile server: vector tiles, TileJSON, styles, a viewer and the downloads of built maps.

Everything is read from the ``dist`` folder once, when the application is created. Requests
never touch the filesystem: every lookup goes through an in-memory table keyed by map id, so
a request path is never joined to a file path. Bodies that do not depend on the request (JSON
documents, HTML pages, tiles, downloads) are serialised once, together with their ETag.

A request for a stored tile takes a fast path (`tilepress.web.fastpath`), answered by
the HTTP protocol itself when uvicorn runs httptools (`tilepress.web.protocol`); all
other requests go through the Starlette routes below, which give the same answers. `serve`
runs uvicorn, with one forked worker process per core (`tilepress.web.workers`).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import importlib.util
import ipaddress
import json
import logging
import os
import re
import socket
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tilepress.errors import ServeError
from tilepress.web.fastpath import (
    MVT_MEDIA_TYPE,
    TILE_CACHE,
    StoredTile,
    TileFastPath,
    TileInterner,
    fast_tile_paths,
)
from tilepress.web.httputil import (
    UnsatisfiableRangeError,
    accepts_gzip,
    byte_range,
    etag,
    etag_listed,
)
from tilepress.web.limits import MAX_HEADER_BYTES, MAX_URL_LENGTH
from tilepress.web.pages import (
    catalog_html,
    clean_attribution,
    color_or,
    template,
    text_or_empty,
    viewer_html,
)
from tilepress.web.workers import reuse_port_supported, run_workers

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_URL_LENGTH",
    "TilepressApp",
    "app_from_env",
    "clean_attribution",
    "create_app",
    "serve",
]

log = logging.getLogger(__name__)

MAP_ID_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_-]*")
"""A map id, matched with ``fullmatch``: also the name of its folder in ``dist``."""

RESERVED_IDS: Final = frozenset({"static", "health"})
"""Ids that would clash with the server's own routes."""

ENV_DIST: Final = "TILEPRESS_DIST"
ENV_PUBLIC_URL: Final = "TILEPRESS_PUBLIC_URL"
ENV_CORS: Final = "TILEPRESS_CORS"

JSON_MEDIA_TYPE: Final = "application/json"
HTML_MEDIA_TYPE: Final = "text/html; charset=utf-8"

DOWNLOAD_CACHE: Final = "public, max-age=3600"
STATIC_CACHE: Final = "public, max-age=31536000, immutable"
DOCUMENT_CACHE: Final = "no-cache"

ALLOWED_METHODS: Final = ("GET", "HEAD", "OPTIONS")
CORS_ALLOW_HEADERS: Final = ("Range", "If-None-Match", "If-Match")
CORS_EXPOSE_HEADERS: Final = ("ETag", "Content-Range", "Content-Length")

_DOWNLOADS: Final = {
    # suffix: (media type, Content-Disposition kind)
    ".pdf": ("application/pdf", "inline"),
    ".png": ("image/png", "inline"),
    ".pmtiles": ("application/vnd.pmtiles", None),
    ".mbtiles": ("application/vnd.sqlite3", "attachment"),
}
_MAPLIBRE_FILES: Final = {
    "maplibre-gl.js": "text/javascript; charset=utf-8",
    "maplibre-gl.css": "text/css; charset=utf-8",
}
_VENDORED_FILES: Final = {
    "pmtiles.js": "text/javascript; charset=utf-8",
}
_TILE_PATH = re.compile(r"([0-9]{1,2})/([0-9]{1,10})/([0-9]{1,10})\.(?:pbf|mvt)")


# --------------------------------------------------------------------------- in-memory table


@dataclass(frozen=True, slots=True)
class _Blob:
    """One representation of a resource, ready to send."""

    data: bytes
    etag: str

    @classmethod
    def of(cls, data: bytes) -> _Blob:
        return cls(data, etag(data))


@dataclass(frozen=True, slots=True)
class _Asset:
    """A resource held in memory with the headers it is always sent with."""

    identity: _Blob
    media_type: str
    cache_control: str
    gzipped: _Blob | None = None
    disposition: str | None = None
    ranges: bool = False


@dataclass(frozen=True, slots=True)
class _Tileset:
    """Everything the server knows about one map."""

    id: str
    minzoom: int
    maxzoom: int
    tiles: Mapping[tuple[int, int, int], StoredTile]
    tilejson: _Asset
    style: _Asset
    viewer: _Asset
    downloads: Mapping[str, _Asset]
    entry: Mapping[str, Any]
    relative_links: Mapping[str, str]


TileKey = tuple[int, int, int]


def _document(body: bytes, media_type: str, cache_control: str = DOCUMENT_CACHE) -> _Asset:
    return _Asset(_Blob.of(body), media_type, cache_control)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServeError(
            f"cannot read the JSON document: {exc}",
            where=str(path),
            hint="rebuild the map with `tilepress run`",
        ) from exc
    if not isinstance(value, dict):
        raise ServeError(
            "the document is not a JSON object",
            where=str(path),
            hint="rebuild the map with `tilepress run`",
        )
    return value


def _zoom(tilejson: Mapping[str, Any], key: str, default: int, where: Path) -> int:
    value = tilejson.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 30:
        raise ServeError(
            f"{key} must be an integer between 0 and 30, not {value!r}",
            where=str(where),
            hint="rebuild the map with `tilepress run`",
        )
    return value


def _valid_tile(z: int, x: int, y: int) -> bool:
    return 0 <= z <= 30 and 0 <= x < (1 << z) and 0 <= y < (1 << z)


def _tiles_from_mbtiles(path: Path, intern: TileInterner) -> dict[TileKey, StoredTile]:
    """Every tile of an MBTiles file, opened read-only, keyed by XYZ (not TMS) coordinates."""
    tiles: dict[TileKey, StoredTile] = {}
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = connection.execute(
                "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"
            )
            for z, x, row, data in rows:
                if not (isinstance(z, int) and isinstance(x, int) and isinstance(row, int)):
                    continue
                if not isinstance(data, bytes) or not data:
                    continue
                y = (1 << z) - 1 - row if 0 <= z <= 30 else -1
                if _valid_tile(z, x, y):
                    tiles[(z, x, y)] = intern(data)
    except sqlite3.Error as exc:
        raise ServeError(
            f"cannot read the MBTiles file: {exc}",
            where=str(path),
            hint="rebuild the map with `tilepress run`",
        ) from exc
    return tiles


def _numbered(folder: Path) -> Iterator[tuple[int, Path]]:
    for child in folder.iterdir():
        if child.is_dir() and child.name.isascii() and child.name.isdigit():
            yield int(child.name), child


def _tiles_from_folder(folder: Path, intern: TileInterner) -> dict[TileKey, StoredTile]:
    """Every tile of a ``{z}/{x}/{y}.pbf`` folder."""
    tiles: dict[TileKey, StoredTile] = {}
    if not folder.is_dir():
        return tiles
    try:
        for z, z_dir in _numbered(folder):
            for x, x_dir in _numbered(z_dir):
                for file in x_dir.iterdir():
                    stem, suffix = file.stem, file.suffix
                    if suffix not in (".pbf", ".mvt") or not (stem.isascii() and stem.isdigit()):
                        continue
                    y = int(stem)
                    data = file.read_bytes()
                    if data and _valid_tile(z, x, y):
                        tiles[(z, x, y)] = intern(data)
    except OSError as exc:
        raise ServeError(
            f"cannot read the tile folder: {exc}",
            where=str(folder),
            hint="rebuild the map with `tilepress run`",
        ) from exc
    return tiles


def _default_style(map_id: str, tilejson_url: str, tilejson: Mapping[str, Any]) -> dict[str, Any]:
    """A MapLibre style for a map whose folder has no ``style.json``."""
    extra = tilejson.get("tilepress")
    extra = extra if isinstance(extra, dict) else {}
    ocean = color_or(extra.get("ocean_color"), "#dfe9f3")
    base = color_or(extra.get("base_color"), "#f4f1ea")
    return {
        "version": 8,
        "name": str(tilejson.get("name", map_id)),
        "sources": {"countries": {"type": "vector", "url": tilejson_url}},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": ocean}},
            {
                "id": "countries-fill",
                "type": "fill",
                "source": "countries",
                "source-layer": "countries",
                "paint": {"fill-color": ["coalesce", ["get", "color"], base]},
            },
            {
                "id": "countries-line",
                "type": "line",
                "source": "countries",
                "source-layer": "countries",
                "paint": {"line-color": "#ffffff", "line-width": 0.6},
            },
        ],
    }


def _load_tiles(folder: Path, map_id: str) -> dict[TileKey, StoredTile]:
    """The map's tiles: from its MBTiles when there is one, else from its tile folder."""
    intern = TileInterner()
    mbtiles = folder / f"{map_id}.mbtiles"
    if mbtiles.is_file():
        tiles = _tiles_from_mbtiles(mbtiles, intern)
    else:
        tiles = _tiles_from_folder(folder / "tiles", intern)
    if not tiles:
        log.warning("map %s has no tiles: every tile request will get 204", map_id)
    return tiles


def _zoom_range(
    tilejson: Mapping[str, Any], tiles: Mapping[TileKey, StoredTile], where: Path
) -> tuple[int, int]:
    """The TileJSON's minzoom and maxzoom, defaulting to the zooms of the stored tiles."""
    minzoom = _zoom(tilejson, "minzoom", min((z for z, _, _ in tiles), default=0), where)
    maxzoom = _zoom(tilejson, "maxzoom", max((z for z, _, _ in tiles), default=minzoom), where)
    if minzoom > maxzoom:
        raise ServeError(
            f"minzoom {minzoom} is greater than maxzoom {maxzoom}",
            where=str(where),
            hint="rebuild the map with `tilepress run`",
        )
    return minzoom, maxzoom


def _load_style(
    folder: Path, map_id: str, tilejson_url: str, tilejson: Mapping[str, Any]
) -> dict[str, Any]:
    """The map's style, its vector sources pointing at ``tilejson_url``."""
    path = folder / "style.json"
    if not path.is_file():
        log.warning("map %s has no style.json: serving a default style", map_id)
        return _default_style(map_id, tilejson_url, tilejson)
    style = _read_json(path)
    sources = style.get("sources")
    if isinstance(sources, dict):
        for source in sources.values():
            if isinstance(source, dict) and source.get("type") == "vector" and "url" in source:
                source["url"] = tilejson_url
    return style


def _load_downloads(folder: Path, map_id: str) -> dict[str, _Asset]:
    """The map's PDF, PNG, PMTiles and MBTiles files that exist, by file name."""
    downloads: dict[str, _Asset] = {}
    for suffix, (media_type, disposition) in _DOWNLOADS.items():
        name = f"{map_id}{suffix}"
        path = folder / name
        if not path.is_file():
            continue
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise ServeError(f"cannot read the file: {exc}", where=str(path)) from exc
        downloads[name] = _Asset(
            _Blob.of(content),
            media_type,
            DOWNLOAD_CACHE,
            disposition=f'{disposition}; filename="{name}"' if disposition else None,
            ranges=True,
        )
    return downloads


def _load_tileset(
    folder: Path, public_url: str, static_version: str, viewer_template: str
) -> _Tileset:
    """Read one map folder into memory."""
    map_id = folder.name
    tilejson_path = folder / "tiles.json"
    raw = _read_json(tilejson_path)
    tiles = _load_tiles(folder, map_id)
    minzoom, maxzoom = _zoom_range(raw, tiles, tilejson_path)

    base = f"{public_url}/{map_id}"
    tilejson = dict(raw)
    tilejson["tiles"] = [f"{base}/tiles/{{z}}/{{x}}/{{y}}.pbf"]
    attribution = clean_attribution(text_or_empty(raw.get("attribution")))
    if "attribution" in raw:
        tilejson["attribution"] = attribution
    style = _load_style(folder, map_id, f"{base}/tiles.json", raw)
    downloads = _load_downloads(folder, map_id)

    relative = {"viewer": "", "tilejson": "tiles.json", "style": "style.json"}
    relative |= {name.rpartition(".")[2]: name for name in downloads}
    extra = raw.get("tilepress")
    extra = extra if isinstance(extra, dict) else {}
    license_ = extra.get("license")
    legend = extra.get("legend")
    entry: dict[str, Any] = {
        "id": map_id,
        "title": text_or_empty(extra.get("title")) or text_or_empty(raw.get("name")) or map_id,
        "caption": text_or_empty(extra.get("caption")) or text_or_empty(raw.get("description")),
        "author": text_or_empty(extra.get("author")),
        "license": license_ if isinstance(license_, dict) else None,
        "attribution": attribution,
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": raw.get("bounds"),
        "center": raw.get("center"),
        "tile_count": len(tiles),
        "legend": legend if isinstance(legend, list) else [],
        "links": {key: f"{base}/{path}" for key, path in relative.items()}
        | {"tiles": tilejson["tiles"][0]},
    }
    viewer_links = {key: path for key, path in relative.items() if key != "viewer"}
    viewer = viewer_html(viewer_template, entry, extra, viewer_links, static_version)
    return _Tileset(
        id=map_id,
        minzoom=minzoom,
        maxzoom=maxzoom,
        tiles=tiles,
        tilejson=_document(_json_bytes(tilejson), JSON_MEDIA_TYPE),
        style=_document(_json_bytes(style), JSON_MEDIA_TYPE),
        viewer=_document(viewer.encode("utf-8"), HTML_MEDIA_TYPE),
        downloads=downloads,
        entry=entry,
        relative_links=relative,
    )


def _scan(dist_dir: Path, public_url: str, static_version: str) -> dict[str, _Tileset]:
    """Every map in ``dist_dir``, by id, in name order."""
    if not dist_dir.is_dir():
        raise ServeError(
            "the folder does not exist or is not a folder",
            where=str(dist_dir),
            hint="run `tilepress run` first, or pass the folder it wrote the maps to",
        )
    viewer_template = template("viewer.html")
    tilesets: dict[str, _Tileset] = {}
    try:
        folders = sorted(dist_dir.iterdir())
    except OSError as exc:
        raise ServeError(f"cannot list the folder: {exc}", where=str(dist_dir)) from exc
    for folder in folders:
        if not (folder.is_dir() and (folder / "tiles.json").is_file()):
            continue  # work folders, logs and the like are not maps
        if not MAP_ID_PATTERN.fullmatch(folder.name):
            log.warning("skipping %s: %r is not a valid map id", folder, folder.name)
            continue
        if folder.name in RESERVED_IDS:
            log.warning("skipping %s: the id %r is reserved by the server", folder, folder.name)
            continue
        tilesets[folder.name] = _load_tileset(folder, public_url, static_version, viewer_template)
    if not tilesets:
        raise ServeError(
            "the folder holds no map (no sub-folder with a tiles.json)",
            where=str(dist_dir),
            hint="run `tilepress run` first to build the maps, then serve its output folder",
        )
    return tilesets


def _maplibre_folder() -> Path | None:
    """The ``srcjs`` folder of the installed ``maplibre`` package, found without importing it."""
    spec = importlib.util.find_spec("maplibre")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        log.warning("the maplibre package is not installed: the viewer will not work")
        return None
    return Path(locations[0]) / "srcjs"


@functools.cache
def _static_assets() -> dict[str, _Asset]:
    """MapLibre GL JS (from the ``maplibre`` package) and the vendored PMTiles protocol."""
    maplibre = _maplibre_folder()
    vendored = Path(__file__).with_name("static")
    files = [(vendored / name, name, kind) for name, kind in _VENDORED_FILES.items()]
    if maplibre is not None:
        files += [(maplibre / name, name, kind) for name, kind in _MAPLIBRE_FILES.items()]
    assets: dict[str, _Asset] = {}
    for path, name, media_type in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc)
            continue
        assets[name] = _Asset(
            _Blob.of(data),
            media_type,
            STATIC_CACHE,
            gzipped=_Blob.of(gzip.compress(data, compresslevel=6, mtime=0)),
        )
    return assets


def _static_version(assets: Mapping[str, _Asset]) -> str:
    """A short fingerprint of the static files, used to bust browser caches on upgrade."""
    joined = "".join(asset.identity.etag for _, asset in sorted(assets.items()))
    return hashlib.blake2b(joined.encode(), digest_size=6).hexdigest()


# --------------------------------------------------------------------------- the application


Endpoint = Callable[[Request], Awaitable[Response]]


class _RequestLimits:
    """Answers 414 to over-long request targets and 431 to over-large header sections.

    uvicorn's h11 parser only bounds a request head that arrives in pieces, so the total
    size of the headers is checked here as well.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_url_length: int = MAX_URL_LENGTH,
        max_header_bytes: int = MAX_HEADER_BYTES,
    ) -> None:
        self.app = app
        self.max_url_length = max_url_length
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
            query = scope.get("query_string") or b""
            header_bytes = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            response = None
            if len(raw_path) + (len(query) + 1 if query else 0) > self.max_url_length:
                response = PlainTextResponse("URI Too Long", status_code=414)
            elif header_bytes > self.max_header_bytes:
                response = PlainTextResponse("Request Header Fields Too Large", status_code=431)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Handlers:
    """The request handlers, over the in-memory table built at start-up."""

    def __init__(
        self,
        tilesets: Mapping[str, _Tileset],
        static: Mapping[str, _Asset],
        *,
        catalog: _Asset,
        catalog_json: _Asset,
        health: _Asset,
        cors_all: bool,
    ) -> None:
        self.tilesets = tilesets
        self.static = static
        self.catalog_page = catalog
        self.catalog_document = catalog_json
        self.health_document = health
        self.common = {"X-Content-Type-Options": "nosniff"}
        if cors_all:
            self.common["Access-Control-Allow-Origin"] = "*"
            self.common["Access-Control-Expose-Headers"] = ", ".join(CORS_EXPOSE_HEADERS)

    # ---- building responses

    def _send(
        self, request: Request, status: int, headers: Mapping[str, str], body: bytes = b""
    ) -> Response:
        """A response whose HEAD variant has the same headers and no body."""
        all_headers = {**self.common, **headers}
        if status not in (204, 304):
            all_headers["Content-Length"] = str(len(body))
        if request.method == "HEAD" or status in (204, 304):
            body = b""
        return Response(body, status_code=status, headers=all_headers)

    def _error(self, request: Request, status: int, message: str) -> Response:
        headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
        return self._send(request, status, headers, message.encode("utf-8"))

    def _not_found(self, request: Request) -> Response:
        return self._error(request, 404, "Not Found")

    def _precondition(
        self, request: Request, etag: str, headers: Mapping[str, str]
    ) -> Response | None:
        """304 or 412 when a conditional request header says so, else None."""
        if_match = request.headers.get("if-match")
        if if_match is not None and not etag_listed(if_match, etag, weak=False):
            return self._error(request, 412, "Precondition Failed")
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and etag_listed(if_none_match, etag, weak=True):
            return self._send(request, 304, headers)
        return None

    def _asset(self, request: Request, asset: _Asset) -> Response:
        """An in-memory resource, with content negotiation, conditionals and ranges."""
        blob = asset.identity
        headers = {"Content-Type": asset.media_type, "Cache-Control": asset.cache_control}
        if asset.gzipped is not None:
            headers["Vary"] = "Accept-Encoding"
            if accepts_gzip(request.headers.get("accept-encoding")):
                blob = asset.gzipped
                headers["Content-Encoding"] = "gzip"
        headers["ETag"] = blob.etag
        if asset.disposition:
            headers["Content-Disposition"] = asset.disposition
        if asset.ranges:
            headers["Accept-Ranges"] = "bytes"
        early = self._precondition(request, blob.etag, headers)
        if early is not None:
            return early
        range_header = request.headers.get("range")
        if_range = request.headers.get("if-range")
        if asset.ranges and range_header is not None and if_range in (None, blob.etag):
            size = len(blob.data)
            try:
                span = byte_range(range_header, size)
            except UnsatisfiableRangeError:
                headers["Content-Range"] = f"bytes */{size}"
                headers["Content-Type"] = "text/plain; charset=utf-8"
                return self._send(request, 416, headers, b"Range Not Satisfiable")
            if span is not None:
                first, last = span
                headers["Content-Range"] = f"bytes {first}-{last}/{size}"
                return self._send(request, 206, headers, blob.data[first : last + 1])
        return self._send(request, 200, headers, blob.data)

    def _tileset(self, request: Request) -> _Tileset | None:
        map_id = request.path_params.get("map_id")
        return self.tilesets.get(map_id) if isinstance(map_id, str) else None

    # ---- endpoints

    async def catalog(self, request: Request) -> Response:
        """GET / : the catalog page."""
        return self._asset(request, self.catalog_page)

    async def catalog_json(self, request: Request) -> Response:
        """GET /catalog.json : the catalog for programs."""
        return self._asset(request, self.catalog_document)

    async def health(self, request: Request) -> Response:
        """GET /health : liveness and the number of maps."""
        return self._asset(request, self.health_document)

    async def static_file(self, request: Request) -> Response:
        """GET /static/{name} : MapLibre GL JS and its stylesheet."""
        asset = self.static.get(request.path_params["name"])
        return self._asset(request, asset) if asset else self._not_found(request)

    async def redirect(self, request: Request) -> Response:
        """GET /{id} : to the viewer, with a relative Location (never built from Host)."""
        tileset = self._tileset(request)
        if tileset is None:
            return self._not_found(request)
        return self._send(request, 301, {"Location": f"{tileset.id}/"})

    async def viewer(self, request: Request) -> Response:
        """GET /{id}/ : the viewer page."""
        tileset = self._tileset(request)
        return self._asset(request, tileset.viewer) if tileset else self._not_found(request)

    async def tilejson(self, request: Request) -> Response:
        """GET /{id}/tiles.json."""
        tileset = self._tileset(request)
        return self._asset(request, tileset.tilejson) if tileset else self._not_found(request)

    async def style(self, request: Request) -> Response:
        """GET /{id}/style.json."""
        tileset = self._tileset(request)
        return self._asset(request, tileset.style) if tileset else self._not_found(request)

    async def download(self, request: Request) -> Response:
        """GET /{id}/{id}.pdf|png|pmtiles|mbtiles."""
        tileset = self._tileset(request)
        asset = tileset.downloads.get(request.path_params["name"]) if tileset else None
        return self._asset(request, asset) if asset else self._not_found(request)

    async def tile(self, request: Request) -> Response:
        """GET /{id}/tiles/{z}/{x}/{y}.pbf (or .mvt)."""
        tileset = self._tileset(request)
        if tileset is None:
            return self._not_found(request)
        match = _TILE_PATH.fullmatch(request.path_params["rest"])
        if match is None:
            return self._error(request, 400, "Bad Request: expected /tiles/{z}/{x}/{y}.pbf")
        z, x, y = (int(part) for part in match.groups())
        if not (tileset.minzoom <= z <= tileset.maxzoom and x < (1 << z) and y < (1 << z)):
            return self._not_found(request)
        headers = {"Cache-Control": TILE_CACHE, "Vary": "Accept-Encoding"}
        tile = tileset.tiles.get((z, x, y))
        if tile is None:
            return self._send(request, 204, headers)
        headers["Content-Type"] = MVT_MEDIA_TYPE
        gzip_ok = accepts_gzip(request.headers.get("accept-encoding"))
        headers["ETag"] = (tile.etag if gzip_ok else tile.identity_etag).decode("ascii")
        if gzip_ok:
            headers["Content-Encoding"] = "gzip"
        early = self._precondition(request, headers["ETag"], headers)
        if early is not None:
            return early
        body = tile.gzipped if gzip_ok else tile.identity
        return self._send(request, 200, headers, body)


def _route(path: str, endpoint: Endpoint) -> Route:
    """A GET/HEAD route that also answers a plain (non-CORS) OPTIONS with ``Allow``."""

    async def handle(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": ", ".join(ALLOWED_METHODS)})
        return await endpoint(request)

    return Route(path, handle, methods=list(ALLOWED_METHODS))


def _normalise_public_url(public_url: str) -> str:
    parts = urlsplit(public_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ServeError(
            f"the public URL {public_url!r} is not an http(s) URL without query or fragment",
            hint="pass the URL clients reach the server at, e.g. https://maps.example.org",
        )
    return public_url.strip().rstrip("/")


def _normalise_origins(cors_origins: Sequence[str] | str) -> tuple[str, ...]:
    items = cors_origins.split(",") if isinstance(cors_origins, str) else cors_origins
    return tuple(origin.strip().rstrip("/") for origin in items if origin.strip())


class TilepressApp(Starlette):
    """The Starlette application with the fast tile path in front of it."""

    def __init__(self, fast_path: TileFastPath, **options: Any) -> None:
        super().__init__(**options)
        self.fast_path = fast_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            answer = self.fast_path.answer(scope)
            if answer is not None:
                status, headers, body = answer
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await super().__call__(scope, receive, send)


def create_app(
    dist_dir: Path, *, public_url: str, cors_origins: Sequence[str] = ("*",)
) -> TilepressApp:
    """Build the ASGI application serving every map in ``dist_dir``.

    The folder is scanned once, here; requests are answered from memory. URLs in the
    served TileJSON and style documents start with ``public_url``. Raises `ServeError`
    when the folder holds no map or a map cannot be read.
    """
    base_url = _normalise_public_url(public_url)
    origins = _normalise_origins(cors_origins)
    static = _static_assets()
    tilesets = _scan(Path(dist_dir), base_url, _static_version(static))

    catalog_json = {
        "public_url": base_url,
        "maps": [dict(tileset.entry) for tileset in tilesets.values()],
    }
    cards = [(t.id, t.entry, t.relative_links) for t in tilesets.values()]
    cors_all = "*" in origins
    handlers = _Handlers(
        tilesets,
        static,
        catalog=_document(catalog_html(cards).encode("utf-8"), HTML_MEDIA_TYPE),
        catalog_json=_document(_json_bytes(catalog_json), JSON_MEDIA_TYPE),
        health=_document(
            _json_bytes({"status": "ok", "maps": len(tilesets)}), JSON_MEDIA_TYPE, "no-store"
        ),
        cors_all=cors_all,
    )
    routes = [
        _route("/", handlers.catalog),
        _route("/catalog.json", handlers.catalog_json),
        _route("/health", handlers.health),
        _route("/static/{name}", handlers.static_file),
        _route("/{map_id}", handlers.redirect),
        _route("/{map_id}/", handlers.viewer),
        _route("/{map_id}/tiles.json", handlers.tilejson),
        _route("/{map_id}/style.json", handlers.style),
        _route("/{map_id}/tiles/{rest:path}", handlers.tile),
        _route("/{map_id}/{name}", handlers.download),
    ]
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=ALLOWED_METHODS,
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
            max_age=86400,
        ),
        Middleware(_RequestLimits),
    ]
    fast_path = TileFastPath(
        {
            path: tile
            for tileset in tilesets.values()
            for path, tile in fast_tile_paths(tileset.id, tileset.tiles)
        },
        cors_all=cors_all,
        max_header_bytes=MAX_HEADER_BYTES,
    )
    app = TilepressApp(fast_path, routes=routes, middleware=middleware)
    app.router.redirect_slashes = False  # its redirects are built from the Host header
    app.state.maps = tuple(tilesets)
    app.state.public_url = base_url
    return app


def app_from_env() -> TilepressApp:
    """Application factory for uvicorn workers, configured by the ``TILEPRESS_*`` variables.

    ``TILEPRESS_DIST`` (required), ``TILEPRESS_PUBLIC_URL`` and ``TILEPRESS_CORS``
    (comma-separated origins); `serve` sets them before starting several workers.
    """
    dist = os.environ.get(ENV_DIST)
    if not dist:
        raise ServeError(
            f"the environment variable {ENV_DIST} is not set",
            hint="start the server with `tilepress serve`",
        )
    return create_app(
        Path(dist),
        public_url=os.environ.get(ENV_PUBLIC_URL) or "http://127.0.0.1:8000",
        cors_origins=_normalise_origins(os.environ.get(ENV_CORS, "*")),
    )


def _unspecified(host: str) -> bool:
    """Whether ``host`` is the any-address (all interfaces), which clients cannot use."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


MAX_AUTO_WORKERS: Final = 8
"""Upper bound of the worker count chosen from the number of usable cores."""


def auto_workers() -> int:
    """One worker process per usable core, at most `MAX_AUTO_WORKERS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_AUTO_WORKERS))


def _free_port(host: str) -> int:
    """A port the system says is free on ``host`` (for ``port=0``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host.strip("[]"), 0))
        port: int = probe.getsockname()[1]
    return port


def _protocol_options() -> dict[str, Any]:
    """uvicorn's ``http`` and ``loop`` options: httptools with limits and uvloop when installed.

    Without them uvicorn runs h11 (which bounds the request head itself) and asyncio:
    correct, several times slower.
    """
    loop = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    options: dict[str, Any] = {"loop": loop}
    if importlib.util.find_spec("httptools") is not None:
        from tilepress.web.protocol import LimitedHttpToolsProtocol

        options["http"] = LimitedHttpToolsProtocol
    else:
        log.warning("httptools is not installed: serving with h11, several times slower")
        options["http"] = "h11"
        options["h11_max_incomplete_event_size"] = MAX_HEADER_BYTES
    return options


def serve(
    dist_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    public_url: str | None = None,
    cors_origins: Sequence[str] = ("*",),
    workers: int | None = None,
    log_level: str = "info",
    access_log: bool = False,
) -> None:
    """Serve the maps in ``dist_dir`` with uvicorn until interrupted.

    ``public_url`` is the URL clients reach the server at (default ``http://host:port``).
    ``workers`` processes (default: one per core, see `auto_workers`) are forked from this
    one after the in-memory table is built, each with its own listening socket. ``port=0``
    picks a free port.
    """
    if not 0 <= port <= 65535:
        raise ServeError(f"the port must be between 0 and 65535, not {port}")
    if workers is None:
        workers = auto_workers()
    if workers < 1:
        raise ServeError(f"the number of workers must be at least 1, not {workers}")
    if port == 0:
        try:
            port = _free_port(host)
        except OSError as exc:
            raise ServeError(f"cannot bind to {host}: {exc}") from exc
    url_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    base_url = public_url or f"http://{url_host}:{port}"
    if public_url is None and _unspecified(host):
        log.warning(
            "serving on all interfaces with public URL %s: pass public_url with the address "
            "clients use, or TileJSON and style URLs will not resolve for them",
            base_url,
        )
    origins = _normalise_origins(cors_origins)
    # Built here even with several workers, so a bad folder fails before uvicorn starts.
    app = create_app(dist_dir, public_url=base_url, cors_origins=origins)
    log.info(
        "serving %d map(s) from %s at %s/ with %d worker(s)",
        len(app.state.maps),
        dist_dir,
        app.state.public_url,
        workers,
    )
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": access_log,
        "server_header": False,
        "proxy_headers": False,  # client addresses are not used; no Forwarded-header parsing
        "lifespan": "off",
        **_protocol_options(),
    }
    if workers == 1:
        uvicorn.run(app, **options)
        return
    if reuse_port_supported():
        del options["host"], options["port"]
        run_workers(app, host=host, port=port, workers=workers, options=options)
        return
    del app  # uvicorn's own workers: each one builds the app again, from the environment
    os.environ[ENV_DIST] = str(Path(dist_dir).resolve())
    os.environ[ENV_PUBLIC_URL] = base_url
    os.environ[ENV_CORS] = ",".join(origins)
    uvicorn.run("tilepress.web.server:app_from_env", factory=True, workers=workers, **options)
