"""The fonts glyph PBFs are rendered from: the bundled Noto Sans, a map's ``print.cjk_font``,
the check that a font is TrueType, and which codepoints each font of a stack draws.

Only TrueType outlines (an sfnt with a ``glyf`` table: .ttf, or .ttc whose first font is one)
are accepted, as for the print sheet: one font file serves paper and screen alike.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, BinaryIO, Final

from tilepress.errors import ConfigError
from tilepress.web.glyph_pbf import LAST_CODEPOINT
from tilepress.web.sdf import load_face

__all__ = [
    "BOLD_FONT",
    "REGULAR_FONT",
    "GlyphFont",
    "bundled_font",
    "check_glyph_font",
    "glyph_font_problem",
]

REGULAR_FONT: Final = "NotoSans-Regular.ttf"
BOLD_FONT: Final = "NotoSans-Bold.ttf"

_TRUETYPE: Final = (b"\x00\x01\x00\x00", b"true")
_REQUIRED_TABLES: Final = (b"cmap", b"glyf", b"loca")


def bundled_font(name: str) -> Path:
    """The path of a font shipped in the package's ``fonts/`` folder."""
    return Path(str(files("tilepress") / "fonts" / name))


def _table_tags(stream: BinaryIO) -> set[bytes] | str:
    """The table tags of the font (of a collection's first font), or why it is no TrueType."""
    head = stream.read(16)
    offset = 0
    if head[:4] == b"ttcf":
        if len(head) < 16:
            return "the font collection is truncated"
        (offset,) = struct.unpack_from(">I", head, 12)
        stream.seek(offset)
        head = stream.read(12)
    if head[:4] in (b"wOFF", b"wOF2"):
        return "it is a WOFF web font; give the TrueType (.ttf) file it was made from"
    if head[:4] == b"OTTO":
        return "it is an OpenType font with CFF (PostScript) outlines, not TrueType outlines"
    if head[:4] not in _TRUETYPE or len(head) < 12:
        return "it is not a TrueType font"
    (count,) = struct.unpack_from(">H", head, 4)
    stream.seek(offset + 12)
    records = stream.read(16 * count)
    if len(records) < 16 * count:
        return "its table directory is truncated"
    return {records[at : at + 4] for at in range(0, len(records), 16)}


def glyph_font_problem(path: Path) -> str | None:
    """Why the font file cannot be rendered into glyph PBFs, or None when it can."""
    try:
        with path.open("rb") as stream:
            tags = _table_tags(stream)
    except OSError as error:
        return f"cannot read the file: {error.strerror or error}"
    if isinstance(tags, str):
        return tags
    absent = [tag.decode() for tag in _REQUIRED_TABLES if tag not in tags]
    if absent:
        return f"it has no {', '.join(absent)} table (no TrueType outlines)"
    try:
        face = load_face(str(path))
    except Exception as error:  # freetype.FT_Exception, and what a broken file raises
        return f"FreeType cannot open it: {error}"
    if face.charmap is None:
        return "it has no Unicode character map"
    return None


def check_glyph_font(path: str | Path, key: str, map_id: str) -> None:
    """Raise `ConfigError` naming the map and ``key`` (e.g. ``print.cjk_font``) when the font
    file is not a TrueType font that glyph PBFs can be rendered from."""
    problem = glyph_font_problem(Path(path))
    if problem is not None:
        raise ConfigError(
            [
                f"map {map_id!r}: {key}: cannot use the font {str(path)!r}: {problem}; give a "
                "TrueType font (.ttf, or .ttc) with glyf outlines, e.g. "
                "/usr/share/fonts/truetype/nanum/NanumGothic.ttf from Debian's fonts-nanum"
            ]
        )


@dataclass
class GlyphFont:
    """A font file opened for rendering, with the codepoints (up to U+FFFF) it has a glyph for."""

    path: Path
    face: Any = field(repr=False)
    codepoints: frozenset[int]

    @classmethod
    def open(cls, path: Path) -> GlyphFont:
        """Open the font (its first face) at the size glyphs are rendered at."""
        face = load_face(str(path))
        codepoints = set()
        codepoint, index = face.get_first_char()
        while index:
            if codepoint <= LAST_CODEPOINT:
                codepoints.add(int(codepoint))
            codepoint, index = face.get_next_char(codepoint, index)
        return cls(path, face, frozenset(codepoints))
