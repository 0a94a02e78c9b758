"""Page layout of the print sheet: title, caption, credit, the map area, and the boxes that sit
on the map (legend, scale bar, locator insets) in its emptiest corners."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from reportlab.lib.pagesizes import A3, A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph

from tilepress.config.model import MapSpec
from tilepress.errors import PrintError
from tilepress.printing.color import CREDIT_GREY, INK, TEXT_GREY, Mode, pdf_color
from tilepress.printing.fonts import Fonts
from tilepress.printing.frame import Box
from tilepress.printing.geometry import MapGeometry

PAGE_SIZES: dict[str, tuple[float, float]] = {"A4": A4, "A3": A3, "Letter": LETTER}
CREDIT_GAP = 8.0  # pt on A4 between the map (or legend below it) and the credit
TITLE_SIZES = ((21.0, 1), (19.5, 1), (18.0, 1), (19.0, 2), (17.0, 2), (15.5, 2), (15.0, 3))
HIGHLIGHT_WEIGHT = 10.0  # covering a highlighted country costs this much more than land


@dataclass
class TextBlock:
    """A wrapped paragraph and where its lower left corner goes."""

    paragraph: Any
    x: float
    y: float  # lower edge
    height: float


@dataclass
class SheetLayout:
    """Where the texts go and how much room the map frame has."""

    page: tuple[float, float]
    unit: float  # 1.0 on A4; type and spacing scale with the page
    margin: float
    blocks: list[TextBlock]  # title and caption
    credit: TextBlock  # pinned to the bottom margin
    area: Box  # room for the map frame


def page_size(spec: MapSpec) -> tuple[float, float]:
    """Width and height of the sheet (its trim size) in pt."""
    try:
        width, height = sorted(PAGE_SIZES[spec.page.size])
    except KeyError:
        raise PrintError(
            f"unknown page size {spec.page.size!r}; use A4, A3 or Letter",
            where=f"map {spec.id!r}: page.size",
        ) from None
    return (height, width) if spec.page.orientation == "landscape" else (width, height)


def _style(font: str, size: float, leading: float, color: str, mode: Mode) -> Any:
    return ParagraphStyle(
        "p", fontName=font, fontSize=size, leading=size * leading, textColor=pdf_color(color, mode)
    )


def fit_paragraph(
    markup: str,
    font: str,
    sizes: Sequence[float],
    leading: float,
    color: str,
    mode: Mode,
    width: float,
    max_lines: int | None = None,
) -> tuple[Any, float] | None:
    """The paragraph and its height at the first size that fits in ``max_lines``, or None."""
    for size in sizes:
        paragraph = Paragraph(markup, _style(font, size, leading, color, mode))
        _w, height = paragraph.wrap(width, 100_000)
        if max_lines is None or len(paragraph.blPara.lines) <= max_lines:
            return paragraph, height
    return None


def layout_page(spec: MapSpec, fonts: Fonts, credit_markup: str, mode: Mode) -> SheetLayout:
    """Title, caption and credit for the page size; PrintError (naming the key) if they leave
    too little room for the map."""
    width, height = page_size(spec)
    unit = min(width, height) / A4[0]
    margin = 30 * unit
    content_w = width - 2 * margin
    where = f"map {spec.id!r}"
    page_name = f"{spec.page.size} {spec.page.orientation}"

    title_markup = fonts.markup(spec.title, fonts.bold)
    title = None
    for size, lines in TITLE_SIZES:
        title = fit_paragraph(
            title_markup, fonts.bold, [size * unit], 1.18, INK, mode, content_w, lines
        )
        if title is not None:
            break
    if title is None:
        raise PrintError(
            f"the title ({len(spec.title)} characters) does not fit in three lines on a "
            f"{page_name} page",
            where=f"{where}: title",
            hint="shorten the title (move detail into the caption)",
        )
    blocks = [TextBlock(title[0], margin, height - margin - title[1], title[1])]
    top = blocks[0].y

    credit_fit = fit_paragraph(
        credit_markup, fonts.regular, [max(6.0, 6.5 * unit), 6.0], 1.3, CREDIT_GREY, mode,
        content_w, 4,
    )  # fmt: skip
    if credit_fit is None:
        raise PrintError(
            "the credit (title, author, source, licence) does not fit in four lines",
            where=f"{where}: author",
            hint="shorten the title or the author",
        )
    credit_block = TextBlock(credit_fit[0], margin, margin, credit_fit[1])
    bottom = margin + credit_fit[1] + CREDIT_GAP * unit

    min_map = 0.45 * (height - 2 * margin)
    if spec.caption:
        caption_w = 0.8 * content_w if width > height else content_w  # readable line length
        caption_markup = fonts.markup(spec.caption, fonts.regular)
        size = 10 * unit
        for size in (10 * unit, 9 * unit, 8 * unit):
            fit = fit_paragraph(
                caption_markup, fonts.regular, [size], 1.4, TEXT_GREY, mode, caption_w
            )
            assert fit is not None  # noqa: S101 - no line limit, always fits
            caption_top = top - 6 * unit
            if caption_top - fit[1] - 14 * unit - bottom >= min_map:
                blocks.append(TextBlock(fit[0], margin, caption_top - fit[1], fit[1]))
                top = caption_top - fit[1]
                break
        else:
            words = len(spec.caption.split())
            raise PrintError(
                f"the caption ({words} words) is too long for a {page_name} page: even at "
                f"{size:.1f} pt it leaves less than {min_map:.0f} pt of height for the map",
                where=f"{where}: caption",
                hint="shorten the caption or choose a larger page (page: {size: A3})",
            )
    area = (margin, bottom, width - margin, top - 14 * unit)
    return SheetLayout((width, height), unit, margin, blocks, credit_block, area)


# ---------------------------------------------------------------------------------------------
# Boxes on the map


@dataclass
class Placed:
    """Boxes already taken on the page (legend, insets, labels)."""

    boxes: list[Box] = field(default_factory=list)

    def free(self, box: Box, pad: float) -> bool:
        """Whether ``box`` keeps ``pad`` from every placed box."""
        return all(
            box[2] + pad <= b[0]
            or b[2] + pad <= box[0]
            or box[3] + pad <= b[1]
            or b[3] + pad <= box[1]
            for b in self.boxes
        )


def emptiest_corner(
    frame: Box,
    w: float,
    h: float,
    inset: float,
    geometry: MapGeometry,
    highlighted: set[int],
    placed: Placed,
    avoid: Sequence[tuple[float, float]] = (),
) -> Box | None:
    """The frame corner box of ``w`` x ``h`` covering the least land (highlighted land and the
    ``avoid`` points count much more) that is still free; None if every corner is taken."""
    corners = [
        (frame[0] + inset, frame[1] + inset),  # lower left
        (frame[2] - inset - w, frame[1] + inset),  # lower right
        (frame[0] + inset, frame[3] - inset - h),  # upper left
        (frame[2] - inset - w, frame[3] - inset - h),  # upper right
    ]
    land = geometry.page
    weight = np.array([HIGHLIGHT_WEIGHT if row in highlighted else 1.0 for row in range(len(land))])
    best: tuple[float, Box] | None = None
    for x, y in corners:
        box = (x, y, x + w, y + h)
        if w > frame[2] - frame[0] - 2 * inset or h > frame[3] - frame[1] - 2 * inset:
            continue
        if not placed.free(box, inset / 2):
            continue
        covered = shapely.area(shapely.clip_by_rect(land, *box))
        score = float(np.nansum(covered * weight))
        score += sum(1e9 for px, py in avoid if box[0] <= px <= box[2] and box[1] <= py <= box[3])
        if best is None or score < best[0] - 1e-9:
            best = (score, box)
    return None if best is None else best[1]


def nice_length(limit: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``limit`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(limit))
    for factor in (5.0, 2.0, 1.0):
        if factor * power <= limit:
            return factor * power
    return power
