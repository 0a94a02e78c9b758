"""Locator insets: an enlarged map, in a free corner of the frame, of each highlighted country
drawn too small to see (at most two), with dots on its parts smaller than a dot (atolls)."""

from __future__ import annotations

import math
from typing import Any

import shapely

from tilepress.errors import ProjectionError
from tilepress.geometry.projection import choose_print_projection, fit_extent
from tilepress.printing.color import FRAME_GREY, INK, Mode, pdf_color
from tilepress.printing.contents import SheetContents
from tilepress.printing.drawing import FRAME_WIDTH, MIN_LINE_WIDTH, Drawing
from tilepress.printing.frame import compute_frame
from tilepress.printing.geometry import map_geometry
from tilepress.printing.layout import emptiest_corner
from tilepress.printing.map_drawing import draw_map
from tilepress.printing.markers import MARKER_RADIUS, tiny_highlighted

MAX_INSETS = 2
INSET_WIDTH = 0.17  # of the frame's width


def draw_insets(drawing: Drawing, sheet: SheetContents) -> list[str]:
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
        except ProjectionError as error:
            drawing.warnings.append(
                f"map {spec.id!r}: the locator inset of {name} cannot be projected "
                f"({error.message}); left out"
            )
            continue
        geometry = map_geometry(sheet.table.geometries, proj, inset_frame)
        inset_sheet = SheetContents(
            spec, sheet.table, sheet.highlighting, proj, inset_frame, geometry, None, None,
            None, sheet.fonts, sheet.layout, sheet.colors, sheet.patterns,
        )  # fmt: skip
        x0, y0, x1, y1 = box
        canvas.saveState()
        clip = canvas.beginPath()
        clip.rect(x0, y0, x1 - x0, y1 - y0)
        canvas.clipPath(clip, stroke=0, fill=0)
        draw_map(canvas, inset_sheet, drawing.mode)
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


def _dots_on_specks(canvas: Any, sheet: SheetContents, row: int, radius: float, mode: Mode) -> None:
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
