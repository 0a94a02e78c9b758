"""Which glyph PBFs a map needs, and writing them: every range of every fontstack, as files.

A fontstack is a name (``"Noto Sans Bold"``, what a style's ``text-font`` says) and its font
files in fallback order: a codepoint missing from the first font is taken from the next. Every
range ``0-255`` ... ``65280-65535`` of every stack is written as
``{out_dir}/{stack}/{start}-{end}.pbf``, so a static host has a file for whatever range a
client asks for. The ranges holding a character of the stack's label texts (or of their
uppercase forms: MapLibre applies ``text-transform`` itself), and ``0-255`` always, hold every
glyph the fonts have in them, as node-fontnik renders a range; the others are valid empty
ranges. The folder is staged beside ``out_dir`` and renamed into place when complete; the same
fonts and texts give the same bytes.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tilepress.config.model import BOLD_STACK, REGULAR_STACK, MapSpec
from tilepress.files import staged_folder
from tilepress.sources.loaded import LoadedMap
from tilepress.web.glyph_fonts import (
    BOLD_FONT,
    REGULAR_FONT,
    GlyphFont,
    bundled_font,
    check_glyph_font,
)
from tilepress.web.glyph_pbf import (
    LAST_CODEPOINT,
    RANGE_SIZE,
    RenderedGlyph,
    encode_range,
    range_label,
)
from tilepress.web.sdf import render_glyph

__all__ = [
    "BOLD_STACK",
    "REGULAR_STACK",
    "GlyphReport",
    "build_map_glyphs",
    "check_glyph_font",
    "label_texts",
    "map_glyph_stacks",
    "write_glyphs",
]

log = logging.getLogger(__name__)

RANGE_STARTS: Final = range(0, LAST_CODEPOINT + 1, RANGE_SIZE)


@dataclass(frozen=True)
class GlyphReport:
    """What :func:`write_glyphs` wrote."""

    stacks: tuple[str, ...]
    rendered: Mapping[str, tuple[str, ...]]
    """The ranges rendered with glyphs, per stack (the others are empty)."""
    glyphs: Mapping[str, int]
    """Glyphs written, per stack."""
    missing: Mapping[str, str]
    """Characters of a stack's texts that no font of it has (or above U+FFFF), per stack."""
    files: int
    bytes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form, for logs and reports."""
        return {
            "stacks": list(self.stacks),
            "rendered": {stack: list(ranges) for stack, ranges in self.rendered.items()},
            "glyphs": dict(self.glyphs),
            "missing": dict(self.missing),
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
        }


def _check_stack_name(name: str) -> None:
    """A stack name is one folder name and one item of a comma-joined ``{fontstack}``."""
    if (
        not name
        or name != name.strip()
        or name.startswith(".")
        or any(ch in name for ch in "/\\,\0")
        or not name.isprintable()
    ):
        raise ValueError(f"{name!r} cannot name a fontstack (a folder, and a URL's fontstack)")


def _shown(text: str) -> set[str]:
    """The characters a label of ``text`` can show, its uppercase form's included."""
    return {ch for ch in text + text.upper() if unicodedata.category(ch)[0] != "C"}


class _Renderer:
    """Font files opened once, and each glyph rendered once, for every stack that uses it."""

    def __init__(self) -> None:
        self.fonts: dict[Path, GlyphFont] = {}
        self.glyphs: dict[tuple[Path, int], RenderedGlyph] = {}

    def font(self, path: Path) -> GlyphFont:
        key = Path(path).resolve()
        if key not in self.fonts:
            self.fonts[key] = GlyphFont.open(key)
        return self.fonts[key]

    def glyph(self, font: GlyphFont, codepoint: int) -> RenderedGlyph:
        key = (font.path, codepoint)
        if key not in self.glyphs:
            self.glyphs[key] = render_glyph(font.face, codepoint)
        return self.glyphs[key]


def write_glyphs(
    stacks: Mapping[str, Sequence[Path]], texts: Mapping[str, str], out_dir: Path
) -> GlyphReport:
    """Write every range of every fontstack of ``stacks`` (name: font files in fallback order)
    into ``out_dir``, rendering the ranges that ``texts`` (name: the labels it must show)
    need; ``out_dir`` is replaced only when all are written."""
    began = time.perf_counter()
    renderer = _Renderer()
    rendered: dict[str, tuple[str, ...]] = {}
    counts: dict[str, int] = {}
    missing: dict[str, str] = {}
    files = size = 0
    with staged_folder(Path(out_dir)) as staging:
        for name in sorted(stacks):
            _check_stack_name(name)
            fonts = [renderer.font(path) for path in stacks[name]]
            shown = _shown(texts.get(name, ""))
            absent = sorted(
                ch for ch in shown if not any(ord(ch) in font.codepoints for font in fonts)
            )
            if absent:
                missing[name] = "".join(absent)
            needed = {0} | {ord(ch) // RANGE_SIZE * RANGE_SIZE for ch in shown}
            folder = staging / name
            folder.mkdir()
            ranges: list[str] = []
            counts[name] = 0
            for start in RANGE_STARTS:
                glyphs: list[RenderedGlyph] = []
                if start in needed:
                    ranges.append(range_label(start))
                    for codepoint in range(start, start + RANGE_SIZE):
                        font = next((f for f in fonts if codepoint in f.codepoints), None)
                        if font is not None:
                            glyphs.append(renderer.glyph(font, codepoint))
                data = encode_range(name, start, glyphs)
                (folder / f"{range_label(start)}.pbf").write_bytes(data)
                counts[name] += len(glyphs)
                files += 1
                size += len(data)
            rendered[name] = tuple(ranges)
    return GlyphReport(
        stacks=tuple(sorted(stacks)),
        rendered=rendered,
        glyphs=counts,
        missing=missing,
        files=files,
        bytes=size,
        seconds=time.perf_counter() - began,
    )


def map_glyph_stacks(spec: MapSpec) -> dict[str, list[Path]]:
    """The fontstacks of a map's labels: Noto Sans Regular and Bold (bundled), each followed by
    the map's ``print.cjk_font`` when it has one."""
    extra = [Path(spec.print_options.cjk_font)] if spec.print_options.cjk_font else []
    return {
        REGULAR_STACK: [bundled_font(REGULAR_FONT), *extra],
        BOLD_STACK: [bundled_font(BOLD_FONT), *extra],
    }


def label_texts(loaded: LoadedMap) -> dict[str, str]:
    """The label text each fontstack must show: the names (``name``, and ``name_en``) of the
    highlighted countries in Noto Sans Bold; of every country in Noto Sans Regular when the
    map labels all countries (``labels: all``); no country's with ``labels: none``. The
    markers' labels, in Noto Sans Regular, whatever ``labels`` says."""
    from tilepress.tiles.content import country_properties

    labels = loaded.spec.labels
    countries = country_properties(loaded) if labels != "none" else []

    def names(rows: Sequence[int]) -> str:
        found = {countries[row].get(key) for row in rows for key in ("name", "name_en")}
        return "\n".join(sorted(name for name in found if isinstance(name, str) and name))

    highlighted = sorted(loaded.highlighting.group_of_row) if labels != "none" else []
    # land no country holds (the table's last rows) has no label
    everyone = range(len(countries) - loaded.table.unclaimed) if labels == "all" else []
    regular = [names(everyone), *sorted({marker.label for marker in loaded.spec.markers})]
    return {BOLD_STACK: names(highlighted), REGULAR_STACK: "\n".join(filter(None, regular))}


def build_map_glyphs(loaded: LoadedMap, out_dir: Path) -> GlyphReport:
    """Write a map's glyph PBFs into ``out_dir`` (its ``glyphs`` folder); warn about label
    characters no font has (shown as blanks). Raises `ConfigError` when the map's
    ``print.cjk_font`` is not a TrueType font."""
    spec = loaded.spec
    if spec.print_options.cjk_font:
        check_glyph_font(spec.print_options.cjk_font, "print.cjk_font", spec.id)
    report = write_glyphs(map_glyph_stacks(spec), label_texts(loaded), out_dir)
    for stack, characters in report.missing.items():
        key = "print.cjk_font" if spec.print_options.cjk_font else "labels"
        log.warning(
            "map %r: %s: the %s glyphs have no %r (%d character(s)): shown as a blank in the "
            "web map; set print.cjk_font to a font with them",
            spec.id,
            key,
            stack,
            characters,
            len(characters),
        )
    return report
