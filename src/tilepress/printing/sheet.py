"""The print sheet: a one-page PDF handout with the map, title, caption, legend, labels, scale,
locator insets and credit, its CMYK print variant (crop marks, bleed), the SVG of the map alone
and a PNG preview of the screen PDF, all from the same geometry, projected and generalized
once: :func:`build_print_outputs` writes any of them (:class:`PrintTargets`) from one
:func:`plan_print_sheet` per colour mode and reports what each PDF drew in a
:class:`PrintReport`; :func:`build_print_sheet` writes one PDF (and the SVG).

The drawing modules are imported here, not when first needed: ``tilepress step print``
imports this module (and so reportlab) while the source is read in another thread.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tilepress.config.model import MapSpec
from tilepress.errors import PrintError
from tilepress.files import atomic_path
from tilepress.geometry.projection import Extent, transformer
from tilepress.printing.color import Mode, adjacent_group_conflicts
from tilepress.printing.contents import SheetContents
from tilepress.printing.credit import credit_line
from tilepress.printing.flate import plain_flate_streams
from tilepress.printing.frame import Box, ProjectedFrame
from tilepress.printing.geometry import map_geometry
from tilepress.printing.overlays import overlay_shapes
from tilepress.printing.page import DrawnPage, draw_page
from tilepress.printing.patterns import area_styles
from tilepress.printing.plan import SheetPlan, plan_print_sheet
from tilepress.printing.preview import preview_png, render_preview
from tilepress.printing.svg import map_svg
from tilepress.printing.targets import PrintTargets
from tilepress.sources.highlights import Highlighting, fill_colors, highlighted_rows
from tilepress.sources.overlays import OverlayArea
from tilepress.sources.table import CountryTable

__all__ = [
    "PrintReport",
    "PrintTargets",
    "SheetPlan",
    "build_print_outputs",
    "build_print_sheet",
    "credit_line",
    "plan_print_sheet",
    "render_preview",
]

logger = logging.getLogger("tilepress")


@dataclass
class PrintReport:
    """What one PDF of :func:`build_print_outputs` drew, for logs and checks (boxes in PDF page
    points)."""

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
    svg: Path | None = None  # the SVG drawn with this PDF's geometry and markers
    warnings: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)  # labels of the markers drawn
    overlays: list[str] = field(default_factory=list)  # labels of the overlays in the frame
    png: Path | None = None  # the preview of this PDF's page

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
    if mode not in ("rgb", "cmyk"):
        raise PrintError(
            f"unknown colour mode {mode!r}; use 'rgb' or 'cmyk'", where=f"map {spec.id!r}"
        )
    if mode == "cmyk":
        targets = PrintTargets(print_pdf=Path(out_pdf), svg=svg)
    else:
        targets = PrintTargets(pdf=Path(out_pdf), svg=svg)
    plans = {} if plan is None else {mode: plan}
    (report,) = build_print_outputs(
        spec, table, highlighting, targets, plans=plans, overlays=overlays
    )
    return report


def build_print_outputs(
    spec: MapSpec,
    table: CountryTable,
    highlighting: Highlighting,
    targets: PrintTargets,
    *,
    plans: Mapping[Mode, SheetPlan] | None = None,
    overlays: Sequence[OverlayArea] = (),
) -> list[PrintReport]:
    """Write the print outputs of ``targets`` from one projected and generalized geometry,
    all or none of them (each atomically, renamed into place once every one is made); return
    a report per PDF, the screen PDF's first. ``plans`` holds the :func:`plan_print_sheet` of
    each colour mode made already (the others are made here); ``overlays`` are the map's
    overlay areas (:func:`tilepress.sources.overlays.read_overlays`)."""
    started = time.perf_counter()
    modes = targets.modes
    if not modes:
        raise ValueError("no PDF to write: a print sheet needs the screen or the print PDF")
    if targets.png is not None and targets.pdf is None:
        raise ValueError("the PNG is the screen PDF's preview: write the screen PDF too")
    plans = _plans(spec, table, highlighting, modes, plans or {})
    first = plans[modes[0]]
    warnings = adjacent_group_conflicts(spec, table, highlighting)
    sheet = _contents(spec, table, highlighting, first, overlays, warnings)
    files: dict[Path, bytes] = {}
    drawn: dict[Mode, tuple[DrawnPage, list[str], int]] = {}
    png: Future[bytes] | None = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        for mode in modes:
            page_sheet = dataclasses.replace(sheet, layout=plans[mode].layout)
            buffer, page_warnings = io.BytesIO(), list(warnings)
            with plain_flate_streams():
                page = draw_page(buffer, page_sheet, mode, page_warnings)
            data = buffer.getvalue()
            drawn[mode] = (page, page_warnings, len(data))
            files[targets.pdf_of(mode)] = data
            if mode == "rgb" and targets.png is not None:
                # pdfium and zlib release the GIL: the PNG is made while the rest is drawn
                png = pool.submit(preview_png, data, dpi=targets.dpi, where=str(targets.pdf))
            if targets.svg is not None and mode == modes[0]:
                files[targets.svg] = map_svg(page_sheet, page.marks)
        if png is not None and targets.png is not None:
            files[targets.png] = png.result()
    _write_all(files)

    seconds = time.perf_counter() - started + sum(plans[mode].seconds for mode in modes)
    logged: list[str] = []
    for mode in modes:
        logged += [message for message in drawn[mode][1] if message not in logged]
    for message in logged:
        logger.warning(message)
    return [
        _report(plans[mode], sheet, *drawn[mode], targets, mode, seconds, mode == modes[0])
        for mode in modes
    ]


def _plans(
    spec: MapSpec,
    table: CountryTable,
    highlighting: Highlighting,
    modes: Sequence[Mode],
    given: Mapping[Mode, SheetPlan],
) -> dict[Mode, SheetPlan]:
    """Each mode's plan, given or made here; they differ only in their texts' colours, so one
    geometry serves them all (checked)."""
    plans: dict[Mode, SheetPlan] = {}
    for mode in modes:
        plan = given.get(mode)
        if plan is None:
            highlighted = table.geometries[list(highlighted_rows(highlighting))]
            plan = plan_print_sheet(spec, highlighted, mode=mode)
        elif plan.spec != spec or plan.mode != mode:
            raise ValueError("the plan is another map's or mode's")
        plans[mode] = plan
    first = plans[modes[0]]
    for plan in plans.values():
        if (plan.proj.crs, plan.frame.page, plan.frame.projected, plan.layout.area) != (
            first.proj.crs, first.frame.page, first.frame.projected, first.layout.area,
        ):  # fmt: skip
            raise ValueError("the plans of the colour modes place the map differently")
    return plans


def _contents(
    spec: MapSpec,
    table: CountryTable,
    highlighting: Highlighting,
    plan: SheetPlan,
    overlays: Sequence[OverlayArea],
    warnings: list[str],
) -> SheetContents:
    """The countries projected, clipped and generalized to the plan's frame, their colours
    and patterns and the overlays: what every output is drawn from."""
    proj, frame = plan.proj, plan.frame
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
    return SheetContents(
        spec, table, highlighting, proj, frame, geometry, plan.globe, plan.globe_rings,
        plan.graticule, plan.fonts, plan.layout, colors, patterns, shapes,
    )  # fmt: skip


def _write_all(files: Mapping[Path, bytes]) -> None:
    """Write every file to a temporary beside it, then rename them all into place: a failure
    before the renames leaves every old output as it was."""
    with ExitStack() as stack:
        for target, data in files.items():
            stack.enter_context(atomic_path(Path(target))).write_bytes(data)


def _report(
    plan: SheetPlan,
    sheet: SheetContents,
    drawn: DrawnPage,
    warnings: list[str],
    file_size: int,
    targets: PrintTargets,
    mode: Mode,
    seconds: float,
    first: bool,
) -> PrintReport:
    geometry, offset = sheet.geometry, drawn.offset
    return PrintReport(
        map_id=sheet.spec.id,
        pdf=targets.pdf_of(mode),
        projection=sheet.proj.crs,
        projection_name=plan.name_of_projection,
        extent=plan.extent,
        page_size=drawn.media,
        trim_box=drawn.trim,
        bleed_box=drawn.bleed,
        frame=_shift(sheet.frame.page, offset),
        frame_projected=sheet.frame.projected,
        tolerance_m=geometry.tolerance_m,
        polygons=len(geometry.rings.polygon_geometry),
        vertices=len(geometry.rings.xy),
        specks=geometry.specks,
        labels=drawn.labels,
        insets=drawn.insets,
        scale=drawn.scale,
        file_size=file_size,
        seconds=seconds,
        mode=mode,
        svg=targets.svg if first else None,
        warnings=warnings,
        markers=[mark.position.marker.label for mark in drawn.marks],
        overlays=[shape.spec.label for shape in sheet.overlays],
        png=targets.png if mode == "rgb" else None,
    )


def _shift(box: Box, offset: float) -> Box:
    return (box[0] + offset, box[1] + offset, box[2] + offset, box[3] + offset)
