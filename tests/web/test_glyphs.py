"""SDF glyph PBFs: decoded with protobuf's own runtime and checked against the fonts as FreeType
reads them directly (metrics, FreeType's own rasterizer for inside and outside), the ranges
written, their bytes, the CJK fallback and the font check."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NATURAL_EARTH_ZIP, REFERENCE_CONFIG, REFERENCE_ID
from tests.support.glyph_proto import DecodedGlyph, DecodedStack, decode_stack
from tests.support.servers import in_ci
from tilepress.errors import ConfigError
from tilepress.project import load_config
from tilepress.sources.loaded import LoadedMap, load_map
from tilepress.web.glyphs import (
    BOLD_STACK,
    REGULAR_STACK,
    build_map_glyphs,
    check_glyph_font,
    label_texts,
    map_glyph_stacks,
    write_glyphs,
)

freetype: Any = pytest.importorskip("freetype")

FONTS = Path(__file__).resolve().parents[2] / "src" / "tilepress" / "fonts"
REGULAR = FONTS / "NotoSans-Regular.ttf"
BOLD = FONTS / "NotoSans-Bold.ttf"
NANUM = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
ASTRAL = "\U0001d538"  # MATHEMATICAL DOUBLE-STRUCK CAPITAL A, above U+FFFF
TEXT = f"Ukraine Åland Ёлка ÿ {ASTRAL}"  # Latin, Latin-1, Cyrillic, ÿ (its uppercase: U+0178)


def read_range(folder: Path, stack: str, start: int) -> DecodedStack:
    return decode_stack((folder / stack / f"{start}-{start + 255}.pbf").read_bytes())


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("glyphs") / "glyphs"
    write_glyphs({REGULAR_STACK: [REGULAR], BOLD_STACK: [BOLD]}, {REGULAR_STACK: TEXT}, out)
    return out


def face_at_24px(path: Path) -> Any:
    face = freetype.Face(str(path))
    face.set_char_size(0, 24 * 64, 72, 72)
    return face


def font_codepoints(face: Any, start: int) -> set[int]:
    return {cp for cp in range(start, start + 256) if face.get_char_index(cp)}


NO_HINTING = 1 << 1  # FT_LOAD_NO_HINTING
NO_BITMAP = 1 << 3  # FT_LOAD_NO_BITMAP


@pytest.mark.parametrize(("stack", "font", "start"), [(REGULAR_STACK, REGULAR, 0),
                         (REGULAR_STACK, REGULAR, 256), (REGULAR_STACK, REGULAR, 1024),
                         (BOLD_STACK, BOLD, 0)])  # fmt: skip
def test_metrics_match_freetype(written: Path, stack: str, font: Path, start: int) -> None:
    decoded = read_range(written, stack, start)
    assert (decoded.name, decoded.range) == (stack, f"{start}-{start + 255}")
    face = face_at_24px(font)
    ascender = face.size.ascender / 64
    ids = [glyph.id for glyph in decoded.glyphs]
    assert ids == sorted(ids)
    assert set(ids) == font_codepoints(face, start)  # the range in full, as fontnik does
    assert len(ids) > 60
    for glyph in decoded.glyphs:
        face.load_char(glyph.id, NO_HINTING | NO_BITMAP)
        advance = face.glyph.metrics.horiAdvance / 64
        assert abs(glyph.advance - advance) < 1, chr(glyph.id)
        box = face.glyph.outline.get_bbox()
        if glyph.width == 0:
            assert not glyph.has_bitmap
            continue
        assert len(glyph.bitmap) == (glyph.width + 6) * (glyph.height + 6)
        assert abs(glyph.width - (box.xMax - box.xMin) / 64) <= 1
        assert abs(glyph.height - (box.yMax - box.yMin) / 64) <= 1
        assert abs(glyph.left - box.xMin / 64) <= 0.5
        assert abs(glyph.top + round(ascender) - box.yMax / 64) <= 0.5  # top: from the ascender
        assert 25 <= ascender <= 27


def pixel(glyph: DecodedGlyph, row: int, column: int) -> int:
    assert 0 <= row < glyph.height + 6 and 0 <= column < glyph.width + 6
    return glyph.bitmap[row * (glyph.width + 6) + column]


def test_stroke_inside_and_far_away_outside(written: Path) -> None:
    glyphs = read_range(written, REGULAR_STACK, 0).by_id()
    for char in "lI":
        glyph = glyphs[ord(char)]
        centre = pixel(glyph, 3 + glyph.height // 2, 3 + glyph.width // 2)
        assert centre > 192, char
    ell = glyphs[ord("L")]  # top right: far from the stem and from the foot
    assert pixel(ell, 3, ell.width + 2) < 64
    assert pixel(ell, 0, 0) < 128  # the buffer is outside


def test_space_has_advance_and_no_bitmap(written: Path) -> None:
    space = read_range(written, REGULAR_STACK, 0).by_id()[32]
    assert (space.width, space.height, space.has_bitmap, space.bitmap) == (0, 0, False, b"")
    assert space.advance == 6


def coverage(face: Any, codepoint: int) -> tuple[list[list[int]], int, int]:
    """FreeType's own anti-aliased rendering (non-zero fill): rows of coverage, left, top."""
    face.load_char(codepoint, freetype.FT_LOAD_RENDER | NO_HINTING | NO_BITMAP)
    bitmap = face.glyph.bitmap
    buffer = bitmap.buffer
    rows = [buffer[r * bitmap.pitch : r * bitmap.pitch + bitmap.width] for r in range(bitmap.rows)]
    return rows, face.glyph.bitmap_left, face.glyph.bitmap_top


@pytest.mark.parametrize("char", list("lIAÅgo@&%ЖЁß8"))
def test_sdf_agrees_with_freetype_rasterizer(written: Path, char: str) -> None:
    """Pixels FreeType covers fully are inside (centre >= 0.5 px in), those it leaves empty
    outside: the field's sign, the fill rule and the bitmap's placement all at once."""
    start = ord(char) // 256 * 256
    glyph = read_range(written, REGULAR_STACK, start).by_id()[ord(char)]
    face = face_at_24px(REGULAR)
    ascender = round(face.size.ascender / 64)
    rows, left, top = coverage(face, ord(char))
    full = empty = 0
    for sdf_row in range(glyph.height + 6):
        for sdf_column in range(glyph.width + 6):
            r = sdf_row - (glyph.top + ascender) - 3 + top
            c = sdf_column + glyph.left - 3 - left
            inside_bitmap = 0 <= r < len(rows) and 0 <= c < len(rows[r])
            value = rows[r][c] if inside_bitmap else 0  # FreeType's bitmap: every covered pixel
            byte = pixel(glyph, sdf_row, sdf_column)
            if value == 255:
                full += 1
                assert byte >= 200, (sdf_row, sdf_column)
            elif value == 0:
                empty += 1
                assert byte <= 180, (sdf_row, sdf_column)
    assert full > 5 and empty > 5


def winding_numbers(face: Any, codepoint: int, points: list[tuple[float, float]]) -> list[int]:
    """The non-zero winding number of the glyph's outline around each point, in plain Python
    over FreeType's decomposition (conics split in 32)."""
    face.load_char(codepoint, NO_HINTING | NO_BITMAP)
    segments: list[tuple[float, float, float, float]] = []
    pen = [0.0, 0.0]

    def move_to(a: Any, _: Any) -> int:
        pen[:] = [a.x / 64, a.y / 64]
        return 0

    def line_to(a: Any, _: Any) -> int:
        segments.append((pen[0], pen[1], a.x / 64, a.y / 64))
        pen[:] = [a.x / 64, a.y / 64]
        return 0

    def conic_to(c: Any, a: Any, _: Any) -> int:
        x0, y0, cx, cy, x1, y1 = pen[0], pen[1], c.x / 64, c.y / 64, a.x / 64, a.y / 64
        previous = (x0, y0)
        for step in range(1, 33):
            t = step / 32
            point = (
                (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t * t * x1,
                (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t * t * y1,
            )
            segments.append((*previous, *point))
            previous = point
        pen[:] = [x1, y1]
        return 0

    face.glyph.outline.decompose(None, move_to, line_to, conic_to, None)
    numbers = []
    for x, y in points:
        number = 0
        for x0, y0, x1, y1 in segments:
            if (y0 <= y < y1 or y1 <= y < y0) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                number += 1 if y1 > y0 else -1
        numbers.append(number)
    return numbers


def test_overlapping_contours_have_no_hole(written: Path) -> None:
    """Å's ring overlaps the A: where both wind around a pixel (winding ±2, a hole under the
    even-odd rule), the field says inside."""
    glyph = read_range(written, REGULAR_STACK, 0).by_id()[ord("Å")]
    face = face_at_24px(REGULAR)
    ascender = round(face.size.ascender / 64)
    top = glyph.top + ascender
    cells = [(r, c) for r in range(glyph.height + 6) for c in range(glyph.width + 6)]
    centres = [(glyph.left - 3 + c + 0.5, top + 3 - r - 0.5) for r, c in cells]
    numbers = winding_numbers(face, ord("Å"), centres)
    overlap = [cell for cell, number in zip(cells, numbers, strict=True) if abs(number) >= 2]
    assert overlap, "the font's Å no longer has overlapping contours"
    for r, c in overlap:
        assert pixel(glyph, r, c) > 191, (r, c)


def test_every_range_is_written(written: Path) -> None:
    for stack in (REGULAR_STACK, BOLD_STACK):
        names = sorted(path.name for path in (written / stack).iterdir())
        assert names == sorted(f"{s}-{s + 255}.pbf" for s in range(0, 65536, 256))
    assert sorted(path.name for path in written.iterdir()) == [BOLD_STACK, REGULAR_STACK]
    assert not list(written.parent.glob(".glyphs*"))  # no staging folder left behind


def test_empty_range_bytes(written: Path) -> None:
    data = (written / REGULAR_STACK / "512-767.pbf").read_bytes()
    stack = b"\x0a\x11Noto Sans Regular" + b"\x12\x07512-767"
    assert data == b"\x0a" + bytes([len(stack)]) + stack
    assert decode_stack(data) == DecodedStack(REGULAR_STACK, "512-767", [])


def test_ranges_of_the_texts_and_their_uppercase(written: Path) -> None:
    regular = read_range(written, REGULAR_STACK, 256).by_id()
    assert 0x178 in regular  # Ÿ, the uppercase of ÿ
    assert read_range(written, REGULAR_STACK, 1024).glyphs  # Cyrillic
    assert read_range(written, BOLD_STACK, 0).glyphs  # 0-255 always
    assert read_range(written, BOLD_STACK, 256).glyphs == []  # no text of Bold needs it
    assert read_range(written, REGULAR_STACK, 0xFF00).glyphs == []  # the astral one is not


def test_report_and_determinism(tmp_path: Path, written: Path) -> None:
    stacks = {REGULAR_STACK: [REGULAR], BOLD_STACK: [BOLD]}
    report = write_glyphs(stacks, {REGULAR_STACK: TEXT}, tmp_path / "again")
    assert report.stacks == (BOLD_STACK, REGULAR_STACK)
    assert report.rendered[REGULAR_STACK] == ("0-255", "256-511", "1024-1279")
    assert report.rendered[BOLD_STACK] == ("0-255",)
    assert report.missing == {REGULAR_STACK: ASTRAL}
    assert report.files == 512
    files = sorted(p.relative_to(written) for p in written.rglob("*.pbf"))
    assert report.bytes == sum((written / p).stat().st_size for p in files)
    assert report.glyphs[REGULAR_STACK] == sum(
        len(read_range(written, REGULAR_STACK, s).glyphs) for s in (0, 256, 1024)
    )
    for path in files:
        assert (tmp_path / "again" / path).read_bytes() == (written / path).read_bytes(), path


def test_replaces_the_folder_whole(tmp_path: Path) -> None:
    out = tmp_path / "glyphs"
    (out / "Old Stack").mkdir(parents=True)
    write_glyphs({BOLD_STACK: [BOLD]}, {}, out)
    assert [p.name for p in out.iterdir()] == [BOLD_STACK]
    with pytest.raises(ValueError, match="fontstack"):
        write_glyphs({"A,B": [BOLD]}, {}, out)
    assert [p.name for p in out.iterdir()] == [BOLD_STACK]  # the old output stays


# --------------------------------------------------------------------------- maps and fonts


@pytest.fixture(scope="module")
def reference() -> LoadedMap:
    return load_map(load_config(REFERENCE_CONFIG).maps[0], NATURAL_EARTH_ZIP)


def test_reference_map(reference: LoadedMap, tmp_path: Path) -> None:
    texts = label_texts(reference)
    # the highlighted names in bold, the markers' labels in regular
    assert texts == {BOLD_STACK: "North Korea\nRussia\nUkraine", REGULAR_STACK: "Kursk\nKyiv"}
    stacks = map_glyph_stacks(reference.spec)
    assert stacks == {REGULAR_STACK: [REGULAR], BOLD_STACK: [BOLD]}
    report = build_map_glyphs(reference, tmp_path / "glyphs")
    assert report.rendered == {BOLD_STACK: ("0-255",), REGULAR_STACK: ("0-255",)}
    assert report.missing == {}
    bold = read_range(tmp_path / "glyphs", BOLD_STACK, 0).by_id()
    assert set(map(ord, "NORTH KOREA RUSSIA UKRAINE")) <= set(bold)
    everyone = label_texts(dataclasses.replace(reference, spec=_with(reference, labels="all")))
    assert "France" in everyone[REGULAR_STACK]
    assert everyone[REGULAR_STACK].endswith("\nKursk\nKyiv")
    nothing = label_texts(dataclasses.replace(reference, spec=_with(reference, labels="none")))
    assert nothing == {BOLD_STACK: "", REGULAR_STACK: "Kursk\nKyiv"}  # markers keep theirs
    bare = label_texts(dataclasses.replace(reference, spec=_with(reference, markers=())))
    assert bare == {BOLD_STACK: "North Korea\nRussia\nUkraine", REGULAR_STACK: ""}


def _with(loaded: LoadedMap, **changes: Any) -> Any:
    return dataclasses.replace(loaded.spec, **changes)


def korean(loaded: LoadedMap, cjk_font: Path | None) -> LoadedMap:
    """The reference map labelled with Natural Earth's Korean names (NAME_KO)."""
    options = dataclasses.replace(
        loaded.spec.print_options, cjk_font=None if cjk_font is None else str(cjk_font)
    )
    return LoadedMap(
        dataclasses.replace(loaded.spec, print_options=options),
        dataclasses.replace(loaded.table, name_field="NAME_KO"),
        loaded.highlighting,
    )


def test_missing_characters_are_a_warning(
    reference: LoadedMap, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tilepress"):
        report = build_map_glyphs(korean(reference, None), tmp_path / "glyphs")
    assert "조" in report.missing[BOLD_STACK]
    (message,) = [r.getMessage() for r in caplog.records if "blank" in r.getMessage()]
    assert REFERENCE_ID in message and "labels" in message and "조" in message
    assert "print.cjk_font" in message
    assert read_range(tmp_path / "glyphs", BOLD_STACK, ord("조") // 256 * 256).glyphs == []


@pytest.fixture
def nanum() -> Iterator[Path]:
    if not NANUM.is_file():
        message = f"{NANUM} is missing: apt-get install fonts-nanum"
        if in_ci():
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    yield NANUM


def test_cjk_fallback(reference: LoadedMap, nanum: Path, tmp_path: Path) -> None:
    loaded = korean(reference, nanum)
    assert map_glyph_stacks(loaded.spec)[BOLD_STACK] == [BOLD, nanum]
    report = build_map_glyphs(loaded, tmp_path / "glyphs")
    assert report.missing == {}
    text = label_texts(loaded)[BOLD_STACK]
    assert "조선민주주의인민공화국" in text
    hangul = {ord(ch) // 256 * 256 for ch in text if ord(ch) > 255}
    assert {int(r.split("-")[0]) for r in report.rendered[BOLD_STACK]} == {0} | hangul
    nanum_face, bold_face = face_at_24px(nanum), face_at_24px(BOLD)
    for start in sorted(hangul):
        decoded = read_range(tmp_path / "glyphs", BOLD_STACK, start)
        assert {g.id for g in decoded.glyphs} == font_codepoints(nanum_face, start)
    glyph = read_range(tmp_path / "glyphs", BOLD_STACK, ord("조") // 256 * 256).by_id()[ord("조")]
    nanum_face.load_char(ord("조"), NO_HINTING | NO_BITMAP)
    assert glyph.advance == nanum_face.glyph.metrics.horiAdvance // 64
    assert glyph.width > 10 and len(glyph.bitmap) == (glyph.width + 6) * (glyph.height + 6)
    latin = read_range(tmp_path / "glyphs", BOLD_STACK, 0).by_id()[ord("N")]
    bold_face.load_char(ord("N"), NO_HINTING | NO_BITMAP)
    assert latin.advance == bold_face.glyph.metrics.horiAdvance // 64  # Noto first


def test_check_glyph_font(tmp_path: Path) -> None:
    check_glyph_font(REGULAR, "print.cjk_font", "demo")
    cff = tmp_path / "font.otf"
    cff.write_bytes(b"OTTO" + b"\x00\x01" + b"\x00" * 10 + b"CFF " + b"\x00" * 12)
    text = tmp_path / "notes.ttf"
    text.write_text("not a font at all\n")
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(REGULAR.read_bytes()[:2000])
    for path, reason in [(cff, "CFF"), (text, "not a TrueType font"),
                         (tmp_path / "absent.ttf", "cannot read"), (broken, "")]:  # fmt: skip
        with pytest.raises(ConfigError) as caught:
            check_glyph_font(path, "print.cjk_font", "demo")
        message = str(caught.value)
        assert "map 'demo': print.cjk_font" in message and reason in message
        assert str(path) in message and "TrueType" in message


def test_build_rejects_a_cff_cjk_font(reference: LoadedMap, tmp_path: Path) -> None:
    cff = tmp_path / "font.otf"
    cff.write_bytes(b"OTTO" + b"\x00" * 12)
    with pytest.raises(ConfigError, match=r"print\.cjk_font.*CFF"):
        build_map_glyphs(korean(reference, cff), tmp_path / "glyphs")
    assert not (tmp_path / "glyphs").exists()
