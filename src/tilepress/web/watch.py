"""``tilepress serve --watch -c CONFIG``: serve the config's maps and rebuild them on a change.

One process watches and builds; forked workers serve (`tilepress.web.workers.WorkerPool`).
Every ``POLL`` seconds the watcher compares the config file's and its overlay files' stat
(mtime, size, inode: an editor's save by rename counts). A change, once the files have been
quiet for ``DEBOUNCE`` seconds, starts ``tilepress run -c CONFIG`` as a subprocess, whose
output goes to the terminal; a change while it runs queues one more build.

Only a build whose process exited 0 is read, whole, into a new application (its own build
id); then the old workers stop and new ones, forked with it, take over their listening
sockets (`WorkerPool.replace`: connections wait meanwhile, a fraction of a second). The
server answers from one complete build at any moment, never from files being written, and
once a request has the new build's answer, no later one gets the old build's. A build that
changed no file of ``dist/`` leaves the workers as they are. A failed build leaves the last
good map served; its error (the ``tilepress: error:`` lines, else the output's end) goes to
the pages through a status file (`tilepress.web.watch_status`), which they poll at
``/_watch/state`` with the build they were served from: a new build reloads them (at the
same view), an error shows a banner.
"""

from __future__ import annotations

import collections
import logging
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any, Final

from tilepress.errors import ServeError
from tilepress.web.app import TilepressApp, create_app
from tilepress.web.server import ServerSettings
from tilepress.web.watch_status import WatchLink, write_status
from tilepress.web.workers import STOP_GRACE, WorkerPool, reuse_port_supported

__all__ = ["DEBOUNCE", "POLL", "WatchTargets", "error_text", "watch_and_serve", "watch_targets"]

log = logging.getLogger(__name__)

POLL: Final = 0.2
"""Seconds between two looks at the watched files."""

DEBOUNCE: Final = 0.3
"""Seconds the watched files must stay unchanged before a build starts (a burst of saves)."""

BUILD_STOP: Final = 20.0
"""Seconds a running build gets to stop after SIGINT when the server stops."""

_ERROR_PREFIX: Final = "tilepress: error:"
_TAIL_LINES: Final = 25
_MAX_ERROR_CHARS: Final = 6000

Signature = tuple[tuple[str, int, int, int] | tuple[str], ...]


@dataclass(frozen=True)
class WatchTargets:
    """What the config names: the folder it builds into and the files a change of which
    rebuilds (the config and its overlays' ``path`` files)."""

    output_dir: Path
    files: tuple[Path, ...]


def watch_targets(config: Path, previous: WatchTargets | None = None) -> WatchTargets:
    """The config's `WatchTargets`, read leniently (no checks: `tilepress run` makes them);
    a config that cannot be read keeps ``previous`` (with the config itself watched)."""
    import yaml

    fallback = previous or WatchTargets(Path("dist"), (config,))
    try:
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return fallback
    if not isinstance(data, dict):
        return fallback
    output_dir = data.get("output_dir", "dist")
    files = [config]
    maps = data.get("maps")
    for spec in maps if isinstance(maps, list) else []:
        overlays = spec.get("overlays") if isinstance(spec, dict) else None
        for overlay in overlays if isinstance(overlays, list) else []:
            path = overlay.get("path") if isinstance(overlay, dict) else None
            if isinstance(path, str) and path and Path(path) not in files:
                files.append(Path(path))  # relative to the working folder, as the workflow's
    dist = Path(output_dir) if isinstance(output_dir, str) and output_dir else Path("dist")
    return WatchTargets(dist, tuple(files))


def signature(files: Iterable[Path]) -> Signature:
    """The files' stat (path, mtime, size, inode), or only the path of a missing one."""
    found: list[tuple[str, int, int, int] | tuple[str]] = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            found.append((str(path),))
            continue
        found.append((str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino))
    return tuple(found)


def dist_fingerprint(dist: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file of the map folders of ``dist`` (not its ``.cache`` or ``.parts``) with its
    size and mtime: equal after a build that wrote nothing."""
    entries = []
    for folder in sorted(dist.iterdir()) if dist.is_dir() else []:
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((str(path.relative_to(dist)), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


def has_maps(dist: Path) -> bool:
    """Whether ``dist`` holds a built map (a folder with a ``tiles.json``)."""
    return dist.is_dir() and any(dist.glob("*/tiles.json"))


def error_text(lines: Iterable[str], returncode: int) -> str:
    """A failed build's message for the pages: its ``tilepress: error:`` lines with their
    indented continuations, else the end of its output."""
    lines = list(lines)
    picked: list[str] = []
    keep = False
    for line in lines:
        text = line.rstrip()
        if _ERROR_PREFIX in text:
            keep = True
            picked.append(text[text.index(_ERROR_PREFIX) + len(_ERROR_PREFIX) :].strip())
        elif keep and text[:1].isspace():
            picked.append(text)
        else:
            keep = False
    if not picked:
        tail = [line.rstrip() for line in lines if line.strip()][-_TAIL_LINES:]
        picked = [f"`tilepress run` exited with status {returncode}", *tail]
    text = "\n".join(dict.fromkeys(picked))  # the same message from a step and from Snakemake
    return text if len(text) <= _MAX_ERROR_CHARS else text[:_MAX_ERROR_CHARS] + "\n…"


class Build:
    """``tilepress run -c CONFIG`` in a subprocess, its output copied to the terminal and its
    last lines kept."""

    def __init__(self, config: Path, out: IO[str]) -> None:
        command = [sys.executable, "-m", "tilepress.cli", "run", "-c", str(config)]
        self.started = time.monotonic()
        self.lines: collections.deque[str] = collections.deque(maxlen=400)
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        self.reader = threading.Thread(target=self._copy, args=(out,), daemon=True)
        self.reader.start()

    def _copy(self, out: IO[str]) -> None:
        for raw in self.process.stdout or ():
            line = raw.decode("utf-8", errors="replace")
            self.lines.append(line)
            out.write(line)
            out.flush()

    def finished(self) -> int | None:
        """The exit status once the process exited and its output is read, else None."""
        status = self.process.poll()
        if status is None:
            return None
        self.reader.join()  # no thread left behind when workers are forked next
        return status

    def stop(self) -> None:
        """Interrupt it (Snakemake removes what it left incomplete), kill it if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=BUILD_STOP)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.reader.join(timeout=5)


class _Watch:
    """The watching process's state: what is served, what is built, what was seen."""

    def __init__(self, config: Path, settings: ServerSettings, status_file: Path) -> None:
        self.config = config
        self.settings = settings
        self.status_file = status_file
        self.targets = watch_targets(config)
        self.seen = signature(self.targets.files)
        self.pool = WorkerPool(
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            options=settings.options,
        )
        self.serving = False
        self.session = secrets.token_hex(4)  # a page from another run reloads too
        self.builds = 0
        self.served: tuple[tuple[str, int, int], ...] | None = None
        self.build: Build | None = None
        self.wanted = True  # a build at start: the config may have changed since the last
        self.changed_at = float("-inf")
        self.error: str | None = None

    def _app(self) -> TilepressApp:
        self.builds += 1
        link = WatchLink(f"{self.session}-{self.builds}", self.status_file)
        return create_app(
            self.targets.output_dir,
            public_url=self.settings.base_url,
            cors_origins=self.settings.origins,
            watch=link,
        )

    def _publish(self) -> None:
        write_status(self.status_file, building=self.build is not None, error=self.error)

    def serve_existing(self) -> None:
        """Serve the maps already built, if any (else the first build's come first)."""
        if not has_maps(self.targets.output_dir):
            log.info("no map in %s yet: building first", self.targets.output_dir)
            return
        fingerprint = dist_fingerprint(self.targets.output_dir)
        try:
            app = self._app()
        except ServeError as error:
            log.warning("cannot serve %s yet (%s): building first", self.targets.output_dir, error)
            return
        self.pool.start(app)
        self.serving, self.served = True, fingerprint
        log.info("serving %s at %s/", self.targets.output_dir, self.settings.base_url)

    def tick(self) -> None:
        """One look at the files, the build and the workers."""
        now = time.monotonic()
        seen = signature(self.targets.files)
        if seen != self.seen:
            self.seen, self.wanted, self.changed_at = seen, True, now
        if self.build is None and self.wanted and now - self.changed_at >= DEBOUNCE:
            self.wanted = False
            self.targets = watch_targets(self.config, self.targets)
            self.seen = signature(self.targets.files)  # overlays added or dropped
            log.info("building: tilepress run -c %s", self.config)
            self.build = Build(self.config, sys.stderr)
            self._publish()
        if self.build is not None:
            status = self.build.finished()
            if status is not None:
                seconds = time.monotonic() - self.build.started
                lines = list(self.build.lines)
                self.build = None
                self._finish(status, lines, seconds)
        if self.serving:
            failed = self.pool.failed()
            if failed is not None:
                raise ServeError(
                    f"worker process {failed.pid} exited with status {failed.exitcode}",
                    hint="see the messages above",
                )

    def _finish(self, status: int, lines: list[str], seconds: float) -> None:
        """After a build: swap in its maps (exit 0), or keep the last good ones."""
        if status != 0:
            self.error = error_text(lines, status)
            self._publish()
            kept = "still serving the last good build" if self.serving else "nothing to serve"
            log.error("the build failed after %.1f s (%s); waiting for a change", seconds, kept)
            return
        fingerprint = dist_fingerprint(self.targets.output_dir)
        if self.serving and fingerprint == self.served:
            self.error = None
            self._publish()
            log.info("built in %.1f s: no map changed", seconds)
            return
        try:
            app = self._app()  # read whole before anything is swapped
        except ServeError as error:
            self.error = str(error)
            self._publish()
            log.error("cannot serve the new build: %s", error)
            return
        if self.serving:
            self.pool.replace(app)
        else:
            self.pool.start(app)
        del app
        self.serving, self.served, self.error = True, fingerprint, None
        self._publish()
        log.info("built in %.1f s: serving it at %s/", seconds, self.settings.base_url)

    def wait(self) -> None:
        if self.serving:
            self.pool.wait(POLL)
        else:
            time.sleep(POLL)

    def stop(self, grace: float) -> None:
        if self.build is not None:
            self.build.stop()
        self.pool.stop(grace)


def watch_and_serve(config: Path, settings: ServerSettings) -> None:
    """Serve the maps of ``config``'s output folder and rebuild them when it or one of its
    overlay files changes (see the module), until SIGINT or SIGTERM."""
    if not reuse_port_supported():
        raise ServeError(
            "--watch needs fork and SO_REUSEPORT (Linux)",
            hint="run `tilepress run` after each change and `tilepress serve` without --watch",
        )
    if not config.is_file():
        raise ServeError("the configuration file does not exist", where=str(config))
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous: dict[int, Any] = {
        sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    failed = False
    with tempfile.TemporaryDirectory(prefix="tilepress-watch-") as folder:
        watch = _Watch(config, settings, Path(folder) / "status.json")
        try:
            watch._publish()
            watch.serve_existing()
            log.info(
                "watching %s: a change rebuilds the maps", ", ".join(map(str, watch.targets.files))
            )
            while not stopping:
                watch.tick()
                watch.wait()
        except BaseException:
            failed = True
            raise
        finally:
            watch.stop(0.0 if failed else STOP_GRACE)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
