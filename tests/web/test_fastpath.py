"""The fast tile path and the httptools protocol answer stored tiles as the app does."""

from __future__ import annotations

import asyncio
import gzip
import logging
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.server import ServerState

from tests.support.mvt import decode
from tests.web.http_helpers import GZIP, IDENTITY, TestClient
from tests.web.sample_dist import PUBLIC_URL
from tilepress.web.app import TilepressApp, create_app
from tilepress.web.limits import MAX_HEADER_BYTES, MAX_URL_LENGTH
from tilepress.web.protocol import LimitedHttpToolsProtocol
from tilepress.web.tile_answer import Answer


def _record_fast_answers(app: TilepressApp, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """From now on, whether the app's fast path answered each request, in order."""
    answered: list[bool] = []
    answer = app.fast_path.answer

    def recording(scope: Scope) -> Answer | None:
        result = answer(scope)
        answered.append(result is not None)
        return result

    monkeypatch.setattr(app.fast_path, "answer", recording)
    return answered


FAST_CASES = [
    GZIP,
    IDENTITY,
    {},
    {"Accept-Encoding": "gzip;q=0, identity"},
    {"Accept-Encoding": "br, *;q=0.5"},
    {**GZIP, "If-None-Match": "*"},
    {**GZIP, "If-None-Match": '"nope"'},
    {**GZIP, "Origin": "https://viewer.example"},
]


@pytest.mark.parametrize("headers", FAST_CASES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_fast_path_answers_as_the_app_does(
    client: TestClient,
    app: TilepressApp,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    headers: dict[str, str],
) -> None:
    """A stored tile (fast path) and the same tile with a query (the Starlette app) agree."""
    path = "/demo/tiles/1/1/0.pbf"
    etag = client.get(path, headers=GZIP).headers["etag"]
    headers = {k: v.replace("*", etag) if k == "If-None-Match" else v for k, v in headers.items()}
    answered = _record_fast_answers(app, monkeypatch)
    with client.stream(method, path, headers=headers) as fast:
        fast_body = b"".join(fast.iter_raw())
    with client.stream(method, path + "?via=app", headers=headers) as slow:
        slow_body = b"".join(slow.iter_raw())
    assert answered == [True, False]  # the fast path answered the first, the app the second
    assert fast.status_code == slow.status_code
    assert fast_body == slow_body
    assert dict(fast.headers) == dict(slow.headers)


def test_fast_path_leaves_other_requests_to_the_app(dist: Path) -> None:
    app = create_app(dist, public_url=PUBLIC_URL, cors_origins=["https://viewer.example"])
    fast = app.fast_path
    head = [(b"accept-encoding", b"gzip")]
    assert fast.lookup(b"/demo/tiles/1/1/0.pbf", head, head=False) is not None
    assert fast.lookup(b"/demo/tiles/1/1/0.mvt", head, head=False) is not None
    misses = [b"/demo/tiles/1/0/1.pbf", b"/demo/tiles/9/0/0.pbf", b"/demo/tiles/1/1/00.pbf",
              b"/demo/tiles/1/1/%30.pbf", b"/demo/demo.pdf", b"/nope/tiles/1/1/0.pbf"]  # fmt: skip
    for path in misses:
        assert fast.lookup(path, head, head=False) is None, path
    for extra in ((b"origin", b"https://viewer.example"), (b"if-match", b'"x"'),
                  (b"cookie", b"a=b"), (b"x-filler", b"a" * MAX_HEADER_BYTES)):  # fmt: skip
        assert fast.lookup(b"/demo/tiles/1/1/0.pbf", [*head, extra], head=False) is None
    with TestClient(app) as client:
        allowed = client.get("/demo/tiles/1/1/0.pbf", headers={"Origin": "https://viewer.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://viewer.example"
        other = client.get("/demo/tiles/1/1/0.pbf", headers={"Origin": "https://evil.example"})
        assert other.status_code == 200
        assert "access-control-allow-origin" not in other.headers


# --------------------------------------------------------------------------- httptools protocol


UVICORN_DATE = (b"date", b"Thu, 01 Jan 2026 00:00:00 GMT")
"""The Date header uvicorn adds, fixed here so that answers written a second apart agree."""


class _Transport(asyncio.Transport):
    """A socket's stand-in: records what the protocol writes."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def can_write_eof(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )


class _CountingApp:
    """The application (seen through ``app``, as through middleware), counting its requests."""

    def __init__(self, app: TilepressApp) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


def _routes_only(app: TilepressApp) -> ASGIApp:
    """``app`` without any fast path: every request goes through the Starlette routes."""

    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        await Starlette.__call__(app, scope, receive, send)

    return routed


def _through_protocol(app: ASGIApp, request: bytes) -> bytes:
    """What `LimitedHttpToolsProtocol` writes on its socket in answer to ``request``."""

    async def exchange() -> bytes:
        config = uvicorn.Config(
            app,
            http=LimitedHttpToolsProtocol,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            access_log=False,
            log_config=None,
        )
        config.load()
        state = ServerState()
        state.default_headers = [UVICORN_DATE, *config.encoded_headers]
        protocol = LimitedHttpToolsProtocol(
            config=config, server_state=state, app_state={}, _loop=asyncio.get_running_loop()
        )
        transport = _Transport()
        protocol.connection_made(transport)
        protocol.data_received(request)
        await asyncio.gather(*state.tasks)  # the app's answer, if the request went to it
        protocol.connection_lost(None)
        return bytes(transport.written)

    access = logging.getLogger("uvicorn.access")
    saved = access.propagate, list(access.handlers)
    try:
        return asyncio.run(exchange())
    finally:  # uvicorn.Config(access_log=False) silences the access logger
        access.propagate, access.handlers[:] = saved


def _parse(response: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    """Status line, headers in order and body of one response."""
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    headers = [(name, value) for name, _, value in (line.partition(b": ") for line in lines)]
    return status_line, headers, body


TILE = "/demo/tiles/1/1/0.pbf"
GET = f"GET {TILE} HTTP/1.1"
HEAD = f"HEAD {TILE} HTTP/1.1"
GZ = "Accept-Encoding: gzip"
PROTOCOL_CASES = {
    # name: (request line, request headers, status, gzip)
    "gzip": (GET, [GZ], 200, True),
    "identity": (GET, ["Accept-Encoding: identity"], 200, False),
    "no accept-encoding": (GET, [], 200, False),
    "mvt": ("GET /demo/tiles/1/1/0.mvt HTTP/1.1", [GZ], 200, True),
    "head gzip": (HEAD, [GZ], 200, True),
    "head identity": (HEAD, [], 200, False),
    "origin": (GET, [GZ, "Origin: https://viewer.example"], 200, True),
    "304 gzip": (GET, [GZ, "If-None-Match: {gzip}"], 304, True),
    "304 identity": (GET, ["If-None-Match: W/{identity}"], 304, False),
    "304 head": (HEAD, [GZ, "If-None-Match: *"], 304, True),
    "other etag": (GET, [GZ, "If-None-Match: {identity}"], 200, True),
    "connection close": (GET, [GZ, "Connection: close"], 200, True),
    "HTTP/1.0": (f"GET {TILE} HTTP/1.0", [GZ], 200, True),
}


@pytest.mark.parametrize("case", PROTOCOL_CASES)
def test_protocol_writes_the_apps_answers(client: TestClient, app: TilepressApp, case: str) -> None:
    """The bytes the protocol writes for a stored tile itself (`_answer_fast`) are the bytes
    uvicorn writes for the Starlette routes' answer to the same request: status line, every
    header (uvicorn's Date included) in the same order, and body."""
    etags = {
        "gzip": client.get(TILE, headers=GZIP).headers["etag"],
        "identity": client.get(TILE, headers=IDENTITY).headers["etag"],
    }
    request_line, request_headers, status, gzipped = PROTOCOL_CASES[case]
    lines = [request_line, "Host: x", *(line.format(**etags) for line in request_headers)]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    counting = _CountingApp(app)
    fast = _through_protocol(counting, request)
    assert counting.calls == 0  # answered by the protocol, without the application
    routed = _through_protocol(_routes_only(app), request)
    fast_status, fast_headers, fast_body = _parse(fast)
    app_status, app_headers, app_body = _parse(routed)
    status_line = b"HTTP/1.1 %d %s" % (status, HTTPStatus(status).phrase.encode())
    assert fast_status == app_status == status_line
    assert fast_headers == app_headers
    assert fast_body == app_body
    assert fast == routed
    headers = dict(fast_headers)
    assert headers[b"date"] == UVICORN_DATE[1]
    assert headers[b"etag"].decode() == etags["gzip" if gzipped else "identity"]
    assert (b"content-encoding" in headers) == gzipped
    assert (b"connection" in headers) == (case in ("connection close", "HTTP/1.0"))
    if status == 304 or request_line.startswith("HEAD"):
        assert fast_body == b""
    else:
        assert headers[b"content-length"] == str(len(fast_body)).encode()
        tile = gzip.decompress(fast_body) if gzipped else fast_body
        assert decode(tile)["countries"]["features"][0]["properties"]["name"] == "North-east"


def test_protocol_refuses_over_large_heads(app: TilepressApp) -> None:
    """414 and 431 are written, exactly so, before the application sees the request."""
    counting = _CountingApp(app)
    long_url = b"GET /demo/" + b"a" * MAX_URL_LENGTH + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert _through_protocol(counting, long_url) == (
        b"HTTP/1.1 414 URI Too Long\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: 12\r\nconnection: close\r\n\r\nURI Too Long"
    )
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 1000) for i in range(20))
    many_headers = b"GET " + TILE.encode() + b" HTTP/1.1\r\nHost: x\r\n" + filler + b"\r\n"
    assert _through_protocol(counting, many_headers) == (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: text/plain; charset=utf-8\r\ncontent-length: 31\r\n"
        b"connection: close\r\n\r\nRequest Header Fields Too Large"
    )
    assert counting.calls == 0
