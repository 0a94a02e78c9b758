"""The legend: what every colour, pattern and symbol on the map means, under the map frame where
the page leaves room (a world map on a portrait page), else in a bordered box in the map's
emptiest corner. In order: each highlight group (its swatch with its pattern), each overlay
(its label, "as of <date>" when it has one; a swatch with its colour, pattern and outline),
each marker with a note (its symbol, then "label: note", or the note where it starts with the
label) and, when land no country holds is in view, "No country / disputed". Long texts wrap
to a second line; the box's size feeds the page layout."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tilepress.config.model import MapSpec, Marker, OverlaySpec, Pattern, darker
from tilepress.printing.color import FRAME_GREY, INK, WHITE
from tilepress.printing.drawing import Drawing
from tilepress.printing.fonts import Fonts
from tilepress.printing.frame import Box, ProjectedFrame
from tilepress.printing.layout import Placed, SheetLayout, emptiest_corner
from tilepress.printing.marks import draw_symbol
from tilepress.printing.overlays import outline_dash, outline_width
from tilepress.printing.patterns import draw_pattern, rect_clip
from tilepress.sources.unclaimed import UNCLAIMED_COLOR, UNCLAIMED_LEGEND, UNCLAIMED_PATTERN

LEGEND_GAP = 10.0  # pt on A4 between the frame and a legend below it
TEXT_WIDTH = 180.0  # pt on A4: longer texts wrap
# pt on A4: text size, padding, swatch width and height, row pitch, swatch-text gap, line pitch
SIZE, PAD, SWATCH_W, SWATCH_H, ROW_H, GAP, LINE_H = 8.5, 6.0, 14.0, 9.0, 13.0, 5.0, 10.2


@dataclass(frozen=True)
class LegendEntry:
    """One row of the legend: its text and what its swatch shows."""

    text: str
    color: str
    pattern: Pattern | None = None
    outline: str | None = None  # an overlay's outline: solid or dashed
    symbol: str | None = None  # a marker's symbol
    size: float = 0.0  # a marker's size, pt on A4


def overlay_text(overlay: OverlaySpec) -> str:
    """An overlay's legend text: its label, and "as of <date>" when it has a date."""
    return f"{overlay.label}, as of {overlay.date}" if overlay.date else overlay.label


def marker_text(marker: Marker) -> str:
    """A marker's legend text: its note, after its label unless the note starts with it."""
    note = marker.note or ""
    if note.casefold().startswith(marker.label.casefold()):
        return note
    return f"{marker.label}: {note}"


def legend_entries(spec: MapSpec, markers: Sequence[Marker], unclaimed: bool) -> list[LegendEntry]:
    """The legend's rows: the groups, the overlays, the ``markers`` (those shown) with a note,
    and the land no country holds if ``unclaimed`` (shown)."""
    entries = [LegendEntry(g.label, g.color, g.pattern) for g in spec.highlight]
    entries += [
        LegendEntry(overlay_text(o), o.color, o.pattern, outline=o.outline) for o in spec.overlays
    ]
    entries += [
        LegendEntry(marker_text(m), m.color, symbol=m.symbol, size=m.size)
        for m in markers
        if m.note
    ]
    if unclaimed:
        entries.append(LegendEntry(UNCLAIMED_LEGEND, UNCLAIMED_COLOR, UNCLAIMED_PATTERN))
    return entries


def _wrap(text: str, fonts: Fonts, size: float, width: float) -> list[str]:
    """Words of ``text`` in lines no wider than ``width`` (a longer word keeps its own line)."""
    lines: list[str] = []
    for word in text.split():
        if lines and fonts.width(f"{lines[-1]} {word}", fonts.regular, size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _lines(entries: Sequence[LegendEntry], fonts: Fonts, unit: float) -> list[list[str]]:
    return [_wrap(e.text, fonts, SIZE * unit, TEXT_WIDTH * unit) for e in entries]


def legend_size(entries: Sequence[LegendEntry], fonts: Fonts, unit: float) -> tuple[float, float]:
    """Width and height of the legend box (with its padding); (0, 0) without entries."""
    if not entries:
        return 0.0, 0.0
    lines = _lines(entries, fonts, unit)
    text_w = max(fonts.width(line, fonts.regular, SIZE * unit) for row in lines for line in row)
    rows = sum(SWATCH_H + (len(row) - 1) * LINE_H for row in lines)
    h = 2 * PAD + rows + (len(lines) - 1) * (ROW_H - SWATCH_H)
    return (2 * PAD + SWATCH_W + GAP) * unit + text_w, h * unit


def _swatch(drawing: Drawing, entry: LegendEntry, box: Box) -> None:
    """An entry's swatch in ``box``: a marker's symbol, else the colour, its pattern and (for an
    overlay) its outline."""
    canvas, unit, mode = drawing.canvas, drawing.unit, drawing.mode
    x0, y0, x1, y1 = box
    if entry.symbol is not None:
        size = min(entry.size * unit, (SWATCH_H + 2) * unit)
        edge = max(0.5 * unit, 0.25)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        draw_symbol(canvas, entry.symbol, cx, cy, size, entry.color, edge, mode)
        return
    canvas.setFillColor(drawing.color(entry.color))
    canvas.rect(x0, y0, x1 - x0, y1 - y0, stroke=0, fill=1)
    if entry.pattern is not None:
        draw_pattern(canvas, rect_clip(box), entry.pattern, box, unit, mode)
    if entry.outline is not None:
        width = outline_width(unit)
        canvas.saveState()
        canvas.setStrokeColor(drawing.color(darker(entry.color)))
        canvas.setLineWidth(width)
        canvas.setDash(outline_dash(entry.outline, unit), 0)
        half = width / 2
        canvas.rect(x0 + half, y0 + half, x1 - x0 - width, y1 - y0 - width, stroke=1, fill=0)
        canvas.restoreState()


def draw_legend(drawing: Drawing, entries: Sequence[LegendEntry], box: Box | None = None) -> Box:
    """Each entry's swatch and text: in ``box`` if given (outside the map, no border), else in
    a bordered box in the emptiest corner of the map."""
    spec, fonts, canvas, unit = drawing.spec, drawing.fonts, drawing.canvas, drawing.unit
    w, h = legend_size(entries, fonts, unit)
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
    pad = 0.0 if outside else PAD * unit
    size, swatch_w, swatch_h = SIZE * unit, SWATCH_W * unit, SWATCH_H * unit
    x_swatch, top = x0 + pad, y1 - pad
    for entry, lines in zip(entries, _lines(entries, fonts, unit), strict=True):
        _swatch(drawing, entry, (x_swatch, top - swatch_h, x_swatch + swatch_w, top))
        text = canvas.beginText()
        text.setFillColor(drawing.color(INK))
        baseline = top - swatch_h / 2 - 0.36 * size
        for number, line in enumerate(lines):
            text.setTextOrigin(x_swatch + swatch_w + GAP * unit, baseline - number * LINE_H * unit)
            fonts.draw(text, line, fonts.regular, size)
        canvas.drawText(text)
        top -= swatch_h + (len(lines) - 1) * LINE_H * unit + (ROW_H - SWATCH_H) * unit
    canvas.restoreState()
    drawing.placed.boxes.append(box)
    return box


def legend_below(
    entries: Sequence[LegendEntry], fonts: Fonts, layout: SheetLayout, frame: ProjectedFrame
) -> Box | None:
    """A place for the legend under the frame, where the page leaves room (a world map on a
    portrait page); None puts it in a corner of the map (or there is no legend)."""
    if not entries:
        return None
    unit = layout.unit
    w, h = legend_size(entries, fonts, unit)
    gap = LEGEND_GAP * unit
    fx0, fy0, _fx1, _fy1 = frame.page
    if fy0 - gap - h < layout.area[1] - 0.5:
        return None
    return (fx0, fy0 - gap - h, fx0 + w, fy0 - gap)
