"""The PDF's stream compression: Flate alone (no ASCII85 layer) at a chosen zlib level, a large
stream deflated in two halves at once."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from reportlab import rl_config
from reportlab.pdfbase import pdfdoc

from tilepress.geometry.parallel import helper_thread

FLATE_LEVEL = 5  # zlib level of the PDF's streams
PARALLEL_FLATE_MIN = 256 * 1024  # bytes of a stream deflated in two halves at once


@contextmanager
def plain_flate_streams() -> Iterator[None]:
    """Flate-only streams: reportlab's default ASCII85 layer is 25% bigger and slow in Python;
    and Flate at level 5, not zlib's default 6, which on the map's path text takes two and a
    half times as long for 0.7% fewer bytes."""
    previous, previous_filter = rl_config.useA85, pdfdoc.PDFZCompress
    rl_config.useA85 = 0
    pdfdoc.PDFZCompress = _Flate()  # read when the document is written (streams, fonts)
    try:
        yield
    finally:
        rl_config.useA85, pdfdoc.PDFZCompress = previous, previous_filter


class _Flate:
    """reportlab's Flate stream filter with a chosen zlib level; a large stream (the page's
    paths) is deflated in two halves at once, the way pigz does: the first half ends on a
    byte boundary (a sync flush), the second starts from the first's last 32 kB as its
    dictionary, so the halves join into one zlib stream only ~50 bytes longer."""

    pdfname = "FlateDecode"
    level = FLATE_LEVEL

    def encode(self, text: str | bytes) -> bytes:
        """One zlib stream of ``text`` (UTF-8 if a string)."""
        data = text.encode("utf8") if isinstance(text, str) else text
        if len(data) < PARALLEL_FLATE_MIN:
            return zlib.compress(data, self.level)
        half = len(data) // 2
        view = memoryview(data)
        window = bytes(view[half - 32768 : half])
        second = helper_thread().submit(_deflate, view[half:], self.level, window, True)
        first = _deflate(view[:half], self.level, b"", False)
        header = zlib.compress(b"", self.level)[:2]
        return header + first + second.result() + zlib.adler32(data).to_bytes(4, "big")

    def decode(self, encoded: bytes) -> bytes:
        """The bytes of a zlib stream."""
        return zlib.decompress(encoded)


def _deflate(data: memoryview, level: int, dictionary: bytes, last: bool) -> bytes:
    """Raw deflate of ``data``, after ``dictionary``; the last piece ends the stream."""
    if dictionary:
        deflater = zlib.compressobj(
            level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, dictionary
        )
    else:
        deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
    return deflater.compress(data) + deflater.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
