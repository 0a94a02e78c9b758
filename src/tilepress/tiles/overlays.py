"""The ``overlays`` layer: a map's overlay areas in Web Mercator (clipped to the tiles' world),
generalized for each zoom as the countries are (a vertex goes where its triangle is under
3 x 3 tile units, each zoom from the next deeper one), rounded to each zoom's grid and cut
into the buffered tiles exactly as the countries are (:mod:`tilepress.tiles.cut`): valid
MVT 2.1 polygons, wound as MVT wants.

Each overlay is generalized on its own (overlays that share a border keep it shared, as
neighbouring countries do), once per zoom and process, on first use: the sharded workflow's
jobs and a local build make the same levels, hence the same tiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

from tilepress.config.model import MapSpec
from tilepress.geometry.rings import Rings
from tilepress.sources.overlays import OverlayArea
from tilepress.tiles.cut import cut_to_tiles, make_tile_polygons_valid
from tilepress.tiles.grid import Geometries
from tilepress.tiles.pyramid import prepare_mercator, thinned_levels
from tilepress.tiles.snap import snap_to_grid

OverlayProperties = dict[str, str | int]


@dataclass(frozen=True)
class OverlayLevels:
    """A map's overlays: their areas in Web Mercator, their properties, and each zoom's
    generalized areas on its grid (made on first use)."""

    mercator: Geometries  # one (Multi)Polygon per overlay
    properties: list[OverlayProperties]
    zooms: range  # the map's zooms: the deepest keeps every speck, as the countries do
    _thinned: dict[int, Rings] = field(default_factory=dict, repr=False, compare=False)
    _levels: dict[int, Geometries] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, spec: MapSpec, areas: Sequence[OverlayArea]) -> OverlayLevels:
        """The overlays of a map (``areas``: read from its files), in configuration order."""
        geometries = np.array([area.geometry for area in areas], dtype=object)
        mercator = prepare_mercator(geometries) if len(geometries) else geometries
        properties: list[OverlayProperties] = []
        for area in areas:
            overlay = area.spec
            values: OverlayProperties = {"label": overlay.label, "color": overlay.color}
            if overlay.pattern is not None:
                values["pattern"] = overlay.pattern.image_id(overlay.color)
            values["outline"] = overlay.outline
            if overlay.date is not None:
                values["date"] = overlay.date
            values["index"] = area.index
            properties.append(values)
        return cls(mercator, properties, range(spec.min_zoom, spec.max_zoom + 1))

    def level(self, zoom: int) -> Geometries:
        """The overlays at ``zoom``: generalized, on its grid, valid (one per overlay)."""
        if zoom not in self._levels:
            if not self._thinned:  # every zoom at once: the deepest first, each from the last
                self._thinned.update(thinned_levels(self.mercator, self.zooms))
            deepest = zoom == self.zooms[-1]
            self._levels[zoom] = snap_to_grid(self._thinned[zoom], zoom, keep_specks=deepest)[0]
        return self._levels[zoom]

    def by_tile(
        self, zoom: int, tile_rows: range
    ) -> dict[tuple[int, int], list[tuple[shapely.Geometry, OverlayProperties]]]:
        """The overlays in the tiles of ``tile_rows`` of a zoom, by tile: each one's piece in
        tile units (valid, wound for MVT) with its properties, in configuration order."""
        if len(self.mercator) == 0:
            return {}
        pieces = cut_to_tiles(self.level(zoom), zoom, tile_rows)
        geometries = make_tile_polygons_valid(pieces)
        by_tile: dict[tuple[int, int], list[tuple[shapely.Geometry, OverlayProperties]]] = {}
        for x, y, part in pieces.tiles():
            features = [
                (geometry, self.properties[row])
                for row, geometry in zip(pieces.rows[part].tolist(), geometries[part], strict=True)
                if not shapely.is_empty(geometry)
            ]
            if features:
                by_tile[(x, y)] = features
        return by_tile
