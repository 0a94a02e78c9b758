"""The CMYK print variant: CMYK operators only, trim and bleed boxes and crop marks as the
configuration asks."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from typing import Any

import pdfplumber
import pypdf
import pytest

from tests.printing.helpers import MM, all_fonts_embedded, hex_to_rgb, pdf_boxes, plain, tool
from tilepress.config.model import MapSpec, PrintOptions


def test_cmyk_variant_has_no_rgb_operators(spec: MapSpec, build: Any) -> None:
    built = build(spec, mode="cmyk")
    reader = pypdf.PdfReader(built.pdf)
    content = reader.pages[0].get_contents()
    assert content is not None
    data = content.get_data().decode("latin-1")
    assert not re.search(r"(^|\s)(rg|RG)(\s|$)", data)
    assert re.search(r"\sk\s", data) and re.search(r"\sK\s", data)
    raw = built.pdf.read_bytes()
    for marker in (b"/SMask", b"/ca ", b"/CA ", b"/ExtGState"):
        assert marker not in raw
    ukraine = spec.highlight[0].color  # #1f5fbf as naive CMYK
    r, g, b = (v / 255 for v in hex_to_rgb(ukraine))
    k = 1 - max(r, g, b)
    cyan = (1 - r - k) / (1 - k)
    assert f"{cyan:.6f}".rstrip("0")[1:] in data


def test_cmyk_print_variant_has_trim_bleed_and_crop_marks(spec: MapSpec, build: Any) -> None:
    built = build(spec, mode="cmyk")
    report = built.report
    boxes = pdf_boxes(built.pdf)
    width, height = 842, 595
    trim, bleed, media = boxes["TrimBox"], boxes["BleedBox"], boxes["MediaBox"]
    assert trim[2] - trim[0] == pytest.approx(width, abs=0.5)
    assert trim[3] - trim[1] == pytest.approx(height, abs=0.5)
    assert trim[0] - bleed[0] == pytest.approx(3 * MM, abs=0.05)  # bleed_mm: 3 (default)
    assert media[2] > bleed[2] + 5 * MM and media[3] > bleed[3] + 5 * MM  # room for marks
    assert report.trim_box == pytest.approx(trim, abs=0.01)
    assert all_fonts_embedded(built.pdf)
    subprocess.run([tool("qpdf"), "--check", str(built.pdf)], capture_output=True, check=True)
    with pdfplumber.open(built.pdf) as pdf:
        page = pdf.pages[0]
        page_h = float(page.height)
        marks = [
            line
            for line in page.lines + page.curves
            if line["x1"] <= bleed[0] + 0.01
            or line["x0"] >= bleed[2] - 0.01
            or page_h - line["top"] <= bleed[1] + 0.01
            or page_h - line["bottom"] >= bleed[3] - 0.01
        ]
        assert len(marks) >= 8  # two per corner, outside the bleed
        for mark in marks:
            assert mark["stroking_color"] == (1, 1, 1, 1)  # registration: every plate
            assert mark["linewidth"] >= 0.25
        # everything else lies inside the trim box
        others = [o for o in page.curves + page.rects + page.chars if o not in marks]
        for item in others:
            assert item["x0"] >= trim[0] - 0.5 and item["x1"] <= trim[2] + 0.5
        text = plain(page.dedupe_chars().extract_text())
    assert spec.title in text and "https://creativecommons.org/licenses/by-sa/4.0/" in text
    # the same map: the frame sits at the same place relative to the trim box
    rgb = build(spec).report
    assert report.frame[0] - trim[0] == pytest.approx(rgb.frame[0], abs=0.01)
    assert report.frame[1] - trim[1] == pytest.approx(rgb.frame[1], abs=0.01)


def test_crop_marks_and_bleed_follow_the_config(spec: MapSpec, build: Any) -> None:
    variant = dataclasses.replace(spec, print_options=PrintOptions(crop_marks=False, bleed_mm=0))
    built = build(variant, mode="cmyk")
    boxes = pdf_boxes(built.pdf)
    assert boxes["MediaBox"] == pytest.approx((0, 0, 842, 595), abs=0.5)
    assert "TrimBox" not in boxes or boxes["TrimBox"] == boxes["MediaBox"]
    assert built.report.trim_box == pytest.approx((0, 0, 842, 595), abs=0.5)
    rgb = build(spec)  # the screen PDF never has marks or bleed
    assert pdf_boxes(rgb.pdf)["MediaBox"] == pytest.approx((0, 0, 842, 595), abs=0.5)
