"""Colours of the print sheet: RGB or naive CMYK, and the colour-blind check of neighbours."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import shapely
from numpy.typing import NDArray
from reportlab.lib.colors import CMYKColor, Color

from tilepress.config.model import MapSpec
from tilepress.sources.highlights import Highlighting
from tilepress.sources.table import CountryTable

Mode = Literal["rgb", "cmyk"]
FloatArray = NDArray[np.float64]

INK = "#1a1a1a"
TEXT_GREY = "#3d3d3d"
CREDIT_GREY = "#5c5c5c"
FRAME_GREY = "#8c8c8c"
WHITE = "#ffffff"
CVD_MIN_DELTA_E = 20.0  # CIEDE2000 between simulated colours below which neighbours clash
REGISTRATION = CMYKColor(1, 1, 1, 1)  # crop marks print on every plate


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
