"""The exceptions tilepress raises: one root class, one subclass per concern."""

from __future__ import annotations


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
