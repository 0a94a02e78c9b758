"""Markers: a dot in the group colour on each highlighted country drawn too small to see."""

from __future__ import annotations

import math

import shapely

from tilepress.printing.drawing import BORDER_WIDTH, MIN_LINE_WIDTH, Drawing, largest_part

MARKER_RADIUS = 2.2  # pt on A4: dot on highlighted countries smaller than the dot


def tiny_highlighted(drawing: Drawing) -> list[int]:
    """Highlighted rows drawn smaller than a marker dot (but inside the frame)."""
    radius = MARKER_RADIUS * drawing.unit
    page = drawing.geometry.page
    return [
        row
        for row in sorted(drawing.highlighting.group_of_row)
        if not shapely.is_empty(page[row]) and shapely.area(page[row]) < math.pi * radius**2
    ]


def draw_markers(drawing: Drawing) -> None:
    """A dot in the group colour on each highlighted country too small to see on the page."""
    radius = MARKER_RADIUS * drawing.unit
    canvas = drawing.canvas
    for row in tiny_highlighted(drawing):
        group = drawing.highlighting.group_of_row[row]
        point = shapely.point_on_surface(largest_part(drawing.geometry.page[row]))
        drawing.markers[row] = (point.x, point.y, radius)
        canvas.setFillColor(drawing.color(drawing.spec.highlight[group].color))
        canvas.setStrokeColor(drawing.color(drawing.spec.border_color))
        canvas.setLineWidth(max(BORDER_WIDTH, MIN_LINE_WIDTH))
        canvas.circle(point.x, point.y, radius, stroke=1, fill=1)
