"""Patterns over an area's colour: diagonal stripes at 45 degrees (``hatch``), crossed diagonals
(``cross``) or a square grid of dots (``dots``), in the pattern's colour, width and spacing
(pt on an A4 sheet, scaled with the page).

On the PDF a pattern is plain opaque vector art: the area is filled with its colour, then the
stripes are stroked clipped to the area's own path (``W n``), so the CMYK file needs no
pattern colour space, image or transparency. A dot is a round-capped line of no length (the
PDF's own way to paint a filled circle with one stroke). Every pattern sits on one grid
anchored at the page's corner, so the stripes of neighbouring areas line up. In the SVG the
same pattern is a ``<pattern>`` tile (the fill colour under the stripes) used as the fill.

Which rows carry a pattern: a highlight group's rows its group's ``pattern``, and the land no
country holds (the rows after the source's countries) ``UNCLAIMED_PATTERN``.
"""

from __future__ import annotations

import math
from typing import Any

from tilepress.config.model import MapSpec, Pattern
from tilepress.printing.color import Mode, pdf_color
from tilepress.printing.frame import Box
from tilepress.sources.highlights import Highlighting
from tilepress.sources.table import CountryTable
from tilepress.sources.unclaimed import UNCLAIMED_COLOR, UNCLAIMED_PATTERN

MIN_PATTERN_WIDTH = 0.25  # pt: the thinnest printable stripe (MIN_LINE_WIDTH)
SQRT2 = math.sqrt(2.0)


def unclaimed_rows(table: CountryTable) -> range:
    """The rows of land no country holds: the last ``table.unclaimed`` rows (none for a table
    without that count)."""
    count = int(getattr(table, "unclaimed", 0) or 0)
    return range(len(table) - count, len(table))


def area_styles(
    spec: MapSpec, table: CountryTable, highlighting: Highlighting, colors: list[str]
) -> tuple[list[str], dict[int, Pattern]]:
    """Each row's fill colour and the patterns of the rows that have one: a highlighted row its
    group's, land no country holds (unless highlighted) ``UNCLAIMED_COLOR`` and
    ``UNCLAIMED_PATTERN``, whatever ``colors`` (the source's fill colours) say."""
    colors = list(colors)
    patterns: dict[int, Pattern] = {}
    for row, group in highlighting.group_of_row.items():
        pattern = spec.highlight[group].pattern
        if pattern is not None:
            patterns[row] = pattern
    for row in unclaimed_rows(table):
        if row not in highlighting.group_of_row:
            colors[row] = UNCLAIMED_COLOR
            patterns[row] = UNCLAIMED_PATTERN
    return colors, dict(sorted(patterns.items()))


def pattern_sizes(pattern: Pattern, unit: float) -> tuple[float, float]:
    """A pattern's stripe width (or dot diameter) and spacing on this page, in pt."""
    return max(pattern.width * unit, MIN_PATTERN_WIDTH), pattern.spacing * unit


def number_text(value: float) -> str:
    """A coordinate or size in pt as short text: two decimals at most, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _diagonals(box: Box, step: float, rising: bool) -> list[tuple[float, float, float, float]]:
    """Segments of the lines ``y = x - c`` (rising) or ``y = c - x`` inside ``box``, for every
    ``c`` a multiple of ``step``."""
    x0, y0, x1, y1 = box
    low, high = (x0 - y1, x1 - y0) if rising else (x0 + y0, x1 + y1)
    segments = []
    for k in range(math.ceil(low / step), math.floor(high / step) + 1):
        c = k * step
        if rising:
            xa, xb = max(x0, y0 + c), min(x1, y1 + c)
            if xb > xa:
                segments.append((xa, xa - c, xb, xb - c))
        else:
            xa, xb = max(x0, c - y1), min(x1, c - y0)
            if xb > xa:
                segments.append((xa, c - xa, xb, c - xb))
    return segments


def pattern_operators(pattern: Pattern, box: Box, unit: float) -> str:
    """PDF path operators (``m``/``l``) of the pattern's stripes or dots over ``box`` (pt), on the
    page's grid; empty where none falls in the box."""
    _width, spacing = pattern_sizes(pattern, unit)
    lines: list[str] = []
    if pattern.kind == "dots":
        x0, y0, x1, y1 = box
        for j in range(math.ceil(y0 / spacing), math.floor(y1 / spacing) + 1):
            y = number_text(j * spacing)
            for i in range(math.ceil(x0 / spacing), math.floor(x1 / spacing) + 1):
                x = number_text(i * spacing)
                lines.append(f"{x} {y} m {x} {y} l")
        return "\n".join(lines) + "\n" if lines else ""
    step = spacing * SQRT2  # perpendicular spacing of 45-degree lines
    segments = _diagonals(box, step, rising=True)
    if pattern.kind == "cross":
        segments += _diagonals(box, step, rising=False)
    for xa, ya, xb, yb in segments:
        lines.append(f"{number_text(xa)} {number_text(ya)} m {number_text(xb)} {number_text(yb)} l")
    return "\n".join(lines) + "\n" if lines else ""


def grown(box: Box, by: float, limit: Box) -> Box:
    """``box`` grown by ``by`` on every side, but not past ``limit``."""
    return (
        max(box[0] - by, limit[0]),
        max(box[1] - by, limit[1]),
        min(box[2] + by, limit[2]),
        min(box[3] + by, limit[3]),
    )


def draw_pattern(
    canvas: Any, clip: str, pattern: Pattern, box: Box, unit: float, mode: Mode
) -> None:
    """Stroke the pattern over ``box`` clipped to the path ``clip`` (PDF operators without a
    painting operator): opaque stripes or dots in the pattern's colour."""
    operators = pattern_operators(pattern, box, unit)
    if not operators:
        return
    width, _spacing = pattern_sizes(pattern, unit)
    canvas.saveState()
    canvas.addLiteral(clip + "W n")
    canvas.setStrokeColor(pdf_color(pattern.color, mode))
    canvas.setLineWidth(width)
    canvas.setLineCap(1 if pattern.kind == "dots" else 0)
    canvas.addLiteral(operators + "S")
    canvas.restoreState()


def rect_clip(box: Box) -> str:
    """The PDF path of a rectangle, for :func:`draw_pattern`."""
    x0, y0, x1, y1 = box
    return f"{number_text(x0)} {number_text(y0)} {number_text(x1 - x0)} {number_text(y1 - y0)} re "


# ---------------------------------------------------------------------------------------------
# SVG


def svg_pattern_id(pattern: Pattern, background: str) -> str:
    """The SVG id of the pattern over ``background`` (the web map's image name)."""
    return pattern.image_id(background)


def svg_pattern(pattern: Pattern, background: str, unit: float) -> str:
    """A ``<pattern>`` element: one tile of the background with its stripes or dot, in page
    points (user space), the stripes turned 45 degrees as on the PDF."""
    width, spacing = pattern_sizes(pattern, unit)
    s, w = number_text(spacing), number_text(width)
    half = number_text((spacing - width) / 2)
    head = (
        f'<pattern id="{svg_pattern_id(pattern, background)}" patternUnits="userSpaceOnUse" '
        f'width="{s}" height="{s}"'
    )
    tile = f'<rect width="{s}" height="{s}" fill="{background}"/>'
    if pattern.kind == "dots":
        centre, radius = number_text(spacing / 2), number_text(width / 2)
        mark = f'<circle cx="{centre}" cy="{centre}" r="{radius}" fill="{pattern.color}"/>'
        return f"{head}>{tile}{mark}</pattern>\n"
    mark = f'<rect x="{half}" width="{w}" height="{s}" fill="{pattern.color}"/>'
    if pattern.kind == "cross":
        mark += f'<rect y="{half}" width="{s}" height="{w}" fill="{pattern.color}"/>'
    return f'{head} patternTransform="rotate(45)">{tile}{mark}</pattern>\n'
