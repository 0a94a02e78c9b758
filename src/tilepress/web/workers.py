"""Several uvicorn worker processes, each with its own listening socket (``SO_REUSEPORT``).

uvicorn's own multi-worker mode shares one listening socket between the workers; the worker
that wakes first accepts most of a burst of new connections, so under load one worker may
carry most of the work while another idles (measured here: between 30,000 and 60,000
requests/s for the same two workers, depending on how the connections happened to fall).
With one ``SO_REUSEPORT`` socket per worker the kernel spreads new connections evenly.

The application is built once, in the parent, and the workers are forked from it, so they
share its in-memory tiles and start at once. Linux (and other systems with ``fork`` and
``SO_REUSEPORT``) only; `tilepress.web.server.serve` falls back to uvicorn's mode elsewhere.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import signal
import socket
import time
from types import FrameType
from typing import Any, Final

import uvicorn
from starlette.types import ASGIApp

from tilepress.errors import ServeError

__all__ = ["reuse_port_supported", "run_workers"]

log = logging.getLogger(__name__)

STOP_GRACE: Final = 1.0
"""Seconds the workers get to stop by themselves (a Ctrl-C reaches them too) before SIGTERM."""

SHUTDOWN_TIMEOUT: Final = 30.0
"""Seconds a worker gets to finish its requests after SIGTERM before it is killed."""


def reuse_port_supported() -> bool:
    """Whether this system can run `run_workers` (fork and ``SO_REUSEPORT``)."""
    return hasattr(socket, "SO_REUSEPORT") and "fork" in multiprocessing.get_all_start_methods()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _check_port_free(host: str, port: int) -> None:
    """Fail now, with a clear error, when something (even another tilepress) holds the port."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise ServeError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="stop the other server or pass another --port",
            ) from exc


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(app: ASGIApp, host: str, port: int, options: dict[str, Any]) -> None:
    """One worker process: its own socket, then uvicorn until SIGTERM or SIGINT."""
    sock = _listen(host, port)
    server = uvicorn.Server(uvicorn.Config(app, **options))
    server.run(sockets=[sock])


def run_workers(
    app: ASGIApp, *, host: str, port: int, workers: int, options: dict[str, Any]
) -> None:
    """Serve ``app`` from ``workers`` forked processes until SIGINT or SIGTERM.

    ``options`` are `uvicorn.Config` options other than host and port. Raises `ServeError`
    when the port is taken or a worker exits on its own.
    """
    _check_port_free(host, port)
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(
            target=_worker, args=(app, host, port, options), name=f"tilepress-worker-{number}"
        )
        for number in range(1, workers + 1)
    ]
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    failed: multiprocessing.process.BaseProcess | None = None
    try:
        for process in processes:
            process.start()
        pids = ", ".join(str(process.pid) for process in processes)
        log.info("started %d worker processes: %s", workers, pids)
        while not stopping:
            multiprocessing.connection.wait([p.sentinel for p in processes], timeout=0.5)
            failed = next((p for p in processes if not p.is_alive()), None)
            if failed is not None and not stopping:
                break
    finally:
        deadline = time.monotonic() + (STOP_GRACE if failed is None else 0.0)
        for process in processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=SHUTDOWN_TIMEOUT)
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed is not None and not stopping:
        raise ServeError(
            f"worker process {failed.pid} exited with status {failed.exitcode}; stopped the others",
            hint="see the messages above",
        )
