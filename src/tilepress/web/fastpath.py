"""The hot path: requests for stored tiles found by raw path, in front of the Starlette app.

A map client asks for tiles hundreds of times per page view, so a GET or HEAD of a stored
tile is found here with one dictionary lookup keyed by the raw request path, and answered by
`TileAnswers` (the same answer the app's tile handler gives): no routing, no request object,
no middleware, no disk. Every request this path does not fully understand (another method, a
query string, conditional headers other than ``If-None-Match``, cookies, a CORS origin that
needs checking, an over-large header section, a path that is not a stored tile) goes to the
Starlette app, which gives the same answer more slowly (or the right error).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.types import Scope

from tilepress.web.httputil import common_headers
from tilepress.web.stored_tiles import StoredTile, TileKey
from tilepress.web.tile_answer import Answer, TileAnswers

__all__ = ["TileFastPath", "fast_tile_paths"]


def fast_tile_paths(
    map_id: str, tiles: Mapping[TileKey, StoredTile]
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
        # Vary names Origin, as Starlette's CORS middleware says on the app's answers.
        self.answers = TileAnswers(common_headers(cors_all=cors_all), vary_origin=True)
        delegated = {b"if-match", b"cookie"}
        if not cors_all:
            delegated.add(b"origin")  # the Starlette CORS middleware checks the origin
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
        return self.answers.answer(
            tile, accept_encoding=accept, if_none_match=if_none_match, head=head
        )
