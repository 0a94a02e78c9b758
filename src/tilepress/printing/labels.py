"""Text and keys on the map: country labels (with halos, never colliding), dots on highlighted
countries too small to see, the legend and the scale bar."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import Proj
from pyproj.exceptions import ProjError

from tilepress.config.model import MapSpec
from tilepress.geometry.projection import PrintProjection, transformer
from tilepress.printing.color import FRAME_GREY, INK, WHITE, Mode, pdf_color
from tilepress.printing.fonts import Fonts
from tilepress.printing.geometry import Box, MapGeometry, ProjectedFrame
from tilepress.printing.layout import Placed, emptiest_corner, nice_length
from tilepress.sources.highlights import Highlighting, highlighted_rows
from tilepress.sources.table import CountryTable

BORDER_WIDTH = 0.3  # pt; never below MIN_LINE_WIDTH
MIN_LINE_WIDTH = 0.25
MARKER_RADIUS = 2.2  # pt on A4: dot on highlighted countries smaller than the dot
WEB_MERCATOR_WORLD_M = 40_075_016.686


def _inside(box: Box, frame: Box, inset: float) -> bool:
    return (
        box[0] >= frame[0] + inset
        and box[1] >= frame[1] + inset
        and box[2] <= frame[2] - inset
        and box[3] <= frame[3] - inset
    )


def _split_name(name: str) -> list[str]:
    """Two lines for a long name, broken at the space nearest its middle."""
    if len(name) <= 14 or " " not in name:
        return [name]
    spaces = [i for i, ch in enumerate(name) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - len(name) / 2))
    return [name[:cut], name[cut + 1 :]]


@dataclass
class _LabelStyle:
    font: str
    size: float
    color: str
    tracking: float  # extra space between characters, pt
    upper: bool


def _line_width(line: str, style: _LabelStyle, fonts: Fonts) -> float:
    return fonts.width(line, style.font, style.size) + style.tracking * max(0, len(line) - 1)


def _label_size(lines: list[str], style: _LabelStyle, fonts: Fonts) -> tuple[float, float]:
    widths = [_line_width(line, style, fonts) for line in lines]
    return max(widths), style.size * (0.74 + 1.15 * (len(lines) - 1))


def _box_at(cx: float, cy: float, w: float, h: float) -> Box:
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _overlap(box: Box, geometry: shapely.Geometry) -> float:
    """Area of ``geometry`` inside ``box``."""
    return float(shapely.area(shapely.clip_by_rect(geometry, *box)))


def _draw_label(
    canvas: Any,
    lines: list[str],
    box: Box,
    style: _LabelStyle,
    halo: float,
    mode: Mode,
    fonts: Fonts,
) -> None:
    """Centred text with a white halo (stroked copy marked as an artifact, then the fill)."""
    canvas.saveState()
    canvas.setLineJoin(1)
    canvas.setLineWidth(halo)
    cx = (box[0] + box[2]) / 2
    line_gap = style.size * 1.15
    top_baseline = box[3] - style.size * 0.74
    for render_mode in (1, 0):
        if render_mode == 1:  # the render mode is graphics state: keep it inside q/Q
            canvas.saveState()
            canvas.addLiteral("/Artifact BMC")
        text = canvas.beginText()
        text.setFont(style.font, style.size)
        text.setCharSpace(style.tracking)
        text.setTextRenderMode(render_mode)
        text.setStrokeColor(pdf_color(WHITE, mode))
        text.setFillColor(pdf_color(style.color, mode))
        for number, line in enumerate(lines):
            width = _line_width(line, style, fonts)
            text.setTextOrigin(cx - width / 2, top_baseline - number * line_gap)
            fonts.draw(text, line, style.font, style.size)
        canvas.drawText(text)
        if render_mode == 1:
            canvas.addLiteral("EMC")
            canvas.restoreState()
    canvas.restoreState()


def _label_anchor(
    row: int, table: CountryTable, proj: PrintProjection, frame: ProjectedFrame
) -> tuple[float, float] | None:
    try:
        lon, lat = float(table.field("LABEL_X")[row]), float(table.field("LABEL_Y")[row])
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    x, y = transformer("EPSG:4326", proj.crs).transform(lon, lat, errcheck=False)
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    return frame.to_page(float(x), float(y))


def largest_part(geometry: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geometry)
    return parts[int(np.argmax(shapely.area(parts)))]


Marker = tuple[float, float, float]  # x, y, radius of a dot on a tiny highlighted country


@dataclass
class _Labeller:
    """Places country names with halos, first come first served, never overlapping."""

    canvas: Any
    geometry: MapGeometry
    frame: Box
    placed: Placed
    highlighted: list[int]
    markers: dict[int, Marker]
    unit: float
    mode: Mode
    fonts: Fonts

    def place(
        self,
        row: int,
        name: str,
        anchor: tuple[float, float] | None,
        style: _LabelStyle,
        outside_ok: bool,
    ) -> bool:
        """Draw the label at the first free candidate position; False if none is free."""
        halo = 1.8 * self.unit
        lines = _split_name(name.upper() if style.upper else name)
        w, h = _label_size(lines, style, self.fonts)
        best: tuple[float, Box] | None = None
        for box in self._candidates(row, anchor, w + halo, h + halo, outside_ok):
            if not _inside(box, self.frame, 2 * self.unit) or not self.placed.free(box, self.unit):
                continue
            page = self.geometry.page
            penalty = sum(_overlap(box, page[other]) for other in self.highlighted if other != row)
            if best is None or penalty < best[0] - 1e-9:
                best = (penalty, box)
        if best is None:
            return False
        self.placed.boxes.append(best[1])
        _draw_label(self.canvas, lines, best[1], style, halo, self.mode, self.fonts)
        return True

    def _candidates(
        self, row: int, anchor: tuple[float, float] | None, w: float, h: float, outside_ok: bool
    ) -> list[Box]:
        """On the country where the label fits inside it, else (if allowed) just beside it."""
        shape = self.geometry.page[row]
        part = largest_part(shape)
        point = shapely.point_on_surface(part)
        anchors = ([anchor] if anchor is not None else []) + [(point.x, point.y)]
        candidates = [
            box
            for box in (_box_at(x, y, w, h) for x, y in anchors)
            if _overlap(box, shape) >= 0.6 * w * h
        ]
        if not outside_ok:
            return candidates
        x0, y0, x1, y1 = part.bounds
        if row in self.markers:
            mx, my, radius = self.markers[row]
            x0, y0 = min(x0, mx - radius), min(y0, my - radius)
            x1, y1 = max(x1, mx + radius), max(y1, my + radius)
        cx, cy = min(max(anchors[0][0], x0), x1), min(max(anchors[0][1], y0), y1)
        gap = 2.5 * self.unit
        return [
            *candidates,
            (x1 + gap, cy - h / 2, x1 + gap + w, cy + h / 2),
            (x0 - gap - w, cy - h / 2, x0 - gap, cy + h / 2),
            _box_at(cx, y0 - gap - h / 2, w, h),
            _box_at(cx, y1 + gap + h / 2, w, h),
        ]


@dataclass
class Drawing:
    """Everything the map's keys and labels are drawn with."""

    canvas: Any
    spec: MapSpec
    table: CountryTable
    highlighting: Highlighting
    proj: PrintProjection
    frame: ProjectedFrame
    geometry: MapGeometry
    unit: float
    mode: Mode
    fonts: Fonts
    placed: Placed = field(default_factory=Placed)
    warnings: list[str] = field(default_factory=list)
    markers: dict[int, Marker] = field(default_factory=dict)

    @property
    def highlighted(self) -> set[int]:
        """Rows of the highlighted countries."""
        return set(self.highlighting.group_of_row)

    def color(self, color: str) -> Any:
        """A colour in the sheet's colour space."""
        return pdf_color(color, self.mode)


def place_labels(drawing: Drawing) -> int:
    """Name the highlighted countries (and others for ``labels: all``) without collisions."""
    spec, table, unit = drawing.spec, drawing.table, drawing.unit
    if spec.labels == "none":
        return 0
    page = drawing.geometry.page
    highlighted = list(highlighted_rows(drawing.highlighting))
    labeller = _Labeller(
        drawing.canvas,
        drawing.geometry,
        drawing.frame.page,
        drawing.placed,
        highlighted,
        drawing.markers,
        unit,
        drawing.mode,
        drawing.fonts,
    )
    strong = _LabelStyle(drawing.fonts.bold, 8.5 * unit, INK, 0.06 * 8.5 * unit, upper=True)
    quiet = _LabelStyle(drawing.fonts.regular, 6.5 * unit, "#555555", 0.0, upper=False)
    names = table.names
    warnings = drawing.warnings
    count = 0

    def anchor(row: int) -> tuple[float, float] | None:
        return _label_anchor(row, table, drawing.proj, drawing.frame)

    def printable(row: int) -> bool:
        missing = drawing.fonts.missing(names[row])
        if missing:
            warnings.append(
                f"map {spec.id!r}: labels: no glyph for {' '.join(missing)!r} in the fonts; "
                f"the label of {names[row]!r} is left out"
            )
        return not missing

    for row in highlighted:
        if shapely.is_empty(page[row]):
            warnings.append(
                f"map {spec.id!r}: {names[row]} is highlighted but outside the map frame"
            )
        elif not printable(row):
            continue
        elif labeller.place(row, names[row], anchor(row), strong, outside_ok=True):
            count += 1
        else:
            warnings.append(f"map {spec.id!r}: no room for the label of {names[row]}; left out")
    if spec.labels == "all":
        zoom = math.log2(WEB_MERCATOR_WORLD_M * drawing.frame.scale * 96.0 / 72.0 / 256.0)
        ranked = []
        for row, value in enumerate(table.field("MIN_LABEL")):
            try:
                min_label = float(value)
            except (TypeError, ValueError):
                continue
            if (
                row not in drawing.highlighting.group_of_row
                and min_label <= zoom + 1.0
                and not shapely.is_empty(page[row])
            ):
                ranked.append((min_label, -float(shapely.area(page[row])), row))
        for _min_label, _area, row in sorted(ranked):
            if printable(row):
                count += labeller.place(row, names[row], anchor(row), quiet, outside_ok=False)
    return count


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
