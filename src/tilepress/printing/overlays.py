"""Overlays on the print map: each area of a map's ``overlays`` (read by
:func:`tilepress.sources.overlays.read_overlays`) through the countries' pipeline (cut at the
projection's antimeridian, projected, generalized to the printed scale, clipped to the frame),
then drawn above the countries and their borders and below the labels and markers: its colour,
its pattern if any, and an outline a shade darker (solid or dashed) that stops at the frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.config.model import OverlaySpec
from tilepress.geometry.projection import PrintProjection
from tilepress.printing.color import Mode, pdf_color
from tilepress.printing.drawing import MIN_LINE_WIDTH
from tilepress.printing.frame import Box, FloatArray, ProjectedFrame
from tilepress.printing.geometry import map_geometry
from tilepress.printing.paths import outlines_off_frame, page_rings, path_operators, ring_moves
from tilepress.printing.patterns import draw_pattern, grown, pattern_sizes
from tilepress.sources.overlays import OverlayArea

OUTLINE_WIDTH = 0.6  # pt on A4
DASH = (3.0, 2.0)  # pt on A4: dash and gap of a dashed outline


@dataclass(frozen=True)
class OverlayShape:
    """One overlay on the page: its settings, its area (page points) and its paths in page
    tenths: ``fill`` the closed rings, ``outline`` the edges that are not the frame's."""

    index: int
    spec: OverlaySpec
    page: shapely.Geometry
    fill: FloatArray
    fill_moves: NDArray[np.bool_]
    outline: FloatArray
    outline_moves: NDArray[np.bool_]

    @property
    def bounds(self) -> Box:
        """The area's bounding box on the page."""
        x0, y0, x1, y1 = shapely.bounds(self.page)
        return (float(x0), float(y0), float(x1), float(y1))


def overlay_shapes(
    areas: Sequence[OverlayArea], proj: PrintProjection, frame: ProjectedFrame
) -> list[OverlayShape]:
    """The overlays that show in the frame, ready to draw (in configuration order)."""
    if not areas:
        return []
    geometries = np.array([area.geometry for area in areas], dtype=object)
    on_page = map_geometry(geometries, proj, frame).page
    shapes = []
    for row, area in enumerate(areas):
        rings = page_rings(on_page[row : row + 1], frame.page)
        if not len(rings.xy):
            continue  # outside the frame, or smaller than the page's resolution
        outline, outline_moves = outlines_off_frame(rings, frame.page)
        shapes.append(
            OverlayShape(
                area.index,
                area.spec,
                on_page[row],
                rings.xy,
                ring_moves(rings),
                outline,
                outline_moves,
            )
        )
    return shapes


def outline_width(unit: float) -> float:
    """An overlay outline's width on this page (never below the printable minimum)."""
    return max(OUTLINE_WIDTH * unit, MIN_LINE_WIDTH)


def outline_dash(outline: str, unit: float) -> list[float]:
    """The dash array of an outline (``solid`` or ``dashed``) on this page (empty: solid)."""
    return [DASH[0] * unit, DASH[1] * unit] if outline == "dashed" else []


def draw_overlays(
    canvas: Any, shapes: Sequence[OverlayShape], frame: Box, unit: float, mode: Mode
) -> None:
    """Each overlay: its colour, its pattern clipped to it, then its outline."""
    for shape in shapes:
        text, _ends = path_operators(shape.fill, shape.fill_moves)
        path = text.decode("ascii")
        canvas.saveState()
        canvas.setFillColor(pdf_color(shape.spec.color, mode))
        canvas.addLiteral(path + "f")
        pattern = shape.spec.pattern
        if pattern is not None:
            width, _spacing = pattern_sizes(pattern, unit)
            draw_pattern(canvas, path, pattern, grown(shape.bounds, width, frame), unit, mode)
        if len(shape.outline):
            lines, _ends = path_operators(shape.outline, shape.outline_moves)
            canvas.setStrokeColor(pdf_color(shape.spec.outline_color, mode))
            canvas.setLineWidth(outline_width(unit))
            canvas.setLineJoin(1)
            canvas.setDash(outline_dash(shape.spec.outline, unit), 0)
            canvas.addLiteral(lines.decode("ascii") + "S")
        canvas.restoreState()
