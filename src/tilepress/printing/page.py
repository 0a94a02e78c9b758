"""Drawing the page: the canvas with its metadata, and for the print variant its trim and bleed
boxes and crop marks; then the map clipped to its frame (countries, patterns, borders, then the
overlays) with the dots of tiny countries, insets, legend, scale bar, country labels and the
markers on it, the frame, and the title, caption and credit around it."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import shapely
from reportlab.pdfgen.canvas import Canvas

from tilepress import __version__
from tilepress.printing.color import FRAME_GREY, REGISTRATION, Mode, pdf_color
from tilepress.printing.contents import SheetContents
from tilepress.printing.drawing import FRAME_WIDTH, MIN_LINE_WIDTH, Drawing
from tilepress.printing.frame import Box
from tilepress.printing.insets import draw_insets
from tilepress.printing.labels import place_labels
from tilepress.printing.legend import LegendEntry, draw_legend, legend_below, legend_entries
from tilepress.printing.map_drawing import draw_map
from tilepress.printing.markers import draw_markers
from tilepress.printing.marks import DrawnMark, draw_marks, reserve_marks
from tilepress.printing.overlays import draw_overlays
from tilepress.printing.patterns import unclaimed_rows
from tilepress.printing.scale_bar import draw_scale_bar
from tilepress.sources.description import map_description

MM = 72.0 / 25.4
CROP_MARK_LENGTH = 5 * MM
CROP_MARK_GAP = 2 * MM  # between the bleed box and the marks


@dataclass
class DrawnPage:
    """What :func:`draw_page` drew: the page's boxes (pt) and the keys it placed."""

    media: tuple[float, float]
    trim: Box
    bleed: Box
    offset: float  # of the trim box's corner from the media box's
    labels: int
    insets: list[str]
    scale: int | None
    marks: list[DrawnMark] = field(default_factory=list)


def draw_page(
    buffer: io.BytesIO, sheet: SheetContents, mode: Mode, warnings: list[str]
) -> DrawnPage:
    """Draw the page into ``buffer``; the warnings of what was left out go to ``warnings``."""
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
    canvas.setSubject(map_description(spec, sheet.table, sheet.highlighting))  # the alt text
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
    canvas.saveState()
    clip = canvas.beginPath()
    clip.rect(fx0, fy0, fx1 - fx0, fy1 - fy0)
    canvas.clipPath(clip, stroke=0, fill=0)
    labels, insets, scale, drawn_marks, legend = _map_and_keys(drawing, sheet)
    canvas.restoreState()
    if legend is not None:  # under the frame, outside its clip
        draw_legend(drawing, *legend)

    canvas.setStrokeColor(pdf_color(FRAME_GREY, mode))
    canvas.setLineWidth(FRAME_WIDTH)
    canvas.rect(fx0, fy0, fx1 - fx0, fy1 - fy0, stroke=1, fill=0)
    for block in layout.blocks:
        block.paragraph.drawOn(canvas, block.x, block.y)
    layout.credit.paragraph.drawOn(canvas, layout.credit.x, layout.credit.y)
    canvas.showPage()
    canvas.save()
    return DrawnPage(media, trim, bleed_box, offset, labels, insets, scale, drawn_marks)


def _map_and_keys(
    drawing: Drawing, sheet: SheetContents
) -> tuple[int, list[str], int | None, list[DrawnMark], tuple[list[LegendEntry], Box] | None]:
    """Inside the frame's clip: the map, the overlays, the dots of tiny countries, then the
    keys around the markers' symbols (insets, legend, scale bar), the country labels and the
    markers. Returns what was placed, and the legend's entries and box where it goes under
    the frame instead (the page leaves room for it there)."""
    spec, canvas, layout, mode = sheet.spec, drawing.canvas, sheet.layout, drawing.mode
    draw_map(canvas, sheet, mode)
    draw_overlays(canvas, sheet.overlays, sheet.frame.page, layout.unit, mode)
    draw_markers(drawing)
    marks = reserve_marks(drawing)  # the keys and labels placed next keep off the symbols
    unclaimed = any(
        not shapely.is_empty(sheet.geometry.page[row]) for row in unclaimed_rows(sheet.table)
    )
    entries = legend_entries(spec, [m.marker for m in marks], unclaimed)
    below = legend_below(entries, sheet.fonts, layout, sheet.frame)
    insets = draw_insets(drawing, sheet) if spec.print_options.locator else []
    if entries and below is None:
        draw_legend(drawing, entries)
    scale = draw_scale_bar(drawing)
    labels = place_labels(drawing)
    drawn_marks = draw_marks(drawing, marks)
    return labels, insets, scale, drawn_marks, None if below is None else (entries, below)


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
