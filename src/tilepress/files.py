"""Writing outputs whole or not at all: a temporary file or folder beside the target,
swapped in for it only when complete (every stage writes through these).

A folder replaces the old one by an atomic exchange (Linux ``renameat2(RENAME_EXCHANGE)``),
so a server reading the target never finds it missing. A full disk or a folder that cannot
be written becomes :class:`~tilepress.errors.OutputWriteError`, naming the output.

Durability where it is cheap: each file is fsynced before its rename and each parent folder
after it. Of a staged folder only the folder itself is: on ext4, fsyncing each of 3,000
tile files cost 0.5-1.3 s, 60-850 % of writing them, and fsyncing each of the reference
map's 140 tile columns 0.27 s, a fifth of the tile assembly (thousands of columns at deep
zooms). A tile folder is rebuilt from the workflow's caches in a second.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tilepress.errors import OutputWriteError

log = logging.getLogger("tilepress")

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1  # linux/fs.h
_RENAME_EXCHANGE = 2


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _write_faults(target: Path) -> Iterator[None]:
    """Turn a full disk or an unwritable folder met while writing ``target`` into
    :class:`OutputWriteError`; an access error on some other file (an input) is left alone."""
    try:
        yield
    except Exception as error:
        fault = OutputWriteError.of(error, target)
        if fault is None or not _concerns(error, target):
            raise
        raise fault from error


def _concerns(error: BaseException, target: Path) -> bool:
    """Whether ``error`` is about ``target``: its file name (if any) is the target, one of its
    folders, or a file beside it (the temporary)."""
    name = getattr(error, "filename", None)
    if name is None or (isinstance(error, OSError) and error.errno == errno.ENOSPC):
        return True
    path = Path(os.fsdecode(name)).absolute()
    target = target.absolute()
    return target.is_relative_to(path) or path.is_relative_to(target.parent)


@contextlib.contextmanager
def _temporary_beside(target: Path) -> Iterator[Path]:
    """A new empty temporary file beside ``target`` for the block, removed after it unless
    the block renamed it; a write fault in the block names ``target``."""
    with _write_faults(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(handle)
    temporary = Path(name)
    try:
        with _write_faults(target):
            yield temporary
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it only if the block succeeds
    (fsynced before the rename, its folder after)."""
    with _temporary_beside(target) as temporary:
        yield temporary
        temporary.chmod(0o666 & ~_umask())  # mkstemp creates 0600; outputs are shared files
        replace_all([(temporary, target)])


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write a whole file at once, never leaving a partial one."""
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)


def write_json_atomic(target: Path, value: Any) -> None:
    """Write JSON (sorted keys off, stable indentation) atomically."""
    write_bytes_atomic(target, (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode())


def create_file_atomic(target: Path, data: bytes) -> None:
    """Write a new file whole, never over an existing one: FileExistsError if ``target``
    exists (checked by the rename itself, so no other writer slips in between)."""
    with _temporary_beside(target) as temporary:
        temporary.write_bytes(data)
        temporary.chmod(0o666 & ~_umask())
        _fsync(temporary)
        _rename_no_replace(temporary, target)
        _fsync(target.parent, directory=True)


def _rename_no_replace(source: Path, target: Path) -> None:
    """``rename`` that fails if ``target`` exists: ``RENAME_NOREPLACE``, else a hard link."""
    function = _renameat2()
    if function is not None:
        flags = _RENAME_NOREPLACE
        if function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), os.fspath(target))
    target.hardlink_to(source)  # fails if the target exists
    source.unlink()


@contextlib.contextmanager
def staged_folder(target: Path, staging: Path | None = None) -> Iterator[Path]:
    """A fresh hidden folder beside ``target`` (or ``staging``, already filled, on the same
    file system) that replaces ``target`` in one atomic swap only if the block succeeds."""
    with _write_faults(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        if staging is None:
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with _write_faults(target):
            yield staging
            staging.chmod(0o777 & ~_umask())
            replace_all([(staging, target)])
    finally:
        if staging.exists():
            _remove(staging)


@contextlib.contextmanager
def scratch_folder(prefix: str, parent: Path) -> Iterator[Path]:
    """A new hidden folder in ``parent`` for the block's temporary files, removed when the
    block ends (unless the block moved it away). Removing it never raises: a failure is
    logged, so it never hides the error that ended the block."""
    with _write_faults(parent):
        parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        with _write_faults(parent):
            yield folder
    finally:
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass  # moved away (a staged folder swapped in), or removed already
        except OSError as error:
            log.warning("cannot remove the temporary folder %s: %s", folder, error)


def replace_all(pairs: Sequence[tuple[Path, Path]]) -> None:
    """Put each staged file or folder in place of its target (``(staged, target)`` pairs, on
    the same file system), each atomically, one right after the other.

    Everything that can fail or take time comes first: every staged path is checked and
    fsynced (a folder's folders, see the module's note) before the first rename; then the
    renames, then one fsync per distinct parent folder, and only then are the old versions
    removed. A failed check leaves every target as it was.
    """
    pairs = [(Path(staged), Path(target)) for staged, target in pairs]
    targets = [target.absolute() for _, target in pairs]
    if len(set(targets)) != len(targets):
        raise ValueError(f"replace_all: a target appears twice in {targets}")
    for staged, target in pairs:
        with _write_faults(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            if staged.lstat().st_dev != target.parent.stat().st_dev:
                raise ValueError(f"replace_all: {staged} and {target} are on different disks")
    for staged, target in pairs:
        with _write_faults(target):
            _make_durable(staged)
    old_versions: list[Path] = []
    try:
        for staged, target in pairs:
            with _write_faults(target):
                old = _place(staged, target)
            if old is not None:
                old_versions.append(old)
        for parent in dict.fromkeys(target.parent for _, target in pairs):
            _fsync(parent, directory=True)
    finally:
        for old in old_versions:
            _remove(old)


def _make_durable(staged: Path) -> None:
    """fsync a staged file, or a staged folder itself (not what it holds)."""
    _fsync(staged, directory=staged.is_dir())


def _fsync(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    except OSError as error:
        if not directory or error.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise  # some file systems cannot fsync a folder: nothing to make durable then
    finally:
        os.close(fd)


def _place(staged: Path, target: Path) -> Path | None:
    """Rename ``staged`` to ``target`` atomically; the path now holding the old version (to
    remove), if one had to be moved rather than replaced."""
    if os.path.lexists(target) and (staged.is_dir() or target.is_dir()):
        if _exchange(staged, target):
            return staged  # the old version is where the new one was
        return _move_aside_and_rename(staged, target)
    staged.replace(target)  # a file over a file, or anything onto no target: atomic
    return None


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """libc's ``renameat2``, where there is one: no Python library offers it (``os`` has
    ``rename`` and ``replace`` only), hence ctypes."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2  # glibc 2.28 and later
    except (OSError, AttributeError):
        return None
    path, flags = ctypes.c_char_p, ctypes.c_uint
    function.argtypes = [ctypes.c_int, path, ctypes.c_int, path, flags]
    function.restype = ctypes.c_int
    return function


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (``RENAME_EXCHANGE``); False where the system or the file
    system cannot."""
    function = _renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE):
        code = ctypes.get_errno()
        if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            return False  # an old kernel, or a file system without the flag
        raise OSError(code, os.strerror(code), os.fspath(first), None, os.fspath(second))
    return True


def _move_aside_and_rename(staged: Path, target: Path) -> Path:
    """Without an exchange: the old version renamed away, the new one renamed in (a moment
    with no target between the two renames); the old one back if the second fails."""
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    aside = aside / target.name
    target.rename(aside)
    try:
        staged.rename(target)
    except BaseException:
        aside.rename(target)
        aside.parent.rmdir()
        raise
    return aside.parent


def _remove(path: Path) -> None:
    """Remove a file or folder; a failure is logged, never raised (it must not hide the
    error that ended a block, nor fail a build whose outputs are in place)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as error:
        log.warning("cannot remove the old or temporary %s: %s", path, error)
