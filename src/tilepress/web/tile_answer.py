"""The answer to a GET or HEAD of a tile, in one place for every way a tile request is served.

`TileAnswers.answer` builds the status, headers and body; the fast path
(`tilepress.web.fastpath`) returns it, the HTTP protocol (`tilepress.web.protocol`) and the
application (`tilepress.web.app`) only send it, so the three cannot disagree:

- **204** for a tile that is not stored (open sea): no body, no type, no ETag.
- **gzip or identity** as Accept-Encoding says (none means identity), each representation
  with its own strong ETag, and ``Vary: Accept-Encoding``.
- **304** when If-None-Match names the ETag of the representation the request would get.
- **200** otherwise, with ``Content-Length``; the answer to HEAD has the same headers and no
  body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from tilepress.web.httputil import accepts_gzip_bytes, etag_listed
from tilepress.web.stored_tiles import StoredTile

__all__ = ["MVT_MEDIA_TYPE", "TILE_CACHE", "Answer", "Headers", "TileAnswers"]

MVT_MEDIA_TYPE: Final = "application/vnd.mapbox-vector-tile"
TILE_CACHE: Final = "public, max-age=3600"

Headers = list[tuple[bytes, bytes]]
"""Response headers as sent: lower-case names, latin-1 values."""
Answer = tuple[int, Headers, bytes]
"""Status, response headers and body."""


def _accepts_gzip(accept_encoding: bytes | None) -> bool:
    """Whether the gzip representation goes to a request with this Accept-Encoding."""
    return accept_encoding is not None and accepts_gzip_bytes(accept_encoding)


class TileAnswers:
    """Builds the answers to tile requests, with the headers every answer carries."""

    def __init__(self, common: Mapping[str, str], *, vary_origin: bool) -> None:
        """``common`` are the headers of every response (`httputil.common_headers`).

        ``vary_origin`` adds ``Origin`` to ``Vary``; answers sent through Starlette's CORS
        middleware leave it out, as the middleware adds it to every response.
        """
        vary = b"Accept-Encoding, Origin" if vary_origin else b"Accept-Encoding"
        empty: Headers = [(b"cache-control", TILE_CACHE.encode()), (b"vary", vary)]
        empty += [(name.lower().encode(), value.encode()) for name, value in common.items()]
        self._empty = tuple(empty)
        self._stored = ((b"content-type", MVT_MEDIA_TYPE.encode()), *empty)

    @staticmethod
    def etag(tile: StoredTile, accept_encoding: bytes | None) -> bytes:
        """The ETag of the representation a request with this Accept-Encoding gets."""
        return tile.etag if _accepts_gzip(accept_encoding) else tile.identity_etag

    def answer(
        self,
        tile: StoredTile | None,
        *,
        accept_encoding: bytes | None,
        if_none_match: bytes | None,
        head: bool,
    ) -> Answer:
        """The answer to a GET (or HEAD) of ``tile`` (None: not stored).

        ``accept_encoding`` and ``if_none_match`` are the first values of those request
        headers, or None. Each answer has a list of headers of its own, free to change.
        """
        if tile is None:
            return 204, list(self._empty), b""
        gzip_ok = _accepts_gzip(accept_encoding)
        tag = tile.etag if gzip_ok else tile.identity_etag
        headers = [*self._stored, (b"etag", tag)]
        if gzip_ok:
            headers.append((b"content-encoding", b"gzip"))
        if if_none_match is not None and (
            if_none_match == tag
            or etag_listed(if_none_match.decode("latin-1"), tag.decode("ascii"), weak=True)
        ):
            return 304, headers, b""
        if gzip_ok:
            body = tile.gzipped
            headers.append((b"content-length", tile.length))
        else:
            body = tile.identity
            headers.append((b"content-length", str(len(body)).encode()))
        return 200, headers, b"" if head else body
