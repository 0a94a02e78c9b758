"""The HTTP protocol uvicorn runs: httptools, with request-head limits and the tile fast path.

- **Limits.** uvicorn's httptools protocol accepts request lines and header sections of any
  size, so this subclass counts them as they arrive and answers ``414 URI Too Long`` or
  ``431 Request Header Fields Too Large`` (and closes the connection) before an over-large
  head is held in memory.
- **Tiles.** A GET or HEAD of a stored tile that the application's `TileFastPath` can answer
  is answered as soon as its head is parsed, by writing the precomputed response to the
  socket: no ASGI task, no Starlette. Everything else (and any request while a response is
  still being sent, or the socket's write buffer is full, or access logging is on) takes
  uvicorn's ordinary path into the ASGI application, which gives the same answers.

Import this module only when httptools is installed (`tilepress.web.server` checks).
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tilepress.web.fastpath import TileFastPath
from tilepress.web.limits import HEAD_SLACK, MAX_HEADER_BYTES, MAX_URL_LENGTH

__all__ = ["LimitedHttpToolsProtocol"]

_REASONS: Final = {414: b"URI Too Long", 431: b"Request Header Fields Too Large"}
LINGER_SECONDS: Final = 2.0
"""How long a refused connection keeps reading (and dropping) what the client still sends, so
that closing it does not reset the connection before the client has read the refusal."""
_STATUS_LINES: Final = {200: b"HTTP/1.1 200 OK\r\n", 304: b"HTTP/1.1 304 Not Modified\r\n"}


def find_fast_path(app: Any) -> TileFastPath | None:
    """The `TileFastPath` of the application uvicorn runs, under any wrapping middleware."""
    for _ in range(8):
        fast_path = getattr(app, "fast_path", None)
        if isinstance(fast_path, TileFastPath):
            return fast_path
        app = getattr(app, "app", None)
        if app is None:
            break
    return None


class _RequestHeadTooLargeError(Exception):
    """Raised from a parser callback: the request line or the headers are too large."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing over-long URLs and over-large header sections."""

    max_url_length: int = MAX_URL_LENGTH
    max_header_bytes: int = MAX_HEADER_BYTES
    _refusal: int | None = None
    _reading_head: bool = True
    _head_bytes: int = 0
    _header_bytes: int = 0
    _fast_path: TileFastPath | None = None
    _answered: bool = False
    """The current request was answered by the fast path (its body, if any, is dropped)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.access_log:  # with access logging every request takes the logged path
            self._fast_path = find_fast_path(self.app)

    def data_received(self, data: bytes) -> None:
        """Count the bytes of a request head before the parser buffers them."""
        if self._refusal is not None:
            return  # refused: drop the rest until the client or the linger timer closes
        if self._reading_head:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_url_length + self.max_header_bytes + HEAD_SLACK:
                self._refusal = 431
                self.send_400_response("")
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_head = True
        self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_url_length:
            self._refusal = 414
            raise _RequestHeadTooLargeError

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > self.max_header_bytes:
            self._refusal = 431
            raise _RequestHeadTooLargeError
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._head_bytes = 0
        if self._fast_path is not None and self._answer_fast(self._fast_path):
            self._answered = True
            return
        self._answered = False
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._answered:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._answered:
            if not self.parser.should_keep_alive() or self.parser.get_http_version() == "1.0":
                self.transport.close()
        else:
            super().on_message_complete()
        self._reading_head = True
        self._head_bytes = 0

    def _answer_fast(self, fast_path: TileFastPath) -> bool:
        """Write the answer to a stored-tile request, if the fast path has one; True if so."""
        if (
            (self.cycle is not None and not self.cycle.response_complete)
            or self.pipeline
            or self.flow.write_paused
            or self.transport.is_closing()
            or b"?" in self.url
        ):
            return False
        method = self.parser.get_method()
        if method not in (b"GET", b"HEAD"):
            return False
        answer = fast_path.lookup(self.url, self.headers, head=method == b"HEAD")
        if answer is None:
            return False
        status, headers, body = answer
        keep_alive = self.parser.should_keep_alive() and self.parser.get_http_version() != "1.0"
        parts = [_STATUS_LINES[status]]
        for name, value in self.server_state.default_headers:
            parts += (name, b": ", value, b"\r\n")
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        if not keep_alive:
            parts.append(b"connection: close\r\n")
        parts += (b"\r\n", body)
        self.transport.write(b"".join(parts))
        self.on_response_complete()  # counts the request, arms the keep-alive timer
        return True

    def send_400_response(self, msg: str) -> None:
        """Called by uvicorn on a parser error: answer 414 or 431 when a limit was hit."""
        status = self._refusal
        if status is None:
            super().send_400_response(msg)
            return
        reason = _REASONS[status]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, reason, len(reason), reason)
        )
        # A lingering close: send the answer and EOF, drop what still arrives, close later.
        self._unset_keepalive_if_required()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()
