"""Limits on the size of a request, and the ASGI middleware that enforces them.

The HTTP protocol (`tilepress.web.protocol`) enforces the same limits while a request head
arrives; the middleware is for the requests it does not see in pieces (uvicorn's h11).
"""

from __future__ import annotations

from typing import Final

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HEAD_SLACK", "MAX_HEADER_BYTES", "MAX_URL_LENGTH", "RequestLimits"]

MAX_URL_LENGTH: Final = 2048
"""Longest accepted request target (path and query), in bytes; longer ones get 414."""

MAX_HEADER_BYTES: Final = 16 * 1024
"""Largest accepted header section, in bytes; larger ones get 431."""

HEAD_SLACK: Final = 4096
"""Bytes allowed in a request head beyond the URL and header limits (request line, CRLFs)."""


class RequestLimits:
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
