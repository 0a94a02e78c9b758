"""Planning a sheet: its fonts, projection, page layout, map frame, globe outline and graticule,
everything but the countries (which it needs only to fit an ``auto`` extent), so that a step
can plan while the source is still being read."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.config.model import MapSpec
from tilepress.errors import PrintError, ProjectionError
from tilepress.geometry.projection import (
    Extent,
    PrintProjection,
    choose_print_projection,
    projection_name,
    resolve_extent,
)
from tilepress.geometry.rings import Rings
from tilepress.printing.credit import credit_line, credit_markup
from tilepress.printing.fonts import Fonts, check_glyphs, sheet_fonts
from tilepress.printing.frame import FloatArray, ProjectedFrame, compute_frame
from tilepress.printing.geometry import clip_outside
from tilepress.printing.graticule import graticule_lines, graticule_step
from tilepress.printing.layout import SheetLayout, layout_page
from tilepress.printing.legend import LEGEND_GAP, legend_entries, legend_size
from tilepress.printing.marks import marks_in_frame
from tilepress.printing.paths import page_rings


@dataclass
class SheetPlan:
    """What the sheet needs before the countries are drawn: fonts, projection, page layout,
    map frame, globe outline and graticule. It depends on the countries only through an
    ``auto`` extent, so a step can plan while the source is still being read."""

    spec: MapSpec
    mode: Literal["rgb", "cmyk"]
    fonts: Fonts
    extent: Extent
    proj: PrintProjection
    name_of_projection: str
    layout: SheetLayout
    frame: ProjectedFrame
    globe: shapely.Geometry | None
    globe_rings: Rings | None
    graticule: tuple[FloatArray, NDArray[np.bool_]] | None
    seconds: float


def plan_print_sheet(
    spec: MapSpec,
    highlighted: NDArray[np.object_] | None = None,
    *,
    mode: Literal["rgb", "cmyk"] = "rgb",
) -> SheetPlan:
    """Fonts, projection, layout and frame of a sheet; ``highlighted`` (the highlighted
    countries' geometries) is needed only when the extent is ``auto``."""
    started = time.perf_counter()
    if mode not in ("rgb", "cmyk"):
        raise PrintError(
            f"unknown colour mode {mode!r}; use 'rgb' or 'cmyk'", where=f"map {spec.id!r}"
        )
    if spec.extent == "auto" and highlighted is None:
        raise ValueError("an `auto` extent is fitted to the highlighted countries: pass them")
    fonts = sheet_fonts(spec)
    check_glyphs(spec, fonts)
    try:
        extent = resolve_extent(
            spec.extent, np.empty(0, dtype=object) if highlighted is None else highlighted
        )
        proj = choose_print_projection(spec.projection, extent)
        name_of_projection = projection_name(proj)
    except ProjectionError as error:
        raise ProjectionError(
            error.message,
            where=f"map {spec.id!r}: projection",
            hint=error.hint or "give an EPSG code or a PROJ string of a projected CRS, or `auto`",
        ) from None
    credit = credit_line(spec, name_of_projection)
    layout = layout_page(spec, fonts, credit_markup(credit, spec.license_url, fonts), mode)
    try:
        frame, outline = compute_frame(proj, layout.area)
        shift = _centre_vertically(spec, fonts, layout, frame, proj)
        if shift:
            frame, outline = compute_frame(proj, layout.area)
    except ProjectionError as error:
        raise ProjectionError(
            error.message, where=f"map {spec.id!r}: extent", hint=error.hint
        ) from None
    globe = globe_rings = None
    if proj.is_world:
        on_page = shapely.transform(np.array([outline], dtype=object), frame.transform)
        clipped = clip_outside(on_page, frame.page)
        globe, globe_rings = clipped[0], page_rings(clipped, frame.page)
    graticule = None
    if spec.print_options.graticule:
        step = graticule_step(proj, spec.print_options.graticule_step)
        graticule = graticule_lines(proj, frame, step, globe)
    return SheetPlan(
        spec, mode, fonts, extent, proj, name_of_projection, layout, frame, globe, globe_rings,
        graticule, time.perf_counter() - started,
    )  # fmt: skip


def _centre_vertically(
    spec: MapSpec, fonts: Fonts, layout: SheetLayout, frame: ProjectedFrame, proj: PrintProjection
) -> float:
    """Where the map frame is lower than its area (a world map on a portrait page), move the
    title, caption and map down and the credit up by half the spare height, so the whole
    stack sits centred on the page; returns the shift (the layout is changed in place).

    The countries are not read yet: the legend's row for land no country holds is counted on
    every world map (the only maps with room under the frame), whether or not it is drawn."""
    below = 0.0
    shown, _outside = marks_in_frame(spec, proj, frame, layout.unit)
    entries = legend_entries(spec, [m.marker for m in shown], unclaimed=proj.is_world)
    if entries:
        _w, h = legend_size(entries, fonts, layout.unit)
        if frame.page[1] - LEGEND_GAP * layout.unit - h >= layout.area[1]:
            below = LEGEND_GAP * layout.unit + h
    spare = frame.page[1] - below - layout.area[1]
    if spare < 1.0:
        return 0.0
    shift = spare / 2
    for block in layout.blocks:
        block.y -= shift
    layout.credit.y += shift
    x0, y0, x1, y1 = layout.area
    layout.area = (x0, y0 + shift, x1, y1 - shift)
    return shift
