"""The print sheet: a one-page PDF handout with the map, title, caption, legend, labels, scale,
locator insets and credit; its CMYK print variant (crop marks, bleed); an SVG of the map alone
and a PNG preview of the sheet, all from the same geometry.

The modules behind it: :mod:`tilepress.printing.geometry` (projection pipeline and path text),
:mod:`tilepress.printing.layout` (page layout), :mod:`tilepress.printing.labels` (labels and keys),
:mod:`tilepress.printing.fonts` and :mod:`tilepress.printing.color`.
"""

from __future__ import annotations

import html
import io
import logging
import math
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely
from numpy.typing import NDArray
from reportlab import rl_config
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from tilepress import __version__
from tilepress.config.model import BUILTIN_SOURCE, MapSpec
from tilepress.errors import PrintError, ProjectionError
from tilepress.files import write_bytes_atomic
from tilepress.geometry.parallel import helper_thread
from tilepress.geometry.projection import (
    Extent,
    PrintProjection,
    choose_print_projection,
    fit_extent,
    projection_name,
    resolve_extent,
    transformer,
)
from tilepress.geometry.rings import Rings
from tilepress.geometry.shared import thin_shared
from tilepress.printing.color import (
    FRAME_GREY,
    INK,
    REGISTRATION,
    Mode,
    adjacent_group_conflicts,
    colour_blind_difference,
    pdf_color,
)
from tilepress.printing.fonts import Fonts, check_glyphs, sheet_fonts
from tilepress.printing.geometry import (
    Box,
    FloatArray,
    MapGeometry,
    ProjectedFrame,
    clip_outside,
    compute_frame,
    graticule_lines,
    graticule_step,
    map_geometry,
    page_rings,
    path_operators,
    ring_moves,
    shared_borders,
    svg_path_data,
)
from tilepress.printing.labels import (
    BORDER_WIDTH,
    MARKER_RADIUS,
    MIN_LINE_WIDTH,
    Drawing,
    draw_legend,
    draw_markers,
    draw_scale_bar,
    legend_size,
    place_labels,
    tiny_highlighted,
)
from tilepress.printing.layout import SheetLayout, emptiest_corner, layout_page
from tilepress.sources.highlights import Highlighting, fill_colors, highlighted_rows
from tilepress.sources.table import CountryTable

__all__ = [
    "PrintReport",
    "Rings",
    "SheetPlan",
    "build_print_sheet",
    "colour_blind_difference",
    "credit_line",
    "plan_print_sheet",
    "render_preview",
    "thin_shared",
]

logger = logging.getLogger("tilepress")

NATURAL_EARTH_CREDIT = (
    "Boundaries: Natural Earth 1:10m admin-0 v5.1.1 (public domain). Made with Natural Earth."
)
FRAME_WIDTH = 0.5
GRATICULE_WIDTH = 0.25
MM = 72.0 / 25.4
CROP_MARK_LENGTH = 5 * MM
CROP_MARK_GAP = 2 * MM  # between the bleed box and the marks
MAX_INSETS = 2
LEGEND_GAP = 10.0  # pt on A4 between the frame and a legend below it
INSET_WIDTH = 0.17  # of the frame's width
FLATE_LEVEL = 5  # zlib level of the PDF's streams
PARALLEL_FLATE_MIN = 256 * 1024  # bytes of a stream deflated in two halves at once


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

    def page_point(self, lon: float, lat: float) -> tuple[float, float]:
        """Where a lon/lat point falls on the page (pt from the lower left corner)."""
        x, y = transformer("EPSG:4326", self.projection).transform(lon, lat)
        return ProjectedFrame(self.frame_projected, self.frame).to_page(float(x), float(y))


# ---------------------------------------------------------------------------------------------
# Credit


def credit_line(spec: MapSpec, name_of_projection: str) -> str:
    """The TASL credit (title, author, source, licence) as plain text."""
    if spec.source.name == BUILTIN_SOURCE:
        boundaries = NATURAL_EARTH_CREDIT
    else:
        origin = spec.source.url or Path(spec.source.local_path).name
        boundaries = f"Boundaries: {spec.source.name} ({origin})."
        if "naturalearth" in origin.lower().replace("_", "").replace(" ", ""):
            boundaries += " Made with Natural Earth."
    licence = f"{spec.license_name} ({spec.license_url})" if spec.license_url else spec.license_name
    text = (
        f"\u201c{spec.title}\u201d by {spec.author}, licensed under {licence}. {boundaries} "
        f"{name_of_projection}."
    )
    if spec.date:
        text += f" {spec.date}"
    return text


def _credit_markup(plain: str, url: str, fonts: Fonts) -> str:
    """Paragraph markup of the credit, the licence URL as a link."""
    if not url or url not in plain:
        return fonts.markup(plain, fonts.regular)
    before, after = plain.split(url, 1)
    link = f'<a href="{html.escape(url)}">{html.escape(url, quote=False)}</a>'
    return fonts.markup(before, fonts.regular) + link + fonts.markup(after, fonts.regular)


# ---------------------------------------------------------------------------------------------
# Building


@dataclass
class _Sheet:
    """Everything computed before drawing: the same for the PDF and the SVG."""

    spec: MapSpec
    table: CountryTable
    highlighting: Highlighting
    proj: PrintProjection
    frame: ProjectedFrame
    geometry: MapGeometry
    globe: shapely.Geometry | None  # the world's outline on the page (world maps)
    globe_rings: Rings | None
    graticule: tuple[FloatArray, NDArray[np.bool_]] | None
    fonts: Fonts
    layout: SheetLayout
    colors: list[str]


@dataclass
class SheetPlan:
    """What the sheet needs before the countries are drawn: fonts, projection, page layout,
    map frame, globe outline and graticule. It depends on the countries only through an
    ``auto`` extent, so a step can plan while the source is still being read."""

    spec: MapSpec
    mode: Literal["rgb", "cmyk"]
    fonts: Fonts
    extent: Extent
    proj: PrintProjection
    name_of_projection: str
    layout: SheetLayout
    frame: ProjectedFrame
    globe: shapely.Geometry | None
    globe_rings: Rings | None
    graticule: tuple[FloatArray, NDArray[np.bool_]] | None
    seconds: float


def plan_print_sheet(
    spec: MapSpec,
    highlighted: NDArray[np.object_] | None = None,
    *,
    mode: Literal["rgb", "cmyk"] = "rgb",
) -> SheetPlan:
    """Fonts, projection, layout and frame of a sheet; ``highlighted`` (the highlighted
    countries' geometries) is needed only when the extent is ``auto``."""
    started = time.perf_counter()
    if mode not in ("rgb", "cmyk"):
        raise PrintError(
            f"unknown colour mode {mode!r}; use 'rgb' or 'cmyk'", where=f"map {spec.id!r}"
        )
    if spec.extent == "auto" and highlighted is None:
        raise ValueError("an `auto` extent is fitted to the highlighted countries: pass them")
    fonts = sheet_fonts(spec)
    check_glyphs(spec, fonts)
    try:
        extent = resolve_extent(
            spec.extent, np.empty(0, dtype=object) if highlighted is None else highlighted
        )
        proj = choose_print_projection(spec.projection, extent)
        name_of_projection = projection_name(proj)
    except ProjectionError as error:
        raise ProjectionError(
            error.message,
            where=f"map {spec.id!r}: projection",
            hint=error.hint or "give an EPSG code or a PROJ string of a projected CRS, or `auto`",
        ) from None
    credit = credit_line(spec, name_of_projection)
    layout = layout_page(spec, fonts, _credit_markup(credit, spec.license_url, fonts), mode)
    try:
        frame, outline = compute_frame(proj, layout.area)
        shift = _centre_vertically(spec, fonts, layout, frame)
        if shift:
            frame, outline = compute_frame(proj, layout.area)
    except ProjectionError as error:
        raise ProjectionError(
            error.message, where=f"map {spec.id!r}: extent", hint=error.hint
        ) from None
    globe = globe_rings = None
    if proj.is_world:
        on_page = shapely.transform(np.array([outline], dtype=object), frame.transform)
        clipped = clip_outside(on_page, frame.page)
        globe, globe_rings = clipped[0], page_rings(clipped, frame.page)
    graticule = None
    if spec.print_options.graticule:
        step = graticule_step(proj, spec.print_options.graticule_step)
        graticule = graticule_lines(proj, frame, step, globe)
    return SheetPlan(
        spec, mode, fonts, extent, proj, name_of_projection, layout, frame, globe, globe_rings,
        graticule, time.perf_counter() - started,
    )  # fmt: skip


def build_print_sheet(
    spec: MapSpec,
    table: CountryTable,
    highlighting: Highlighting,
    out_pdf: Path,
    *,
    mode: Literal["rgb", "cmyk"] = "rgb",
    svg: Path | None = None,
    plan: SheetPlan | None = None,
) -> PrintReport:
    """Lay out and write the map's print PDF (atomically), and the SVG of the map if asked;
    return what was drawn. ``mode="cmyk"`` writes the print variant: CMYK only, with the
    crop marks and bleed of ``spec.print_options``. ``plan`` is this spec and mode's
    :func:`plan_print_sheet`, if made already."""
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
    sheet = _Sheet(
        spec, table, highlighting, proj, frame, geometry, plan.globe, plan.globe_rings,
        plan.graticule, plan.fonts, plan.layout, fill_colors(spec, table, highlighting),
    )  # fmt: skip

    buffer = io.BytesIO()
    with _plain_flate_streams():
        drawn = _draw_sheet(buffer, sheet, mode, warnings)
    data = buffer.getvalue()
    svg_path = None
    if svg is not None:
        svg_path = Path(svg)
        write_bytes_atomic(svg_path, map_svg(sheet))
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
    )


def _centre_vertically(
    spec: MapSpec, fonts: Fonts, layout: SheetLayout, frame: ProjectedFrame
) -> float:
    """Where the map frame is lower than its area (a world map on a portrait page), move the
    title, caption and map down and the credit up by half the spare height, so the whole
    stack sits centred on the page; returns the shift (the layout is changed in place)."""
    below = 0.0
    if spec.highlight:
        _w, h = legend_size(spec, fonts, layout.unit)
        if frame.page[1] - LEGEND_GAP * layout.unit - h >= layout.area[1]:
            below = LEGEND_GAP * layout.unit + h
    spare = frame.page[1] - below - layout.area[1]
    if spare < 1.0:
        return 0.0
    shift = spare / 2
    for block in layout.blocks:
        block.y -= shift
    layout.credit.y += shift
    x0, y0, x1, y1 = layout.area
    layout.area = (x0, y0 + shift, x1, y1 - shift)
    return shift


def _shift(box: Box, offset: float) -> Box:
    return (box[0] + offset, box[1] + offset, box[2] + offset, box[3] + offset)


@contextmanager
def _plain_flate_streams() -> Iterator[None]:
    """Flate-only streams: reportlab's default ASCII85 layer is 25% bigger and slow in Python;
    and Flate at level 5, not zlib's default 6, which on the map's path text takes two and a
    half times as long for 0.7% fewer bytes."""
    previous, previous_filter = rl_config.useA85, pdfdoc.PDFZCompress
    rl_config.useA85 = 0
    pdfdoc.PDFZCompress = _Flate()  # read when the document is written (streams, fonts)
    try:
        yield
    finally:
        rl_config.useA85, pdfdoc.PDFZCompress = previous, previous_filter


class _Flate:
    """reportlab's Flate stream filter with a chosen zlib level; a large stream (the page's
    paths) is deflated in two halves at once, the way pigz does: the first half ends on a
    byte boundary (a sync flush), the second starts from the first's last 32 kB as its
    dictionary, so the halves join into one zlib stream only ~50 bytes longer."""

    pdfname = "FlateDecode"
    level = FLATE_LEVEL

    def encode(self, text: str | bytes) -> bytes:
        data = text.encode("utf8") if isinstance(text, str) else text
        if len(data) < PARALLEL_FLATE_MIN:
            return zlib.compress(data, self.level)
        half = len(data) // 2
        view = memoryview(data)
        window = bytes(view[half - 32768 : half])
        second = helper_thread().submit(_deflate, view[half:], self.level, window, True)
        first = _deflate(view[:half], self.level, b"", False)
        header = zlib.compress(b"", self.level)[:2]
        return header + first + second.result() + zlib.adler32(data).to_bytes(4, "big")

    def decode(self, encoded: bytes) -> bytes:
        return zlib.decompress(encoded)


def _deflate(data: memoryview, level: int, dictionary: bytes, last: bool) -> bytes:
    """Raw deflate of ``data``, after ``dictionary``; the last piece ends the stream."""
    if dictionary:
        deflater = zlib.compressobj(
            level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, dictionary
        )
    else:
        deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
    return deflater.compress(data) + deflater.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


# ---------------------------------------------------------------------------------------------
# Drawing the PDF


@dataclass
class _Drawn:
    media: tuple[float, float]
    trim: Box
    bleed: Box
    offset: float  # of the trim box's corner from the media box's
    labels: int
    insets: list[str]
    scale: int | None


def _draw_sheet(buffer: io.BytesIO, sheet: _Sheet, mode: Mode, warnings: list[str]) -> _Drawn:
    """Draw the page into ``buffer``."""
    spec, layout = sheet.spec, sheet.layout
    width, height = layout.page
    bleed = spec.print_options.bleed_mm * MM if mode == "cmyk" else 0.0
    marks = mode == "cmyk" and spec.print_options.crop_marks
    offset = bleed + (CROP_MARK_GAP + CROP_MARK_LENGTH + 2 * MM if marks else 0.0)
    media = (width + 2 * offset, height + 2 * offset)
    trim: Box = (offset, offset, offset + width, offset + height)
    bleed_box: Box = (
        offset - bleed,
        offset - bleed,
        offset + width + bleed,
        offset + height + bleed,
    )
    canvas = Canvas(
        buffer,
        pagesize=media,
        pageCompression=1,
        invariant=1,
        initialFontName=sheet.fonts.regular,
        initialFontSize=10,
        enforceColorSpace="cmyk" if mode == "cmyk" else None,
    )
    if offset:
        canvas.setTrimBox(list(trim))
        canvas.setBleedBox(list(bleed_box))
    canvas.setTitle(spec.title)
    canvas.setAuthor(spec.author)
    canvas.setSubject(spec.caption or spec.title)
    canvas.setKeywords(", ".join([g.label for g in spec.highlight] + ["map"]))
    canvas.setCreator(f"tilepress {__version__}")
    if marks:
        _crop_marks(canvas, trim, bleed)
    canvas.translate(offset, offset)

    frame = sheet.frame
    fx0, fy0, fx1, fy1 = frame.page
    drawing = Drawing(
        canvas, spec, sheet.table, sheet.highlighting, sheet.proj, frame, sheet.geometry,
        layout.unit, mode, sheet.fonts, warnings=warnings,
    )  # fmt: skip
    outside_legend = _legend_below(sheet)
    canvas.saveState()
    clip = canvas.beginPath()
    clip.rect(fx0, fy0, fx1 - fx0, fy1 - fy0)
    canvas.clipPath(clip, stroke=0, fill=0)
    _draw_map(canvas, sheet, mode)
    draw_markers(drawing)
    insets = _draw_insets(drawing, sheet) if spec.print_options.locator else []
    if spec.highlight and outside_legend is None:
        draw_legend(drawing)
    scale = draw_scale_bar(drawing)
    labels = place_labels(drawing)
    canvas.restoreState()
    if spec.highlight and outside_legend is not None:
        draw_legend(drawing, outside_legend)

    canvas.setStrokeColor(pdf_color(FRAME_GREY, mode))
    canvas.setLineWidth(FRAME_WIDTH)
    canvas.rect(fx0, fy0, fx1 - fx0, fy1 - fy0, stroke=1, fill=0)
    for block in layout.blocks:
        block.paragraph.drawOn(canvas, block.x, block.y)
    layout.credit.paragraph.drawOn(canvas, layout.credit.x, layout.credit.y)
    canvas.showPage()
    canvas.save()
    return _Drawn(media, trim, bleed_box, offset, labels, insets, scale)


def _legend_below(sheet: _Sheet) -> Box | None:
    """A place for the legend under the frame, where the page leaves room (a world map on a
    portrait page); None puts it in a corner of the map."""
    if not sheet.spec.highlight:
        return None
    unit = sheet.layout.unit
    w, h = legend_size(sheet.spec, sheet.fonts, unit)
    gap = LEGEND_GAP * unit
    fx0, fy0, _fx1, _fy1 = sheet.frame.page
    if fy0 - gap - h < sheet.layout.area[1] - 0.5:
        return None
    return (fx0, fy0 - gap - h, fx0 + w, fy0 - gap)


def _crop_marks(canvas: Any, trim: Box, bleed: float) -> None:
    """Corner crop marks in registration colour, outside the bleed."""
    x0, y0, x1, y1 = trim
    near, far = bleed + CROP_MARK_GAP, bleed + CROP_MARK_GAP + CROP_MARK_LENGTH
    canvas.saveState()
    canvas.setStrokeColor(REGISTRATION)
    canvas.setLineWidth(MIN_LINE_WIDTH)
    path = canvas.beginPath()
    for x, y, sx, sy in ((x0, y0, -1, -1), (x1, y0, 1, -1), (x0, y1, -1, 1), (x1, y1, 1, 1)):
        path.moveTo(x + sx * near, y)
        path.lineTo(x + sx * far, y)
        path.moveTo(x, y + sy * near)
        path.lineTo(x, y + sy * far)
    canvas.drawPath(path, stroke=1, fill=0)
    canvas.restoreState()


def _fill(canvas: Any, text: bytes, color: Any) -> None:
    canvas.setFillColor(color)
    canvas.addLiteral(text.decode("ascii") + "f")


def _draw_map(canvas: Any, sheet: _Sheet, mode: Mode) -> None:
    """Ocean, graticule, one filled path per country, then the shared borders in one path."""
    spec, geometry = sheet.spec, sheet.geometry
    ocean = pdf_color(spec.ocean_color, mode)
    if sheet.globe_rings is not None:
        _fill(canvas, path_operators(sheet.globe_rings.xy, ring_moves(sheet.globe_rings))[0], ocean)
    else:
        fx0, fy0, fx1, fy1 = sheet.frame.page
        canvas.setFillColor(ocean)
        canvas.rect(fx0, fy0, fx1 - fx0, fy1 - fy0, stroke=0, fill=1)
    if sheet.graticule is not None and len(sheet.graticule[0]):
        text, _ends = path_operators(*sheet.graticule)
        canvas.saveState()
        canvas.setStrokeColor(pdf_color(_graticule_color(spec.ocean_color), mode))
        canvas.setLineWidth(GRATICULE_WIDTH)
        canvas.addLiteral(text.decode("ascii") + "S")
        canvas.restoreState()

    rings = geometry.rings
    text_bytes, line_ends = path_operators(rings.xy, ring_moves(rings))
    byte_ends = np.concatenate([[0], line_ends])
    vertex_ranges = rings.vertex_ranges()
    color_objects = {c: pdf_color(c, mode) for c in sorted(set(sheet.colors))}
    for row in range(rings.count):
        first, last = vertex_ranges[row], vertex_ranges[row + 1]
        if last > first:
            chunk = text_bytes[byte_ends[first] : byte_ends[last]]
            _fill(canvas, chunk, color_objects[sheet.colors[row]])

    border_xy, border_moves = shared_borders(rings)
    if len(border_xy):
        border_text, _ends = path_operators(border_xy, border_moves)
        canvas.setStrokeColor(pdf_color(spec.border_color, mode))
        canvas.setLineWidth(max(BORDER_WIDTH, MIN_LINE_WIDTH))
        canvas.setLineJoin(1)
        canvas.setLineCap(1)
        canvas.addLiteral(border_text.decode("ascii") + "S")


def _graticule_color(ocean: str) -> str:
    """A line colour a little darker than the ocean."""
    r, g, b = (int(ocean[i : i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(round(v * 0.86) for v in (r, g, b)))


# ---------------------------------------------------------------------------------------------
# Locator insets


def _draw_insets(drawing: Drawing, sheet: _Sheet) -> list[str]:
    """An enlarged inset, in a free corner, for each highlighted country too small to see."""
    spec, canvas, unit = drawing.spec, drawing.canvas, drawing.unit
    frame = drawing.frame.page
    names: list[str] = []
    for row in tiny_highlighted(drawing)[:MAX_INSETS]:
        name = sheet.table.names[row]
        w = max(INSET_WIDTH * (frame[2] - frame[0]), 90 * unit)
        h = 0.8 * w
        marker = drawing.markers.get(row)
        avoid = [(marker[0], marker[1])] if marker else []
        box = emptiest_corner(
            frame, w, h, 8 * unit, drawing.geometry, drawing.highlighted, drawing.placed, avoid
        )
        if box is None:
            drawing.warnings.append(
                f"map {spec.id!r}: no free corner for the locator inset of {name}; left out"
            )
            continue
        try:
            extent = fit_extent(sheet.table.geometries[[row]], margin=0.6)
            proj = choose_print_projection("auto", extent)
            inset_frame, _outline = compute_frame(proj, box)
        except ProjectionError:
            continue
        geometry = map_geometry(sheet.table.geometries, proj, inset_frame)
        inset_sheet = _Sheet(
            spec, sheet.table, sheet.highlighting, proj, inset_frame, geometry, None, None,
            None, sheet.fonts, sheet.layout, sheet.colors,
        )  # fmt: skip
        x0, y0, x1, y1 = box
        canvas.saveState()
        clip = canvas.beginPath()
        clip.rect(x0, y0, x1 - x0, y1 - y0)
        canvas.clipPath(clip, stroke=0, fill=0)
        _draw_map(canvas, inset_sheet, drawing.mode)
        _dots_on_specks(canvas, inset_sheet, row, MARKER_RADIUS * unit * 0.8, drawing.mode)
        size = 6.5 * unit
        text = canvas.beginText()
        text.setFillColor(drawing.color(INK))
        text.setTextOrigin(x0 + 4 * unit, y1 - 4 * unit - 0.74 * size)
        drawing.fonts.draw(text, f"{name} (enlarged)", drawing.fonts.bold, size)
        canvas.drawText(text)
        canvas.restoreState()
        canvas.setStrokeColor(drawing.color(FRAME_GREY))
        canvas.setLineWidth(FRAME_WIDTH)
        canvas.rect(x0, y0, x1 - x0, y1 - y0, stroke=1, fill=0)
        drawing.placed.boxes.append(box)
        names.append(name)
    return names


def _dots_on_specks(canvas: Any, sheet: _Sheet, row: int, radius: float, mode: Mode) -> None:
    """A dot in the group colour on each part of ``row`` smaller than the dot (atolls)."""
    parts = shapely.get_parts(sheet.geometry.page[row])
    small = parts[shapely.area(parts) < math.pi * radius**2]
    if not len(small):
        return
    group = sheet.highlighting.group_of_row[row]
    canvas.setFillColor(pdf_color(sheet.spec.highlight[group].color, mode))
    canvas.setStrokeColor(pdf_color(sheet.spec.border_color, mode))
    canvas.setLineWidth(MIN_LINE_WIDTH)
    for point in shapely.point_on_surface(small):
        canvas.circle(point.x, point.y, radius, stroke=1, fill=1)


# ---------------------------------------------------------------------------------------------
# SVG of the map


def map_svg(sheet: _Sheet) -> bytes:
    """The map alone (ocean, graticule, countries, borders) as SVG, from the PDF's geometry:
    one path per country (``id`` its code, ``<title>`` its name), sizes in pt."""
    fx0, fy0, fx1, fy1 = sheet.frame.page
    x0, y0 = math.ceil(fx0 * 10), math.ceil(fy0 * 10)
    x1, y1 = math.floor(fx1 * 10), math.floor(fy1 * 10)
    width, height = (x1 - x0) / 10, (y1 - y0) / 10
    origin = np.array([x0, y0], dtype=np.float64)

    def data(
        xy: FloatArray, moves: NDArray[np.bool_], close: bool = False
    ) -> tuple[bytes, NDArray[np.int64]]:
        return svg_path_data(xy - origin, moves, y1 - y0, close)

    spec = sheet.spec
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}pt" height="{height:g}pt" '
        f'viewBox="0 0 {width:g} {height:g}">\n'
        f"<title>{html.escape(spec.title, quote=False)}</title>\n"
        f"<desc>{html.escape(credit_line(spec, projection_name(sheet.proj)), quote=False)}</desc>\n"
    ]
    if sheet.globe_rings is not None:
        globe, _ends = data(sheet.globe_rings.xy, ring_moves(sheet.globe_rings), close=True)
        parts.append(f'<path id="ocean" fill="{spec.ocean_color}" d="{globe.decode()}"/>\n')
    else:
        parts.append(
            f'<rect id="ocean" fill="{spec.ocean_color}" width="{width:g}" height="{height:g}"/>\n'
        )
    if sheet.graticule is not None and len(sheet.graticule[0]):
        lines, _ends = data(*sheet.graticule)
        parts.append(
            f'<path id="graticule" fill="none" stroke="{_graticule_color(spec.ocean_color)}" '
            f'stroke-width="{GRATICULE_WIDTH}" d="{lines.decode()}"/>\n'
        )
    rings = sheet.geometry.rings
    text, ends = data(rings.xy, ring_moves(rings), close=True)
    byte_ends = np.concatenate([[0], ends])
    vertex_ranges = rings.vertex_ranges()
    parts.append('<g id="countries" stroke="none">\n')
    codes, names = sheet.table.codes, sheet.table.names
    for row in range(rings.count):
        first, last = vertex_ranges[row], vertex_ranges[row + 1]
        if last > first:
            chunk = text[byte_ends[first] : byte_ends[last]].decode()
            parts.append(
                f'<path id="{html.escape(codes[row])}" fill="{sheet.colors[row]}" d="{chunk}">'
                f"<title>{html.escape(names[row], quote=False)}</title></path>\n"
            )
    parts.append("</g>\n")
    border_xy, border_moves = shared_borders(rings)
    if len(border_xy):
        borders, _ends = data(border_xy, border_moves)
        parts.append(
            f'<path id="borders" fill="none" stroke="{spec.border_color}" '
            f'stroke-width="{max(BORDER_WIDTH, MIN_LINE_WIDTH)}" stroke-linejoin="round" '
            f'stroke-linecap="round" d="{borders.decode()}"/>\n'
        )
    parts.append("</svg>\n")
    return "".join(parts).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Preview


def render_preview(pdf_path: Path, png_path: Path, *, dpi: int = 110) -> None:
    """Render page 1 of a PDF to a PNG with pdfium (atomically; same PDF, same bytes)."""
    import pypdfium2 as pdfium

    if dpi <= 0:
        raise PrintError(f"dpi must be positive, got {dpi}", where=str(pdf_path))
    try:
        document = pdfium.PdfDocument(str(pdf_path))
    except pdfium.PdfiumError as error:
        raise PrintError(f"cannot open the PDF: {error}", where=str(pdf_path)) from None
    try:
        image = document[0].render(scale=dpi / 72.0).to_pil().convert("RGB")
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    write_bytes_atomic(Path(png_path), buffer.getvalue())
