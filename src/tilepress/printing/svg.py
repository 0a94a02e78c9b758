"""The SVG of the map alone (ocean, graticule, countries with their patterns, borders, overlays,
markers), written from the same page geometry as the PDF: one path per country, ``id`` its
code and ``<title>`` its name; a pattern is a ``<pattern>`` of ``<defs>`` used as the fill;
each overlay a path (its outline another), each marker its symbol and its label where the PDF
put it; the map's ``<title>`` is its title, its ``<desc>`` the text alternative and the credit
line."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from tilepress.config.model import Pattern
from tilepress.geometry.projection import projection_name
from tilepress.printing.color import INK, WHITE
from tilepress.printing.contents import SheetContents
from tilepress.printing.credit import credit_line
from tilepress.printing.drawing import BORDER_WIDTH, MIN_LINE_WIDTH
from tilepress.printing.frame import FloatArray
from tilepress.printing.graticule import GRATICULE_WIDTH, graticule_color
from tilepress.printing.marks import DrawnMark, symbol_points
from tilepress.printing.overlays import outline_dash, outline_width
from tilepress.printing.paths import country_paths, ring_moves, shared_borders, svg_path_data
from tilepress.printing.patterns import number_text, svg_pattern, svg_pattern_id
from tilepress.sources.description import map_description


def _fill(color: str, pattern: Pattern | None) -> str:
    return color if pattern is None else f"url(#{svg_pattern_id(pattern, color)})"


def map_svg(sheet: SheetContents, marks: Sequence[DrawnMark] = ()) -> bytes:
    """The map alone (ocean, graticule, countries, borders, overlays, markers) as SVG, from the
    PDF's geometry: one path per country (``id`` its code, ``<title>`` its name), sizes in pt;
    ``marks`` are the markers as the PDF drew them."""
    fx0, fy0, fx1, fy1 = sheet.frame.page
    x0, y0 = math.ceil(fx0 * 10), math.ceil(fy0 * 10)
    x1, y1 = math.floor(fx1 * 10), math.floor(fy1 * 10)
    width, height = (x1 - x0) / 10, (y1 - y0) / 10
    origin = np.array([x0, y0], dtype=np.float64)

    def data(
        xy: FloatArray, moves: NDArray[np.bool_], close: bool = False
    ) -> tuple[bytes, NDArray[np.int64]]:
        return svg_path_data(xy - origin, moves, y1 - y0, close)

    def point(x: float, y: float) -> str:  # a page point in the SVG's coordinates
        return f"{number_text(x - x0 / 10)} {number_text((y1 - y * 10) / 10)}"

    spec, unit = sheet.spec, sheet.layout.unit
    # the text alternative, then the credit as its second paragraph
    description = "\n".join(
        (
            map_description(spec, sheet.table, sheet.highlighting),
            credit_line(spec, projection_name(sheet.proj)),
        )
    )
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}pt" height="{height:g}pt" '
        f'viewBox="0 0 {width:g} {height:g}" role="img" aria-labelledby="map-title" '
        'aria-describedby="map-desc">\n'
        f'<title id="map-title">{html.escape(spec.title, quote=False)}</title>\n'
        f'<desc id="map-desc">{html.escape(description, quote=False)}</desc>\n'
    ]
    patterns = {
        svg_pattern_id(pattern, color): svg_pattern(pattern, color, unit)
        for pattern, color in [(p, sheet.colors[row]) for row, p in sheet.patterns.items()]
        + [(o.spec.pattern, o.spec.color) for o in sheet.overlays if o.spec.pattern]
    }
    if patterns:
        parts.append("<defs>\n" + "".join(patterns[key] for key in sorted(patterns)) + "</defs>\n")
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
            f'<path id="graticule" fill="none" stroke="{graticule_color(spec.ocean_color)}" '
            f'stroke-width="{GRATICULE_WIDTH}" d="{lines.decode()}"/>\n'
        )
    rings = sheet.geometry.rings
    text, ends = data(rings.xy, ring_moves(rings), close=True)
    parts.append('<g id="countries" stroke="none">\n')
    codes, names = sheet.table.codes, sheet.table.names
    for row, chunk in country_paths(text, ends, rings):
        parts.append(
            f'<path id="{html.escape(codes[row])}" '
            f'fill="{_fill(sheet.colors[row], sheet.patterns.get(row))}" '
            f'd="{chunk.decode()}"><title>{html.escape(names[row], quote=False)}</title></path>\n'
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
    parts += _overlays_svg(sheet, data)
    parts += _marks_svg(marks, point)
    parts.append("</svg>\n")
    return "".join(parts).encode("utf-8")


PathData = Callable[..., tuple[bytes, NDArray[np.int64]]]


def _overlays_svg(sheet: SheetContents, data: PathData) -> list[str]:
    """The overlays: each a filled path (its pattern as the fill) and its outline."""
    if not sheet.overlays:
        return []
    unit = sheet.layout.unit
    parts = ['<g id="overlays">\n']
    for shape in sheet.overlays:
        fill, _ends = data(shape.fill, shape.fill_moves, close=True)
        parts.append(
            f'<path id="overlay-{shape.index}" '
            f'fill="{_fill(shape.spec.color, shape.spec.pattern)}" d="{fill.decode()}">'
            f"<title>{html.escape(shape.spec.label, quote=False)}</title></path>\n"
        )
        if len(shape.outline):
            line, _ends = data(shape.outline, shape.outline_moves)
            dash = " ".join(number_text(v) for v in outline_dash(shape.spec.outline, unit))
            parts.append(
                f'<path fill="none" stroke="{shape.spec.outline_color}" '
                f'stroke-width="{number_text(outline_width(unit))}" stroke-linejoin="round"'
                + (f' stroke-dasharray="{dash}"' if dash else "")
                + f' d="{line.decode()}"/>\n'
            )
    parts.append("</g>\n")
    return parts


def _marks_svg(marks: Sequence[DrawnMark], point: Callable[[float, float], str]) -> list[str]:
    """The markers as the PDF drew them: the symbols (``<title>`` their label), then the
    labels that found a place, with the PDF's white halo."""
    if not marks:
        return []
    parts = ['<g id="markers">\n']
    for mark in marks:
        position, marker = mark.position, mark.position.marker
        title = f"<title>{html.escape(marker.label, quote=False)}</title>"
        style = (
            f'fill="{marker.color}" stroke="{WHITE}" stroke-width="{number_text(position.edge)}" '
            'stroke-linejoin="round"'
        )
        points = symbol_points(marker.symbol, position.x, position.y, position.size)
        if points is None:
            cx, cy = point(position.x, position.y).split()
            parts.append(
                f'<circle cx="{cx}" cy="{cy}" r="{number_text(position.size / 2)}" {style}>'
                f"{title}</circle>\n"
            )
        else:
            path = "M" + " L".join(point(x, y) for x, y in points) + " Z"
            parts.append(f'<path {style} d="{path}">{title}</path>\n')
    for mark in marks:
        if mark.label is None:
            continue
        text, left, baseline, size, halo = mark.label
        x, y = point(left, baseline).split()
        parts.append(
            f'<text x="{x}" y="{y}" font-family="Noto Sans" font-size="{number_text(size)}" '
            f'fill="{INK}" stroke="{WHITE}" stroke-width="{number_text(halo)}" '
            f'stroke-linejoin="round" paint-order="stroke">'
            f"{html.escape(text, quote=False)}</text>\n"
        )
    parts.append("</g>\n")
    return parts
