"""The hot path: stored tiles answered straight from memory, in front of the Starlette app.

A map client asks for tiles hundreds of times per page view, so a GET or HEAD of a stored
tile is answered here with one dictionary lookup keyed by the raw request path and headers
built from precomputed parts: no routing, no request object, no middleware, no disk. Every
request this path does not fully understand (another method, a query string, conditional
headers other than ``If-None-Match``, cookies, a CORS origin that needs checking, an
over-large header section, a path that is not a stored tile) goes to the Starlette app, which
gives the same answer more slowly (or the right error).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from starlette.types import Scope

from tilepress.web.httputil import accepts_gzip_bytes, etag, etag_listed

__all__ = ["Answer", "StoredTile", "TileFastPath", "fast_tile_paths"]

MVT_MEDIA_TYPE: Final = "application/vnd.mapbox-vector-tile"
TILE_CACHE: Final = "public, max-age=3600"
EXPOSE_HEADERS: Final = "ETag, Content-Range, Content-Length"
_GZIP_MAGIC: Final = b"\x1f\x8b"

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]
"""Status, response headers and body."""


@dataclass(frozen=True, slots=True)
class StoredTile:
    """A tile held in memory: its gzip bytes and what its responses always carry."""

    gzipped: bytes
    etag: bytes
    """Strong ETag of the gzip representation (the bytes sent), quoted."""
    identity_etag: bytes
    """Strong ETag of the decompressed representation, for clients without gzip."""
    length: bytes
    """``Content-Length`` of the gzip representation, as ASCII digits."""

    @property
    def identity(self) -> bytes:
        """The decompressed tile, for the rare client that does not accept gzip."""
        return gzip.decompress(self.gzipped)


class TileInterner:
    """Builds `StoredTile` records, sharing one record between tiles with identical bytes.

    Tiles stored uncompressed are gzip-compressed once, here, at start-up.
    """

    def __init__(self) -> None:
        self._seen: dict[bytes, StoredTile] = {}

    def __call__(self, data: bytes) -> StoredTile:
        if not data.startswith(_GZIP_MAGIC):
            data = gzip.compress(data, compresslevel=9, mtime=0)
        tile = self._seen.get(data)
        if tile is None:
            tag = etag(data).encode("ascii")
            tile = StoredTile(data, tag, tag[:-1] + b'-identity"', str(len(data)).encode())
            self._seen[data] = tile
        return tile


def fast_tile_paths(
    map_id: str, tiles: Mapping[tuple[int, int, int], StoredTile]
) -> Iterable[tuple[bytes, StoredTile]]:
    """The raw request paths (``.pbf`` and ``.mvt``) of every stored tile of one map."""
    prefix = f"/{map_id}/tiles/"
    for (z, x, y), tile in tiles.items():
        stem = f"{prefix}{z}/{x}/{y}".encode("ascii")
        yield stem + b".pbf", tile
        yield stem + b".mvt", tile


class TileFastPath:
    """Answers GET and HEAD of stored tiles from a table keyed by raw request path."""

    def __init__(
        self,
        tiles: Mapping[bytes, StoredTile],
        *,
        cors_all: bool,
        max_header_bytes: int,
    ) -> None:
        self.tiles = tiles
        self.max_header_bytes = max_header_bytes
        common: Headers = [
            (b"content-type", MVT_MEDIA_TYPE.encode()),
            (b"cache-control", TILE_CACHE.encode()),
            # as Starlette's CORS middleware says on the app's answers
            (b"vary", b"Accept-Encoding, Origin"),
            (b"x-content-type-options", b"nosniff"),
        ]
        delegated = {b"if-match", b"cookie"}
        if cors_all:
            common.append((b"access-control-allow-origin", b"*"))
            common.append((b"access-control-expose-headers", EXPOSE_HEADERS.encode()))
        else:
            delegated.add(b"origin")  # the Starlette CORS middleware checks the origin
        self._common = tuple(common)
        self._delegated = frozenset(delegated)

    def answer(self, scope: Scope) -> Answer | None:
        """The response to an ASGI request for a stored tile, or None to let the app answer."""
        method = scope["method"]
        if method not in ("GET", "HEAD") or scope.get("query_string"):
            return None
        return self.lookup(scope.get("raw_path") or b"", scope["headers"], head=method == "HEAD")

    def lookup(
        self, raw_path: bytes, headers: Iterable[tuple[bytes, bytes]], *, head: bool
    ) -> Answer | None:
        """The response to a GET (or HEAD) of ``raw_path`` without query, or None.

        ``headers`` are the request's, names in lower case.
        """
        tile = self.tiles.get(raw_path)
        if tile is None:
            return None
        accept: bytes | None = None
        if_none_match: bytes | None = None
        size = 0
        for name, value in headers:
            size += len(name) + len(value) + 4
            if name == b"accept-encoding":
                if accept is None:
                    accept = value
            elif name == b"if-none-match":
                if if_none_match is None:
                    if_none_match = value
            elif name in self._delegated:
                return None
        if size > self.max_header_bytes:
            return None  # the app answers 431
        gzip_ok = accept is not None and accepts_gzip_bytes(accept)
        tag = tile.etag if gzip_ok else tile.identity_etag
        response = [*self._common, (b"etag", tag)]
        if gzip_ok:
            response.append((b"content-encoding", b"gzip"))
        if if_none_match is not None and (
            if_none_match == tag
            or etag_listed(if_none_match.decode("latin-1"), tag.decode("ascii"), weak=True)
        ):
            return 304, response, b""
        if gzip_ok:
            body = tile.gzipped
            response.append((b"content-length", tile.length))
        else:
            body = tile.identity
            response.append((b"content-length", str(len(body)).encode()))
        return 200, response, b"" if head else body
