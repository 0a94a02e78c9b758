"""The ASGI application: the Starlette routes, handlers and middleware over the catalog.

`create_app` reads the ``dist`` folder once (`tilepress.web.catalog`); requests never touch
the filesystem: every lookup goes through the in-memory table keyed by map id, so a request
path is never joined to a file path. A request for a stored tile takes the fast path
(`tilepress.web.fastpath`) in front of the routes; the tile route gives the same answers
(`tilepress.web.tile_answer`) to the tile requests the fast path leaves to it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tilepress.errors import ServeError
from tilepress.web.assets import JSON_MEDIA_TYPE, Asset
from tilepress.web.catalog import Catalog, Tileset, load_catalog
from tilepress.web.fastpath import TileFastPath, fast_tile_paths
from tilepress.web.httputil import (
    CORS_EXPOSE_HEADERS,
    UnsatisfiableRangeError,
    accepts_gzip,
    byte_range,
    common_headers,
    etag_listed,
)
from tilepress.web.limits import MAX_HEADER_BYTES, RequestLimits
from tilepress.web.static_files import static_files, static_version
from tilepress.web.tile_answer import Answer, TileAnswers
from tilepress.web.watch_status import WatchLink

__all__ = [
    "ENV_CORS",
    "ENV_DIST",
    "ENV_PUBLIC_URL",
    "TilepressApp",
    "WatchLink",
    "app_from_env",
    "create_app",
]

ENV_DIST: Final = "TILEPRESS_DIST"
ENV_PUBLIC_URL: Final = "TILEPRESS_PUBLIC_URL"
ENV_CORS: Final = "TILEPRESS_CORS"

ALLOWED_METHODS: Final = ("GET", "HEAD", "OPTIONS")
CORS_ALLOW_HEADERS: Final = ("Range", "If-None-Match", "If-Match")

_TILE_PATH = re.compile(r"([0-9]{1,2})/([0-9]{1,10})/([0-9]{1,10})\.(?:pbf|mvt)")

Endpoint = Callable[[Request], Awaitable[Response]]


class _AnswerResponse(Response):
    """A response whose status, headers and body were all built already (a tile answer)."""

    def __init__(self, answer: Answer) -> None:
        status, headers, body = answer
        super().__init__(body, status_code=status)
        self.raw_headers = headers


def _header_bytes(request: Request, name: str) -> bytes | None:
    """The first value of a request header, as sent."""
    value = request.headers.get(name)
    return None if value is None else value.encode("latin-1")


class _Handlers:
    """The request handlers, over the in-memory catalog built at start-up."""

    def __init__(
        self,
        catalog: Catalog,
        static: Mapping[str, Asset],
        *,
        common: Mapping[str, str],
        watch: WatchLink | None = None,
    ) -> None:
        self.catalog = catalog
        self.watch = watch
        self.tilesets = catalog.tilesets
        self.static = static
        self.common = dict(common)
        self.tile_answers = TileAnswers(common, vary_origin=False)  # the middleware adds Origin

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

    def _asset(self, request: Request, asset: Asset) -> Response:
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

    def _tileset(self, request: Request) -> Tileset | None:
        map_id = request.path_params.get("map_id")
        return self.tilesets.get(map_id) if isinstance(map_id, str) else None

    # ---- endpoints

    async def catalog_page(self, request: Request) -> Response:
        """GET / : the catalog page."""
        return self._asset(request, self.catalog.page)

    async def catalog_json(self, request: Request) -> Response:
        """GET /catalog.json : the catalog for programs."""
        return self._asset(request, self.catalog.document)

    async def health(self, request: Request) -> Response:
        """GET /health : liveness and the number of maps."""
        return self._asset(request, self.catalog.health)

    async def watch_state(self, request: Request) -> Response:
        """GET /_watch/state (``serve --watch`` only): the served build and the last error."""
        if self.watch is None:
            return self._not_found(request)
        headers = {"Content-Type": JSON_MEDIA_TYPE, "Cache-Control": "no-store"}
        return self._send(request, 200, headers, self.watch.state())

    async def static_file(self, request: Request) -> Response:
        """GET /static/{name} : MapLibre GL JS, its stylesheet and the PMTiles protocol."""
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

    async def glyphs(self, request: Request) -> Response:
        """GET /{id}/glyphs/{fontstack}/{start}-{end}.pbf : a range of SDF glyphs (one stack,
        or a comma-joined list combined); a well-formed range not stored is an empty one."""
        tileset = self._tileset(request)
        params = request.path_params
        asset = tileset.glyphs.answer(params["fontstack"], params["range"]) if tileset else None
        return self._asset(request, asset) if asset else self._not_found(request)

    async def download(self, request: Request) -> Response:
        """GET /{id}/{id}.pdf|png|pmtiles|mbtiles."""
        tileset = self._tileset(request)
        asset = tileset.downloads.get(request.path_params["name"]) if tileset else None
        return self._asset(request, asset) if asset else self._not_found(request)

    async def tile(self, request: Request) -> Response:
        """GET /{id}/tiles/{z}/{x}/{y}.pbf (or .mvt): the fast path's answer, and 4xx."""
        tileset = self._tileset(request)
        if tileset is None:
            return self._not_found(request)
        match = _TILE_PATH.fullmatch(request.path_params["rest"])
        if match is None:
            return self._error(request, 400, "Bad Request: expected /tiles/{z}/{x}/{y}.pbf")
        z, x, y = (int(part) for part in match.groups())
        if not (tileset.minzoom <= z <= tileset.maxzoom and x < (1 << z) and y < (1 << z)):
            return self._not_found(request)
        tile = tileset.tiles.get((z, x, y))
        accept = _header_bytes(request, "accept-encoding")
        if_match = request.headers.get("if-match")
        if tile is not None and if_match is not None:
            tag = self.tile_answers.etag(tile, accept).decode("ascii")
            if not etag_listed(if_match, tag, weak=False):
                return self._error(request, 412, "Precondition Failed")
        answer = self.tile_answers.answer(
            tile,
            accept_encoding=accept,
            if_none_match=_header_bytes(request, "if-none-match"),
            head=request.method == "HEAD",
        )
        return _AnswerResponse(answer)


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


def normalise_origins(cors_origins: Sequence[str] | str) -> tuple[str, ...]:
    """The CORS origins as a tuple without blanks or trailing slashes (a string: comma list)."""
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
    dist_dir: Path,
    *,
    public_url: str,
    cors_origins: Sequence[str] = ("*",),
    watch: WatchLink | None = None,
) -> TilepressApp:
    """Build the ASGI application serving every map in ``dist_dir``.

    The folder is scanned once, here; requests are answered from memory. URLs in the
    served TileJSON and style documents start with ``public_url``. With ``watch`` (``serve
    --watch``) the pages reload themselves on a new build and show a failed build's error,
    read from ``/_watch/state``. Raises `ServeError` when the folder holds no map or a map
    cannot be read.
    """
    base_url = _normalise_public_url(public_url)
    origins = normalise_origins(cors_origins)
    static = static_files()
    catalog = load_catalog(
        Path(dist_dir),
        public_url=base_url,
        static_version=static_version(static),
        watch_build=None if watch is None else watch.build,
    )
    cors_all = "*" in origins
    handlers = _Handlers(catalog, static, common=common_headers(cors_all=cors_all), watch=watch)
    routes = [
        *([_route("/_watch/state", handlers.watch_state)] if watch else []),  # no map id has "_"
        _route("/", handlers.catalog_page),
        _route("/catalog.json", handlers.catalog_json),
        _route("/health", handlers.health),
        _route("/static/{name}", handlers.static_file),
        _route("/{map_id}", handlers.redirect),
        _route("/{map_id}/", handlers.viewer),
        _route("/{map_id}/tiles.json", handlers.tilejson),
        _route("/{map_id}/style.json", handlers.style),
        _route("/{map_id}/tiles/{rest:path}", handlers.tile),
        _route("/{map_id}/glyphs/{fontstack}/{range}", handlers.glyphs),
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
        Middleware(RequestLimits),
    ]
    fast_path = TileFastPath(
        {
            path: tile
            for tileset in catalog.tilesets.values()
            for path, tile in fast_tile_paths(tileset.id, tileset.tiles)
        },
        cors_all=cors_all,
        max_header_bytes=MAX_HEADER_BYTES,
    )
    app = TilepressApp(fast_path, routes=routes, middleware=middleware)
    app.router.redirect_slashes = False  # its redirects are built from the Host header
    app.state.maps = tuple(catalog.tilesets)
    app.state.public_url = base_url
    return app


def app_from_env() -> TilepressApp:
    """Application factory for uvicorn workers, configured by the ``TILEPRESS_*`` variables.

    ``TILEPRESS_DIST`` (required), ``TILEPRESS_PUBLIC_URL`` and ``TILEPRESS_CORS``
    (comma-separated origins); `tilepress.web.server.serve` sets them before starting
    several workers.
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
        cors_origins=normalise_origins(os.environ.get(ENV_CORS, "*")),
    )
