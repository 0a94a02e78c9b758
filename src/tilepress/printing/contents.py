"""What a sheet is drawn from: the plan (projection, frame, globe, graticule, fonts, layout)
with the countries' geometry, fill colours and patterns and the overlays on the page; the same
for the PDF, its insets and the SVG."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.config.model import MapSpec, Pattern
from tilepress.geometry.projection import PrintProjection
from tilepress.geometry.rings import Rings
from tilepress.printing.fonts import Fonts
from tilepress.printing.frame import FloatArray, ProjectedFrame
from tilepress.printing.geometry import MapGeometry
from tilepress.printing.layout import SheetLayout
from tilepress.printing.overlays import OverlayShape
from tilepress.sources.highlights import Highlighting
from tilepress.sources.table import CountryTable


@dataclass
class SheetContents:
    """Everything computed before drawing: the same for the PDF and the SVG."""

    spec: MapSpec
    table: CountryTable
    highlighting: Highlighting
    proj: PrintProjection
    frame: ProjectedFrame
    geometry: MapGeometry
    globe: shapely.Geometry | None  # the world's outline on the page (world maps)
    globe_rings: Rings | None
    graticule: tuple[FloatArray, NDArray[np.bool_]] | None
    fonts: Fonts
    layout: SheetLayout
    colors: list[str]  # each row's fill colour
    patterns: dict[int, Pattern] = field(default_factory=dict)  # rows with a pattern
    overlays: list[OverlayShape] = field(default_factory=list)  # on the page, in order
