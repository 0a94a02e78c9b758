"""What everything on the map is drawn with: the canvas, the sheet's line widths, and the state
the markers, insets, legend, scale bar and labels share as they are drawn one after another
(the boxes already placed, the markers, the warnings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from tilepress.config.model import MapSpec
from tilepress.geometry.projection import PrintProjection
from tilepress.printing.color import Mode, pdf_color
from tilepress.printing.fonts import Fonts
from tilepress.printing.frame import ProjectedFrame
from tilepress.printing.geometry import MapGeometry
from tilepress.printing.layout import Placed
from tilepress.sources.highlights import Highlighting
from tilepress.sources.table import CountryTable

BORDER_WIDTH = 0.3  # pt; never below MIN_LINE_WIDTH
MIN_LINE_WIDTH = 0.25
FRAME_WIDTH = 0.5

Marker = tuple[float, float, float]  # x, y, radius of a dot on a tiny highlighted country


@dataclass
class Drawing:
    """Everything the markers, insets, keys and labels on the map are drawn with."""

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


def largest_part(geometry: shapely.Geometry) -> shapely.Geometry:
    """The largest polygon of a (multi)polygon."""
    parts = shapely.get_parts(geometry)
    return parts[int(np.argmax(shapely.area(parts)))]
