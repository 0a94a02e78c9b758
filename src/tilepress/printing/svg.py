"""The SVG of the map alone (ocean, graticule, countries, borders), written from the same page
geometry as the PDF: one path per country, ``id`` its code and ``<title>`` its name; the map's
``<title>`` is its title, its ``<desc>`` the text alternative and the credit line."""

from __future__ import annotations

import html
import math

import numpy as np
from numpy.typing import NDArray

from tilepress.geometry.projection import projection_name
from tilepress.printing.contents import SheetContents
from tilepress.printing.credit import credit_line
from tilepress.printing.drawing import BORDER_WIDTH, MIN_LINE_WIDTH
from tilepress.printing.frame import FloatArray
from tilepress.printing.graticule import GRATICULE_WIDTH, graticule_color
from tilepress.printing.paths import country_paths, ring_moves, shared_borders, svg_path_data
from tilepress.sources.description import map_description


def map_svg(sheet: SheetContents) -> bytes:
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
            f'<path id="{html.escape(codes[row])}" fill="{sheet.colors[row]}" '
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
    parts.append("</svg>\n")
    return "".join(parts).encode("utf-8")
