"""Story markers on the print map (a map's ``markers``): a symbol (dot, star, square, triangle)
at each place in the marker's colour with a thin white edge, ``size`` pt on an A4 sheet and
scaled with the page, and its label in the regular font with a white halo.

The symbols' boxes are taken (:class:`~tilepress.printing.layout.Placed`) before the legend,
insets, scale bar and country labels are placed, so none of them covers a symbol; the symbols
and labels are drawn after the country labels. A label goes at the first free place of its
``anchor`` and then right, left, above and below the symbol (then at its corners): never over
a country label, another marker's label, the legend, an inset or the frame's edge. A marker
outside the map's frame is left out with a warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tilepress.config.model import MapSpec, Marker
from tilepress.geometry.projection import PrintProjection, transformer
from tilepress.printing.color import INK, WHITE, Mode, pdf_color
from tilepress.printing.drawing import MIN_LINE_WIDTH, Drawing
from tilepress.printing.frame import Box, ProjectedFrame
from tilepress.printing.labels import LabelStyle, draw_label, inside, label_size

EDGE_WIDTH = 0.5  # pt on A4: the white edge of a symbol
LABEL_SIZE = 7.5  # pt on A4
LABEL_GAP = 2.0  # pt on A4 between a symbol and its label
HALO = 1.8  # pt on A4, as the country labels'
SIDES = ("right", "left", "above", "below")
CORNERS = ("above right", "below right", "above left", "below left")
STAR_INNER = 0.42  # inner radius of the star's points, of the outer

Point = tuple[float, float]


@dataclass(frozen=True)
class MarkPosition:
    """A marker inside the frame: where its symbol goes on the page and how large it is."""

    index: int  # its place in the map's `markers`
    marker: Marker
    x: float
    y: float
    size: float  # pt on this page
    edge: float  # the white edge's width, pt

    @property
    def box(self) -> Box:
        """The symbol's bounding box with its edge."""
        points = symbol_points(self.marker.symbol, self.x, self.y, self.size)
        half = self.edge / 2
        if points is None:
            r = self.size / 2 + half
            return (self.x - r, self.y - r, self.x + r, self.y + r)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return (min(xs) - half, min(ys) - half, max(xs) + half, max(ys) + half)


@dataclass(frozen=True)
class DrawnMark:
    """A marker as drawn: its symbol, and its label's text, left end of the baseline, size and
    halo (None where no free place was found for it)."""

    position: MarkPosition
    label: tuple[str, float, float, float, float] | None


def symbol_points(symbol: str, x: float, y: float, size: float) -> list[Point] | None:
    """The outline of a symbol ``size`` pt across centred on (x, y); None for a dot (a circle of
    diameter ``size``). The square has the dot's area; star and triangle reach 0.62 ``size``
    from the centre."""
    if symbol == "dot":
        return None
    if symbol == "square":
        half = size * math.sqrt(math.pi) / 4
        return [
            (x - half, y - half),
            (x + half, y - half),
            (x + half, y + half),
            (x - half, y + half),
        ]
    outer = 0.62 * size
    if symbol == "triangle":
        angles = [90.0, 210.0, 330.0]
        return [(x + outer * _cos(a), y + outer * _sin(a)) for a in angles]
    points = []
    for k in range(10):  # star: five points, five notches, the first point up
        radius = outer if k % 2 == 0 else outer * STAR_INNER
        angle = 90.0 + 36.0 * k
        points.append((x + radius * _cos(angle), y + radius * _sin(angle)))
    return points


def _cos(degrees: float) -> float:
    return math.cos(math.radians(degrees))


def _sin(degrees: float) -> float:
    return math.sin(math.radians(degrees))


def marks_in_frame(
    spec: MapSpec, proj: PrintProjection, frame: ProjectedFrame, unit: float
) -> tuple[list[MarkPosition], list[Marker]]:
    """The markers whose place falls inside the frame, and those outside it."""
    inside_frame, outside = [], []
    to_map = transformer("EPSG:4326", proj.crs)
    fx0, fy0, fx1, fy1 = frame.page
    for index, marker in enumerate(spec.markers):
        px, py = to_map.transform(marker.lon, marker.lat, errcheck=False)
        if not (math.isfinite(px) and math.isfinite(py)):
            outside.append(marker)
            continue
        x, y = frame.to_page(float(px), float(py))
        if fx0 < x < fx1 and fy0 < y < fy1:
            edge = max(EDGE_WIDTH * unit, MIN_LINE_WIDTH)
            inside_frame.append(MarkPosition(index, marker, x, y, marker.size * unit, edge))
        else:
            outside.append(marker)
    return inside_frame, outside


def draw_symbol(
    canvas: Any, symbol: str, x: float, y: float, size: float, color: str, edge: float, mode: Mode
) -> None:
    """A symbol in ``color`` with a white edge ``edge`` pt wide."""
    canvas.saveState()
    canvas.setFillColor(pdf_color(color, mode))
    canvas.setStrokeColor(pdf_color(WHITE, mode))
    canvas.setLineWidth(edge)
    canvas.setLineJoin(1)
    path = canvas.beginPath()
    points = symbol_points(symbol, x, y, size)
    if points is None:
        path.circle(x, y, size / 2)
    else:
        path.moveTo(*points[0])
        for point in points[1:]:
            path.lineTo(*point)
        path.close()
    canvas.drawPath(path, stroke=1, fill=1)
    canvas.restoreState()


def reserve_marks(drawing: Drawing) -> list[MarkPosition]:
    """The markers in the frame, their symbols' boxes taken; a warning for each outside it."""
    spec = drawing.spec
    positions, outside = marks_in_frame(spec, drawing.proj, drawing.frame, drawing.unit)
    for marker in outside:
        drawing.warnings.append(
            f"map {spec.id!r}: marker {marker.label!r} ({marker.lon:g}, {marker.lat:g}) is "
            "outside the map frame; left out"
        )
    drawing.placed.boxes.extend(position.box for position in positions)
    return positions


def _candidate(side: str, symbol: Box, w: float, h: float, gap: float) -> Box:
    """The label's box of ``w`` x ``h`` on ``side`` of the symbol's box (a side or a corner)."""
    sx0, sy0, sx1, sy1 = symbol
    words = side.split()
    corner = len(words) == 2
    if "right" in words:
        x = sx1 + gap
    elif "left" in words:
        x = sx0 - gap - w
    else:
        x = (sx0 + sx1 - w) / 2
    if "above" in words:
        y = sy1 + (gap / 2 if corner else gap)
    elif "below" in words:
        y = sy0 - (gap / 2 if corner else gap) - h
    else:
        y = (sy0 + sy1 - h) / 2
    return (x, y, x + w, y + h)


def label_sides(marker: Marker) -> list[str]:
    """Where the label is tried, in order: its anchor, then right, left, above, below, then the
    corners."""
    first = [] if marker.anchor == "auto" else [marker.anchor]
    return first + [side for side in SIDES if side not in first] + list(CORNERS)


def draw_marks(drawing: Drawing, positions: Sequence[MarkPosition]) -> list[DrawnMark]:
    """Every marker's symbol, then its label at the first free place (warning where none is)."""
    canvas, unit, fonts = drawing.canvas, drawing.unit, drawing.fonts
    for position in positions:
        marker = position.marker
        draw_symbol(
            canvas, marker.symbol, position.x, position.y, position.size, marker.color,
            position.edge, drawing.mode,
        )  # fmt: skip
    style = LabelStyle(fonts.regular, LABEL_SIZE * unit, INK, 0.0, upper=False)
    halo = HALO * unit
    drawn = []
    for position in positions:
        marker = position.marker
        w, h = label_size([marker.label], style, fonts)
        w, h = w + halo, h + halo
        placed = None
        for side in label_sides(marker):
            box = _candidate(side, position.box, w, h, LABEL_GAP * unit)
            if inside(box, drawing.frame.page, 2 * unit) and drawing.placed.free(box, 0.5 * unit):
                placed = box
                break
        if placed is None:
            drawing.warnings.append(
                f"map {drawing.spec.id!r}: no room for the label of marker {marker.label!r}; "
                "left out"
            )
            drawn.append(DrawnMark(position, None))
            continue
        drawing.placed.boxes.append(placed)
        draw_label(canvas, [marker.label], placed, style, halo, drawing.mode, fonts)
        text_w = label_size([marker.label], style, fonts)[0]
        left = (placed[0] + placed[2]) / 2 - text_w / 2
        baseline = placed[3] - style.size * 0.74
        drawn.append(DrawnMark(position, (marker.label, left, baseline, style.size, halo)))
    return drawn
