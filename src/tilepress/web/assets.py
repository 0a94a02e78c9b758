"""Resources held in memory, ready to send: their bytes, ETag and the headers they always carry.

Everything the server sends but tiles (JSON documents, pages, downloads, static files) is an
`Asset`, serialised once at start-up; the app's handlers send them with content negotiation,
conditionals and ranges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from tilepress.web.httputil import etag

__all__ = [
    "DOCUMENT_CACHE",
    "DOWNLOAD_CACHE",
    "HTML_MEDIA_TYPE",
    "JSON_MEDIA_TYPE",
    "STATIC_CACHE",
    "Asset",
    "Blob",
    "document",
    "json_bytes",
]

JSON_MEDIA_TYPE: Final = "application/json"
HTML_MEDIA_TYPE: Final = "text/html; charset=utf-8"

DOWNLOAD_CACHE: Final = "public, max-age=3600"
STATIC_CACHE: Final = "public, max-age=31536000, immutable"
DOCUMENT_CACHE: Final = "no-cache"


@dataclass(frozen=True, slots=True)
class Blob:
    """One representation of a resource, ready to send."""

    data: bytes
    etag: str

    @classmethod
    def of(cls, data: bytes) -> Blob:
        """The representation made of ``data``, with its strong ETag."""
        return cls(data, etag(data))


@dataclass(frozen=True, slots=True)
class Asset:
    """A resource held in memory with the headers it is always sent with."""

    identity: Blob
    media_type: str
    cache_control: str
    gzipped: Blob | None = None
    disposition: str | None = None
    ranges: bool = False


def document(body: bytes, media_type: str, cache_control: str = DOCUMENT_CACHE) -> Asset:
    """A generated document (JSON, HTML page): revalidated by clients on every use."""
    return Asset(Blob.of(body), media_type, cache_control)


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
