"""Text on the sheet: Cyrillic and Hangul titles, the CJK font, long titles and captions that
wrap or shrink (or fail naming the key), and the print options read from the configuration."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pdfplumber
import pytest

from tests.conftest import REFERENCE_CONFIG
from tests.printing.helpers import NANUM, all_fonts_embedded, needed_file, plain
from tilepress.config.model import HighlightGroup, MapSpec, PageSpec, PrintOptions
from tilepress.errors import PrintError, TilepressError
from tilepress.printing.sheet import build_print_sheet
from tilepress.project import load_config
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.table import CountryTable


def test_cyrillic_text_is_embedded_and_extractable(spec: MapSpec, build: Any) -> None:
    title = "Северокорейские войска в войне России против Украины"
    built = build(dataclasses.replace(spec, title=title, caption="Карта: Україна, Росія, КНДР."))
    assert not [w for w in built.report.warnings if "glyph" in w]
    with pdfplumber.open(built.pdf) as pdf:
        text = plain(pdf.pages[0].dedupe_chars().extract_text())
    assert title in text and "Україна, Росія, КНДР" in text


def test_hangul_without_a_cjk_font_names_map_key_and_fix(
    spec: MapSpec, table: CountryTable, tmp_path: Path
) -> None:
    variant = dataclasses.replace(spec, title="북한군 troops in Russia's war")
    with pytest.raises(PrintError) as caught:
        build_print_sheet(variant, table, resolve_highlights(variant, table), tmp_path / "g.pdf")
    message = str(caught.value)
    assert f"map {spec.id!r}: title" in message and "print.cjk_font" in message
    assert "'군 북 한'" in message and "Hangul" in message
    assert list(tmp_path.iterdir()) == []


def test_hangul_with_a_cjk_font_is_embedded(spec: MapSpec, build: Any) -> None:
    needed_file(NANUM, "apt-get install fonts-nanum")
    title = "북한군, 우크라이나 전쟁에 참전"
    groups = (HighlightGroup("북한", "#f28e1c", ("PRK",)), *spec.highlight[:2])
    variant = dataclasses.replace(
        spec, title=title, highlight=groups, print_options=PrintOptions(cjk_font=str(NANUM))
    )
    built = build(variant)
    fonts = all_fonts_embedded(built.pdf)
    assert any("NanumGothic" in name for name in fonts)
    with pdfplumber.open(built.pdf) as pdf:
        text = plain(pdf.pages[0].dedupe_chars().extract_text())
    assert title in text and "북한" in text and "Ukraine" in text


def test_unusable_cjk_font_names_the_key(
    spec: MapSpec, table: CountryTable, tmp_path: Path
) -> None:
    fake = tmp_path / "fake.ttf"
    fake.write_bytes(b"OTTO not a TrueType font")
    variant = dataclasses.replace(spec, print_options=PrintOptions(cjk_font=str(fake)))
    with pytest.raises(PrintError) as caught:
        build_print_sheet(variant, table, resolve_highlights(variant, table), tmp_path / "f.pdf")
    assert f"map {spec.id!r}: print.cjk_font" in str(caught.value)


def words_inside(pdf: Path) -> tuple[list[dict[str, Any]], float, float]:
    """The first page's words, width and height."""
    with pdfplumber.open(pdf) as document:
        page = document.pages[0]
        return page.dedupe_chars().extract_words(), float(page.width), float(page.height)


@pytest.mark.parametrize(
    ("size", "orientation"), [("A3", "portrait"), ("Letter", "portrait"), ("A4", "landscape")]
)
def test_long_title_and_caption_wrap_inside_the_page(
    spec: MapSpec, build: Any, size: str, orientation: str
) -> None:
    title = (
        "North Korean troops, shells and missiles in Russia's full-scale war against Ukraine "
        "since 2022: a map of the three countries involved"
    )
    variant = dataclasses.replace(
        spec, title=title, caption=" ".join([spec.caption] * 3), page=PageSpec(size, orientation)
    )
    built = build(variant)
    words, width, height = words_inside(built.pdf)
    margin = 0.9 * 30 * min(width, height) / 595
    x0, y0, x1, y1 = built.report.frame
    for word in words:
        assert margin <= word["x0"] and word["x1"] <= width - margin, word["text"]
        assert margin <= word["top"] and word["bottom"] <= height - margin, word["text"]
        inside = x0 < word["x0"] < x1 and y0 < height - word["bottom"] < y1
        above = height - word["bottom"] > y1
        below = height - word["top"] < y0
        assert inside or above or below, word["text"]  # never straddling the frame edge
    with pdfplumber.open(built.pdf) as pdf:
        text = plain(pdf.pages[0].dedupe_chars().extract_text())
    assert title in text and variant.caption in text


def test_overlong_caption_names_map_and_key(
    spec: MapSpec, table: CountryTable, tmp_path: Path
) -> None:
    variant = dataclasses.replace(spec, caption=" ".join(["Ukraine and North Korea"] * 400))
    target = tmp_path / "c.pdf"
    with pytest.raises(PrintError) as caught:
        build_print_sheet(variant, table, resolve_highlights(variant, table), target)
    assert isinstance(caught.value, TilepressError)
    assert f"map {spec.id!r}: caption" in str(caught.value)
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_longer_caption_shrinks_before_failing(spec: MapSpec, build: Any) -> None:
    caption = " ".join([spec.caption] * 9)
    built = build(dataclasses.replace(spec, caption=caption))
    with pdfplumber.open(built.pdf) as pdf:
        page = pdf.pages[0]
        above_frame = float(page.height) - built.report.frame[3]
        sizes = {
            round(c["size"], 1)
            for c in page.chars
            if c["fontname"].endswith("NotoSans-Regular") and c["bottom"] < above_frame
        }
        text = plain(page.dedupe_chars().extract_text())
    assert sizes and 8.0 <= max(sizes) < 10.0  # shrunk a step, not to nothing
    assert caption in text


def test_print_options_come_from_the_config(tmp_path: Path) -> None:
    from tilepress.config.model import map_from_dict
    from tilepress.errors import ConfigError

    text = REFERENCE_CONFIG.read_text().replace(
        "    page: {size: A4, orientation: landscape}",
        "    page: {size: A4, orientation: landscape}\n"
        "    print: {graticule: 15, bleed_mm: 5, crop_marks: false}",
    )
    path = tmp_path / "c.yaml"
    path.write_text(text)
    options = load_config(path).maps[0].print_options
    assert options == PrintOptions(graticule=True, graticule_step=15.0, bleed_mm=5.0,
                                   crop_marks=False)  # fmt: skip
    assert map_from_dict(load_config(path).maps[0].to_dict()).print_options == options
    path.write_text(text.replace("crop_marks: false", "cjk_font: /nonexistent/font.ttf"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "print.cjk_font" in str(caught.value) and "no such font file" in str(caught.value)
    path.write_text(text.replace("crop_marks: false", "cropmarks: false"))
    with pytest.raises(ConfigError, match="unknown key 'cropmarks'"):
        load_config(path)
