"""The exceptions tilepress raises: one root class, one subclass per concern."""

from __future__ import annotations

import errno
import os


class TilepressError(Exception):
    """Root of every error tilepress reports to its user.

    ``where`` names the place (file, map and key, line) and ``hint`` says what to do.
    """

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ConfigError(TilepressError):
    """The configuration is malformed or names something that does not exist."""

    def __init__(self, problems: list[str], *, source: str | None = None):
        self.problems = problems
        header = f"{len(problems)} problem(s) in the configuration"
        if source:
            header += f" {source}"
        super().__init__(header + ":\n" + "\n".join(f"  - {p}" for p in problems))


class SourceError(TilepressError):
    """A boundary source cannot be found, downloaded or read."""


class ChecksumError(SourceError):
    """A source file's SHA-256 differs from the one the configuration expects."""


class ProjectionError(TilepressError):
    """PROJ cannot build or apply the requested projection."""


class TilingError(TilepressError):
    """Vector tiles cannot be generated or written."""


class PrintError(TilepressError):
    """The print sheet cannot be laid out or written."""


class ServeError(TilepressError):
    """The tile server cannot start with the given folder or options."""


class RunError(TilepressError):
    """`tilepress run` cannot start: no configuration to build, or another run is running."""


class ExistingConfigError(TilepressError):
    """`tilepress init` found a configuration where it would write the starter one."""


# What a failed write means to the user, by errno: the reason, and what to do.
_FULL = "free some space and run again"
_LOCKED = "pick another output_dir or fix the folder's permissions"
WRITE_FAULTS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on device", _FULL),
    errno.EDQUOT: ("disk quota exceeded", "free some space or raise the quota and run again"),
    errno.EFBIG: ("file too large for its file system", "pick an output_dir on another disk"),
    errno.EACCES: ("the folder is not writable (permission denied)", _LOCKED),
    errno.EPERM: ("the folder is not writable (operation not permitted)", _LOCKED),
    errno.EROFS: ("the folder is not writable (read-only file system)", _LOCKED),
}


class OutputWriteError(TilepressError):
    """An output cannot be written: its disk is full or its folder is not writable.

    ``path`` is the output, ``code`` the errno (one of :data:`WRITE_FAULTS`).
    """

    def __init__(self, path: str | os.PathLike[str], code: int):
        self.path = os.fspath(path)
        self.code = code
        reason, hint = WRITE_FAULTS[code]
        super().__init__(f"cannot write {_shown(self.path)}: {reason}; {hint}")

    def __reduce__(self) -> tuple[type[OutputWriteError], tuple[str, int]]:
        return (type(self), (self.path, self.code))  # through a worker pool's pickling

    @classmethod
    def of(
        cls, error: BaseException, path: str | os.PathLike[str] | None = None
    ) -> OutputWriteError | None:
        """The user's error for ``error`` (an OSError, or SQLite's "disk is full"), naming
        ``path`` (else the error's own file name); None if it is not a write fault."""
        code = write_fault_code(error)
        if code is None:
            return None
        if path is None:
            path = getattr(error, "filename", None) or "an output"
        return cls(path, code)


def write_fault_code(error: BaseException) -> int | None:
    """The errno of :data:`WRITE_FAULTS` that ``error`` stands for, or None."""
    if isinstance(error, OSError):
        return error.errno if error.errno in WRITE_FAULTS else None
    if getattr(error, "sqlite_errorcode", None) == 13:  # SQLITE_FULL: the disk is full
        return errno.ENOSPC
    return None


def _shown(path: str) -> str:
    """``path`` relative to the working folder when it lies inside it."""
    if os.path.isabs(path):  # noqa: PTH117 (a str in, a str out)
        try:
            relative = os.path.relpath(path)
        except (OSError, ValueError):  # no working folder, another drive
            return path
        if not relative.startswith(os.pardir):
            return relative
    return path
