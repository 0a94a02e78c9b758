"""The map itself on a PDF canvas: the ocean (the globe, or the whole frame), the graticule,
one filled path per country, the patterns of the rows that have one (clipped to each row's
path), then the borders the countries share in one stroked path."""

from __future__ import annotations

from typing import Any

import shapely

from tilepress.printing.color import Mode, pdf_color
from tilepress.printing.contents import SheetContents
from tilepress.printing.drawing import BORDER_WIDTH, MIN_LINE_WIDTH
from tilepress.printing.graticule import GRATICULE_WIDTH, graticule_color
from tilepress.printing.paths import country_paths, path_operators, ring_moves, shared_borders
from tilepress.printing.patterns import draw_pattern, grown, pattern_sizes


def _fill(canvas: Any, text: bytes, color: Any) -> None:
    canvas.setFillColor(color)
    canvas.addLiteral(text.decode("ascii") + "f")


def draw_map(canvas: Any, sheet: SheetContents, mode: Mode) -> None:
    """Ocean, graticule, one filled path per country and the patterns, then the shared borders
    in one path."""
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
        canvas.setStrokeColor(pdf_color(graticule_color(spec.ocean_color), mode))
        canvas.setLineWidth(GRATICULE_WIDTH)
        canvas.addLiteral(text.decode("ascii") + "S")
        canvas.restoreState()

    rings = geometry.rings
    text_bytes, line_ends = path_operators(rings.xy, ring_moves(rings))
    color_objects = {c: pdf_color(c, mode) for c in sorted(set(sheet.colors))}
    patterned = []
    for row, chunk in country_paths(text_bytes, line_ends, rings):
        _fill(canvas, chunk, color_objects[sheet.colors[row]])
        if row in sheet.patterns:
            patterned.append((row, chunk))
    if patterned:
        bounds = shapely.bounds(geometry.page)
        for row, chunk in patterned:
            pattern = sheet.patterns[row]
            width, _spacing = pattern_sizes(pattern, sheet.layout.unit)
            x0, y0, x1, y1 = (float(v) for v in bounds[row])
            box = grown((x0, y0, x1, y1), width, sheet.frame.page)
            draw_pattern(canvas, chunk.decode("ascii"), pattern, box, sheet.layout.unit, mode)

    border_xy, border_moves = shared_borders(rings)
    if len(border_xy):
        border_text, _ends = path_operators(border_xy, border_moves)
        canvas.setStrokeColor(pdf_color(spec.border_color, mode))
        canvas.setLineWidth(max(BORDER_WIDTH, MIN_LINE_WIDTH))
        canvas.setLineJoin(1)
        canvas.setLineCap(1)
        canvas.addLiteral(border_text.decode("ascii") + "S")
