"""Country labels: the highlighted countries' names (and, for ``labels: all``, the others a
web map would name at this scale) placed on or beside their country, with white halos, first
come first served and never colliding with each other or with the keys already drawn."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import shapely

from tilepress.geometry.projection import PrintProjection, transformer
from tilepress.printing.color import INK, WHITE, Mode, pdf_color
from tilepress.printing.drawing import Drawing, Marker, largest_part
from tilepress.printing.fonts import Fonts
from tilepress.printing.frame import Box, ProjectedFrame
from tilepress.printing.geometry import MapGeometry
from tilepress.printing.layout import Placed
from tilepress.sources.highlights import highlighted_rows
from tilepress.sources.table import CountryTable

WEB_MERCATOR_WORLD_M = 40_075_016.686


def inside(box: Box, frame: Box, inset: float) -> bool:
    """Whether ``box`` keeps ``inset`` from the frame's edges."""
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
class LabelStyle:
    """A label's font, size (pt), colour, tracking and case."""

    font: str
    size: float
    color: str
    tracking: float  # extra space between characters, pt
    upper: bool


def _line_width(line: str, style: LabelStyle, fonts: Fonts) -> float:
    return fonts.width(line, style.font, style.size) + style.tracking * max(0, len(line) - 1)


def label_size(lines: list[str], style: LabelStyle, fonts: Fonts) -> tuple[float, float]:
    """Width and height of a label's lines (without the halo)."""
    widths = [_line_width(line, style, fonts) for line in lines]
    return max(widths), style.size * (0.74 + 1.15 * (len(lines) - 1))


def _box_at(cx: float, cy: float, w: float, h: float) -> Box:
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _overlap(box: Box, geometry: shapely.Geometry) -> float:
    """Area of ``geometry`` inside ``box``."""
    return float(shapely.area(shapely.clip_by_rect(geometry, *box)))


def draw_label(
    canvas: Any,
    lines: list[str],
    box: Box,
    style: LabelStyle,
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
        style: LabelStyle,
        outside_ok: bool,
    ) -> bool:
        """Draw the label at the first free candidate position; False if none is free."""
        halo = 1.8 * self.unit
        lines = _split_name(name.upper() if style.upper else name)
        w, h = label_size(lines, style, self.fonts)
        best: tuple[float, Box] | None = None
        for box in self._candidates(row, anchor, w + halo, h + halo, outside_ok):
            if not inside(box, self.frame, 2 * self.unit) or not self.placed.free(box, self.unit):
                continue
            page = self.geometry.page
            penalty = sum(_overlap(box, page[other]) for other in self.highlighted if other != row)
            if best is None or penalty < best[0] - 1e-9:
                best = (penalty, box)
        if best is None:
            return False
        self.placed.boxes.append(best[1])
        draw_label(self.canvas, lines, best[1], style, halo, self.mode, self.fonts)
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
    strong = LabelStyle(drawing.fonts.bold, 8.5 * unit, INK, 0.06 * 8.5 * unit, upper=True)
    quiet = LabelStyle(drawing.fonts.regular, 6.5 * unit, "#555555", 0.0, upper=False)
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
