"""The print sheet, built from the embedded Natural Earth data (no mocks)."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import itertools
import logging
import math
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pdfplumber
import pypdf
import pytest
import shapely
from PIL import Image

from tests.conftest import REFERENCE_CONFIG
from tests.support.oracles import wrap_to_meridian
from tilepress.config.model import HighlightGroup, MapSpec, PageSpec, PrintOptions
from tilepress.errors import PrintError, ProjectionError, TilepressError
from tilepress.geometry.projection import wrap_and_clip
from tilepress.geometry.rings import Rings, rings_of
from tilepress.geometry.shared import thin_shared
from tilepress.printing.color import colour_blind_difference
from tilepress.printing.geometry import drop_straight
from tilepress.printing.sheet import (
    PrintReport,
    build_print_sheet,
    plan_print_sheet,
    render_preview,
)
from tilepress.project import load_config
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.table import CountryTable, read_countries

CONFIG = REFERENCE_CONFIG
KYIV = (30.52, 50.45)
MID_ATLANTIC = (-35.0, 15.0)


@dataclasses.dataclass
class Built:
    """A built sheet with what the tests read from it."""

    spec: MapSpec
    report: PrintReport
    pdf: Path


@pytest.fixture(scope="module")
def spec() -> MapSpec:
    return load_config(CONFIG).maps[0]


@pytest.fixture(scope="module")
def table(spec: MapSpec) -> CountryTable:
    return read_countries(spec.source)


@pytest.fixture(scope="module")
def build(table: CountryTable, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A function building a spec variant, once per module unless ``fresh`` is asked for."""
    folder = tmp_path_factory.mktemp("sheets")
    cache: dict[tuple[str, str], Built] = {}
    numbers = itertools.count()

    def run(variant: MapSpec, mode: Literal["rgb", "cmyk"] = "rgb", fresh: bool = False) -> Built:
        key = (repr(variant), mode)
        if fresh or key not in cache:
            path = folder / f"sheet-{next(numbers)}.pdf"
            report = build_print_sheet(
                variant, table, resolve_highlights(variant, table), path, mode=mode
            )
            if fresh:
                return Built(variant, report, path)
            cache[key] = Built(variant, report, path)
        return cache[key]

    return run


@pytest.fixture(scope="module")
def reference(spec: MapSpec, build: Any) -> Built:
    built: Built = build(spec)
    return built


@pytest.fixture(scope="module")
def page(reference: Built) -> Iterator[Any]:
    with pdfplumber.open(reference.pdf) as pdf:
        yield pdf.pages[0]


def plain(text: str) -> str:
    return " ".join(text.split())


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def close(pixel: tuple[int, ...], color: str, tolerance: int = 3) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], hex_to_rgb(color), strict=True))


def subpaths(curve: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Split a pdfplumber curve's path into its subpaths (lists of points)."""
    pieces: list[list[tuple[float, float]]] = []
    for operator, *points in curve["path"]:
        if operator == "m":
            pieces.append([])
        if pieces:
            pieces[-1].extend(points)
    return pieces


# ---------------------------------------------------------------------------------------------
# The reference map


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


def test_fonts_are_embedded_and_no_helvetica(reference: Built) -> None:
    output = subprocess.run(
        ["pdffonts", str(reference.pdf)], capture_output=True, text=True, check=True
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
    subprocess.run(["qpdf", "--check", str(reference.pdf)], capture_output=True, check=True)
    meta = pypdf.PdfReader(reference.pdf).metadata
    assert meta is not None
    spec = reference.spec
    assert meta.title == spec.title
    assert meta.author == spec.author
    assert meta.subject == spec.caption
    assert meta["/Keywords"] == "Ukraine, Russia, North Korea, map"
    assert str(meta.creator).startswith("tilepress ")


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
    subprocess.run(
        ["pdftoppm", "-r", "72", "-png", "-singlefile", str(reference.pdf), str(tmp_path / "page")],
        check=True,
    )
    image = np.asarray(Image.open(tmp_path / "page.png").convert("RGB"))
    height = image.shape[0]
    x0, y0, x1, y1 = reference.report.frame
    left, right = image[:, : math.floor(x0) - 1], image[:, math.ceil(x1) + 1 :]
    assert (left == 255).all() and (right == 255).all()
    title_bottom = height - math.ceil(y1) - 1  # rows between the caption and the frame's top
    gap = image[title_bottom - 6 : title_bottom - 1, math.ceil(x0) + 1 : math.floor(x1) - 1]
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


def test_legend_swatches_are_exactly_the_group_colours(reference: Built, page: Any) -> None:
    swatches = [
        r
        for r in page.rects
        if r["fill"] and not r["stroke"] and r["width"] < 40 and r["height"] < 20
    ]
    colours = {tuple(round(c * 255) for c in r["non_stroking_color"]) for r in swatches}
    wanted = {hex_to_rgb(group.color) for group in reference.spec.highlight}
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


def test_red_next_to_orange_warns_without_changing_colours(
    spec: MapSpec,
    table: CountryTable,
    reference: Built,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    warnings = [w for w in reference.report.warnings if "colour-blind" in w]
    assert len(warnings) == 1
    assert "'Russia'" in warnings[0] and "'North Korea'" in warnings[0]
    assert "'Ukraine'" not in warnings[0]
    with caplog.at_level(logging.WARNING, logger="tilepress"):
        build_print_sheet(spec, table, resolve_highlights(spec, table), tmp_path / "w.pdf")
    assert any("North Korea" in r.getMessage() and r.name == "tilepress" for r in caplog.records)
    _name, difference = colour_blind_difference("#d62828", "#f28e1c")
    assert difference < 20
    _name, difference = colour_blind_difference("#1f5fbf", "#d62828")
    assert difference > 20


def test_no_warning_for_distinct_neighbours(
    spec: MapSpec, table: CountryTable, tmp_path: Path
) -> None:
    groups = (
        spec.highlight[0],
        dataclasses.replace(spec.highlight[1], color="#d62828"),
        dataclasses.replace(spec.highlight[2], color="#1f5fbf"),
    )
    variant = dataclasses.replace(spec, highlight=groups)
    report = build_print_sheet(
        variant, table, resolve_highlights(variant, table), tmp_path / "ok.pdf"
    )
    assert not [w for w in report.warnings if "colour-blind" in w]


# ---------------------------------------------------------------------------------------------
# Colour modes, projections, errors


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


def test_pacific_centred_world_has_no_streaks(
    spec: MapSpec, build: Any, tmp_path: Path, table: CountryTable
) -> None:
    variant = dataclasses.replace(spec, projection="+proj=eqearth +lon_0=150", extent="world")
    built = build(variant)
    report = built.report
    x0, _y0, x1, _y1 = report.frame
    with pdfplumber.open(built.pdf) as pdf:
        curves = pdf.pages[0].curves
        page_height = float(pdf.pages[0].height)
    antarctic = page_height - report.page_point(150.0, -60.0)[1]  # pdfplumber y runs down
    ocean = tuple(v / 255 for v in hex_to_rgb(spec.ocean_color))
    pieces = 0
    for curve in curves:
        if curve["fill"] and np.allclose(curve["non_stroking_color"], ocean, atol=1e-4):
            continue  # the globe itself
        for piece in subpaths(curve):
            pieces += 1
            if min(y for _x, y in piece) >= antarctic:
                continue  # Antarctica rightly spans the whole map
            xs = [x for x, _y in piece]
            assert max(xs) - min(xs) < 0.5 * (x1 - x0), (min(xs), max(xs))
    assert pieces > 1000

    render_preview(built.pdf, tmp_path / "pacific.png", dpi=72)
    image = Image.open(tmp_path / "pacific.png").convert("RGB")
    height = image.size[1]

    def pixel(lon: float, lat: float) -> tuple[int, ...]:
        x, y = report.page_point(lon, lat)
        return tuple(image.getpixel((int(x), int(height - y))))

    for lon, lat in ((180.0, 30.0), (-150.0, 0.0), (-170.0, 45.0), (-140.0, -30.0)):
        assert close(pixel(lon, lat), spec.ocean_color), (lon, lat)
    row = [pixel(lon, 40.0) for lon in np.linspace(-178.0, -130.0, 60)]  # the open North Pacific
    assert all(close(p, spec.ocean_color) for p in row)
    russia = table.geometries[table.codes.index("RUS")]
    east, west = shapely.Point(-179.2, 68.0), shapely.Point(179.2, 68.0)
    assert russia.contains(east) and russia.contains(west)
    red = spec.highlight[1].color
    assert close(pixel(-179.2, 68.0), red) and close(pixel(179.2, 68.0), red)
    assert report.projection_name == "Equal Earth projection centred on 150°E"


def test_regional_map_uses_lambert_azimuthal(spec: MapSpec, build: Any) -> None:
    variant = dataclasses.replace(spec, highlight=spec.highlight[:1], extent="auto")
    built = build(variant)
    assert "+proj=laea" in built.report.projection
    assert built.report.projection_name.startswith("Lambert azimuthal equal-area projection")
    assert built.report.labels >= 1
    west, south, east, north = built.report.extent
    assert 15 < west < 25 and 40 < south < 46 and 40 < east < 45 and 52 < north < 56
    with pdfplumber.open(built.pdf) as pdf:
        text = plain(pdf.pages[0].dedupe_chars().extract_text())
    assert "Lambert azimuthal equal-area projection centred on" in text


def test_labels_all_never_collide(spec: MapSpec, build: Any) -> None:
    built = build(dataclasses.replace(spec, labels="all"))
    assert built.report.labels > 10
    with pdfplumber.open(built.pdf) as pdf:
        page = pdf.pages[0].dedupe_chars()
        words = page.extract_words(extra_attrs=["size"])
    x0, y0, x1, y1 = built.report.frame
    height = float(page.height)
    labels = [
        w
        for w in words
        if x0 < w["x0"]
        and w["x1"] < x1
        and y0 < height - w["bottom"]
        and height - w["top"] < y1
        and w["size"] < 9.0
        and w["text"] not in {"Ukraine", "Russia", "North", "Korea"}
    ]
    assert len(labels) > 10
    for position, first in enumerate(labels):
        for second in labels[position + 1 :]:
            apart = (
                first["x1"] <= second["x0"]
                or second["x1"] <= first["x0"]
                or first["bottom"] <= second["top"]
                or second["bottom"] <= first["top"]
            )
            same_label = (
                abs(first["top"] - second["top"]) < 0.5 or abs(first["bottom"] - second["top"]) < 3
            )
            assert apart or same_label, (first["text"], second["text"])


def test_unbuildable_projection_names_the_map(
    spec: MapSpec, table: CountryTable, tmp_path: Path
) -> None:
    variant = dataclasses.replace(spec, projection="+proj=nonsense +lon_0=0")
    with pytest.raises(ProjectionError) as caught:
        build_print_sheet(variant, table, resolve_highlights(variant, table), tmp_path / "p.pdf")
    message = str(caught.value)
    assert spec.id in message and "projection" in message and "nonsense" in message
    assert not (tmp_path / "p.pdf").exists()


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


def test_tiny_highlighted_country_gets_a_dot(spec: MapSpec, build: Any) -> None:
    groups = (HighlightGroup("Tuvalu", "#7b2cbf", ("Tuvalu",)),)
    built = build(dataclasses.replace(spec, highlight=groups))
    with pdfplumber.open(built.pdf) as pdf:
        page = pdf.pages[0]
        purple = [
            c
            for c in page.curves
            if c["fill"]
            and np.allclose(c["non_stroking_color"], (123 / 255, 44 / 255, 191 / 255), atol=1e-4)
        ]
        text = page.dedupe_chars().extract_text()
    assert any(c["width"] > 3 for c in purple)  # the dot, not only sub-point islands
    assert "TUVALU" in text


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


# ---------------------------------------------------------------------------------------------
# Preview


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

    assert close(pixel(*KYIV), reference.spec.highlight[0].color)
    assert close(pixel(*MID_ATLANTIC), reference.spec.ocean_color)
    again = tmp_path / "again.png"
    render_preview(reference.pdf, again, dpi=110)
    assert again.read_bytes() == png.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.png", "preview.png"]


# ---------------------------------------------------------------------------------------------
# Geometry helpers


def test_wrap_and_clip_matches_wrap_to_meridian(table: CountryTable) -> None:
    rows = [table.codes.index(code) for code in ("RUS", "FJI", "GRL", "USA", "BRA", "FRA")]
    geometries = table.geometries[rows]
    for lon_0 in (0.0, 150.0):
        fast = wrap_and_clip(geometries, lon_0)
        slow = wrap_to_meridian(geometries, lon_0)
        assert np.allclose(shapely.area(fast), shapely.area(slow), rtol=1e-9)
        assert np.allclose(shapely.bounds(fast), shapely.bounds(slow))
    russia = wrap_and_clip(geometries[:1], 150.0)[0]
    assert russia.bounds[2] > 180.0  # Chukotka joined on the far side of 180 degrees


def test_thinning_keeps_shared_borders_identical() -> None:
    t = np.linspace(0.0, 1.0, 400)
    border = np.column_stack([np.sin(t * 40) * 0.01 + 0.5, t])  # a wiggly shared edge
    left = shapely.Polygon(np.vstack([[[0.0, 1.0], [0.0, 0.0]], border]))
    right = shapely.Polygon(np.vstack([border, [[1.0, 1.0], [1.0, 0.0]]]))
    coverage = np.array([left, right], dtype=object)
    assert shapely.coverage_is_valid(coverage)

    thinned = thin_shared(Rings.from_geometries(coverage), area=1e-4).to_geometries()
    assert shapely.get_num_coordinates(thinned).sum() < shapely.get_num_coordinates(coverage).sum()
    assert shapely.coverage_is_valid(thinned)
    assert shapely.area(shapely.union_all(thinned)) == pytest.approx(1.0, rel=1e-3)


EUROPE = ("FRA", "ESP", "AND", "PRT", "DEU", "BEL", "LUX", "NLD", "CHE", "ITA", "AUT", "LIE")
EUROPE += ("SMR", "VAT", "MCO", "CZE", "POL", "SVN", "HRV", "HUN", "SVK")


def test_thinning_a_real_coverage_keeps_it_a_coverage(table: CountryTable) -> None:
    coverage = table.geometries[[table.codes.index(code) for code in EUROPE]]
    assert shapely.coverage_is_valid(coverage)
    rings = Rings.from_geometries(coverage)
    for area, rounds in ((1e-5, 12), (1e-4, 3), (1e-3, 12), (1e-2, 30)):
        thinned = thin_shared(rings, area=area, rounds=rounds)
        assert len(thinned.xy) < len(rings.xy)
        assert shapely.coverage_is_valid(thinned.to_geometries())  # borders still shared


def test_rings_and_densifying_agree_with_shapely(table: CountryTable) -> None:
    rows = [table.codes.index(code) for code in ("RUS", "FJI", "ITA", "LSO", "ZAF")]
    geometries = np.concatenate(
        [table.geometries[rows], [shapely.Polygon(), shapely.MultiPolygon()]]
    )
    rings = rings_of(geometries)
    back = rings.to_geometries()
    assert np.array_equal(shapely.get_coordinates(back), shapely.get_coordinates(geometries))
    assert shapely.equals(back[: len(rows)], geometries[: len(rows)]).all()
    assert shapely.is_empty(back[len(rows) :]).all()
    for step in (0.05, 0.5, 5.0):
        dense = rings.densified(step).to_geometries()
        expected = shapely.segmentize(geometries, step)
        counts = shapely.get_num_coordinates(dense)
        assert np.array_equal(counts, shapely.get_num_coordinates(expected))
        assert np.allclose(shapely.get_coordinates(dense), shapely.get_coordinates(expected))
    # Many vertices are read in two halves (one in a helper thread): the same arrays.
    world, alone = rings_of(table.geometries), Rings.from_geometries(table.geometries)
    assert len(world.xy) > 400_000
    for name in ("xy", "sizes", "ring_polygon", "polygon_geometry"):
        assert np.array_equal(getattr(world, name), getattr(alone, name)), name


def test_straight_vertices_go_and_shared_borders_stay() -> None:
    # Two squares sharing the edge x = 2 (with points on it), a third below both: (2, 0) is
    # where three countries meet, and lies on a straight line in the lower one.
    left = shapely.Polygon([(0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (2, 3), (0, 3), (0, 2)])
    right = shapely.Polygon([(2, 0), (3, 0), (4, 0), (4, 3), (2, 3), (2, 2), (2, 1)])
    below = shapely.Polygon([(0, 0), (0, -1), (4, -1), (4, 0), (3, 0), (2, 0), (1, 0)])
    coverage = np.array([left, right, below], dtype=object)
    assert shapely.coverage_is_valid(coverage)
    rings = rings_of(coverage)
    dropped = drop_straight(rings)
    result = dropped.to_geometries()
    assert len(dropped.xy) < len(rings.xy)
    assert shapely.equals(result, coverage).all()  # the same outlines
    assert shapely.coverage_is_valid(result)  # the shared border kept its vertices
    kept = {tuple(point) for point in dropped.xy}
    assert (2.0, 0.0) in kept and (2.0, 3.0) in kept  # junctions stay
    assert (2.0, 1.0) not in kept and (0.0, 2.0) not in kept  # straight runs went
    assert (1.0, 0.0) not in kept and (3.0, 0.0) not in kept  # ... on both sides alike


# ---------------------------------------------------------------------------------------------
# Print variant, graticule, scale, insets, SVG, fonts, layout


NANUM = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
MM = 72 / 25.4


def pdf_boxes(pdf: Path) -> dict[str, tuple[float, ...]]:
    """``pdfinfo -box`` as {name: (x0, y0, x1, y1)}."""
    output = subprocess.run(
        ["pdfinfo", "-box", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    return {
        m.group(1): tuple(float(v) for v in m.group(2).split())
        for m in re.finditer(r"^(\w+Box):\s+([\d.\s]+)$", output, re.MULTILINE)
    }


def all_fonts_embedded(pdf: Path) -> list[str]:
    """Font names from pdffonts, asserting each is embedded and subsetted."""
    rows = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    names = []
    for row in rows:
        flags = re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s", row)
        assert flags is not None and flags.group(1) == "yes" and flags.group(2) == "yes", row
        names.append(row.split()[0])
    return names


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
    subprocess.run(["qpdf", "--check", str(built.pdf)], capture_output=True, check=True)
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


def test_graticule_is_drawn_under_the_land_inside_the_globe(
    spec: MapSpec, build: Any, tmp_path: Path
) -> None:
    variant = dataclasses.replace(spec, print_options=PrintOptions(graticule=True))
    built = build(variant)
    x0, y0, x1, y1 = built.report.frame
    ocean = hex_to_rgb(spec.ocean_color)
    line = tuple(round(v * 0.86) / 255 for v in ocean)
    with pdfplumber.open(built.pdf) as pdf:
        page = pdf.pages[0]
        grid = [
            c
            for c in [*page.curves, *page.lines]  # a straight parallel is one line segment
            if c["stroke"] and np.allclose(c["stroking_color"], line, atol=2e-3)
        ]
        pieces = [piece for curve in grid for piece in subpaths(curve)]
        assert len(pieces) == 11 + 5  # meridians and parallels every 30 degrees
        for piece in pieces:
            for x, y in piece:
                assert x0 <= x <= x1 and y0 <= float(page.height) - y <= y1
    # where a parallel crosses open ocean the line shows; the equator in the Pacific
    subprocess.run(
        ["pdftoppm", "-r", "144", "-png", "-singlefile", str(built.pdf), str(tmp_path / "g")],
        check=True,
    )
    image = Image.open(tmp_path / "g.png").convert("RGB")
    height = image.size[1]
    px, py = built.report.page_point(-140.0, 0.0)
    column = [image.getpixel((int(px * 2), int((height / 2 - py) * 2) + d)) for d in range(-3, 4)]
    assert any(not close(p, spec.ocean_color, 6) for p in column)
    assert close(column[0], spec.ocean_color) and close(column[-1], spec.ocean_color)
    assert built.report.file_size < build(spec).report.file_size * 1.1


def test_regional_map_has_a_true_scale_bar(spec: MapSpec, build: Any) -> None:
    from pyproj import Geod

    variant = dataclasses.replace(spec, highlight=spec.highlight[:1], extent="auto")
    report = build(variant).report
    assert report.scale is not None
    kyiv, east = (30.52, 50.45), (36.0, 50.45)
    distance_m = Geod(ellps="WGS84").inv(*kyiv, *east)[2]
    (ax, ay), (bx, by) = report.page_point(*kyiv), report.page_point(*east)
    paper_m = math.hypot(bx - ax, by - ay) * 0.0254 / 72
    assert distance_m / paper_m == pytest.approx(report.scale, rel=0.03)
    with pdfplumber.open(build(variant).pdf) as pdf:
        text = plain(pdf.pages[0].dedupe_chars().extract_text())
    digits = r"\s?".join(f"{report.scale:,}".split(","))  # thin spaces group the digits
    assert re.search(rf"Scale 1:{digits} at the centre", text), text
    assert re.search(r"\b0 .*\d+ km", text)
    world = build(spec).report  # no single scale holds on a world map
    assert world.scale is None


def test_locator_inset_for_a_tiny_highlighted_country(
    spec: MapSpec, build: Any, tmp_path: Path
) -> None:
    groups = (HighlightGroup("Tuvalu", "#7b2cbf", ("Tuvalu",)),)
    built = build(dataclasses.replace(spec, highlight=groups))
    assert built.report.insets == ["Tuvalu"]
    with pdfplumber.open(built.pdf) as pdf:
        text = plain(pdf.pages[0].dedupe_chars().extract_text())
    assert "Tuvalu (enlarged)" in text
    off = build(
        dataclasses.replace(spec, highlight=groups, print_options=PrintOptions(locator=False))
    )
    assert off.report.insets == []
    assert built.report.file_size > off.report.file_size  # the inset holds a second map


def test_svg_is_the_same_map(spec: MapSpec, table: CountryTable, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    svg = tmp_path / "map.svg"
    report = build_print_sheet(
        spec, table, resolve_highlights(spec, table), tmp_path / "m.pdf", svg=svg
    )
    assert report.svg == svg
    root = ET.parse(svg).getroot()  # noqa: S314 - our own file
    ns = {"s": "http://www.w3.org/2000/svg"}
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


@pytest.mark.skipif(not NANUM.is_file(), reason="apt-get install fonts-nanum")
def test_hangul_with_a_cjk_font_is_embedded(spec: MapSpec, build: Any) -> None:
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


def test_unprojectable_extent_names_map_and_key(
    spec: MapSpec, table: CountryTable, tmp_path: Path
) -> None:
    for projection in ("+proj=ortho +lat_0=0 +lon_0=0", "EPSG:3035"):
        variant = dataclasses.replace(spec, projection=projection, extent="world")
        with pytest.raises(ProjectionError) as caught:
            build_print_sheet(
                variant, table, resolve_highlights(variant, table), tmp_path / "x.pdf"
            )
        assert f"map {spec.id!r}: extent" in str(caught.value), projection
    assert list(tmp_path.iterdir()) == []


def words_inside(pdf: Path, margin: float) -> tuple[list[dict[str, Any]], float, float]:
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
    words, width, height = words_inside(built.pdf, 0)
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


def test_portrait_world_map_keeps_the_legend_below_the_frame(spec: MapSpec, build: Any) -> None:
    built = build(dataclasses.replace(spec, page=PageSpec("A3", "portrait")))
    x0, y0, _x1, _y1 = built.report.frame
    with pdfplumber.open(built.pdf) as pdf:
        page = pdf.pages[0]
        swatches = [
            r
            for r in page.rects
            if r["fill"] and not r["stroke"] and r["width"] < 40 and r["height"] < 20
        ]
    colours = {tuple(round(c * 255) for c in r["non_stroking_color"]) for r in swatches}
    assert colours == {hex_to_rgb(g.color) for g in spec.highlight}
    for swatch in swatches:
        assert swatch["y1"] < y0  # PDF coordinates: under the frame
        assert swatch["x0"] == pytest.approx(x0, abs=0.5)


def test_print_options_come_from_the_config(tmp_path: Path) -> None:
    from tilepress.config.model import map_from_dict
    from tilepress.errors import ConfigError

    text = CONFIG.read_text().replace(
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
