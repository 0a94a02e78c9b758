"""Sending requests to the server under test: through Starlette's test client, as raw ASGI
calls, or as raw HTTP to a real server; and the request targets that try path traversal."""

from __future__ import annotations

import asyncio
import http.client
import warnings
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette

with warnings.catch_warnings():  # Starlette 1.x deprecates httpx in favour of httpx2
    warnings.filterwarnings("ignore", message=".*httpx.*")
    from starlette.testclient import TestClient

__all__ = ["GZIP", "IDENTITY", "TRAVERSALS", "TestClient", "asgi_get", "raw_body", "raw_request"]

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


TRAVERSALS = [
    b"/../etc/passwd",
    b"/%2e%2e/%2e%2e/etc/passwd",
    b"/demo/..%2f..%2fpyproject.toml",
    b"//etc/passwd",
    b"/demo/../../../etc/passwd",
    b"/demo/%2e%2e/%2e%2e/tiles.json",
    b"/demo/tiles/..%2f..%2f..%2fdemo.pdf",
    b"/demo/tiles/0/0/..%2f..%2f0%2f0.pbf",
    b"/static/..%2f__init__.py",
    b"/static/%2e%2e/server.py",
    b"/demo/%2Fetc%2Fpasswd",
    b"/demo/demo.pdf%00.png",
    b"/_work/log.txt",
    b"/%2e%2e",
]


def raw_body(client: TestClient, url: str, headers: dict[str, str]) -> tuple[Any, bytes]:
    """Response headers and the body exactly as sent, before any content decoding."""
    with client.stream("GET", url, headers=headers) as response:
        return response, b"".join(response.iter_raw())


def asgi_get(app: Starlette, raw_path: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send one GET with an exact, un-normalised request target, as uvicorn would."""
    messages: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"accept-encoding", b"identity")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], headers, body


def raw_request(
    base: str, target: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """A request sent exactly as written: http.client does not normalise the target."""
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()
