"""Projections and the frame: a Pacific-centred world, a regional Lambert map, the graticule, and
projections or extents that cannot be drawn."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pdfplumber
import pytest
import shapely
from PIL import Image

from tests.printing.helpers import close, hex_to_rgb, plain, subpaths, tool
from tilepress.config.model import MapSpec, PrintOptions
from tilepress.errors import ProjectionError
from tilepress.printing.sheet import build_print_sheet, render_preview
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.table import CountryTable


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
        [tool("pdftoppm"), "-r", "144", "-png", "-singlefile", str(built.pdf), str(tmp_path / "g")],
        check=True,
    )
    image = Image.open(tmp_path / "g.png").convert("RGB")
    height = image.size[1]
    px, py = built.report.page_point(-140.0, 0.0)
    column = [image.getpixel((int(px * 2), int((height / 2 - py) * 2) + d)) for d in range(-3, 4)]
    assert any(not close(p, spec.ocean_color, 6) for p in column)
    assert close(column[0], spec.ocean_color) and close(column[-1], spec.ocean_color)
    assert built.report.file_size < build(spec).report.file_size * 1.1


def test_unbuildable_projection_names_the_map(
    spec: MapSpec, table: CountryTable, tmp_path: Path
) -> None:
    variant = dataclasses.replace(spec, projection="+proj=nonsense +lon_0=0")
    with pytest.raises(ProjectionError) as caught:
        build_print_sheet(variant, table, resolve_highlights(variant, table), tmp_path / "p.pdf")
    message = str(caught.value)
    assert spec.id in message and "projection" in message and "nonsense" in message
    assert not (tmp_path / "p.pdf").exists()


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
