"""One glyph of a TrueType font rendered as a signed distance field, the way MapLibre reads it.

The glyph's outline (no hinting) is loaded at 24 px through FreeType (``freetype-py``: the
FreeType library ships inside its wheel; no other Python library renders SDF glyphs, and
node-fontnik, which the format comes from, is a Node.js addon). Its curves are flattened into
line segments, and the distance from the centre of every pixel of the buffered bitmap to every
segment is computed at once in numpy arrays; a pixel is inside by the non-zero winding rule
(TrueType's fill rule: even-odd would punch holes where contours overlap, as in "Å"), and
distances end only on the filled area's boundary (the part of a contour running inside
another is cut away, so no faint seam is drawn where the ring of "Å" meets the A).

A bitmap is ``(width + 6) x (height + 6)`` bytes, top row first, each byte
``255 - 255 * (d / 8 + 0.25)`` clamped to 0..255, ``d`` the signed distance in pixels
(negative inside). The metrics are node-fontnik's (and Martin's), which MapLibre's shaping
expects: ``left`` the rounded bounding box's left edge, ``top`` its top edge minus the size's
ascender (both from the origin on the baseline), ``advance`` the horizontal advance
truncated, all in whole pixels.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from tilepress.web.glyph_pbf import RenderedGlyph

__all__ = [
    "BUFFER",
    "CUTOFF",
    "RADIUS",
    "SIZE",
    "freetype",
    "load_face",
    "outline_segments",
    "render_glyph",
    "sdf_bytes",
    "signed_distances",
]

SIZE: Final = 24
"""The size glyphs are rendered at, in pixels per em."""
BUFFER: Final = 3
"""Pixels added on each side of a glyph's bounding box."""
RADIUS: Final = 8.0
"""Pixels of distance the 0..255 range of a byte spans."""
CUTOFF: Final = 0.25
"""The share of that range given to the inside of the outline."""

_TOLERANCE: Final = 0.05  # pixels a flattened curve may stray from the curve
_MAX_PIECES: Final = 64  # line segments per curve, at most
_BLOCK: Final = 1 << 20  # pixel-segment pairs computed in one go, at most
_SIDE_STEP: Final = 1e-3  # pixels beside a segment's middle where its sides are tested
_EPSILON: Final = 1e-9  # of a segment's length: crossings nearer its ends do not cut it

Segments = NDArray[np.float64]  # (M, 4): x0, y0, x1, y1 in pixels, y up


def freetype() -> Any:
    """The ``freetype`` module (freetype-py), imported when first rendering: it has no types."""
    import freetype as module  # type: ignore[import-untyped]

    return module


def load_face(path: str) -> Any:
    """A FreeType face of the font file (its first face), set to :data:`SIZE` pixels."""
    face = freetype().Face(path)
    face.set_char_size(0, SIZE * 64, 72, 72)
    return face


def _round(value: float) -> int:
    """Round half away from zero (C's ``round``, as node-fontnik does)."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


class _Pen:
    """Collects an outline's lines, conics and cubics (26.6 units) from FreeType's decomposer."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, int, int, int]] = []
        self.conics: list[tuple[int, int, int, int, int, int]] = []
        self.cubics: list[tuple[int, int, int, int, int, int, int, int]] = []
        self.x = 0
        self.y = 0

    def move_to(self, to: Any, _: Any) -> int:
        self.x, self.y = to.x, to.y
        return 0

    def line_to(self, to: Any, _: Any) -> int:
        self.lines.append((self.x, self.y, to.x, to.y))
        self.x, self.y = to.x, to.y
        return 0

    def conic_to(self, control: Any, to: Any, _: Any) -> int:
        self.conics.append((self.x, self.y, control.x, control.y, to.x, to.y))
        self.x, self.y = to.x, to.y
        return 0

    def cubic_to(self, c1: Any, c2: Any, to: Any, _: Any) -> int:
        self.cubics.append((self.x, self.y, c1.x, c1.y, c2.x, c2.y, to.x, to.y))
        self.x, self.y = to.x, to.y
        return 0


def _pieces(deviation: NDArray[np.float64]) -> NDArray[np.int64]:
    """How many segments keep each curve within the tolerance (error <= deviation / n²)."""
    pieces = np.ceil(np.sqrt(deviation / _TOLERANCE))
    return np.clip(pieces, 1, _MAX_PIECES).astype(np.int64)


def _sample_parameters(
    pieces: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """For every segment of every curve: its curve, and the curve parameters at its ends."""
    curve = np.repeat(np.arange(len(pieces)), pieces)
    first = np.repeat(np.cumsum(pieces) - pieces, pieces)
    step = np.arange(len(curve)) - first
    count = pieces[curve].astype(np.float64)
    return curve, step / count, (step + 1) / count


def _flatten_conics(conics: NDArray[np.float64]) -> Segments:
    """Quadratic Béziers ``(K, 6)`` as line segments ``(M, 4)``, end points exact."""
    p0, c, p1 = conics[:, 0:2], conics[:, 2:4], conics[:, 4:6]
    deviation = np.hypot(*(p0 - 2 * c + p1).T) / 4
    curve, t0, t1 = _sample_parameters(_pieces(deviation))
    p0, c, p1 = p0[curve], c[curve], p1[curve]

    def at(t: NDArray[np.float64]) -> NDArray[np.float64]:
        s = (1 - t)[:, None]
        t = t[:, None]
        return np.asarray(s * s * p0 + 2 * s * t * c + t * t * p1)

    return np.hstack([at(t0), at(t1)])


def _flatten_cubics(cubics: NDArray[np.float64]) -> Segments:
    """Cubic Béziers ``(K, 8)`` as line segments ``(M, 4)`` (CFF-style outlines)."""
    p0, c1, c2, p1 = (cubics[:, i : i + 2] for i in (0, 2, 4, 6))
    deviation = 0.75 * np.maximum(np.hypot(*(p0 - 2 * c1 + c2).T), np.hypot(*(c1 - 2 * c2 + p1).T))
    curve, t0, t1 = _sample_parameters(_pieces(deviation))
    p0, c1, c2, p1 = p0[curve], c1[curve], c2[curve], p1[curve]

    def at(t: NDArray[np.float64]) -> NDArray[np.float64]:
        s = (1 - t)[:, None]
        t = t[:, None]
        return np.asarray(s**3 * p0 + 3 * s * s * t * c1 + 3 * s * t * t * c2 + t**3 * p1)

    return np.hstack([at(t0), at(t1)])


def outline_segments(outline: Any) -> Segments:
    """A FreeType outline as closed line segments in pixels (zero-length ones dropped)."""
    pen = _Pen()
    outline.decompose(pen, pen.move_to, pen.line_to, pen.conic_to, pen.cubic_to)
    parts = [np.asarray(pen.lines, dtype=np.float64).reshape(-1, 4) / 64.0]
    if pen.conics:
        parts.append(_flatten_conics(np.asarray(pen.conics, dtype=np.float64) / 64.0))
    if pen.cubics:
        parts.append(_flatten_cubics(np.asarray(pen.cubics, dtype=np.float64) / 64.0))
    segments = np.vstack(parts)
    moving = (segments[:, 0] != segments[:, 2]) | (segments[:, 1] != segments[:, 3])
    return np.asarray(segments[moving])


def _winding(
    segments: Segments, xs: NDArray[np.float64], ys: NDArray[np.float64]
) -> NDArray[np.int64]:
    """The non-zero winding number of the outline around every point of the grid ``ys x xs``
    (``xs`` evenly spaced by one pixel): each segment crossing a row to the right of a point
    adds its direction, +1 up and -1 down."""
    x0, y0, x1, y1 = segments.T
    row = ys[:, None]
    direction = ((y0 <= row) & (row < y1)).astype(np.int64) - ((y1 <= row) & (row < y0))
    rows, crossed = np.nonzero(direction)
    x = x0[crossed] + (ys[rows] - y0[crossed]) * (
        (x1[crossed] - x0[crossed]) / (y1[crossed] - y0[crossed])
    )
    # The number of points of the row left of the crossing (those it is to the right of).
    left_of = np.clip(np.ceil(x - xs[0]), 0, len(xs)).astype(np.int64)
    width = len(xs) + 1
    counts = np.bincount(
        rows * width + left_of, weights=direction[rows, crossed], minlength=len(ys) * width
    ).reshape(len(ys), width)
    # A point at column c is left of every crossing whose left_of count exceeds c.
    return np.cumsum(counts[:, :0:-1], axis=1)[:, ::-1].round().astype(np.int64)


def _split_at_crossings(segments: Segments) -> Segments:
    """The segments cut where another segment crosses or touches them inside."""
    x0, y0, x1, y1 = segments.T
    ex, ey = x1 - x0, y1 - y0
    wx, wy = x0[None, :] - x0[:, None], y0[None, :] - y0[:, None]  # from start i to start j
    denominator = ex[:, None] * ey[None, :] - ey[:, None] * ex[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (wx * ey[None, :] - wy * ex[None, :]) / denominator  # along i
        u = (wx * ey[:, None] - wy * ex[:, None]) / denominator  # along j
    crossed = (t > _EPSILON) & (t < 1 - _EPSILON) & (u >= -_EPSILON) & (u <= 1 + _EPSILON)
    rows, columns = np.nonzero(crossed)
    if len(rows) == 0:
        return segments
    count = len(segments)
    which = np.concatenate([np.arange(count), np.arange(count), rows])
    where = np.concatenate([np.zeros(count), np.ones(count), t[rows, columns]])
    order = np.lexsort((where, which))
    which, where = which[order], where[order]
    same = which[:-1] == which[1:]
    piece, t0, t1 = which[:-1][same], where[:-1][same], where[1:][same]
    keep = t1 > t0
    piece, t0, t1 = piece[keep], t0[keep], t1[keep]
    start = segments[piece, 0:2]
    step = segments[piece, 2:4] - start
    return np.hstack([start + t0[:, None] * step, start + t1[:, None] * step])


def _boundary(segments: Segments) -> Segments:
    """The pieces of the outline with the filled area on one side only: where contours overlap
    (a ring on an A), an edge running inside the other contour bounds nothing."""
    pieces = _split_at_crossings(segments)
    x0, y0, x1, y1 = segments.T
    ex, ey = x1 - x0, y1 - y0
    a0, b0, a1, b1 = pieces.T
    length = np.hypot(a1 - a0, b1 - b0)
    nx, ny = -(b1 - b0) / length * _SIDE_STEP, (a1 - a0) / length * _SIDE_STEP
    mx, my = (a0 + a1) / 2, (b0 + b1) / 2
    px = np.concatenate([mx + nx, mx - nx])[:, None]  # (2P, 1): just left, just right
    py = np.concatenate([my + ny, my - ny])[:, None]
    upward = (y0 <= py) & (py < y1)
    downward = (y1 <= py) & (py < y0)
    with np.errstate(divide="ignore", invalid="ignore"):
        right = px < x0 + (py - y0) * (ex / ey)
    winding = (upward & right).sum(axis=1) - (downward & right).sum(axis=1)
    left_in, right_in = np.split(winding != 0, 2)
    boundary = left_in != right_in
    return np.asarray(pieces[boundary]) if boundary.any() else segments


def signed_distances(
    segments: Segments, xs: NDArray[np.float64], ys: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The signed distance (negative inside, non-zero winding) from every point of the grid
    ``ys x xs`` to the boundary of the area the closed ``segments`` fill, as a
    ``(len(ys), len(xs))`` array."""
    inside = _winding(segments, xs, ys) != 0
    segments = _boundary(segments)
    x0, y0, x1, y1 = segments.T
    ex, ey = x1 - x0, y1 - y0
    inverse_length2 = 1.0 / (ex * ex + ey * ey)
    dx = xs[:, None] - x0  # (W, M)
    dy = ys[:, None] - y0  # (H, M)
    along_x = dx * ex
    along_y = dy * ey
    rows = max(1, _BLOCK // max(1, len(xs) * len(segments)))
    distance = np.empty((len(ys), len(xs)))
    for start in range(0, len(ys), rows):
        block = slice(start, start + rows)
        t = along_y[block, None, :] + along_x[None, :, :]  # (h, W, M): the closest point
        t *= inverse_length2
        np.clip(t, 0.0, 1.0, out=t)
        qx = dx[None, :, :] - t * ex
        t *= ey
        np.subtract(dy[block, None, :], t, out=t)
        qx *= qx
        t *= t
        qx += t
        distance[block] = np.sqrt(qx.min(axis=2))
    return np.where(inside, -distance, distance)


def sdf_bytes(distance: NDArray[np.float64]) -> bytes:
    """Signed distances in pixels as SDF bytes: ``255 - 255 * (d / RADIUS + CUTOFF)``."""
    value = np.floor(255.0 - 255.0 * (distance / RADIUS + CUTOFF) + 0.5)
    return bytes(np.clip(value, 0, 255).astype(np.uint8))


def render_glyph(face: Any, codepoint: int) -> RenderedGlyph:
    """The codepoint's glyph in ``face`` (a :func:`load_face`) as an SDF with its metrics.

    A glyph without outline (a space) has width and height 0, no bitmap, and its advance.
    """
    ft = freetype()
    face.load_char(codepoint, ft.FT_LOAD_NO_HINTING | ft.FT_LOAD_NO_BITMAP)
    slot = face.glyph
    advance = int(slot.metrics.horiAdvance) // 64
    ascender = int(int(face.size.ascender) / 64)  # C's integer division, as fontnik
    empty = RenderedGlyph(codepoint, b"", 0, 0, 0, -ascender, advance)
    if slot.format != ft.FT_GLYPH_FORMAT_OUTLINE or slot.outline.n_contours <= 0:
        return empty
    segments = outline_segments(slot.outline)
    box = slot.outline.get_bbox()
    left, right = _round(box.xMin / 64), _round(box.xMax / 64)
    bottom, top = _round(box.yMin / 64), _round(box.yMax / 64)
    width, height = right - left, top - bottom
    if width <= 0 or height <= 0 or len(segments) == 0:
        return empty
    xs = left - BUFFER + 0.5 + np.arange(width + 2 * BUFFER, dtype=np.float64)
    ys = top + BUFFER - 0.5 - np.arange(height + 2 * BUFFER, dtype=np.float64)
    bitmap = sdf_bytes(signed_distances(segments, xs, ys))
    return RenderedGlyph(codepoint, bitmap, width, height, left, top - ascender, advance)
