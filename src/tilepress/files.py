"""Writing outputs whole or not at all: a temporary file or folder beside the target,
renamed over it only when complete (every stage writes through these)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("tilepress")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        temporary.chmod(0o666 & ~_umask())  # mkstemp creates 0600; outputs are shared files
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write a whole file at once, never leaving a partial one."""
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)


def write_json_atomic(target: Path, value: Any) -> None:
    """Write JSON (sorted keys off, stable indentation) atomically."""
    write_bytes_atomic(target, (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode())


@contextlib.contextmanager
def staged_folder(target: Path, staging: Path | None = None) -> Iterator[Path]:
    """A fresh hidden folder beside ``target`` (or ``staging``, already filled, on the same
    file system) that replaces ``target`` only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if staging is None:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        staging.chmod(0o777 & ~_umask())
        if target.exists():
            shutil.rmtree(target)
        staging.replace(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


@contextlib.contextmanager
def scratch_folder(prefix: str, parent: Path) -> Iterator[Path]:
    """A new hidden folder in ``parent`` for the block's temporary files, removed when the
    block ends (unless the block moved it away). Removing it never raises: a failure is
    logged, so it never hides the error that ended the block."""
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield folder
    finally:
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass  # moved away (a staged folder swapped in), or removed already
        except OSError as error:
            log.warning("cannot remove the temporary folder %s: %s", folder, error)
