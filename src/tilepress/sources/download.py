"""Source files by URL and by checksum: SHA-256 of a file, and downloads that appear only
when complete and verified, retried only when the failure may pass."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from tilepress.errors import ChecksumError, SourceError

DOWNLOAD_ATTEMPTS = 3
RETRY_DELAY_SECONDS = 1.0  # before the second attempt; doubled before each later one
# HTTP statuses worth another attempt: timeouts, throttling and server-side trouble. Any other
# answer (404, 403, 410...) will not change by asking again.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path: str | Path, expected: str | None, *, source: str) -> None:
    """Raise ChecksumError unless the file's SHA-256 equals ``expected`` (skipped if None)."""
    if expected is None:
        return
    if not Path(path).is_file():
        raise SourceError(f"no such file {str(path)!r}", where=f"source {source!r}")
    actual = sha256_file(path)
    if actual.lower() != expected.lower():
        raise ChecksumError(
            f"SHA-256 of {path} is {actual}, but the configuration expects {expected.lower()}",
            where=f"source {source!r}",
            hint="the file is damaged or a different version; restore it, or update `sha256` "
            "if you changed the source on purpose",
        )


def download(url: str, destination: str | Path, sha256: str, *, source: str) -> Path:
    """Download ``url`` to ``destination`` once, checking its SHA-256 before it appears.

    The file is written to a temporary name in the same folder and renamed when complete and
    verified, so an interrupted or corrupt download never leaves a file behind.
    """
    import urllib.error  # here, not at the top: every step imports this module, few download
    import urllib.request

    if not url.lower().startswith(("https://", "http://")):
        raise SourceError(f"{url!r} is not an http(s) URL", where=f"source {source!r}")
    destination = Path(destination)
    if destination.is_file() and sha256_file(destination) == sha256.lower():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    attempt = 0
    while True:
        attempt += 1
        handle, temporary = tempfile.mkstemp(prefix=".download-", dir=destination.parent)
        try:
            with (
                os.fdopen(handle, "wb") as out,
                urllib.request.urlopen(url, timeout=60) as response,  # noqa: S310 (scheme checked)
            ):
                shutil.copyfileobj(response, out)
            verify_checksum(temporary, sha256, source=source)
            Path(temporary).replace(destination)
            return destination
        except (urllib.error.URLError, OSError) as error:  # HTTPError and timeouts among them
            transient = _transient(error)
            if not transient or attempt >= DOWNLOAD_ATTEMPTS:
                tries = f" ({attempt} attempts)" if attempt > 1 else ""
                raise SourceError(
                    f"cannot download {url}: {error}{tries}",
                    where=f"source {source!r}",
                    hint="check the URL and the network, or download the file yourself and "
                    "give its `path`",
                ) from None
        finally:
            Path(temporary).unlink(missing_ok=True)  # gone already when it was renamed
        time.sleep(RETRY_DELAY_SECONDS * 2 ** (attempt - 1))


def _transient(error: OSError) -> bool:
    """Whether a failed download may succeed when tried again: an HTTP answer of
    :data:`TRANSIENT_STATUSES`, or the network failing (refused, reset, unreachable, timed out);
    not another HTTP answer, a URL urllib cannot open, or a local error (a full disk)."""
    import urllib.error

    if isinstance(error, urllib.error.HTTPError):
        return error.code in TRANSIENT_STATUSES
    if isinstance(error, urllib.error.URLError):
        return isinstance(error.reason, OSError)  # a str reason: "unknown url type" and such
    return isinstance(error, (TimeoutError, ConnectionError))
