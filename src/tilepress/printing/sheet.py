"""The print sheet: a one-page PDF handout with the map, title, caption, legend, labels, scale,
locator insets and credit, or its CMYK print variant (crop marks, bleed), and the SVG of the
map alone, all from the same geometry; :func:`build_print_sheet` builds them from a
:func:`plan_print_sheet` and reports what it drew in a :class:`PrintReport`.

The drawing modules are imported here, not when first needed: ``tilepress step print``
imports this module (and so reportlab) while the source is read in another thread.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tilepress.config.model import MapSpec
from tilepress.files import write_bytes_atomic
from tilepress.geometry.projection import Extent, transformer
from tilepress.printing.color import adjacent_group_conflicts
from tilepress.printing.contents import SheetContents
from tilepress.printing.credit import credit_line
from tilepress.printing.flate import plain_flate_streams
from tilepress.printing.frame import Box, ProjectedFrame
from tilepress.printing.geometry import map_geometry
from tilepress.printing.overlays import overlay_shapes
from tilepress.printing.page import draw_page
from tilepress.printing.patterns import area_styles
from tilepress.printing.plan import SheetPlan, plan_print_sheet
from tilepress.printing.preview import render_preview
from tilepress.printing.svg import map_svg
from tilepress.sources.highlights import Highlighting, fill_colors, highlighted_rows
from tilepress.sources.overlays import OverlayArea
from tilepress.sources.table import CountryTable

__all__ = [
    "PrintReport",
    "SheetPlan",
    "build_print_sheet",
    "credit_line",
    "plan_print_sheet",
    "render_preview",
]

logger = logging.getLogger("tilepress")


@dataclass
class PrintReport:
    """What :func:`build_print_sheet` drew, for logs and checks (boxes in PDF page points)."""

    map_id: str
    pdf: Path
    projection: str
    projection_name: str
    extent: Extent
    page_size: tuple[float, float]  # the MediaBox: the trim size, plus bleed and marks
    trim_box: Box
    bleed_box: Box
    frame: Box  # the map frame on the page
    frame_projected: Box  # the same frame in projected metres
    tolerance_m: float
    polygons: int
    vertices: int
    specks: int  # polygons below the 0.1 pt output resolution, left out (highlighted: a dot)
    labels: int
    insets: list[str]  # names of the countries shown enlarged in a locator inset
    scale: int | None  # N of the 1:N scale note, None where no single scale holds
    file_size: int
    seconds: float
    mode: str
    svg: Path | None = None
    warnings: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)  # labels of the markers drawn
    overlays: list[str] = field(default_factory=list)  # labels of the overlays in the frame

    def page_point(self, lon: float, lat: float) -> tuple[float, float]:
        """Where a lon/lat point falls on the page (pt from the lower left corner)."""
        x, y = transformer("EPSG:4326", self.projection).transform(lon, lat)
        return ProjectedFrame(self.frame_projected, self.frame).to_page(float(x), float(y))


def build_print_sheet(
    spec: MapSpec,
    table: CountryTable,
    highlighting: Highlighting,
    out_pdf: Path,
    *,
    mode: Literal["rgb", "cmyk"] = "rgb",
    svg: Path | None = None,
    plan: SheetPlan | None = None,
    overlays: Sequence[OverlayArea] = (),
) -> PrintReport:
    """Lay out and write the map's print PDF (atomically), and the SVG of the map if asked;
    return what was drawn. ``mode="cmyk"`` writes the print variant: CMYK only, with the
    crop marks and bleed of ``spec.print_options``. ``plan`` is this spec and mode's
    :func:`plan_print_sheet`, if made already. ``overlays`` are the map's overlay areas
    (:func:`tilepress.sources.overlays.read_overlays`), drawn over the countries."""
    started = time.perf_counter()
    if plan is None:
        highlighted = table.geometries[list(highlighted_rows(highlighting))]
        plan = plan_print_sheet(spec, highlighted, mode=mode)
    elif plan.spec != spec or plan.mode != mode:
        raise ValueError("the plan is another map's or mode's")
    proj, frame = plan.proj, plan.frame
    warnings = adjacent_group_conflicts(spec, table, highlighting)
    geometry = map_geometry(table.geometries, proj, frame)
    if geometry.dropped_vertices:
        warnings.append(
            f"map {spec.id!r}: {geometry.dropped_vertices} vertices cannot be "
            f"projected with {proj.crs!r} and were left out"
        )
    colors, patterns = area_styles(
        spec, table, highlighting, fill_colors(spec, table, highlighting)
    )
    shapes = overlay_shapes(overlays, proj, frame)
    sheet = SheetContents(
        spec, table, highlighting, proj, frame, geometry, plan.globe, plan.globe_rings,
        plan.graticule, plan.fonts, plan.layout, colors, patterns, shapes,
    )  # fmt: skip

    buffer = io.BytesIO()
    with plain_flate_streams():
        drawn = draw_page(buffer, sheet, mode, warnings)
    data = buffer.getvalue()
    svg_path = None
    if svg is not None:
        svg_path = Path(svg)
        write_bytes_atomic(svg_path, map_svg(sheet, drawn.marks))
    out_pdf = Path(out_pdf)
    write_bytes_atomic(out_pdf, data)

    for message in warnings:
        logger.warning(message)
    offset = drawn.offset
    return PrintReport(
        map_id=spec.id,
        pdf=out_pdf,
        projection=proj.crs,
        projection_name=plan.name_of_projection,
        extent=plan.extent,
        page_size=drawn.media,
        trim_box=drawn.trim,
        bleed_box=drawn.bleed,
        frame=_shift(frame.page, offset),
        frame_projected=frame.projected,
        tolerance_m=geometry.tolerance_m,
        polygons=len(geometry.rings.polygon_geometry),
        vertices=len(geometry.rings.xy),
        specks=geometry.specks,
        labels=drawn.labels,
        insets=drawn.insets,
        scale=drawn.scale,
        file_size=len(data),
        seconds=time.perf_counter() - started + plan.seconds,
        mode=mode,
        svg=svg_path,
        warnings=warnings,
        markers=[mark.position.marker.label for mark in drawn.marks],
        overlays=[shape.spec.label for shape in shapes],
    )


def _shift(box: Box, offset: float) -> Box:
    return (box[0] + offset, box[1] + offset, box[2] + offset, box[3] + offset)
