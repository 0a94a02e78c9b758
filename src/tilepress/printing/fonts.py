"""Fonts of the print sheet: the bundled Noto Sans (Latin, Greek, Cyrillic) and an optional
CJK TrueType font for the characters Noto Sans lacks (Hangul, Han, Kana).

reportlab embeds and subsets TrueType fonts; it cannot use OpenType fonts with CFF outlines.
Text is split into runs per font, so one title can mix Latin and Hangul.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape as _html_escape
from importlib.resources import files
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from tilepress.config.model import MapSpec
from tilepress.errors import PrintError

FONT_REGULAR = "NotoSans"
FONT_BOLD = "NotoSans-Bold"

Run = tuple[str, str]  # (font name, text)


@lru_cache(maxsize=1)
def register_fonts() -> tuple[str, str]:
    """Register the bundled Noto Sans TrueType fonts with reportlab (once per process)."""
    folder = files("tilepress") / "fonts"
    for name, filename in (
        (FONT_REGULAR, "NotoSans-Regular.ttf"),
        (FONT_BOLD, "NotoSans-Bold.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, io.BytesIO((folder / filename).read_bytes())))
    pdfmetrics.registerFontFamily(
        FONT_REGULAR, normal=FONT_REGULAR, bold=FONT_BOLD, italic=FONT_REGULAR, boldItalic=FONT_BOLD
    )
    return FONT_REGULAR, FONT_BOLD


@lru_cache(maxsize=8)
def register_fallback_font(path: str) -> str:
    """Register a CJK TrueType font under a name derived from its bytes; returns the name."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise PrintError(f"cannot read the font {path!r}: {error.strerror}") from None
    name = "TilepressCJK-" + hashlib.sha256(data).hexdigest()[:12]
    try:
        pdfmetrics.registerFont(TTFont(name, io.BytesIO(data), subfontIndex=0))
    except (TTFError, ValueError, KeyError, IndexError) as error:
        raise PrintError(
            f"cannot use the font {path!r}: {error}",
            hint="give a TrueType font (.ttf, or .ttc); OpenType/CFF (.otf) fonts cannot be "
            "embedded by reportlab",
        ) from None
    return name


def _coverage(font: str) -> Any:
    face = pdfmetrics.getFont(font).face
    return face.charToGlyph


@dataclass(frozen=True)
class Fonts:
    """The sheet's fonts: Noto Sans regular and bold, and an optional fallback for CJK."""

    regular: str = FONT_REGULAR
    bold: str = FONT_BOLD
    fallback: str | None = None

    def covered(self, ch: str, font: str) -> bool:
        """Whether ``font`` has a glyph for ``ch`` (spaces always count as covered)."""
        return ch.isspace() or ord(ch) in _coverage(font)

    def runs(self, text: str, font: str) -> list[Run]:
        """``text`` split into runs of one font: ``font`` where it has the glyph, else the
        fallback (characters no font has stay in ``font``; see :meth:`missing`)."""
        runs: list[Run] = []
        for ch in text:
            use = font
            if self.fallback and not self.covered(ch, font) and self.covered(ch, self.fallback):
                use = self.fallback
            if ch.isspace() and runs:
                use = runs[-1][0]
            if runs and runs[-1][0] == use:
                runs[-1] = (use, runs[-1][1] + ch)
            else:
                runs.append((use, ch))
        return runs

    def missing(self, text: str) -> list[str]:
        """Characters of ``text`` that neither Noto Sans (both weights) nor the fallback has."""
        return sorted(
            {
                ch
                for ch in text
                if not (self.covered(ch, self.regular) and self.covered(ch, self.bold))
                and not (self.fallback and self.covered(ch, self.fallback))
            }
        )

    def width(self, text: str, font: str, size: float) -> float:
        """Advance width of ``text`` in pt, each run in its own font."""
        return float(
            sum(pdfmetrics.stringWidth(part, name, size) for name, part in self.runs(text, font))
        )

    def markup(self, text: str, font: str) -> str:
        """Paragraph markup of plain ``text``: escaped, fallback runs in ``<font>`` tags."""
        return "".join(
            _html_escape(part, quote=False)
            if name == font
            else f'<font name="{name}">{_html_escape(part, quote=False)}</font>'
            for name, part in self.runs(text, font)
        )

    def draw(self, text_object: Any, text: str, font: str, size: float) -> None:
        """``textOut`` of ``text`` on a reportlab text object, switching fonts per run."""
        for name, part in self.runs(text, font):
            text_object.setFont(name, size)
            text_object.textOut(part)


def sheet_fonts(spec: MapSpec) -> Fonts:
    """The fonts for a map: Noto Sans, plus its ``print.cjk_font`` if configured."""
    register_fonts()
    path = spec.print_options.cjk_font
    if path is None:
        return Fonts()
    try:
        return Fonts(fallback=register_fallback_font(path))
    except PrintError as error:
        raise PrintError(
            error.message, where=f"map {spec.id!r}: print.cjk_font", hint=error.hint
        ) from None


def check_glyphs(spec: MapSpec, fonts: Fonts) -> None:
    """PrintError naming the map and key of the first text with characters no font can show."""
    texts: list[tuple[str, str]] = [
        ("title", spec.title),
        ("caption", spec.caption),
        ("author", spec.author),
        ("date", spec.date or ""),
        *((f"highlight[{n}].label", group.label) for n, group in enumerate(spec.highlight)),
        *((f"markers[{n}].label", marker.label) for n, marker in enumerate(spec.markers)),
        *((f"markers[{n}].note", marker.note or "") for n, marker in enumerate(spec.markers)),
        *((f"overlays[{n}].label", overlay.label) for n, overlay in enumerate(spec.overlays)),
    ]
    for key, text in texts:
        missing = fonts.missing(text)
        if missing:
            shown = " ".join(missing[:12]) + (" ..." if len(missing) > 12 else "")
            scripts = _script_hint(missing)
            raise PrintError(
                f"the fonts have no glyph for {shown!r} ({len(missing)} character(s)); they "
                "would print as empty boxes",
                where=f"map {spec.id!r}: {key}",
                hint=(
                    f"set `print.cjk_font` to a TrueType font with {scripts} (e.g. "
                    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf from Debian's fonts-nanum)"
                    if spec.print_options.cjk_font is None
                    else f"the configured `print.cjk_font` lacks them too: give one with {scripts}"
                ),
            )


def _script_hint(chars: list[str]) -> str:
    text = "".join(chars)
    if re.search("[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]", text):
        return "Hangul"
    if re.search("[\u3040-\u30ff\u4e00-\u9fff\u3400-\u4dbf]", text):
        return "CJK (Han/Kana)"
    return "these characters"
