"""What a sheet is drawn from: the plan (projection, frame, globe, graticule, fonts, layout)
with the countries' geometry and fill colours; the same for the PDF, its insets and the SVG."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.config.model import MapSpec
from tilepress.geometry.projection import PrintProjection
from tilepress.geometry.rings import Rings
from tilepress.printing.fonts import Fonts
from tilepress.printing.frame import FloatArray, ProjectedFrame
from tilepress.printing.geometry import MapGeometry
from tilepress.printing.layout import SheetLayout
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
    colors: list[str]
