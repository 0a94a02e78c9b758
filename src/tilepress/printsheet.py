"""The print sheet: a one-page PDF handout with the map, title, caption, legend, labels and credit.

The map is drawn as vector paths built with numpy: countries are cut at the projection's own
antimeridian, projected, generalized together to the printed scale (shared borders stay shared)
and clipped to the map frame, so the file holds nothing that is not seen.
"""

from __future__ import annotations

import io
import logging
import math
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from reportlab import rl_config
from reportlab.lib.colors import CMYKColor, Color
from reportlab.lib.pagesizes import A3, A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from tilepress import __version__
from tilepress.config import BUILTIN_SOURCE, MapSpec
from tilepress.errors import PrintError, ProjectionError
from tilepress.generalize import Rings as _Rings
from tilepress.generalize import first_shared_edges, thin_shared
from tilepress.projection import (
    Extent,
    PrintProjection,
    choose_print_projection,
    extent_outline,
    project_outline,
    resolve_extent,
    wrap_and_clip,
)
from tilepress.sources import (
    CountryTable,
    Highlighting,
    fill_colors,
    highlighted_rows,
    polygonal,
)

logger = logging.getLogger("tilepress")

FONT_REGULAR = "NotoSans"
FONT_BOLD = "NotoSans-Bold"
PAGE_SIZES: dict[str, tuple[float, float]] = {"A4": A4, "A3": A3, "Letter": LETTER}
NATURAL_EARTH_CREDIT = (
    "Boundaries: Natural Earth 1:10m admin-0 v5.1.1 (public domain). Made with Natural Earth."
)

SIMPLIFY_MM = 0.05  # generalization tolerance on paper
DENSIFY_DEGREES = 0.5  # longest edge before projecting, so parallels curve
EDGE_INSET_DEGREES = 1e-7  # keeps points on lon_0 +/- 180 on their side of the map
BORDER_WIDTH = 0.3  # pt; never below MIN_LINE_WIDTH
MIN_LINE_WIDTH = 0.25
FRAME_WIDTH = 0.5
WORLD_PADDING = 0.025  # white paper around the globe, as a fraction of its size
MAX_FRAME_GROWTH = 1.3  # a world frame may be this much wider or taller than the globe
CREDIT_GAP = 8.0  # pt on A4 between the frame and the credit line
MARKER_RADIUS = 2.2  # pt on A4: dot on highlighted countries smaller than the dot
INK = "#1a1a1a"
TEXT_GREY = "#3d3d3d"
CREDIT_GREY = "#5c5c5c"
FRAME_GREY = "#8c8c8c"
WHITE = "#ffffff"
CVD_MIN_DELTA_E = 20.0  # CIEDE2000 between simulated colours below which neighbours clash
WEB_MERCATOR_WORLD_M = 40_075_016.686

Mode = Literal["rgb", "cmyk"]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pt
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class PrintReport:
    """What :func:`build_print_sheet` drew, for logs and checks."""

    map_id: str
    pdf: Path
    projection: str
    projection_name: str
    extent: Extent
    page_size: tuple[float, float]
    frame: Box  # the map frame on the page, pt
    frame_projected: Box  # the same frame in projected metres
    tolerance_m: float
    polygons: int
    vertices: int
    specks: int  # polygons below the 0.1 pt output resolution, left out (highlighted: a dot)
    labels: int
    file_size: int
    seconds: float
    mode: str
    warnings: list[str] = field(default_factory=list)

    def page_point(self, lon: float, lat: float) -> tuple[float, float]:
        """Where a lon/lat point falls on the page (pt from the lower left corner)."""
        x, y = _transformer("EPSG:4326", self.projection).transform(lon, lat)
        return _ProjectedFrame(self.frame_projected, self.frame).to_page(float(x), float(y))


# ---------------------------------------------------------------------------------------------
# Fonts and colours


@lru_cache(maxsize=1)
def register_fonts() -> tuple[str, str]:
    """Register the embedded Noto Sans TrueType fonts with reportlab (once per process)."""
    folder = files("tilepress") / "fonts"
    for name in (FONT_REGULAR, FONT_BOLD):
        filename = "NotoSans-Regular.ttf" if name == FONT_REGULAR else "NotoSans-Bold.ttf"
        pdfmetrics.registerFont(TTFont(name, io.BytesIO((folder / filename).read_bytes())))
    pdfmetrics.registerFontFamily(
        FONT_REGULAR, normal=FONT_REGULAR, bold=FONT_BOLD, italic=FONT_REGULAR, boldItalic=FONT_BOLD
    )
    return FONT_REGULAR, FONT_BOLD


def hex_rgb(color: str) -> tuple[float, float, float]:
    """``'#rrggbb'`` as three floats in 0..1."""
    return (int(color[1:3], 16) / 255.0, int(color[3:5], 16) / 255.0, int(color[5:7], 16) / 255.0)


def rgb_to_cmyk(r: float, g: float, b: float) -> tuple[float, float, float, float]:
    """Naive device conversion (no ICC profile): black from the darkest channel."""
    k = 1.0 - max(r, g, b)
    if k >= 1.0:
        return (0.0, 0.0, 0.0, 1.0)
    return ((1.0 - r - k) / (1.0 - k), (1.0 - g - k) / (1.0 - k), (1.0 - b - k) / (1.0 - k), k)


def pdf_color(color: str, mode: Mode) -> Color:
    """A reportlab colour in the sheet's colour space."""
    rgb = hex_rgb(color)
    if mode == "cmyk":
        return CMYKColor(*rgb_to_cmyk(*rgb))
    return Color(*rgb)


def missing_glyphs(spec: MapSpec, names: Sequence[str]) -> list[str]:
    """A warning naming the characters of the sheet's texts that the embedded fonts lack."""
    register_fonts()
    texts = [spec.title, spec.caption, spec.author, *(g.label for g in spec.highlight), *names]
    known = pdfmetrics.getFont(FONT_REGULAR).face.charToGlyph
    bold = pdfmetrics.getFont(FONT_BOLD).face.charToGlyph
    missing = sorted(
        {
            ch
            for text in texts
            for ch in text
            if not ch.isspace() and (ord(ch) not in known or ord(ch) not in bold)
        }
    )
    if not missing:
        return []
    return [
        f"map {spec.id!r}: the embedded Noto Sans fonts have no glyph for "
        f"{' '.join(missing)!r}; these characters print as empty boxes"
    ]


# ---------------------------------------------------------------------------------------------
# Colour-blind check


_MACHADO = {  # Machado, Oliveira & Fernandes 2009, severity 1.0, on linear RGB
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
}


def _linear_rgb(color: str) -> FloatArray:
    c = np.array(hex_rgb(color))
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear: FloatArray) -> FloatArray:
    """CIELAB (D65) of a linear-RGB colour."""
    to_xyz = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = to_xyz @ np.clip(linear, 0.0, 1.0) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e2000(lab1: FloatArray, lab2: FloatArray) -> float:
    """CIEDE2000 colour difference of two CIELAB colours."""
    l1, a1, b1 = (float(v) for v in lab1)
    l2, a2, b2 = (float(v) for v in lab2)
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360
    h2p = math.degrees(math.atan2(b2, a2p)) % 360
    dh = 0.0 if c1p * c2p == 0 else (h2p - h1p + 180) % 360 - 180
    d_big_h = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_mean = (h1p + h2p) / 2
    else:
        h_mean = (h1p + h2p + (360 if h1p + h2p < 360 else -360)) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(h_mean - 30))
        + 0.24 * math.cos(math.radians(2 * h_mean))
        + 0.32 * math.cos(math.radians(3 * h_mean + 6))
        - 0.20 * math.cos(math.radians(4 * h_mean - 63))
    )
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c, s_h = 1 + 0.045 * cp_mean, 1 + 0.015 * cp_mean * t
    r_c = 2 * math.sqrt(cp_mean**7 / (cp_mean**7 + 25**7))
    r_t = -math.sin(math.radians(60 * math.exp(-(((h_mean - 275) / 25) ** 2)))) * r_c
    dl, dc, dhh = (l2 - l1) / s_l, (c2p - c1p) / s_c, d_big_h / s_h
    return math.sqrt(dl**2 + dc**2 + dhh**2 + r_t * dc * dhh)


def colour_blind_difference(color_a: str, color_b: str) -> tuple[str, float]:
    """The colour-vision deficiency under which two colours are closest, and their CIEDE2000."""
    worst = ("", math.inf)
    for name, matrix in _MACHADO.items():
        difference = delta_e2000(
            _lab(matrix @ _linear_rgb(color_a)), _lab(matrix @ _linear_rgb(color_b))
        )
        if difference < worst[1]:
            worst = (name, difference)
    return worst


def adjacent_group_conflicts(
    spec: MapSpec, table: CountryTable, highlighting: Highlighting
) -> list[str]:
    """Warnings for neighbouring highlight groups that colour-blind readers cannot tell apart."""
    rows_of: dict[int, list[int]] = {}
    for row, group in highlighting.group_of_row.items():
        rows_of.setdefault(group, []).append(row)
    bounds = shapely.bounds(table.geometries)
    messages = []
    groups = sorted(rows_of)
    for position, first in enumerate(groups):
        for second in groups[position + 1 :]:
            color_a, color_b = spec.highlight[first].color, spec.highlight[second].color
            deficiency, difference = colour_blind_difference(color_a, color_b)
            if difference >= CVD_MIN_DELTA_E or not _groups_touch(
                table.geometries, bounds, rows_of[first], rows_of[second]
            ):
                continue
            messages.append(
                f"map {spec.id!r}: neighbouring highlight groups {spec.highlight[first].label!r} "
                f"({color_a}) and {spec.highlight[second].label!r} ({color_b}) are hard to tell "
                f"apart for colour-blind readers ({deficiency}: CIEDE2000 {difference:.1f} < "
                f"{CVD_MIN_DELTA_E:g}); consider colours differing more in lightness"
            )
    return messages


def _groups_touch(
    geometries: NDArray[np.object_], bounds: FloatArray, rows_a: list[int], rows_b: list[int]
) -> bool:
    for a in rows_a:
        for b in rows_b:
            ba, bb = bounds[a], bounds[b]
            if ba[0] > bb[2] or bb[0] > ba[2] or ba[1] > bb[3] or bb[1] > ba[3]:
                continue
            if shapely.intersects(geometries[a], geometries[b]):
                return True
    return False


# ---------------------------------------------------------------------------------------------
# Page layout


@dataclass
class _TextBlock:
    paragraph: Any
    x: float
    y: float  # lower edge
    height: float


@dataclass
class _Layout:
    page: tuple[float, float]
    unit: float  # 1.0 on A4; type and spacing scale with the page
    blocks: list[_TextBlock]  # title and caption
    credit: _TextBlock  # placed under the frame once the frame is known
    area: Box  # room for the map frame


def page_size(spec: MapSpec) -> tuple[float, float]:
    """Width and height of the sheet in pt."""
    try:
        width, height = sorted(PAGE_SIZES[spec.page.size])
    except KeyError:
        raise PrintError(
            f"unknown page size {spec.page.size!r}; use A4, A3 or Letter",
            where=f"map {spec.id!r}: page.size",
        ) from None
    return (height, width) if spec.page.orientation == "landscape" else (width, height)


def _style(name: str, font: str, size: float, leading: float, color: str, mode: Mode) -> Any:
    return ParagraphStyle(
        name, fontName=font, fontSize=size, leading=size * leading, textColor=pdf_color(color, mode)
    )


def _fit_paragraph(
    text: str,
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
        paragraph = Paragraph(text, _style("p", font, size, leading, color, mode))
        _w, height = paragraph.wrap(width, 10_000)
        if max_lines is None or len(paragraph.blPara.lines) <= max_lines:
            return paragraph, height
    return None


def _layout(spec: MapSpec, credit: str, mode: Mode) -> _Layout:
    width, height = page_size(spec)
    unit = min(width, height) / A4[0]
    margin = 30 * unit
    content_w = width - 2 * margin
    where = f"map {spec.id!r}"
    page_name = f"{spec.page.size} {spec.page.orientation}"

    title_text = escape(spec.title)
    title = _fit_paragraph(
        title_text, FONT_BOLD, [21 * unit, 19.5 * unit, 18 * unit], 1.18, INK, mode, content_w, 1
    ) or _fit_paragraph(
        title_text, FONT_BOLD, [21 * unit, 19 * unit, 17 * unit], 1.18, INK, mode, content_w, 2
    )
    if title is None:
        raise PrintError(
            f"the title does not fit in two lines on a {page_name} page",
            where=f"{where}: title",
            hint="shorten the title",
        )
    blocks = [_TextBlock(title[0], margin, height - margin - title[1], title[1])]
    top = blocks[0].y

    credit_fit = _fit_paragraph(
        credit, FONT_REGULAR, [max(6.0, 6.5 * unit), 6.0], 1.3, CREDIT_GREY, mode, content_w, 3
    )
    if credit_fit is None:
        raise PrintError(
            "the credit line (title, author, licence) does not fit in three lines",
            where=f"{where}: author",
            hint="shorten the title or the author",
        )
    credit_block = _TextBlock(credit_fit[0], margin, margin, credit_fit[1])
    bottom = margin + credit_fit[1] + CREDIT_GAP * unit

    min_map = 0.45 * (height - 2 * margin)
    if spec.caption:
        caption_w = 0.8 * content_w if width > height else content_w  # readable line length
        base = 10 * unit
        for size in (base, base - unit, base - 2 * unit):
            fit = _fit_paragraph(
                escape(spec.caption), FONT_REGULAR, [size], 1.4, TEXT_GREY, mode, caption_w
            )
            assert fit is not None  # noqa: S101 - no line limit, always fits
            caption_top = top - 6 * unit
            if caption_top - fit[1] - 14 * unit - bottom >= min_map:
                blocks.append(_TextBlock(fit[0], margin, caption_top - fit[1], fit[1]))
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
    return _Layout((width, height), unit, blocks, credit_block, area)


# ---------------------------------------------------------------------------------------------
# Projection and frame


@lru_cache(maxsize=16)
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


@dataclass(frozen=True)
class _ProjectedFrame:
    """The affine map from projected metres to page points."""

    projected: Box
    page: Box

    @property
    def scale(self) -> float:
        """Page points per projected metre."""
        return (self.page[2] - self.page[0]) / (self.projected[2] - self.projected[0])

    def to_page(self, x: float, y: float) -> tuple[float, float]:
        """One projected point on the page."""
        return (
            self.page[0] + (x - self.projected[0]) * self.scale,
            self.page[1] + (y - self.projected[1]) * self.scale,
        )

    def transform(self, xy: FloatArray) -> FloatArray:
        """Projected coordinates (n, 2) to page points."""
        origin = np.array(self.projected[:2])
        result: FloatArray = (xy - origin) * self.scale + np.array(self.page[:2])
        return result


def _frame(proj: PrintProjection, area: Box) -> tuple[_ProjectedFrame, shapely.Polygon]:
    """The projected extent's box grown to the map area's shape, and the projected outline."""
    outline = project_outline(
        _inside_window(extent_outline(proj.extent, proj.lon_0), proj), proj.crs
    )
    x0, y0, x1, y1 = outline.bounds
    if proj.is_world:
        pad = WORLD_PADDING * max(x1 - x0, y1 - y0)
        x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    area_w, area_h = area[2] - area[0], area[3] - area[1]
    ratio = (x1 - x0) / (y1 - y0)
    # A regional map just shows more of its surroundings; a world map would float in white
    # paper, so there the frame hugs the globe (the page keeps the rest blank).
    if proj.is_world and ratio > area_w / area_h * MAX_FRAME_GROWTH:
        area = (area[0], area[3] - area_w * MAX_FRAME_GROWTH / ratio, area[2], area[3])
    elif proj.is_world and ratio < area_w / area_h / MAX_FRAME_GROWTH:
        area = (area[0], area[1], area[0] + area_h * ratio * MAX_FRAME_GROWTH, area[3])
    area_ratio = (area[2] - area[0]) / (area[3] - area[1])
    if (x1 - x0) / (y1 - y0) > area_ratio:
        grow = ((x1 - x0) / area_ratio - (y1 - y0)) / 2
        y0, y1 = y0 - grow, y1 + grow
    else:
        grow = ((y1 - y0) * area_ratio - (x1 - x0)) / 2
        x0, x1 = x0 - grow, x1 + grow
    return _ProjectedFrame((x0, y0, x1, y1), area), outline


def _inside_window(outline: shapely.Polygon, proj: PrintProjection) -> shapely.Polygon:
    """Move longitudes on the window's edges (lon_0 +/- 180) a hair inwards.

    PROJ may wrap a point exactly on the edge to the other side of the map, which makes a
    world outline centred off Greenwich collapse and draws streaks across the map.
    """
    low, high = proj.lon_0 - 180.0 + EDGE_INSET_DEGREES, proj.lon_0 + 180.0 - EDGE_INSET_DEGREES

    def inset(xy: FloatArray) -> FloatArray:
        return np.column_stack([np.clip(xy[:, 0], low, high), xy[:, 1]])

    result: shapely.Polygon = shapely.transform(outline, inset)
    return result


def _lonlat_box(frame: Box, proj: PrintProjection) -> Extent | None:
    """Lon/lat box (window longitudes) covering the frame with a margin; None for everything."""
    x0, y0, x1, y1 = frame
    steps = np.linspace(0.0, 1.0, 65)
    xs = np.concatenate(
        [x0 + steps * (x1 - x0), np.full(65, x1), x1 - steps * (x1 - x0), np.full(65, x0)]
    )
    ys = np.concatenate(
        [np.full(65, y0), y0 + steps * (y1 - y0), np.full(65, y1), y1 - steps * (y1 - y0)]
    )
    lon, lat = _transformer(proj.crs, "EPSG:4326").transform(xs, ys, errcheck=False)
    lon, lat = np.asarray(lon), np.asarray(lat)
    finite = np.isfinite(lon) & np.isfinite(lat)
    if finite.sum() < len(lon) * 0.9:
        return None
    lon = proj.lon_0 + (lon[finite] - proj.lon_0 + 180.0) % 360.0 - 180.0
    lat = lat[finite]
    west, east, south, north = lon.min(), lon.max(), lat.min(), lat.max()
    pad_x, pad_y = 3.0 + 0.15 * (east - west), 3.0 + 0.15 * (north - south)
    box = (west - pad_x, max(-90.0, south - pad_y), east + pad_x, min(90.0, north + pad_y))
    for pole in (90.0, -90.0):
        px, py = _transformer("EPSG:4326", proj.crs).transform(proj.lon_0, pole)
        if np.isfinite(px) and x0 <= px <= x1 and y0 <= py <= y1:
            box = (proj.lon_0 - 180.0, min(box[1], pole), proj.lon_0 + 180.0, max(box[3], pole))
    if box[2] - box[0] >= 300.0:
        box = (proj.lon_0 - 180.0, box[1], proj.lon_0 + 180.0, box[3])
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def projection_name(proj: PrintProjection) -> str:
    """A reader's name of the projection, for the credit line."""
    crs = CRS.from_user_input(proj.crs)
    code = crs.to_epsg(min_confidence=90) if proj.crs.upper().startswith("EPSG:") else None
    if code is not None:
        return f"{crs.name} (EPSG:{code})"
    operation = crs.coordinate_operation
    method = operation.method_name if operation is not None else crs.name
    method = {"Lambert Azimuthal Equal Area": "Lambert azimuthal equal-area"}.get(method, method)
    latitudes = [
        p.value
        for p in (operation.params if operation is not None else [])
        if p.name.lower().startswith("latitude of natural origin")
    ]
    if latitudes and method.lower().startswith(("lambert azimuthal", "azimuthal", "orthographic")):
        return (
            f"{method} projection centred on {_degrees(float(latitudes[0]), 'N', 'S')}, "
            f"{_degrees(proj.lon_0, 'E', 'W')}"
        )
    if proj.lon_0:
        return f"{method} projection centred on {_degrees(proj.lon_0, 'E', 'W')}"
    return f"{method} projection"


def _degrees(value: float, positive: str, negative: str) -> str:
    return f"{abs(value):.4g}°{positive if value >= 0 else negative}"


# ---------------------------------------------------------------------------------------------
# Rings: polygons as flat numpy arrays


def _polygonal(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    """:func:`tilepress.sources.polygonal`, with empty results as empty MultiPolygons."""
    result = polygonal(geometries)
    result[shapely.is_empty(result)] = shapely.MultiPolygon()
    return result


# ---------------------------------------------------------------------------------------------
# The map geometry pipeline


@dataclass
class _MapGeometry:
    page: NDArray[np.object_]  # countries in page points, clipped to the frame
    rings: _Rings  # the same in integer tenths of a point, ready to write
    dropped_vertices: int
    specks: int  # polygons smaller than the output resolution (0.1 pt), left out
    tolerance_m: float


def _clip_outside(geometries: NDArray[np.object_], box: Box) -> NDArray[np.object_]:
    """clip_by_rect, skipping geometries already inside the box."""
    bounds = shapely.bounds(geometries)
    with np.errstate(invalid="ignore"):
        inside = (
            (bounds[:, 0] >= box[0])
            & (bounds[:, 1] >= box[1])
            & (bounds[:, 2] <= box[2])
            & (bounds[:, 3] <= box[3])
        )
    result = geometries.copy()
    crossing = ~inside & ~shapely.is_empty(geometries)
    result[crossing] = shapely.clip_by_rect(geometries[crossing], *box)
    return _polygonal(result)


def _map_geometry(
    geometries: NDArray[np.object_], proj: PrintProjection, frame: _ProjectedFrame
) -> _MapGeometry:
    """Clip, wrap, densify, project, generalize and clip the countries to the frame."""
    if proj.is_world:  # all longitudes, but only the extent's latitudes (the globe outline)
        box: Extent | None = (
            proj.lon_0 - 180.0,
            proj.extent[1],
            proj.lon_0 + 180.0,
            proj.extent[3],
        )
    else:
        box = _lonlat_box(frame.projected, proj)
    wrapped = _polygonal(wrap_and_clip(geometries, proj.lon_0, box))
    rings = _Rings.from_geometries(wrapped).densified(DENSIFY_DEGREES)
    lon = np.clip(
        rings.xy[:, 0],
        proj.lon_0 - 180.0 + EDGE_INSET_DEGREES,
        proj.lon_0 + 180.0 - EDGE_INSET_DEGREES,
    )  # see _inside_window
    x, y = _transformer("EPSG:4326", proj.crs).transform(lon, rings.xy[:, 1], errcheck=False)
    rings.xy = np.column_stack([x, y])
    finite = np.asarray(np.isfinite(rings.xy).all(axis=1), dtype=bool)
    dropped = int((~finite).sum())
    if dropped:
        rings = rings.keep_vertices(finite)
    tolerance = SIMPLIFY_MM / 25.4 * 72.0 / frame.scale
    fx0, fy0, fx1, fy1 = frame.projected
    margin = 0.02 * max(fx1 - fx0, fy1 - fy0)
    near_box = (fx0 - margin, fy0 - margin, fx1 + margin, fy1 + margin)
    low, high = np.array(near_box[:2]), np.array(near_box[2:])
    if len(rings.xy) and not (
        (rings.xy.min(axis=0) >= low).all() and (rings.xy.max(axis=0) <= high).all()
    ):
        rings = _Rings.from_geometries(_clip_outside(rings.to_geometries(), near_box))
    thinned = thin_shared(rings, area=(0.6 * tolerance) ** 2)
    simplified = shapely.coverage_simplify(thinned.to_geometries(), tolerance)
    clipped = _clip_outside(_polygonal(simplified), frame.projected)
    oriented = shapely.orient_polygons(clipped, exterior_cw=False)
    on_page: NDArray[np.object_] = shapely.transform(oriented, frame.transform)
    page_rings = _page_rings(on_page, frame.page)
    specks = int(shapely.get_num_geometries(on_page).sum()) - len(page_rings.polygon_geometry)
    return _MapGeometry(on_page, page_rings, dropped, specks, tolerance)


def _page_rings(geometries: NDArray[np.object_], frame: Box) -> _Rings:
    """Rings in integer tenths of a point inside the frame, repeated points dropped."""
    rings = _Rings.from_geometries(geometries)
    xy = np.rint(rings.xy * 10.0)
    xy[:, 0] = np.clip(xy[:, 0], math.ceil(frame[0] * 10), math.floor(frame[2] * 10))
    xy[:, 1] = np.clip(xy[:, 1], math.ceil(frame[1] * 10), math.floor(frame[3] * 10))
    rings.xy = xy
    previous, _following = rings.neighbours()
    repeated = (xy == xy[previous]).all(axis=1)
    return rings.keep_vertices(~repeated)


# ---------------------------------------------------------------------------------------------
# PDF path operators


def path_operators(xy: FloatArray, moves: NDArray[np.bool_]) -> tuple[bytes, IntArray]:
    """``x y m`` / ``x y l`` lines for coordinates in integer tenths of a point, with numpy.

    Tenths (0.035 mm) are finer than the generalization tolerance. Returns the bytes and the
    end offset of each line (to cut out one country's path).
    """
    values = xy.astype(np.int64)
    if len(values) and (values.min() < 0 or values.max() > 99_999):
        raise PrintError("path coordinates outside the page")
    width = 6  # dddd.d, leading zeros and a trailing '.0' left out
    table = np.zeros((len(values), 2 * width + 4), dtype=np.uint8)
    for column, base in ((0, 0), (1, width + 1)):
        v = values[:, column]
        tenths = v % 10
        table[:, base + 5] = np.where(tenths > 0, 48 + tenths, 0)
        table[:, base + 4] = np.where(tenths > 0, ord("."), 0)
        table[:, base + 3] = 48 + v // 10 % 10
        for digit, position in ((2, 2), (3, 1), (4, 0)):
            table[:, base + position] = np.where(v >= 10**digit, 48 + v // 10**digit % 10, 0)
    table[:, width] = table[:, 2 * width + 1] = ord(" ")
    table[:, 2 * width + 2] = np.where(moves, ord("m"), ord("l"))
    table[:, 2 * width + 3] = ord("\n")
    filled = table != 0
    return table[filled].tobytes(), np.cumsum(filled.sum(axis=1))


def _ring_moves(rings: _Rings) -> NDArray[np.bool_]:
    moves = np.zeros(len(rings.xy), dtype=bool)
    moves[rings.starts[rings.sizes > 0]] = True
    return moves


def shared_borders(rings: _Rings) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Polylines of the edges two different countries share, each drawn once.

    Returns vertices and their move-to flags; coastlines, frame edges and seams inside one
    country (Chukotka at 180 degrees) are not borders.
    """
    if len(rings.xy) == 0:
        return np.empty((0, 2)), np.zeros(0, dtype=bool)
    previous, following = rings.neighbours()
    draw = np.zeros(len(rings.xy), dtype=bool)
    draw[first_shared_edges(rings)[0]] = True  # first occurrence of each shared edge
    ring_first = np.zeros(len(rings.xy), dtype=bool)
    ring_first[rings.starts[rings.sizes > 0]] = True
    start_run = draw & (~draw[previous] | ring_first)
    per_edge = draw.astype(np.int64) + start_run
    position = np.cumsum(per_edge) - per_edge  # first output row of each edge
    total = int(per_edge.sum())
    out = np.empty((total, 2))
    moves = np.zeros(total, dtype=bool)
    starts = np.flatnonzero(start_run)
    out[position[starts]] = rings.xy[starts]
    moves[position[starts]] = True
    drawn = np.flatnonzero(draw)
    ends = position[drawn] + start_run[drawn]
    out[ends] = rings.xy[following[drawn]]
    return out, moves


def _fill_path(canvas: Any, text: str, color: Color) -> None:
    canvas.setFillColor(color)
    canvas.addLiteral(text + "f")


# ---------------------------------------------------------------------------------------------
# Labels and legend


@dataclass
class _Placed:
    boxes: list[Box] = field(default_factory=list)

    def free(self, box: Box, pad: float) -> bool:
        return all(
            box[2] + pad <= b[0]
            or b[2] + pad <= box[0]
            or box[3] + pad <= b[1]
            or b[3] + pad <= box[1]
            for b in self.boxes
        )


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


def _label_size(lines: list[str], style: _LabelStyle) -> tuple[float, float]:
    widths = [
        pdfmetrics.stringWidth(line, style.font, style.size)
        + style.tracking * max(0, len(line) - 1)
        for line in lines
    ]
    return max(widths), style.size * (0.74 + 1.15 * (len(lines) - 1))


def _box_at(cx: float, cy: float, w: float, h: float) -> Box:
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _overlap(box: Box, geometry: shapely.Geometry) -> float:
    """Area of ``geometry`` inside ``box``."""
    return float(shapely.area(shapely.clip_by_rect(geometry, *box)))


def _draw_label(
    canvas: Any, lines: list[str], box: Box, style: _LabelStyle, halo: float, mode: Mode
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
            width = pdfmetrics.stringWidth(line, style.font, style.size) + style.tracking * max(
                0, len(line) - 1
            )
            text.setTextOrigin(cx - width / 2, top_baseline - number * line_gap)
            text.textOut(line)
        canvas.drawText(text)
        if render_mode == 1:
            canvas.addLiteral("EMC")
            canvas.restoreState()
    canvas.restoreState()


def _label_anchor(
    row: int, table: CountryTable, proj: PrintProjection, frame: _ProjectedFrame
) -> tuple[float, float] | None:
    try:
        lon, lat = float(table.field("LABEL_X")[row]), float(table.field("LABEL_Y")[row])
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    x, y = _transformer("EPSG:4326", proj.crs).transform(lon, lat, errcheck=False)
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    return frame.to_page(float(x), float(y))


def _largest_part(geometry: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geometry)
    return parts[int(np.argmax(shapely.area(parts)))]


Marker = tuple[float, float, float]  # x, y, radius of a dot on a tiny highlighted country


@dataclass
class _Labeller:
    """Places country names with halos, first come first served, never overlapping."""

    canvas: Any
    geometry: _MapGeometry
    frame: Box
    placed: _Placed
    highlighted: list[int]
    markers: dict[int, Marker]
    unit: float
    mode: Mode

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
        w, h = _label_size(lines, style)
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
        _draw_label(self.canvas, lines, best[1], style, halo, self.mode)
        return True

    def _candidates(
        self, row: int, anchor: tuple[float, float] | None, w: float, h: float, outside_ok: bool
    ) -> list[Box]:
        """On the country where the label fits inside it, else (if allowed) just beside it."""
        shape = self.geometry.page[row]
        part = _largest_part(shape)
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


def _place_labels(
    canvas: Any,
    spec: MapSpec,
    table: CountryTable,
    highlighting: Highlighting,
    proj: PrintProjection,
    frame: _ProjectedFrame,
    geometry: _MapGeometry,
    placed: _Placed,
    unit: float,
    mode: Mode,
    warnings: list[str],
    markers: dict[int, Marker],
) -> int:
    """Name the highlighted countries (and others for ``labels: all``) without collisions."""
    if spec.labels == "none":
        return 0
    page = geometry.page
    highlighted = list(highlighted_rows(highlighting))
    labeller = _Labeller(canvas, geometry, frame.page, placed, highlighted, markers, unit, mode)
    strong = _LabelStyle(FONT_BOLD, 8.5 * unit, INK, 0.06 * 8.5 * unit, upper=True)
    quiet = _LabelStyle(FONT_REGULAR, 6.5 * unit, "#555555", 0.0, upper=False)
    names = table.names
    count = 0
    for row in highlighted:
        if shapely.is_empty(page[row]):
            warnings.append(
                f"map {spec.id!r}: {names[row]} is highlighted but outside the map frame"
            )
        elif labeller.place(
            row, names[row], _label_anchor(row, table, proj, frame), strong, outside_ok=True
        ):
            count += 1
        else:
            warnings.append(f"map {spec.id!r}: no room for the label of {names[row]}; left out")
    if spec.labels == "all":
        zoom = math.log2(WEB_MERCATOR_WORLD_M * frame.scale * 96.0 / 72.0 / 256.0)
        ranked = []
        for row, value in enumerate(table.field("MIN_LABEL")):
            try:
                min_label = float(value)
            except (TypeError, ValueError):
                continue
            if (
                row not in highlighting.group_of_row
                and min_label <= zoom + 1.0
                and not shapely.is_empty(page[row])
            ):
                ranked.append((min_label, -float(shapely.area(page[row])), row))
        for _min_label, _area, row in sorted(ranked):
            count += labeller.place(
                row, names[row], _label_anchor(row, table, proj, frame), quiet, outside_ok=False
            )
    return count


def _draw_markers(
    canvas: Any,
    spec: MapSpec,
    geometry: _MapGeometry,
    highlighting: Highlighting,
    unit: float,
    mode: Mode,
) -> dict[int, Marker]:
    """A dot in the group colour on each highlighted country too small to see on the page."""
    radius = MARKER_RADIUS * unit
    markers: dict[int, Marker] = {}
    for row, group in sorted(highlighting.group_of_row.items()):
        shape = geometry.page[row]
        if shapely.is_empty(shape) or shapely.area(shape) >= math.pi * radius**2:
            continue
        point = shapely.point_on_surface(_largest_part(shape))
        markers[row] = (point.x, point.y, radius)
        canvas.setFillColor(pdf_color(spec.highlight[group].color, mode))
        canvas.setStrokeColor(pdf_color(spec.border_color, mode))
        canvas.setLineWidth(max(BORDER_WIDTH, MIN_LINE_WIDTH))
        canvas.circle(point.x, point.y, radius, stroke=1, fill=1)
    return markers


def _legend(
    canvas: Any,
    spec: MapSpec,
    frame: Box,
    geometry: _MapGeometry,
    highlighting: Highlighting,
    unit: float,
    mode: Mode,
    placed: _Placed,
) -> Box:
    """Swatch and label of each highlight group in a box in the emptiest corner of the map."""
    size = 8.5 * unit
    pad, swatch_w, swatch_h, row_h, gap = 6 * unit, 14 * unit, 9 * unit, 13 * unit, 5 * unit
    text_w = max(pdfmetrics.stringWidth(g.label, FONT_REGULAR, size) for g in spec.highlight)
    w = 2 * pad + swatch_w + gap + text_w
    h = 2 * pad + len(spec.highlight) * row_h - (row_h - swatch_h)
    inset = 8 * unit
    corners = [
        (frame[0] + inset, frame[1] + inset),  # lower left
        (frame[2] - inset - w, frame[1] + inset),  # lower right
        (frame[0] + inset, frame[3] - inset - h),  # upper left
        (frame[2] - inset - w, frame[3] - inset - h),  # upper right
    ]
    highlighted = set(highlighting.group_of_row)
    land = geometry.page
    boxes: list[Box] = [(x, y, x + w, y + h) for x, y in corners]
    areas = np.array([shapely.area(shapely.clip_by_rect(land, *box)) for box in boxes])
    weight = np.array([10.0 if row in highlighted else 1.0 for row in range(len(land))])
    scores = [float(np.nansum(a * weight)) for a in areas]
    box = boxes[int(np.argmin(scores))]
    x0, y0, _x1, y1 = box

    canvas.saveState()
    canvas.setFillColor(pdf_color(WHITE, mode))
    canvas.setStrokeColor(pdf_color(FRAME_GREY, mode))
    canvas.setLineWidth(0.4)
    canvas.rect(x0, y0, w, h, stroke=1, fill=1)
    for number, group in enumerate(spec.highlight):
        top = y1 - pad - number * row_h
        canvas.setFillColor(pdf_color(group.color, mode))
        canvas.rect(x0 + pad, top - swatch_h, swatch_w, swatch_h, stroke=0, fill=1)
        canvas.setFillColor(pdf_color(INK, mode))
        canvas.setFont(FONT_REGULAR, size)
        canvas.drawString(x0 + pad + swatch_w + gap, top - swatch_h / 2 - 0.36 * size, group.label)
    canvas.restoreState()
    placed.boxes.append(box)
    return box


# ---------------------------------------------------------------------------------------------
# The sheet


def credit_line(spec: MapSpec, name_of_projection: str) -> str:
    """The TASL credit (title, author, source, licence) as plain text."""
    if spec.source.name == BUILTIN_SOURCE:
        boundaries = NATURAL_EARTH_CREDIT
    else:
        origin = spec.source.url or Path(spec.source.local_path).name
        boundaries = f"Boundaries: {spec.source.name} ({origin})."
        if "naturalearth" in origin.lower().replace("_", "").replace(" ", ""):
            boundaries += " Made with Natural Earth."
    licence = f"{spec.license_name} ({spec.license_url})" if spec.license_url else spec.license_name
    text = (
        f"\u201c{spec.title}\u201d by {spec.author}, licensed under {licence}. {boundaries} "
        f"{name_of_projection}."
    )
    if spec.date:
        text += f" {spec.date}"
    return text


def _credit_markup(plain: str, url: str) -> str:
    text = escape(plain)
    if url:
        text = text.replace(
            escape(url), f'<a href="{escape(url, {chr(34): "&quot;"})}">{escape(url)}</a>', 1
        )
    return text


def build_print_sheet(
    spec: MapSpec,
    table: CountryTable,
    highlighting: Highlighting,
    out_pdf: Path,
    *,
    mode: Literal["rgb", "cmyk"] = "rgb",
) -> PrintReport:
    """Lay out and write the map's print PDF (atomically); return what was drawn."""
    started = time.perf_counter()
    if mode not in ("rgb", "cmyk"):
        raise PrintError(
            f"unknown colour mode {mode!r}; use 'rgb' or 'cmyk'", where=f"map {spec.id!r}"
        )
    out_pdf = Path(out_pdf)
    register_fonts()
    rows = list(highlighted_rows(highlighting))
    try:
        extent = resolve_extent(spec.extent, table.geometries[rows])
        proj = choose_print_projection(spec.projection, extent)
        name_of_projection = projection_name(proj)
    except ProjectionError as error:
        raise ProjectionError(
            error.message,
            where=f"map {spec.id!r}: projection",
            hint=error.hint or "give an EPSG code or a PROJ string of a projected CRS, or `auto`",
        ) from None
    warnings = adjacent_group_conflicts(spec, table, highlighting)
    warnings += missing_glyphs(spec, [table.names[row] for row in rows])
    credit = credit_line(spec, name_of_projection)
    layout = _layout(spec, _credit_markup(credit, spec.license_url), mode)
    try:
        frame, outline = _frame(proj, layout.area)
    except ProjectionError as error:
        raise ProjectionError(
            error.message, where=f"map {spec.id!r}: extent", hint=error.hint
        ) from None
    geometry = _map_geometry(table.geometries, proj, frame)
    if geometry.dropped_vertices:
        warnings.append(
            f"map {spec.id!r}: {geometry.dropped_vertices} vertices cannot be "
            f"projected with {proj.crs!r} and were left out"
        )

    buffer = io.BytesIO()
    with _plain_flate_streams():
        labels = _draw_sheet(
            buffer,
            spec,
            table,
            highlighting,
            layout,
            proj,
            frame,
            outline,
            geometry,
            mode,
            warnings,
        )
    data = buffer.getvalue()
    write_atomic(out_pdf, data)

    for message in warnings:
        logger.warning(message)
    return PrintReport(
        map_id=spec.id,
        pdf=out_pdf,
        projection=proj.crs,
        projection_name=name_of_projection,
        extent=extent,
        page_size=layout.page,
        frame=frame.page,
        frame_projected=frame.projected,
        tolerance_m=geometry.tolerance_m,
        polygons=len(geometry.rings.polygon_geometry),
        vertices=len(geometry.rings.xy),
        specks=geometry.specks,
        labels=labels,
        file_size=len(data),
        seconds=time.perf_counter() - started,
        mode=mode,
        warnings=warnings,
    )


@contextmanager
def _plain_flate_streams() -> Iterator[None]:
    """Flate-only streams: reportlab's default ASCII85 layer is 25% bigger and slow in Python."""
    previous = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = previous


def _draw_sheet(
    buffer: io.BytesIO,
    spec: MapSpec,
    table: CountryTable,
    highlighting: Highlighting,
    layout: _Layout,
    proj: PrintProjection,
    frame: _ProjectedFrame,
    outline: shapely.Polygon,
    geometry: _MapGeometry,
    mode: Mode,
    warnings: list[str],
) -> int:
    """Draw the page into ``buffer``; returns the number of country labels."""
    canvas = Canvas(
        buffer,
        pagesize=layout.page,
        pageCompression=1,
        invariant=1,
        initialFontName=FONT_REGULAR,
        initialFontSize=10,
        enforceColorSpace="cmyk" if mode == "cmyk" else None,
    )
    canvas.setTitle(spec.title)
    canvas.setAuthor(spec.author)
    canvas.setSubject(spec.caption or spec.title)
    canvas.setKeywords(", ".join([g.label for g in spec.highlight] + ["map"]))
    canvas.setCreator(f"tilepress {__version__}")

    page_frame = frame.page
    fx0, fy0, fx1, fy1 = page_frame
    canvas.saveState()
    clip = canvas.beginPath()
    clip.rect(fx0, fy0, fx1 - fx0, fy1 - fy0)
    canvas.clipPath(clip, stroke=0, fill=0)
    _draw_map(canvas, spec, table, highlighting, proj, frame, outline, geometry, mode)
    placed = _Placed()
    markers = _draw_markers(canvas, spec, geometry, highlighting, layout.unit, mode)
    if spec.highlight:
        _legend(canvas, spec, page_frame, geometry, highlighting, layout.unit, mode, placed)
    labels = _place_labels(
        canvas,
        spec,
        table,
        highlighting,
        proj,
        frame,
        geometry,
        placed,
        layout.unit,
        mode,
        warnings,
        markers,
    )
    canvas.restoreState()

    canvas.setStrokeColor(pdf_color(FRAME_GREY, mode))
    canvas.setLineWidth(FRAME_WIDTH)
    canvas.rect(fx0, fy0, fx1 - fx0, fy1 - fy0, stroke=1, fill=0)
    for block in layout.blocks:
        block.paragraph.drawOn(canvas, block.x, block.y)
    credit_y = fy0 - CREDIT_GAP * layout.unit - layout.credit.height
    layout.credit.paragraph.drawOn(canvas, layout.credit.x, credit_y)
    canvas.showPage()
    canvas.save()
    return labels


def _draw_map(
    canvas: Any,
    spec: MapSpec,
    table: CountryTable,
    highlighting: Highlighting,
    proj: PrintProjection,
    frame: _ProjectedFrame,
    outline: shapely.Polygon,
    geometry: _MapGeometry,
    mode: Mode,
) -> None:
    """Ocean, one filled path per country, then the shared borders in one stroked path."""
    page_frame = frame.page
    fx0, fy0, fx1, fy1 = page_frame
    ocean = pdf_color(spec.ocean_color, mode)
    if proj.is_world:
        globe = shapely.transform(np.array([outline], dtype=object), frame.transform)
        globe_rings = _page_rings(_clip_outside(globe, page_frame), page_frame)
        text, _ends = path_operators(globe_rings.xy, _ring_moves(globe_rings))
        _fill_path(canvas, text.decode("ascii"), ocean)
    else:
        canvas.setFillColor(ocean)
        canvas.rect(fx0, fy0, fx1 - fx0, fy1 - fy0, stroke=0, fill=1)

    rings = geometry.rings
    text_bytes, line_ends = path_operators(rings.xy, _ring_moves(rings))
    byte_ends = np.concatenate([[0], line_ends])
    vertex_ranges = rings.vertex_ranges()
    colors = fill_colors(spec, table, highlighting)
    color_objects = {c: pdf_color(c, mode) for c in sorted(set(colors))}
    for row in range(len(table)):
        first, last = vertex_ranges[row], vertex_ranges[row + 1]
        if last > first:
            chunk = text_bytes[byte_ends[first] : byte_ends[last]]
            _fill_path(canvas, chunk.decode("ascii"), color_objects[colors[row]])

    border_xy, border_moves = shared_borders(rings)
    if len(border_xy):
        border_text, _ends = path_operators(border_xy, border_moves)
        canvas.setStrokeColor(pdf_color(spec.border_color, mode))
        canvas.setLineWidth(max(BORDER_WIDTH, MIN_LINE_WIDTH))
        canvas.setLineJoin(1)
        canvas.setLineCap(1)
        canvas.addLiteral(border_text.decode("ascii") + "S")


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to a temporary file next to ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def render_preview(pdf_path: Path, png_path: Path, *, dpi: int = 110) -> None:
    """Render page 1 of a PDF to a PNG with pdfium (atomically; same PDF, same bytes)."""
    import pypdfium2 as pdfium

    if dpi <= 0:
        raise PrintError(f"dpi must be positive, got {dpi}", where=str(pdf_path))
    try:
        document = pdfium.PdfDocument(str(pdf_path))
    except pdfium.PdfiumError as error:
        raise PrintError(f"cannot open the PDF: {error}", where=str(pdf_path)) from None
    try:
        image = document[0].render(scale=dpi / 72.0).to_pil().convert("RGB")
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    write_atomic(Path(png_path), buffer.getvalue())
