"""What is drawn on the map: labels that never collide, dots and locator insets for countries
too small to see, the scale bar and the legend."""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pdfplumber
import pytest
import shapely

from tests.printing.helpers import hex_to_rgb, legend_swatches, plain
from tilepress.config.model import HighlightGroup, MapSpec, PageSpec, PrintOptions
from tilepress.printing.sheet import build_print_sheet
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.table import CountryTable
from tilepress.sources.unclaimed import UNCLAIMED_COLOR


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
    assert not [w for w in built.report.warnings if "locator inset" in w]


def test_an_inset_that_cannot_be_projected_is_left_out_with_a_warning(
    spec: MapSpec, table: CountryTable, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Tuvalu as ten specks strung along the equator over 40 degrees of longitude: too small to
    see on the world map, so it gets an inset, whose extent (fitted to the specks, 88 by 4
    degrees) projects to an outline over twelve times wider than tall: degenerate."""
    row = table.codes.index("TUV")
    specks = [shapely.box(lon, -0.01, lon + 0.02, 0.01) for lon in np.arange(140.0, 180.0, 4.0)]
    geometries = table.geometries.copy()
    geometries[row] = shapely.MultiPolygon(specks)
    strung = dataclasses.replace(table, geometries=geometries)
    variant = dataclasses.replace(spec, highlight=(HighlightGroup("Tuvalu", "#7b2cbf", ("TUV",)),))
    with caplog.at_level(logging.WARNING, logger="tilepress"):
        report = build_print_sheet(
            variant, strung, resolve_highlights(variant, strung), tmp_path / "strung.pdf"
        )
    assert report.insets == []
    left_out = [w for w in report.warnings if "locator inset" in w]
    assert len(left_out) == 1, report.warnings
    message = left_out[0]
    assert message.startswith(
        f"map {spec.id!r}: the locator inset of Tuvalu cannot be projected (the extent ["
    )
    assert "degenerate outline" in message and message.endswith("); left out")
    logged = [r.getMessage() for r in caplog.records if r.name == "tilepress"]
    assert message in logged
    with pdfplumber.open(tmp_path / "strung.pdf") as pdf:
        text = plain(pdf.pages[0].dedupe_chars().extract_text())
    assert "(enlarged)" not in text and "TUVALU" in text  # no inset, but still labelled


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


def test_portrait_world_map_keeps_the_legend_below_the_frame(
    spec: MapSpec, build: Any, table: CountryTable
) -> None:
    built = build(dataclasses.replace(spec, page=PageSpec("A3", "portrait")))
    x0, y0, _x1, _y1 = built.report.frame
    with pdfplumber.open(built.pdf) as pdf:
        page = pdf.pages[0]
        swatches = legend_swatches(page)
    colours = {tuple(round(c * 255) for c in r["non_stroking_color"]) for r in swatches}
    wanted = {hex_to_rgb(g.color) for g in spec.highlight}
    if getattr(table, "unclaimed", 0):  # land no country holds is in view on a world map
        wanted.add(hex_to_rgb(UNCLAIMED_COLOR))
    assert colours == wanted
    for swatch in swatches:
        assert swatch["y1"] < y0  # PDF coordinates: under the frame
        assert swatch["x0"] == pytest.approx(x0, abs=0.5)
