"""Running the tile server: `serve` starts uvicorn on the application, with several workers.

The application (`tilepress.web.app`) is built once, here, so that a bad ``dist`` folder
fails before uvicorn starts. uvicorn runs httptools with the request-head limits and the
tile fast path (`tilepress.web.protocol`) and uvloop when they are installed, with one
forked worker process per core (`tilepress.web.workers`), or uvicorn's own workers where
forking with ``SO_REUSEPORT`` is not possible.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import uvicorn

from tilepress.errors import ServeError
from tilepress.web.app import ENV_CORS, ENV_DIST, ENV_PUBLIC_URL, create_app, normalise_origins
from tilepress.web.limits import MAX_HEADER_BYTES
from tilepress.web.workers import reuse_port_supported, run_workers

__all__ = ["MAX_AUTO_WORKERS", "ServerSettings", "auto_workers", "serve", "server_settings"]

log = logging.getLogger(__name__)

MAX_AUTO_WORKERS: Final = 8
"""Upper bound of the worker count chosen from the number of usable cores."""


def auto_workers() -> int:
    """One worker process per usable core, at most `MAX_AUTO_WORKERS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_AUTO_WORKERS))


def _unspecified(host: str) -> bool:
    """Whether ``host`` is the any-address (all interfaces), which clients cannot use."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _free_port(host: str) -> int:
    """A port the system says is free on ``host`` (for ``port=0``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host.strip("[]"), 0))
        port: int = probe.getsockname()[1]
    return port


def _protocol_options() -> dict[str, Any]:
    """uvicorn's ``http`` and ``loop`` options: httptools with limits and uvloop when installed.

    Without them uvicorn runs h11 (which bounds the request head itself) and asyncio:
    correct, several times slower.
    """
    loop = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    options: dict[str, Any] = {"loop": loop}
    if importlib.util.find_spec("httptools") is not None:
        from tilepress.web.protocol import LimitedHttpToolsProtocol

        options["http"] = LimitedHttpToolsProtocol
    else:
        log.warning("httptools is not installed: serving with h11, several times slower")
        options["http"] = "h11"
        options["h11_max_incomplete_event_size"] = MAX_HEADER_BYTES
    return options


@dataclass(frozen=True)
class ServerSettings:
    """The checked options of a server: where it listens, its URL, workers, uvicorn's options."""

    host: str
    port: int
    base_url: str
    origins: tuple[str, ...]
    workers: int
    options: dict[str, Any]
    """`uvicorn.Config` options other than host and port."""


def server_settings(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    public_url: str | None = None,
    cors_origins: Sequence[str] = ("*",),
    workers: int | None = None,
    log_level: str = "info",
    access_log: bool = False,
) -> ServerSettings:
    """Check the server's options (see `serve`); ``port=0`` is replaced by a free port."""
    if not 0 <= port <= 65535:
        raise ServeError(f"the port must be between 0 and 65535, not {port}")
    if workers is None:
        workers = auto_workers()
    if workers < 1:
        raise ServeError(f"the number of workers must be at least 1, not {workers}")
    if port == 0:
        try:
            port = _free_port(host)
        except OSError as exc:
            raise ServeError(f"cannot bind to {host}: {exc}") from exc
    url_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    base_url = public_url or f"http://{url_host}:{port}"
    if public_url is None and _unspecified(host):
        log.warning(
            "serving on all interfaces with public URL %s: pass public_url with the address "
            "clients use, or TileJSON and style URLs will not resolve for them",
            base_url,
        )
    options: dict[str, Any] = {
        "log_level": log_level,
        "access_log": access_log,
        "server_header": False,
        "proxy_headers": False,  # client addresses are not used; no Forwarded-header parsing
        "lifespan": "off",
        **_protocol_options(),
    }
    return ServerSettings(host, port, base_url, normalise_origins(cors_origins), workers, options)


def serve(
    dist_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    public_url: str | None = None,
    cors_origins: Sequence[str] = ("*",),
    workers: int | None = None,
    log_level: str = "info",
    access_log: bool = False,
) -> None:
    """Serve the maps in ``dist_dir`` with uvicorn until interrupted.

    ``public_url`` is the URL clients reach the server at (default ``http://host:port``).
    ``workers`` processes (default: one per core, see `auto_workers`) are forked from this
    one after the in-memory table is built, each with its own listening socket. ``port=0``
    picks a free port.
    """
    settings = server_settings(
        host=host,
        port=port,
        public_url=public_url,
        cors_origins=cors_origins,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
    )
    serve_with(dist_dir, settings)


def serve_with(dist_dir: Path, settings: ServerSettings) -> None:
    """Serve the maps in ``dist_dir`` with checked ``settings`` (:func:`server_settings`)
    until interrupted (see :func:`serve`)."""
    host, port, workers, origins = settings.host, settings.port, settings.workers, settings.origins
    # Built here even with several workers, so a bad folder fails before uvicorn starts.
    app = create_app(dist_dir, public_url=settings.base_url, cors_origins=origins)
    log.info(
        "serving %d map(s) from %s at %s/ with %d worker(s)",
        len(app.state.maps),
        dist_dir,
        app.state.public_url,
        workers,
    )
    options = dict(settings.options)
    if workers == 1:
        uvicorn.run(app, host=host, port=port, **options)
        return
    if reuse_port_supported():
        run_workers(app, host=host, port=port, workers=workers, options=options)
        return
    del app  # uvicorn's own workers: each one builds the app again, from the environment
    os.environ[ENV_DIST] = str(Path(dist_dir).resolve())
    os.environ[ENV_PUBLIC_URL] = settings.base_url
    os.environ[ENV_CORS] = ",".join(origins)
    uvicorn.run(
        "tilepress.web.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        **options,
    )
