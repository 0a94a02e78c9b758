"""Story marks on paper: markers (symbols at their places, labels clear of everything else, the
ones outside the frame left out with a warning), patterns on groups and overlays (stripes in a
render, vector art in the PDF, ``<pattern>`` fills in the SVG), overlays, the legend that says
what each means, and the land no country holds; the same on the screen PDF, the CMYK PDF and
the SVG, byte-identical from one build to the next."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pdfplumber
import pypdf
import pytest
import shapely
from pypdf.generic import ArrayObject, ContentStream, DictionaryObject, NameObject

from tests.printing.helpers import alternations, close, holds, plain, render
from tilepress.config.model import HighlightGroup, MapSpec, Marker, OverlaySpec, Pattern, darker
from tilepress.printing.legend import marker_text
from tilepress.printing.marks import label_sides, symbol_points
from tilepress.printing.patterns import SQRT2, pattern_operators
from tilepress.printing.sheet import PrintReport, build_print_sheet
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.overlays import OverlayArea, read_overlays
from tilepress.sources.table import CountryTable
from tilepress.sources.unclaimed import (
    UNCLAIMED_CODE,
    UNCLAIMED_COLOR,
    UNCLAIMED_LEGEND,
    UNCLAIMED_NAME,
    UNCLAIMED_PATTERN,
)

SVG = {"s": "http://www.w3.org/2000/svg"}
ABYEI = (28.4, 9.7)
OCCUPIED = [[35.0, 46.0], [40.2, 47.0], [40.2, 50.0], [37.5, 49.8], [35.0, 47.5], [33.0, 46.0]]
RUSSIA_HATCH = Pattern("hatch")  # white stripes, 1.2 pt every 5 pt
OVERLAY_HATCH = Pattern("hatch", color="#ffffff", width=0.8, spacing=3.0)


@dataclasses.dataclass
class Story:
    """A regional sheet with every story mark, built in both modes and as SVG."""

    spec: MapSpec
    areas: list[OverlayArea]
    rgb: PrintReport
    cmyk: PrintReport
    svg: Path


def _build(
    spec: MapSpec, table: CountryTable, folder: Path, areas: list[OverlayArea], name: str
) -> tuple[PrintReport, PrintReport, Path]:
    highlighting = resolve_highlights(spec, table)
    svg = folder / f"{name}.svg"
    rgb = build_print_sheet(
        spec, table, highlighting, folder / f"{name}.pdf", svg=svg, overlays=areas
    )
    cmyk = build_print_sheet(
        spec, table, highlighting, folder / f"{name}-print.pdf", mode="cmyk", overlays=areas
    )
    return rgb, cmyk, svg


@pytest.fixture(scope="module")
def story(spec: MapSpec, table: CountryTable, tmp_path_factory: pytest.TempPathFactory) -> Story:
    folder = tmp_path_factory.mktemp("story")
    occupied = folder / "occupied.geojson"
    feature = {"type": "Polygon", "coordinates": [[*OCCUPIED, OCCUPIED[0]]]}
    occupied.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {}, "geometry": feature}],
            }
        )
    )
    groups = (
        dataclasses.replace(spec.highlight[0], pattern=Pattern("cross")),
        dataclasses.replace(spec.highlight[1], pattern=RUSSIA_HATCH),
        dataclasses.replace(spec.highlight[2], pattern=Pattern("dots", "#1a1a1a", 1.0, 3.0)),
    )
    overlay = OverlaySpec(
        "Occupied area", path=str(occupied), color="#8c2d04", pattern=OVERLAY_HATCH,
        outline="dashed", date="2026-11-20",
    )  # fmt: skip
    variant = dataclasses.replace(
        spec, highlight=groups, overlays=(overlay,), extent=(20.0, 40.0, 50.0, 56.0)
    )
    areas = read_overlays(variant)
    rgb, cmyk, svg = _build(variant, table, folder, areas, "story")
    return Story(variant, areas, rgb, cmyk, svg)


# ---------------------------------------------------------------------------------------------
# Markers


def _symbols(pdf: Path, color: str) -> list[dict[str, Any]]:
    """The filled curves of the page in ``color`` (the markers' symbols)."""
    target = tuple(int(c, 16) / 255 for c in (color[1:3], color[3:5], color[5:7]))
    with pdfplumber.open(pdf) as document:
        return [
            c
            for c in document.pages[0].curves + document.pages[0].rects  # a square may be a rect
            if c["fill"] and np.allclose(c["non_stroking_color"], target, atol=1e-3)
        ]


def _words(pdf: Path) -> tuple[list[dict[str, Any]], float]:
    with pdfplumber.open(pdf) as document:
        page = document.pages[0].dedupe_chars()
        return page.extract_words(extra_attrs=["size"]), float(page.height)


def _apart(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["x1"] <= b["x0"]
        or b["x1"] <= a["x0"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


def test_markers_are_drawn_at_their_places_with_their_labels(reference: Any) -> None:
    report, spec = reference.report, reference.spec
    assert report.markers == ["Kursk", "Kyiv"]
    symbols = _symbols(reference.pdf, spec.markers[0].color)
    words, height = _words(reference.pdf)
    x0, y0, x1, _y1 = report.frame
    on_map = [w for w in words if x0 < w["x0"] and w["x1"] < x1 and y0 < height - w["bottom"]]
    country_labels = [w for w in on_map if w["text"] in {"UKRAINE", "RUSSIA", "NORTH", "KOREA"}]
    assert len(country_labels) == 4
    labels = []
    for marker in spec.markers:
        x, y = report.page_point(marker.lon, marker.lat)
        near = [
            s
            for s in symbols
            if math.hypot((s["x0"] + s["x1"]) / 2 - x, height - (s["top"] + s["bottom"]) / 2 - y)
            < 1.0
        ]
        assert len(near) == 1, marker.label
        assert 0.7 * marker.size < near[0]["width"] < 1.4 * marker.size  # 6 pt on A4
        label = [w for w in on_map if w["text"] == marker.label and w["size"] < 8]  # not the legend
        assert len(label) == 1, marker.label
        middle = ((label[0]["x0"] + label[0]["x1"]) / 2, height - label[0]["bottom"])
        assert math.hypot(middle[0] - x, middle[1] - y) < 25  # next to its symbol
        assert label[0]["size"] == pytest.approx(7.5, abs=0.1)  # the regular font at 7.5 pt
        labels.append(label[0])
    for label in labels:  # clear of the country labels and of each other
        assert all(_apart(label, other) for other in country_labels)
    assert _apart(labels[0], labels[1])


def test_marker_labels_go_where_their_anchor_says(spec: MapSpec, build: Any) -> None:
    markers = (
        Marker("Aralsk", 61.7, 46.8, anchor="left"),
        Marker("Astana", 71.4, 51.1, symbol="triangle", color="#7b2cbf", anchor="below"),
        Marker("Almaty", 76.9, 43.2, symbol="star", anchor="above", size=9.0),
    )
    variant = dataclasses.replace(
        spec, highlight=spec.highlight[:1], markers=markers, extent=(45.0, 38.0, 90.0, 56.0)
    )
    built = build(variant)
    words, height = _words(built.pdf)
    for marker in markers:
        x, y = built.report.page_point(marker.lon, marker.lat)
        (word,) = [w for w in words if w["text"] == marker.label]
        if marker.anchor == "left":
            assert word["x1"] < x - marker.size / 2
            assert word["top"] < height - y < word["bottom"]
        elif marker.anchor == "below":
            assert height - word["top"] < y - marker.size / 2
        else:
            assert height - word["bottom"] > y + marker.size / 2
    assert len(_symbols(built.pdf, "#7b2cbf")) == 1  # the triangle, in its own colour
    assert built.report.markers == ["Aralsk", "Astana", "Almaty"]


def test_a_marker_outside_the_frame_is_left_out_with_a_warning(
    spec: MapSpec, table: CountryTable, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sydney = Marker("Sydney", 151.2, -33.9, note="Sydney: far from the war")
    variant = dataclasses.replace(
        spec, markers=(*spec.markers, sydney), extent=(20.0, 40.0, 50.0, 56.0)
    )
    with caplog.at_level(logging.WARNING, logger="tilepress"):
        report = build_print_sheet(
            variant, table, resolve_highlights(variant, table), tmp_path / "sydney.pdf"
        )
    message = f"map {spec.id!r}: marker 'Sydney' (151.2, -33.9) is outside the map frame; left out"
    assert message in report.warnings
    assert message in [r.getMessage() for r in caplog.records if r.name == "tilepress"]
    assert report.markers == ["Kursk", "Kyiv"]
    with pdfplumber.open(tmp_path / "sydney.pdf") as pdf:
        text = plain(pdf.pages[0].dedupe_chars().extract_text())
    assert "Sydney" not in text and "Kyiv: where the captured soldiers are held" in text


# ---------------------------------------------------------------------------------------------
# Patterns and overlays


def test_hatched_group_and_overlay_render_as_stripes(story: Story) -> None:
    image = render(story.rgb.pdf, scale=4.0)
    x, y = story.rgb.page_point(38.0, 48.3)  # inside the occupied area
    overlay = story.spec.overlays[0]
    assert alternations(image.row(x - 12, x + 12, y), overlay.color, "#ffffff") >= 8
    russia = story.spec.highlight[1]
    x, y = story.rgb.page_point(41.0, 54.5)  # Russia, east of Moscow
    assert alternations(image.row(x - 15, x + 15, y), russia.color, "#ffffff") >= 6
    ukraine = story.spec.highlight[0]  # crossed diagonals: stripes both ways
    x, y = story.rgb.page_point(28.0, 49.5)
    assert alternations(image.row(x - 15, x + 15, y), ukraine.color, "#ffffff") >= 6
    # the overlay's dashed outline, a shade darker than its colour
    assert holds(image.box((x - 1000, 0, x + 1000, 2000)), darker(overlay.color), tolerance=20)


def _segments(operators: str) -> tuple[Any, Any]:
    """Start and end points of ``x y m x y l`` lines."""
    rows = [line.split() for line in operators.splitlines()]
    points = np.array([[float(v) for i, v in enumerate(row) if i not in (2, 5)] for row in rows])
    return points[:, [0, 1]], points[:, [2, 3]]


def test_stripes_run_at_45_degrees_on_the_page_grid() -> None:
    box = (10.0, 20.0, 60.0, 45.0)
    starts, ends = _segments(pattern_operators(Pattern("hatch", spacing=5.0), box, 1.0))
    assert len(starts) > 5
    np.testing.assert_allclose(ends[:, 0] - starts[:, 0], ends[:, 1] - starts[:, 1], atol=0.02)
    intercepts = np.sort(starts[:, 0] - starts[:, 1])
    np.testing.assert_allclose(np.diff(intercepts), 5.0 * SQRT2, atol=0.02)  # 5 pt apart
    steps = intercepts / (5.0 * SQRT2)
    np.testing.assert_allclose(steps, np.round(steps), atol=0.005)  # on the page's grid
    both = np.vstack([starts, ends])
    assert (both >= (10.0 - 0.01, 20.0 - 0.01)).all() and (both <= (60.0 + 0.01, 45.0 + 0.01)).all()
    # crossed diagonals on an A3 sheet (unit 2): both slopes, twice the spacing
    starts, ends = _segments(pattern_operators(Pattern("cross", spacing=5.0), box, 2.0))
    slopes = np.round((ends[:, 1] - starts[:, 1]) / (ends[:, 0] - starts[:, 0]), 2)
    assert set(slopes.tolist()) == {1.0, -1.0}
    rising = np.sort((starts[:, 0] - starts[:, 1])[slopes == 1.0])
    np.testing.assert_allclose(np.diff(rising), 10.0 * SQRT2, atol=0.02)
    dots = pattern_operators(Pattern("dots", spacing=5.0), box, 1.0).splitlines()
    assert len(dots) == 11 * 6  # x 10..60, y 20..45 every 5 pt
    assert all(line.split()[:2] == line.split()[3:5] for line in dots)  # round-capped points


def test_legend_lists_patterns_overlays_and_marker_notes(story: Story) -> None:
    with pdfplumber.open(story.rgb.pdf) as pdf:
        page = pdf.pages[0]
        text = plain(page.dedupe_chars().extract_text())
        rects = page.rects
    assert "Occupied area, as of 2026-11-20" in text
    for marker in story.spec.markers:
        assert marker_text(marker) in text
        assert marker.note in text  # the notes start with their labels
    legend = [
        r for r in rects if r["stroke"] and r["fill"] and r["non_stroking_color"] == (1, 1, 1)
    ]
    assert len(legend) >= 2  # the legend's box and the scale bar's
    image = render(story.rgb.pdf, scale=4.0)
    height = image.height

    def swatch(color: str) -> Any:
        target = tuple(int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
        (found,) = [
            r
            for r in rects
            if r["fill"]
            and not r["stroke"]
            and r["width"] < 40
            and np.allclose(r["non_stroking_color"], target, atol=1e-3)
        ]
        return image.box(
            (found["x0"], height - found["bottom"], found["x1"], height - found["top"])
        )

    groups = story.spec.highlight
    assert holds(swatch(groups[1].color), groups[1].color) and holds(
        swatch(groups[1].color), "#ffffff"
    )
    assert holds(swatch(groups[2].color), groups[2].color) and holds(
        swatch(groups[2].color), "#1a1a1a"
    )
    overlay = story.spec.overlays[0]
    pixels = swatch(overlay.color)
    assert holds(pixels, overlay.color) and holds(pixels, "#ffffff")
    assert holds(pixels, darker(overlay.color), tolerance=20)  # the outline


def test_the_svg_has_the_patterns_overlays_and_markers(story: Story) -> None:
    root = ET.parse(story.svg).getroot()  # noqa: S314 - our own file
    patterns = {p.attrib["id"]: p for p in root.findall("s:defs/s:pattern", SVG)}
    russia = story.spec.highlight[1]
    russia_id = RUSSIA_HATCH.image_id(russia.color)
    overlay = story.spec.overlays[0]
    assert set(patterns) >= {russia_id, OVERLAY_HATCH.image_id(overlay.color)}
    assert patterns[russia_id].attrib["patternTransform"] == "rotate(45)"
    countries = {p.attrib["id"]: p for p in root.findall("s:g[@id='countries']/s:path", SVG)}
    assert countries["RUS"].attrib["fill"] == f"url(#{russia_id})"
    assert countries["FRA" if "FRA" in countries else "POL"].attrib["fill"] == story.spec.base_color
    (area,) = root.findall("s:g[@id='overlays']/s:path[@id='overlay-0']", SVG)
    assert area.findtext("s:title", namespaces=SVG) == "Occupied area"
    assert area.attrib["fill"] == f"url(#{OVERLAY_HATCH.image_id(overlay.color)})"
    outlines = root.findall("s:g[@id='overlays']/s:path[@stroke-dasharray]", SVG)
    assert len(outlines) == 1 and outlines[0].attrib["stroke"] == darker(overlay.color)
    symbols = root.findall("s:g[@id='markers']/s:path", SVG)
    assert [s.findtext("s:title", namespaces=SVG) for s in symbols] == ["Kursk", "Kyiv"]
    texts = [t.text for t in root.findall("s:g[@id='markers']/s:text", SVG)]
    assert texts == ["Kursk", "Kyiv"]
    width, height = (float(v) for v in root.attrib["viewBox"].split()[2:])
    kyiv = symbols[1].attrib["d"]
    xs = [float(v) for v in kyiv.replace("M", " ").replace("L", " ").replace("Z", " ").split()]
    px, py = story.rgb.page_point(30.52, 50.45)
    fx0, fy0, _fx1, fy1 = story.rgb.frame
    assert np.mean(xs[0::2]) == pytest.approx(px - fx0, abs=0.3)  # where the PDF drew it
    assert np.mean(xs[1::2]) == pytest.approx(fy1 - py, abs=0.3)
    assert 0 < np.mean(xs[0::2]) < width and 0 < np.mean(xs[1::2]) < height
    del fy0


def _forbidden_in(value: Any, seen: set[int]) -> list[str]:
    """Names and entries of a PDF object (followed through references) that mean RGB colour
    or transparency."""
    found: list[str] = []
    if id(value) in seen:
        return found
    seen.add(id(value))
    if hasattr(value, "get_object") and value.get_object() is not value:
        return _forbidden_in(value.get_object(), seen)
    if isinstance(value, DictionaryObject):
        for key, item in value.items():
            if key in ("/SMask", "/Parent"):
                found += [key] if key == "/SMask" else []
                continue
            if key in ("/CA", "/ca") and float(item) < 1:
                found.append(f"{key} {item}")
            if key == "/S" and item == "/Transparency":
                found.append("/Group /S /Transparency")
            found += _forbidden_in(item, seen)
    elif isinstance(value, ArrayObject):
        for item in value:
            found += _forbidden_in(item, seen)
    elif isinstance(value, NameObject) and value == "/DeviceRGB":
        found.append("/DeviceRGB")
    return found


def _assert_cmyk_only(pdf: Path, patterns: bool = True) -> None:
    reader = pypdf.PdfReader(pdf)
    page = reader.pages[0]
    operations = ContentStream(page.get_contents(), reader).operations
    operators = {operator for _operands, operator in operations}
    assert not operators & {b"rg", b"RG", b"sc", b"SC", b"scn", b"SCN", b"cs", b"CS", b"gs"}
    assert {b"k", b"K"} <= operators
    assert (b"W" in operators) == patterns  # the patterns' clips (the frame's is W*)
    resources = page["/Resources"]
    assert _forbidden_in(resources, set()) == []
    assert _forbidden_in(page.get_object(), set()) == []
    assert "/Group" not in page
    for xobject in resources.get("/XObject", {}).values():  # none today; forms would count
        assert b"rg" not in xobject.get_object().get_data()
    raw = pdf.read_bytes()
    for marker in (b"/SMask", b"/ExtGState", b"/DeviceRGB", b"/Transparency"):
        assert marker not in raw


def test_cmyk_pdf_has_no_rgb_and_no_transparency(
    story: Story, spec: MapSpec, table: CountryTable, build: Any
) -> None:
    _assert_cmyk_only(story.cmyk.pdf)
    reference = build(spec, mode="cmyk").pdf  # with its markers, and hatched land no country holds
    _assert_cmyk_only(reference, patterns=bool(getattr(table, "unclaimed", 0)))
    # the print file draws the same stripes (pdfium shows naive CMYK as the RGB it came from)
    image = render(story.cmyk.pdf, scale=4.0)
    offset = story.cmyk.trim_box[0]
    x, y = story.rgb.page_point(38.0, 48.3)
    overlay = story.spec.overlays[0]
    assert (
        alternations(
            image.row(x + offset - 12, x + offset + 12, y + offset), overlay.color, "#ffffff"
        )
        >= 8
    )


def test_story_sheets_are_byte_identical(story: Story, table: CountryTable, tmp_path: Path) -> None:
    rgb, cmyk, svg = _build(story.spec, table, tmp_path, story.areas, "again")
    assert rgb.pdf.read_bytes() == story.rgb.pdf.read_bytes()
    assert cmyk.pdf.read_bytes() == story.cmyk.pdf.read_bytes()
    assert svg.read_bytes() == story.svg.read_bytes()
    assert story.rgb.overlays == ["Occupied area"]


# ---------------------------------------------------------------------------------------------
# Land no country holds


def with_unclaimed(table: CountryTable) -> CountryTable:
    """The table with Abyei (the hole between Sudan and South Sudan) as a last row of land no
    country holds, as ``read_countries`` makes it; the table itself where it has such rows."""
    if getattr(table, "unclaimed", 0):
        return table
    union = shapely.union_all(table.geometries[table.lookup("SDN") + table.lookup("SSD")])
    holes = [shapely.Polygon(ring) for part in shapely.get_parts(union) for ring in part.interiors]
    (abyei,) = [hole for hole in holes if hole.contains(shapely.Point(*ABYEI))]
    attributes = {name: [*values, None] for name, values in table.attributes.items()}
    attributes[table.code_field][-1] = UNCLAIMED_CODE
    attributes[table.name_field][-1] = UNCLAIMED_NAME
    geometries = np.concatenate([table.geometries, np.array([abyei], dtype=object)])
    extended = CountryTable(geometries, attributes, table.code_field, table.name_field)
    vars(extended)["unclaimed"] = 1
    return extended


def _sudan(spec: MapSpec) -> MapSpec:
    return dataclasses.replace(
        spec,
        highlight=(HighlightGroup("Sudan", "#1f5fbf", ("SDN",)),),
        markers=(),
        extent=(22.0, 4.0, 36.0, 16.0),
    )


def _abyei_is_land(table: CountryTable, spec: MapSpec, folder: Path) -> PrintReport:
    variant = _sudan(spec)
    rgb, cmyk, svg = _build(variant, table, folder, [], "abyei")
    image = render(rgb.pdf, scale=3.0)
    x, y = rgb.page_point(*ABYEI)
    pixel = image.at(x, y)
    assert not close(pixel, variant.ocean_color, 12), pixel
    around = image.box((x - 8, y - 8, x + 8, y + 8))
    assert holds(around, UNCLAIMED_COLOR, 6) and holds(around, UNCLAIMED_PATTERN.color, 12)
    assert not holds(around, variant.ocean_color, 4)
    with pdfplumber.open(rgb.pdf) as pdf:
        assert UNCLAIMED_LEGEND in plain(pdf.pages[0].dedupe_chars().extract_text())
    root = ET.parse(svg).getroot()  # noqa: S314 - our own file
    paths = root.findall(f"s:g[@id='countries']/s:path[@id='{UNCLAIMED_CODE}']", SVG)
    assert paths and all(
        p.attrib["fill"] == f"url(#{UNCLAIMED_PATTERN.image_id(UNCLAIMED_COLOR)})" for p in paths
    )
    _assert_cmyk_only(cmyk.pdf)
    return rgb


def test_land_no_country_holds_is_drawn_hatched_with_its_legend_entry(
    spec: MapSpec, table: CountryTable, tmp_path: Path
) -> None:
    """With an Abyei row added as ``read_countries`` adds it: land, not ocean; hatched; in the
    legend; and out of the legend where none is in view."""
    extended = with_unclaimed(table)
    _abyei_is_land(extended, spec, tmp_path)
    far = dataclasses.replace(_sudan(spec), extent=(0.0, 40.0, 20.0, 55.0))  # Europe
    report = build_print_sheet(
        far, extended, resolve_highlights(far, extended), tmp_path / "far.pdf"
    )
    with pdfplumber.open(report.pdf) as pdf:
        assert UNCLAIMED_LEGEND not in plain(pdf.pages[0].dedupe_chars().extract_text())


def test_abyei_from_the_source_is_land(spec: MapSpec, table: CountryTable, tmp_path: Path) -> None:
    """The source's own rows of land no country holds (``CountryTable.unclaimed``)."""
    if not getattr(table, "unclaimed", 0):
        pytest.skip(
            "read_countries has no rows of land no country holds yet (CountryTable.unclaimed)"
        )
    _abyei_is_land(table, spec, tmp_path)


# ---------------------------------------------------------------------------------------------
# Small pieces


def test_marker_texts_sides_and_symbols() -> None:
    assert marker_text(Marker("Kyiv", 30.5, 50.4, note="Kyiv: the capital")) == "Kyiv: the capital"
    assert marker_text(Marker("Kyiv", 30.5, 50.4, note="the capital")) == "Kyiv: the capital"
    assert label_sides(Marker("A", 0, 0))[:4] == ["right", "left", "above", "below"]
    assert label_sides(Marker("A", 0, 0, anchor="below"))[:4] == ["below", "right", "left", "above"]
    square = symbol_points("square", 0.0, 0.0, 6.0)
    assert square is not None
    side = square[1][0] - square[0][0]
    assert side**2 == pytest.approx(math.pi * 3.0**2)  # the dot's area
    assert symbol_points("dot", 0.0, 0.0, 6.0) is None
    star = symbol_points("star", 1.0, 2.0, 6.0)
    assert star is not None and len(star) == 10 and star[0] == pytest.approx((1.0, 2.0 + 0.62 * 6))
