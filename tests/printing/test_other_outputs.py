"""The outputs besides the PDF: the SVG of the map, the PNG preview, and `tilepress step print`
writing a PDF and an SVG."""

from __future__ import annotations

import gc
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.printing.helpers import KYIV, MID_ATLANTIC, WESTERN_UKRAINE, Built, close, pdf_boxes
from tests.sources.test_description import REFERENCE_TEXT
from tilepress.config.model import MapSpec
from tilepress.printing.sheet import build_print_sheet, credit_line, render_preview
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.table import CountryTable


def test_svg_is_the_same_map(spec: MapSpec, table: CountryTable, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    svg = tmp_path / "map.svg"
    report = build_print_sheet(
        spec, table, resolve_highlights(spec, table), tmp_path / "m.pdf", svg=svg
    )
    assert report.svg == svg
    root = ET.parse(svg).getroot()  # noqa: S314 - our own file
    ns = {"s": "http://www.w3.org/2000/svg"}
    # the title, and the text alternative with the credit line as its second paragraph
    assert root.findtext("s:title", namespaces=ns) == spec.title
    credit = credit_line(spec, report.projection_name)
    assert root.findtext("s:desc", namespaces=ns) == f"{REFERENCE_TEXT}\n{credit}"
    assert (root.attrib["role"], root.attrib["aria-describedby"]) == ("img", "map-desc")
    width, height = (float(v) for v in root.attrib["viewBox"].split()[2:])
    x0, y0, x1, y1 = report.frame
    assert width == pytest.approx(x1 - x0, abs=0.2) and height == pytest.approx(y1 - y0, abs=0.2)
    countries = root.findall("s:g[@id='countries']/s:path", ns)
    by_code = {p.attrib["id"]: p for p in countries}
    for group in spec.highlight:
        code = {"Ukraine": "UKR", "Russia": "RUS", "North Korea": "PRK"}[group.label]
        assert by_code[code].attrib["fill"] == group.color
    assert by_code["FRA"].attrib["fill"] == spec.base_color
    vertices = 0
    for path in countries:
        numbers = np.array(re.findall(r"[\d.]+", path.attrib["d"]), dtype=float).reshape(-1, 2)
        assert (numbers >= 0).all() and (numbers[:, 0] <= width).all()
        assert (numbers[:, 1] <= height).all()
        vertices += len(numbers)
    assert vertices == report.vertices  # the PDF's geometry, vertex for vertex
    assert root.find("s:path[@id='borders']", ns) is not None
    assert svg.stat().st_size < 1_500_000


def test_preview_png(reference: Built, tmp_path: Path) -> None:
    png = tmp_path / "preview.png"
    render_preview(reference.pdf, png, dpi=110)
    image = Image.open(png)
    assert image.format == "PNG"
    width, height = reference.report.page_size
    assert abs(image.size[0] - width * 110 / 72) <= 1
    assert abs(image.size[1] - height * 110 / 72) <= 1
    rgb = image.convert("RGB")

    def pixel(lon: float, lat: float) -> tuple[int, ...]:
        x, y = reference.report.page_point(lon, lat)
        return tuple(rgb.getpixel((int(x * 110 / 72), int((height - y) * 110 / 72))))

    assert close(pixel(*WESTERN_UKRAINE), reference.spec.highlight[0].color)
    assert close(pixel(*KYIV), reference.spec.markers[1].color, tolerance=12)  # its square
    assert close(pixel(*MID_ATLANTIC), reference.spec.ocean_color)
    again = tmp_path / "again.png"
    render_preview(reference.pdf, again, dpi=110)
    assert again.read_bytes() == png.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.png", "preview.png"]


def test_step_print_writes_pdf_and_svg(spec: MapSpec, tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from tilepress.cli.commands import main

    result = CliRunner().invoke(
        main,
        [
            "step", "print", "--spec", json.dumps(spec.to_dict()), "--out",
            str(tmp_path / "a.pdf"), "--svg", str(tmp_path / "a.svg"), "--mode", "cmyk",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert gc.isenabled()  # the step switches the collector off only while it runs
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")
    assert b"<svg" in (tmp_path / "a.svg").read_bytes()[:200]
    assert "TrimBox" in pdf_boxes(tmp_path / "a.pdf")


def test_step_print_draws_the_overlays(spec: MapSpec, tmp_path: Path) -> None:
    """`tilepress step print` reads the map's overlay files and draws them (PDF and SVG); a
    missing file stops it with the overlay named."""
    import dataclasses
    import json

    import pdfplumber
    from click.testing import CliRunner

    from tilepress.cli.commands import main
    from tilepress.config.model import OverlaySpec

    area = tmp_path / "area.geojson"
    ring = [[30.0, 46.0], [36.0, 46.0], [36.0, 50.0], [30.0, 50.0], [30.0, 46.0]]
    area.write_text(json.dumps({"type": "Polygon", "coordinates": [ring]}))
    overlay = OverlaySpec("Front line area", path=str(area), date="2026-11-20")
    variant = dataclasses.replace(spec, overlays=(overlay,))

    def run(spec_json: str) -> Any:
        return CliRunner().invoke(
            main,
            [
                "step", "print", "--spec", spec_json, "--out", str(tmp_path / "o.pdf"),
                "--svg", str(tmp_path / "o.svg"),
            ],
        )  # fmt: skip

    result = run(json.dumps(variant.to_dict()))
    assert result.exit_code == 0, result.output
    with pdfplumber.open(tmp_path / "o.pdf") as pdf:
        text = " ".join(pdf.pages[0].dedupe_chars().extract_text().split())
    assert "Front line area, as of 2026-11-20" in text
    assert b'<path id="overlay-0"' in (tmp_path / "o.svg").read_bytes()
    area.unlink()
    result = run(json.dumps(variant.to_dict()))
    assert result.exit_code == 1
    assert "no such overlay file" in result.output and "Front line area" in result.output
