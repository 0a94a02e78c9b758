"""HTTP helpers shared by the server's Starlette handlers and its tile answers: entity tags,
content negotiation, byte ranges and the headers every response carries."""

from __future__ import annotations

import functools
import hashlib
from typing import Final

__all__ = [
    "CORS_EXPOSE_HEADERS",
    "UnsatisfiableRangeError",
    "accepts_gzip",
    "accepts_gzip_bytes",
    "byte_range",
    "common_headers",
    "etag",
    "etag_listed",
]

CORS_EXPOSE_HEADERS: Final = ("ETag", "Content-Range", "Content-Length")
"""Response headers a page from another origin may read (a PMTiles client reads them)."""


def common_headers(*, cors_all: bool) -> dict[str, str]:
    """The headers every response carries: ``nosniff``, and the CORS ones when every origin
    may read the maps (for listed origins, Starlette's CORS middleware adds them)."""
    headers = {"X-Content-Type-Options": "nosniff"}
    if cors_all:
        headers["Access-Control-Allow-Origin"] = "*"
        headers["Access-Control-Expose-Headers"] = ", ".join(CORS_EXPOSE_HEADERS)
    return headers


def etag(data: bytes) -> str:
    """A strong entity tag: the quoted hash of the exact bytes sent."""
    return '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header accepts gzip.

    A request without the header gets the identity encoding: tools such as curl send none
    and would otherwise receive compressed bytes they do not expect.
    """
    if header is None:
        return False
    gzip_q: float | None = None
    star_q: float | None = None
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if coding in ("gzip", "x-gzip"):
            gzip_q = max(q, gzip_q or 0.0)
        elif coding == "*":
            star_q = q
    if gzip_q is not None:
        return gzip_q > 0
    return star_q is not None and star_q > 0


def etag_listed(header: str, etag: str, *, weak: bool) -> bool:
    """Whether an If-Match / If-None-Match list names ``etag`` (or is ``*``)."""
    for item in header.split(","):
        candidate = item.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            if not weak:
                continue
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


class UnsatisfiableRangeError(Exception):
    """The Range header names no byte of the resource."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The single ``(first, last)`` byte range a Range header asks for.

    None means "ignore the header and send everything" (malformed, other units, several
    ranges), as RFC 9110 allows; `UnsatisfiableRangeError` means 416.
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if not dash or not all(t.isascii() and (t.isdigit() or not t) for t in (first_text, last_text)):
        return None
    if not first_text:
        if not last_text:
            return None
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise UnsatisfiableRangeError
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else max(first, size - 1)
    if last < first:
        return None
    if first >= size:
        raise UnsatisfiableRangeError
    return first, min(last, size - 1)


@functools.lru_cache(maxsize=512)
def accepts_gzip_bytes(header: bytes) -> bool:
    """`accepts_gzip` for a raw header value, memoised: clients send a handful of values."""
    return accepts_gzip(header.decode("latin-1"))
