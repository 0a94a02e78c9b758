"""The scale bar: a bar of a round length with its 1:N note, in a free corner of a regional map
where one scale holds across it."""

from __future__ import annotations

import math

from pyproj import Proj
from pyproj.exceptions import ProjError

from tilepress.geometry.projection import PrintProjection, transformer
from tilepress.printing.color import FRAME_GREY, INK, WHITE
from tilepress.printing.drawing import MIN_LINE_WIDTH, Drawing
from tilepress.printing.frame import ProjectedFrame
from tilepress.printing.layout import emptiest_corner, nice_length


def scale_at_centre(proj: PrintProjection, frame: ProjectedFrame) -> float | None:
    """Ground metres per projected metre at the frame's centre, or None where no single
    scale holds (world maps, or a projection stretching one direction by over 2 %)."""
    if proj.is_world:
        return None
    x0, y0, x1, y1 = frame.projected
    lon, lat = transformer(proj.crs, "EPSG:4326").transform((x0 + x1) / 2, (y0 + y1) / 2)
    try:
        factors = Proj(proj.crs).get_factors(lon, lat, errcheck=True)
    except (ProjError, ValueError):
        return None
    h, k = float(factors.meridional_scale), float(factors.parallel_scale)
    if not (math.isfinite(h) and math.isfinite(k)) or min(h, k) <= 0:
        return None
    if abs(h - k) / max(h, k) > 0.02:
        return None
    return 2.0 / (h + k)


def draw_scale_bar(drawing: Drawing) -> int | None:
    """A scale bar with its 1:N note in a free corner of a regional map; returns N."""
    ground_per_projected = scale_at_centre(drawing.proj, drawing.frame)
    if ground_per_projected is None or not drawing.spec.print_options.scale_bar:
        return None
    unit, fonts, canvas = drawing.unit, drawing.fonts, drawing.canvas
    pt_per_ground_m = drawing.frame.scale / ground_per_projected
    denominator = 72.0 / 0.0254 / pt_per_ground_m  # ground metres per paper metre
    frame = drawing.frame.page
    metres = nice_length(0.2 * (frame[2] - frame[0]) / pt_per_ground_m)
    bar_w = metres * pt_per_ground_m
    size, pad, bar_h = 6.5 * unit, 6 * unit, 3.2 * unit
    rounded = _round_denominator(denominator)
    note = f"Scale 1:{rounded:,} at the centre".replace(",", "\u2009")
    km = metres / 1000.0
    end_text = f"{km:g} km" if km >= 1 else f"{metres:g} m"
    w = (
        max(
            bar_w + fonts.width(end_text, fonts.regular, size) / 2,
            fonts.width(note, fonts.regular, size),
        )
        + 2 * pad
    )
    h = 2 * pad + bar_h + 2.3 * size
    box = emptiest_corner(
        frame, w, h, 8 * unit, drawing.geometry, drawing.highlighted, drawing.placed
    )
    if box is None:
        drawing.warnings.append(f"map {drawing.spec.id!r}: no room for the scale bar; left out")
        return None
    x0, y0, _x1, _y1 = box
    canvas.saveState()
    canvas.setFillColor(drawing.color(WHITE))
    canvas.setStrokeColor(drawing.color(FRAME_GREY))
    canvas.setLineWidth(0.4)
    canvas.rect(x0, y0, w, h, stroke=1, fill=1)
    bar_y = y0 + pad + size * 1.1
    canvas.setStrokeColor(drawing.color(INK))
    canvas.setLineWidth(MIN_LINE_WIDTH * 2)
    for part in range(2):  # two halves: ink, paper
        canvas.setFillColor(drawing.color(INK if part == 0 else WHITE))
        canvas.rect(x0 + pad + part * bar_w / 2, bar_y, bar_w / 2, bar_h, stroke=1, fill=1)
    text = canvas.beginText()
    text.setFillColor(drawing.color(INK))
    for label, x in (("0", x0 + pad), (end_text, x0 + pad + bar_w)):
        text.setTextOrigin(
            x - fonts.width(label, fonts.regular, size) / 2, bar_y + bar_h + 0.45 * size
        )
        fonts.draw(text, label, fonts.regular, size)
    text.setTextOrigin(x0 + pad, y0 + pad)
    fonts.draw(text, note, fonts.regular, size)
    canvas.drawText(text)
    canvas.restoreState()
    drawing.placed.boxes.append(box)
    return rounded


def _round_denominator(value: float) -> int:
    """A scale denominator to two significant figures (1:23 000 000)."""
    power = 10 ** max(0, math.floor(math.log10(value)) - 1)
    return int(round(value / power) * power)
