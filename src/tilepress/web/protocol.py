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

The answers are `TileAnswers`' (`tilepress.web.tile_answer`), the same as the application's:
this module only writes them, as uvicorn writes the application's (status line, uvicorn's
default headers, the answer's headers, ``connection: close`` when the connection ends).

Import this module only when httptools is installed (`tilepress.web.server` checks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, Final

# uvicorn's private API. This subclass relies on internals of uvicorn's HttpToolsProtocol that
# are not public and change between 0.x minor releases:
# - the httptools parser callbacks it overrides (on_message_begin, on_url, on_header,
#   on_headers_complete, on_body, on_message_complete), data_received, connection_made and
#   send_400_response (what uvicorn calls on a parser error);
# - per-connection state: self.parser, self.url, self.headers, self.cycle (and
#   cycle.response_complete), self.pipeline, self.flow.write_paused, self.transport,
#   self.loop, self.app, self.access_log, self.server_state.default_headers;
# - on_response_complete (counts the request, starts the next pipelined one or arms the
#   keep-alive timer) and _unset_keepalive_if_required.
# It also writes its answers as uvicorn writes the application's, so the two must agree byte
# for byte. pyproject.toml therefore bounds uvicorn to the versions checked with tests/web
# (test_fastpath.py drives this protocol with a transport, and fails when it stops answering
# tiles itself or writes other bytes than uvicorn's own path): >=0.53, as uvicorn before 0.53
# sent no ``connection: close`` on an HTTP/1.0 answer (seen in 0.30.0, 0.42.0, 0.49.0 and
# 0.52.4; 0.53.0 and 0.55.0 pass); <0.56, the minor after the one checked last. Raise it only
# after running tests/web against the new uvicorn.
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tilepress.web.fastpath import TileFastPath
from tilepress.web.limits import HEAD_SLACK, MAX_HEADER_BYTES, MAX_URL_LENGTH

__all__ = ["LimitedHttpToolsProtocol"]

_REASONS: Final = {414: b"URI Too Long", 431: b"Request Header Fields Too Large"}
LINGER_SECONDS: Final = 2.0
"""How long a refused connection keeps reading (and dropping) what the client still sends, so
that closing it does not reset the connection before the client has read the refusal."""
_STATUS_LINES: Final = {
    status: b"HTTP/1.1 %d %s\r\n" % (status, HTTPStatus(status).phrase.encode())
    for status in (200, 204, 304)
}
_CLOSE: Final = (b"connection", b"close")


def _response_bytes(
    status_line: bytes, headers: Iterable[tuple[bytes, bytes]], body: bytes
) -> bytes:
    """An HTTP/1.1 response as written on the socket."""
    parts = [status_line]
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    parts += (b"\r\n", body)
    return b"".join(parts)


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
            if self._closes_after_response():
                self.transport.close()
        else:
            super().on_message_complete()
        self._reading_head = True
        self._head_bytes = 0

    def _answer_fast(self, fast_path: TileFastPath) -> bool:
        """Write the fast path's answer to a stored-tile request, if it has one; True if so."""
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
        written = [*self.server_state.default_headers, *headers]
        if self._closes_after_response():
            written.append(_CLOSE)
        self.transport.write(_response_bytes(_STATUS_LINES[status], written, body))
        self.on_response_complete()  # counts the request, arms the keep-alive timer
        return True

    def _closes_after_response(self) -> bool:
        """Whether the connection ends with the current response (HTTP/1.0, or asked for)."""
        return not self.parser.should_keep_alive() or self.parser.get_http_version() == "1.0"

    def send_400_response(self, msg: str) -> None:
        """Called by uvicorn on a parser error: answer 414 or 431 when a limit was hit."""
        status = self._refusal
        if status is None:
            super().send_400_response(msg)
            return
        reason = _REASONS[status]
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", b"%d" % len(reason)),
            _CLOSE,
        ]
        self.transport.write(
            _response_bytes(b"HTTP/1.1 %d %s\r\n" % (status, reason), headers, reason)
        )
        # A lingering close: send the answer and EOF, drop what still arrives, close later.
        self._unset_keepalive_if_required()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()
