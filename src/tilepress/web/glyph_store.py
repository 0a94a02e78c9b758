"""A map's glyph PBFs held in memory, and the answer to a request for one fontstack range.

`load_glyphs` reads a map's ``glyphs/{fontstack}/{start}-{end}.pbf`` files once, at start-up;
`GlyphStore.answer` finds a request's range in memory (a request never names a file). A
``{fontstack}`` may list several stacks joined by commas (a style's ``text-font`` list): the
glyphs of the stored ones are combined, each codepoint from the first listed stack that has
it. A well-formed range that is not stored is a valid empty range of the requested stack, so a
client never fails on a missing range; a malformed one is no answer (404).
"""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from tilepress.errors import ServeError
from tilepress.web.assets import DOWNLOAD_CACHE, Asset, Blob
from tilepress.web.glyph_pbf import (
    LAST_CODEPOINT,
    RANGE_SIZE,
    GlyphPbfError,
    combine_ranges,
    encode_range,
    range_glyphs,
)

__all__ = ["GLYPH_MEDIA_TYPE", "GlyphStore", "glyph_range_start", "load_glyphs"]

log = logging.getLogger(__name__)

GLYPH_MEDIA_TYPE: Final = "application/x-protobuf"
GLYPH_CACHE: Final = DOWNLOAD_CACHE
MAX_FONTSTACK: Final = 512
"""Characters of a requested ``{fontstack}``, at most."""

_RANGE_FILE: Final = re.compile(r"([0-9]{1,5})-([0-9]{1,5})\.pbf")
_MAX_COMBINED: Final = 1024  # combined ranges kept, at most


def glyph_range_start(name: str) -> int | None:
    """The start of a ``{start}-{end}.pbf`` range name, or None when it is malformed (not a
    multiple of 256, an end other than start + 255, beyond U+FFFF)."""
    match = _RANGE_FILE.fullmatch(name)
    if match is None:
        return None
    start, end = int(match[1]), int(match[2])
    if start % RANGE_SIZE or end != start + RANGE_SIZE - 1 or end > LAST_CODEPOINT:
        return None
    return start


def _glyph_asset(data: bytes) -> Asset:
    """A glyph range ready to send, with a gzip form when that is smaller."""
    packed = gzip.compress(data, compresslevel=6, mtime=0) if len(data) > 1024 else data
    gzipped = Blob.of(packed) if len(packed) < len(data) else None
    return Asset(Blob.of(data), GLYPH_MEDIA_TYPE, GLYPH_CACHE, gzipped=gzipped)


@dataclass(frozen=True)
class GlyphStore:
    """A map's stored glyph ranges, by fontstack name and range start."""

    ranges: Mapping[tuple[str, int], Asset]
    stacks: frozenset[str]
    _combined: dict[tuple[tuple[str, ...], int], Asset] = field(
        default_factory=dict, repr=False, compare=False
    )

    def answer(self, fontstack: str, range_name: str) -> Asset | None:
        """The range ``range_name`` (``"0-255.pbf"``) of ``fontstack`` (URL-decoded, one name
        or a comma-joined list), or None when the request is malformed."""
        start = glyph_range_start(range_name)
        names = [name.strip() for name in fontstack.split(",")]
        if start is None or len(fontstack) > MAX_FONTSTACK or not all(names):
            return None
        stored = [name for name in dict.fromkeys(names) if (name, start) in self.ranges]
        if not stored:
            return _glyph_asset(encode_range(",".join(names), start, []))
        if len(stored) == 1:
            return self.ranges[stored[0], start]
        key = (tuple(stored), start)
        asset = self._combined.get(key)
        if asset is None:
            parts = [self.ranges[name, start].identity.data for name in stored]
            asset = _glyph_asset(combine_ranges(",".join(stored), start, parts))
            if len(self._combined) < _MAX_COMBINED:
                self._combined[key] = asset
        return asset


EMPTY_GLYPHS: Final = GlyphStore({}, frozenset())
"""The store of a map built without glyphs."""


def load_glyphs(folder: Path, map_id: str) -> GlyphStore:
    """Read a map's ``glyphs`` folder (one folder per fontstack) into memory; no folder: an
    empty store. Files that are not a well-formed range are skipped."""
    if not folder.is_dir():
        return EMPTY_GLYPHS
    ranges: dict[tuple[str, int], Asset] = {}
    try:
        stack_folders = sorted(path for path in folder.iterdir() if path.is_dir())
        for stack_folder in stack_folders:
            name = stack_folder.name
            if "," in name or name.startswith(".") or name != name.strip():
                log.warning("map %s: skipping the glyph folder %r: not a fontstack", map_id, name)
                continue
            for path in sorted(stack_folder.iterdir()):
                start = glyph_range_start(path.name)
                if start is None or not path.is_file():
                    continue
                data = path.read_bytes()
                try:
                    range_glyphs(data)  # only checks that it decodes
                except GlyphPbfError as error:
                    raise ServeError(
                        f"not a glyph PBF: {error}",
                        where=str(path),
                        hint="rebuild the map with `tilepress run`",
                    ) from None
                ranges[name, start] = _glyph_asset(data)
    except OSError as error:
        raise ServeError(f"cannot read the glyphs: {error}", where=str(folder)) from error
    return GlyphStore(ranges, frozenset(name for name, _ in ranges))
