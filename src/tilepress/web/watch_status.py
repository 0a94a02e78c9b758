"""The outcome of the last build under ``tilepress serve --watch``, between the watching
process and its workers: a small JSON file the watcher replaces whole (write, then rename)
and each worker reads when a page asks ``/_watch/state``.

The workers are forked once per served build (`tilepress.web.workers.WorkerPool`), so the id
of the build they serve is fixed in each (`WatchLink.build`); only what changes without a new
build (building, the failed build's error) goes through the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WatchLink", "write_status"]


@dataclass(frozen=True, slots=True)
class WatchLink:
    """What ``serve --watch`` adds to an application: the id of the build it serves, and the
    file with the last build's outcome."""

    build: str
    status_file: Path

    def state(self) -> bytes:
        """``/_watch/state``: this application's build, whether one runs, the last error."""
        try:
            status = json.loads(self.status_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            status = {}  # not written yet: no news
        status = status if isinstance(status, dict) else {}
        error = status.get("error")
        answer = {
            "build": self.build,
            "building": bool(status.get("building")),
            "error": error if isinstance(error, str) else None,
        }
        return json.dumps(answer, ensure_ascii=False).encode("utf-8")


def write_status(path: Path, *, building: bool, error: str | None) -> None:
    """Replace the status file whole: a reader sees the old one or the new one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    text = json.dumps({"building": building, "error": error}, ensure_ascii=False)
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
