"""Several uvicorn worker processes, each with its own listening socket (``SO_REUSEPORT``).

uvicorn's own multi-worker mode shares one listening socket between the workers; the worker
that wakes first accepts most of a burst of new connections, so under load one worker may
carry most of the work while another idles (measured here: between 30,000 and 60,000
requests/s for the same two workers, depending on how the connections happened to fall).
With one ``SO_REUSEPORT`` socket per worker the kernel spreads new connections evenly.

The application is built once, in the parent, and the workers are forked from it, so they
share its in-memory tiles and start at once. `WorkerPool.replace` swaps in another
application (``tilepress serve --watch``, after a build) without refusing a connection. Linux
(and other systems with ``fork`` and ``SO_REUSEPORT``) only; `tilepress.web.server.serve`
falls back to uvicorn's mode elsewhere.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any, Final

import uvicorn
from starlette.types import ASGIApp

from tilepress.errors import ServeError

__all__ = ["WorkerPool", "reuse_port_supported", "run_workers"]

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


def _worker(app: ASGIApp, sock: socket.socket, options: dict[str, Any]) -> None:
    """One worker process: uvicorn on its own listening socket until SIGTERM or SIGINT."""
    server = uvicorn.Server(uvicorn.Config(app, **options))
    server.run(sockets=[sock])


class WorkerPool:
    """The forked worker processes serving one application, replaceable by another's.

    The listening sockets (one per worker, ``SO_REUSEPORT``) belong to this process and
    outlive the workers: `replace` asks the old workers to stop (SIGTERM: uvicorn stops
    accepting, finishes the requests under way and closes its connections), waits until they
    have exited, then forks the new application's workers on the same sockets. Connections
    made meanwhile wait in the sockets' queues, none is refused, and no request is answered
    by the old application once the new one answers one.
    """

    def __init__(self, *, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
        self.host, self.port, self.workers, self.options = host, port, workers, options
        self.context = multiprocessing.get_context("fork")
        self.sockets: list[socket.socket] = []
        self.processes: list[BaseProcess] = []
        self.forked = 0

    def _fork(self, app: ASGIApp) -> None:
        self.processes = []
        for sock in self.sockets:
            self.forked += 1
            process: BaseProcess = self.context.Process(
                target=_worker,
                args=(app, sock, self.options),
                name=f"tilepress-worker-{self.forked}",
            )
            process.start()
            self.processes.append(process)

    def start(self, app: ASGIApp) -> None:
        """Listen and fork the first workers; raises `ServeError` when the port is taken."""
        _check_port_free(self.host, self.port)
        self.sockets = [_listen(self.host, self.port) for _ in range(self.workers)]
        self._fork(app)
        pids = ", ".join(str(process.pid) for process in self.processes)
        log.info("started %d worker processes: %s", self.workers, pids)

    def replace(self, app: ASGIApp) -> None:
        """Serve ``app`` from new workers once the old ones have stopped (see the class)."""
        old = self.processes
        for process in old:
            process.terminate()
        _join(old, SHUTDOWN_TIMEOUT)
        self._fork(app)
        log.info("workers replaced: %s", ", ".join(str(p.pid) for p in self.processes))

    def failed(self) -> BaseProcess | None:
        """A current worker that exited on its own, if any."""
        return next((p for p in self.processes if not p.is_alive()), None)

    def wait(self, timeout: float) -> None:
        """Until a current worker exits, or ``timeout`` seconds."""
        multiprocessing.connection.wait([p.sentinel for p in self.processes], timeout=timeout)

    def stop(self, grace: float) -> None:
        """Stop every worker: ``grace`` seconds to stop by themselves, then SIGTERM, then
        SIGKILL after `SHUTDOWN_TIMEOUT`; close the sockets."""
        deadline = time.monotonic() + grace
        for process in self.processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        _join(self.processes, SHUTDOWN_TIMEOUT)
        for sock in self.sockets:
            sock.close()
        self.processes, self.sockets = [], []


def _join(processes: list[BaseProcess], timeout: float) -> None:
    """Join ``processes``, killing those still running after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


def run_workers(
    app: ASGIApp, *, host: str, port: int, workers: int, options: dict[str, Any]
) -> None:
    """Serve ``app`` from ``workers`` forked processes until SIGINT or SIGTERM.

    ``options`` are `uvicorn.Config` options other than host and port. Raises `ServeError`
    when the port is taken or a worker exits on its own.
    """
    pool = WorkerPool(host=host, port=port, workers=workers, options=options)
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    failed: BaseProcess | None = None
    try:
        pool.start(app)
        while not stopping:
            pool.wait(timeout=0.5)
            failed = pool.failed()
            if failed is not None and not stopping:
                break
    finally:
        pool.stop(STOP_GRACE if failed is None else 0.0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed is not None and not stopping:
        raise ServeError(
            f"worker process {failed.pid} exited with status {failed.exitcode}; stopped the others",
            hint="see the messages above",
        )
