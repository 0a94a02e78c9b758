"""A map's source read and its highlighted countries resolved, with its overlay areas: what
the tile and style steps start from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tilepress.config.model import MapSpec
from tilepress.errors import SourceError
from tilepress.sources.files import ReadAhead, map_fields
from tilepress.sources.highlights import Highlighting, resolve_highlights
from tilepress.sources.overlays import OverlayArea, read_overlays
from tilepress.sources.table import CountryTable, read_countries


@dataclass
class LoadedMap:
    """A map's specification with its source read, its highlighted countries resolved and its
    overlay files read (None: not read, for a step that needs only their settings)."""

    spec: MapSpec
    table: CountryTable
    highlighting: Highlighting
    overlays: list[OverlayArea] | None = None

    def highlighted_geometries(self) -> NDArray[np.object_]:
        """The highlighted countries' polygons, in row order (an ``auto`` extent fits them)."""
        return self.table.geometries[sorted(self.highlighting.group_of_row)]

    def overlay_areas(self) -> list[OverlayArea]:
        """The map's overlay areas, in configuration order; an error if they were not read."""
        if self.overlays is None:
            if not self.spec.overlays:
                return []
            raise SourceError(
                f"map {self.spec.id!r}: its overlay files were not read",
                hint="load the map with its overlays (load_map(..., overlays=True))",
            )
        return self.overlays


def load_map(
    spec: MapSpec,
    source_path: str | Path | None = None,
    *,
    read_ahead: ReadAhead | None = None,
    overlays: bool = True,
    overlay_paths: Sequence[str | Path] | None = None,
) -> LoadedMap:
    """Read and check the map's source and resolve its countries. Its polygons are not
    repaired: the tiles check them on each zoom's grid (see :func:`read_countries`); only
    the fields a map uses are read (:func:`map_fields`). Its overlays are read too, from
    ``overlay_paths`` (one per overlay) or their configured files, unless not ``overlays``
    (a step that uses only their settings need not have the files)."""
    fields = map_fields(spec.source)
    table = read_countries(
        spec.source, source_path, repaired=False, fields=fields, read_ahead=read_ahead
    )
    highlighting = resolve_highlights(spec, table)
    areas = read_overlays(spec, overlay_paths) if overlays else None
    return LoadedMap(spec, table, highlighting, areas)
