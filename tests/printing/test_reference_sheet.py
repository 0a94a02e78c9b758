"""The reference map's screen PDF: its report, text, fonts, metadata, page, frame and legend;
built twice, or from a plan made before the countries were read, it is the same file."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import subprocess
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pdfplumber
import pypdf
import pytest
from PIL import Image
from reportlab.pdfbase import pdfdoc

from tests.printing.helpers import Built, hex_to_rgb, legend_swatches, plain, tool
from tests.sources.test_description import REFERENCE_TEXT
from tilepress.config.model import MapSpec, PageSpec
from tilepress.printing.flate import FLATE_LEVEL, PARALLEL_FLATE_MIN, plain_flate_streams
from tilepress.printing.sheet import build_print_sheet, plan_print_sheet
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.table import CountryTable
from tilepress.sources.unclaimed import UNCLAIMED_COLOR, UNCLAIMED_LEGEND


def test_report_describes_the_sheet(reference: Built) -> None:
    report = reference.report
    assert report.map_id == reference.spec.id
    assert "+proj=eqearth" in report.projection
    assert report.projection_name == "Equal Earth projection"
    assert report.file_size == reference.pdf.stat().st_size
    assert report.polygons > 1000
    assert 20_000 < report.vertices < 150_000
    assert report.labels == 3
    assert report.file_size < 500_000
    print(
        f"\nA4 reference: {report.seconds:.2f} s, {report.file_size / 1000:.0f} KB, "
        f"{report.vertices} vertices, {report.polygons} polygons"
    )


def test_text_is_extractable(reference: Built, page: Any) -> None:
    text = plain(page.dedupe_chars().extract_text())
    spec = reference.spec
    assert spec.title in text
    assert "the first time its troops have joined a war abroad in decades" in text
    for group in spec.highlight:
        assert group.label in text
    assert "https://creativecommons.org/licenses/by-sa/4.0/" in text
    assert "Made with Natural Earth" in text
    assert f"\u201c{spec.title}\u201d by {spec.author}, licensed under CC BY-SA 4.0" in text
    assert "Natural Earth 1:10m admin-0 v5.1.1 (public domain)" in text
    assert "Equal Earth projection" in text
    assert "2026-11-27" in text
    assert "UKRAINE" in text and "NORTH KOREA" in text
    for marker in spec.markers:  # the labels on the map, the notes in the legend
        assert marker.label in text and marker.note is not None and marker.note in text


def test_fonts_are_embedded_and_no_helvetica(reference: Built) -> None:
    output = subprocess.run(
        [tool("pdffonts"), str(reference.pdf)], capture_output=True, text=True, check=True
    ).stdout
    rows = output.strip().splitlines()[2:]
    assert rows, output
    for row in rows:
        assert re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s", row), row
        emb = re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s", row)
        assert emb is not None and emb.group(1) == "yes", row
    assert "Helvetica" not in output
    assert "NotoSans-Regular" in output and "NotoSans-Bold" in output


def test_pdf_passes_qpdf_check_and_has_metadata(reference: Built) -> None:
    subprocess.run([tool("qpdf"), "--check", str(reference.pdf)], capture_output=True, check=True)
    meta = pypdf.PdfReader(reference.pdf).metadata
    assert meta is not None
    spec = reference.spec
    assert meta.title == spec.title
    assert meta.author == spec.author
    assert meta.subject == REFERENCE_TEXT  # the text alternative; the caption is on the page
    assert meta["/Keywords"] == "Ukraine, Russia, North Korea, map"
    assert str(meta.creator).startswith("tilepress ")


def test_large_streams_deflate_in_two_halves_into_one_zlib_stream() -> None:
    """reportlab's Flate filter while a sheet is written: a stream past PARALLEL_FLATE_MIN is
    deflated in two halves at once and still reads back as one zlib stream."""
    rng = np.random.default_rng(7)
    large = rng.integers(48, 58, 3 * PARALLEL_FLATE_MIN, dtype=np.uint8).tobytes()  # digits
    small = large[: PARALLEL_FLATE_MIN // 4]
    before = pdfdoc.PDFZCompress
    with plain_flate_streams():
        flate = pdfdoc.PDFZCompress
        encoded_large, encoded_small = flate.encode(large), flate.encode(small)
        assert flate.decode(encoded_large) == large
    assert pdfdoc.PDFZCompress is before
    assert zlib.decompress(encoded_large) == large
    assert len(encoded_large) < len(zlib.compress(large, FLATE_LEVEL)) + 100
    assert encoded_small == zlib.compress(small, FLATE_LEVEL)


def test_page_size_a4_landscape(page: Any) -> None:
    assert (round(page.width), round(page.height)) == (842, 595)


@pytest.mark.parametrize(
    ("size", "orientation", "expected"),
    [("A3", "portrait", (842, 1191)), ("Letter", "landscape", (792, 612))],
)
def test_page_size_variants(
    spec: MapSpec, build: Any, size: str, orientation: str, expected: tuple[int, int]
) -> None:
    built = build(dataclasses.replace(spec, page=PageSpec(size, orientation)))
    box = pypdf.PdfReader(built.pdf).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == expected
    assert built.report.page_size == pytest.approx(expected, abs=0.5)
    x0, y0, x1, y1 = built.report.frame
    assert 0 < x0 < x1 < expected[0] and 0 < y0 < y1 < expected[1]
    print(
        f"\n{size} {orientation}: {built.report.seconds:.2f} s, "
        f"{built.report.file_size / 1000:.0f} KB"
    )


def test_map_drawing_stays_inside_the_frame(reference: Built, page: Any) -> None:
    x0, y0, x1, y1 = reference.report.frame
    tolerance = 0.5
    objects = page.curves + page.rects
    assert len(objects) > 1000
    frame_rects = 0
    for item in objects:
        is_frame = (
            abs(item["x0"] - x0) < tolerance
            and abs(item["x1"] - x1) < tolerance
            and abs(item["y0"] - y0) < tolerance
            and abs(item["y1"] - y1) < tolerance
        )
        if is_frame and item["object_type"] == "rect":
            frame_rects += 1
            continue
        assert item["x0"] >= x0 - tolerance and item["x1"] <= x1 + tolerance, item["x0"]
        assert item["y0"] >= y0 - tolerance and item["y1"] <= y1 + tolerance, item["y0"]
    assert frame_rects == 1


def test_margins_render_white(reference: Built, tmp_path: Path) -> None:
    """At 72 dpi one pixel is one point: outside the frame's sides the paper stays white."""
    pdftoppm = tool("pdftoppm")
    subprocess.run(
        [pdftoppm, "-r", "72", "-png", "-singlefile", str(reference.pdf), str(tmp_path / "page")],
        check=True,
    )
    image = np.asarray(Image.open(tmp_path / "page.png").convert("RGB"))
    height = image.shape[0]
    x0, y0, x1, y1 = reference.report.frame
    left, right = image[:, : math.floor(x0) - 1], image[:, math.ceil(x1) + 1 :]
    assert left.size and right.size  # margins there are to look at
    assert (left == 255).all() and (right == 255).all()
    title_bottom = height - math.ceil(y1) - 1  # rows between the caption and the frame's top
    gap = image[title_bottom - 6 : title_bottom - 1, math.ceil(x0) + 1 : math.floor(x1) - 1]
    assert gap.shape[0] == 5
    assert (gap == 255).all()
    inside = image[
        height - math.floor(y1) + 2 : height - math.ceil(y0) - 2,
        math.ceil(x0) + 2 : math.floor(x1) - 2,
    ]
    assert (inside != 255).any()


def test_line_widths_are_printable(page: Any) -> None:
    stroked = [c for c in page.curves + page.rects if c["stroke"]]
    assert stroked
    for item in stroked:
        assert item["linewidth"] >= 0.25


def test_legend_swatches_are_exactly_the_group_colours(
    reference: Built, page: Any, table: CountryTable
) -> None:
    """The groups' colours, and that of land no country holds once the source has such rows
    (Abyei is in view on the world map); the markers' symbols are paths, not swatches."""
    swatches = legend_swatches(page)
    colours = {tuple(round(c * 255) for c in r["non_stroking_color"]) for r in swatches}
    wanted = {hex_to_rgb(group.color) for group in reference.spec.highlight}
    if getattr(table, "unclaimed", 0):
        wanted.add(hex_to_rgb(UNCLAIMED_COLOR))
    assert colours == wanted
    x0, y0, x1, y1 = reference.report.frame
    for swatch in swatches:  # the legend sits in the map frame
        assert x0 < swatch["x0"] < x1 and y0 < swatch["y0"] < y1


def test_two_builds_are_byte_identical(spec: MapSpec, reference: Built, build: Any) -> None:
    again = build(spec, fresh=True)
    first = hashlib.sha256(reference.pdf.read_bytes()).hexdigest()
    second = hashlib.sha256(again.pdf.read_bytes()).hexdigest()
    assert first == second


def test_a_sheet_planned_before_reading_is_the_same_sheet(
    spec: MapSpec, table: CountryTable, reference: Built, tmp_path: Path
) -> None:
    plan = plan_print_sheet(spec)  # what `tilepress step print` does while the source is read
    report = build_print_sheet(
        spec, table, resolve_highlights(spec, table), tmp_path / "planned.pdf", plan=plan
    )
    assert (tmp_path / "planned.pdf").read_bytes() == reference.pdf.read_bytes()
    assert report.extent == reference.report.extent
    with pytest.raises(ValueError, match="another map's or mode's"):
        build_print_sheet(
            spec, table, resolve_highlights(spec, table), tmp_path / "c.pdf", mode="cmyk", plan=plan
        )
    with pytest.raises(ValueError, match="auto"):
        plan_print_sheet(dataclasses.replace(spec, extent="auto"))


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_the_legend_with_the_markers_fits_on_a4(
    spec: MapSpec, build: Any, table: CountryTable, orientation: str
) -> None:
    """Every legend text (groups, the markers' notes, land no country holds) inside the
    legend's box, the box inside the frame (landscape) or between the frame and the credit
    (portrait), and both markers drawn."""
    built = build(dataclasses.replace(spec, page=PageSpec("A4", orientation)))
    assert built.report.markers == ["Kursk", "Kyiv"]
    assert not [w for w in built.report.warnings if "legend" in w or "marker" in w]
    x0, y0, x1, y1 = built.report.frame
    with pdfplumber.open(built.pdf) as pdf:
        page = pdf.pages[0]
        height = float(page.height)
        lines = page.dedupe_chars().extract_text_lines()
        boxes = [
            r
            for r in page.rects
            if r["stroke"] and r["fill"] and r["non_stroking_color"] in ((1,), (1, 1, 1))
        ]
    texts = [g.label for g in spec.highlight] + [m.note or "" for m in spec.markers]
    if getattr(table, "unclaimed", 0):
        texts.append(UNCLAIMED_LEGEND)
    words = {word for text in texts for word in text.split()}
    legend = [  # regular 8.5 pt (the country labels are bold)
        line
        for line in lines
        if line["chars"][0]["size"] == pytest.approx(8.5, abs=0.05)
        and "Bold" not in line["chars"][0]["fontname"]
    ]
    assert words <= {word for line in legend for word in line["text"].split()}
    if orientation == "landscape":
        (box,) = [b for b in boxes if x0 < b["x0"] and b["x1"] < x1 and b["width"] > 100]
        for line in legend:
            assert box["x0"] < line["x0"] and line["x1"] < box["x1"], line["text"]
            assert box["top"] < line["top"] and line["bottom"] < box["bottom"], line["text"]
    else:
        credit_top = min(
            line["top"]
            for line in lines
            if line["chars"][0]["size"] < 7 and line["top"] > height - y0
        )
        for line in legend:
            assert height - y0 < line["top"] and line["bottom"] < credit_top, line["text"]
            assert x0 <= line["x0"] and line["x1"] < x1, line["text"]
    del y1
