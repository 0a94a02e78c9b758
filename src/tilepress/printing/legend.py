"""The legend: a swatch and label for each highlight group, under the map frame where the page
leaves room (a world map on a portrait page), else in a bordered box in the map's emptiest
corner."""

from __future__ import annotations

from tilepress.config.model import MapSpec
from tilepress.printing.color import FRAME_GREY, INK, WHITE
from tilepress.printing.drawing import Drawing
from tilepress.printing.fonts import Fonts
from tilepress.printing.frame import Box, ProjectedFrame
from tilepress.printing.layout import Placed, SheetLayout, emptiest_corner

LEGEND_GAP = 10.0  # pt on A4 between the frame and a legend below it


def legend_size(spec: MapSpec, fonts: Fonts, unit: float) -> tuple[float, float]:
    """Width and height of the legend box."""
    size, pad, swatch_w, swatch_h, row_h, gap = (v * unit for v in (8.5, 6, 14, 9, 13, 5))
    text_w = max(fonts.width(g.label, fonts.regular, size) for g in spec.highlight)
    return 2 * pad + swatch_w + gap + text_w, 2 * pad + len(spec.highlight) * row_h - (
        row_h - swatch_h
    )


def draw_legend(drawing: Drawing, box: Box | None = None) -> Box:
    """Swatch and label of each highlight group: in ``box`` if given (outside the map, no
    border), else in a bordered box in the emptiest corner of the map."""
    spec, fonts, canvas, unit = drawing.spec, drawing.fonts, drawing.canvas, drawing.unit
    size, pad, swatch_w, swatch_h, row_h, gap = (v * unit for v in (8.5, 6, 14, 9, 13, 5))
    w, h = legend_size(spec, fonts, unit)
    outside = box is not None
    if box is None:
        corner = emptiest_corner(
            drawing.frame.page, w, h, 8 * unit, drawing.geometry, drawing.highlighted,
            drawing.placed,
        )  # fmt: skip
        if corner is None:  # every corner taken (insets) or the frame too small: overlap
            drawing.warnings.append(
                f"map {spec.id!r}: no free corner for the legend; it overlaps other keys"
            )
            corner = emptiest_corner(
                drawing.frame.page, w, h, 0.0, drawing.geometry, drawing.highlighted, Placed()
            )
        box = corner or (
            drawing.frame.page[0],
            drawing.frame.page[1],
            drawing.frame.page[0] + w,
            drawing.frame.page[1] + h,
        )
    x0, y0, _x1, y1 = box
    canvas.saveState()
    if not outside:
        canvas.setFillColor(drawing.color(WHITE))
        canvas.setStrokeColor(drawing.color(FRAME_GREY))
        canvas.setLineWidth(0.4)
        canvas.rect(x0, y0, w, h, stroke=1, fill=1)
    x_swatch = x0 + (0 if outside else pad)
    for number, group in enumerate(spec.highlight):
        top = y1 - (0 if outside else pad) - number * row_h
        canvas.setFillColor(drawing.color(group.color))
        canvas.rect(x_swatch, top - swatch_h, swatch_w, swatch_h, stroke=0, fill=1)
        text = canvas.beginText()
        text.setFillColor(drawing.color(INK))
        text.setTextOrigin(x_swatch + swatch_w + gap, top - swatch_h / 2 - 0.36 * size)
        fonts.draw(text, group.label, fonts.regular, size)
        canvas.drawText(text)
    canvas.restoreState()
    drawing.placed.boxes.append(box)
    return box


def legend_below(
    spec: MapSpec, fonts: Fonts, layout: SheetLayout, frame: ProjectedFrame
) -> Box | None:
    """A place for the legend under the frame, where the page leaves room (a world map on a
    portrait page); None puts it in a corner of the map."""
    if not spec.highlight:
        return None
    unit = layout.unit
    w, h = legend_size(spec, fonts, unit)
    gap = LEGEND_GAP * unit
    fx0, fy0, _fx1, _fy1 = frame.page
    if fy0 - gap - h < layout.area[1] - 0.5:
        return None
    return (fx0, fy0 - gap - h, fx0 + w, fy0 - gap)
