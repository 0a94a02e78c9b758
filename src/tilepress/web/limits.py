"""Limits on the size of a request, shared by the ASGI app and the HTTP protocol."""

from __future__ import annotations

from typing import Final

MAX_URL_LENGTH: Final = 2048
"""Longest accepted request target (path and query), in bytes; longer ones get 414."""

MAX_HEADER_BYTES: Final = 16 * 1024
"""Largest accepted header section, in bytes; larger ones get 431."""

HEAD_SLACK: Final = 4096
"""Bytes allowed in a request head beyond the URL and header limits (request line, CRLFs)."""
