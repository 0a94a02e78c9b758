"""A map's source read and its highlighted countries resolved: what the tile and style steps
start from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tilepress.config.model import MapSpec
from tilepress.sources.files import ReadAhead, map_fields
from tilepress.sources.highlights import Highlighting, resolve_highlights
from tilepress.sources.table import CountryTable, read_countries


@dataclass
class LoadedMap:
    """A map's specification with its source read and its highlighted countries resolved."""

    spec: MapSpec
    table: CountryTable
    highlighting: Highlighting

    def highlighted_geometries(self) -> NDArray[np.object_]:
        """The highlighted countries' polygons, in row order (an ``auto`` extent fits them)."""
        return self.table.geometries[sorted(self.highlighting.group_of_row)]


def load_map(
    spec: MapSpec, source_path: str | Path | None = None, *, read_ahead: ReadAhead | None = None
) -> LoadedMap:
    """Read and check the map's source and resolve its countries. Its polygons are not
    repaired: the tiles check them on each zoom's grid (see :func:`read_countries`); only
    the fields a map uses are read (:func:`map_fields`)."""
    fields = map_fields(spec.source)
    table = read_countries(
        spec.source, source_path, repaired=False, fields=fields, read_ahead=read_ahead
    )
    return LoadedMap(spec, table, resolve_highlights(spec, table))
