"""The tile geometry a source gives every map: for each tile of a zoom, its countries' features
encoded without their tags, and its ``boundaries`` layer whole.

A country feature's geometry, type and row do not depend on the map; only its tags (colour,
group, pattern) do, and MVT keeps the tags apart from the geometry in each feature. So the
cutting and encoding is done once per source and zoom range, and a map's tiles are assembled
from it with that map's properties (:mod:`tilepress.tiles.features`). The borders carry only
the codes of the two countries they part: their layer is the same for every map.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.config.model import SourceSpec
from tilepress.sources.table import CountryTable
from tilepress.tiles.cut import iter_tiles
from tilepress.tiles.grid import ZoomLevel
from tilepress.tiles.mvt import Feature, feature_body, layer_bytes, layer_chunk
from tilepress.tiles.mvt_geometry import encode_geometries
from tilepress.tiles.report import ZoomStats
from tilepress.tiles.schema import BOUNDARIES_LAYER

# counts: encoded country features, countries given, borders given; bytes of bodies, of borders
_HEADER = struct.Struct("<5I")


@dataclass(frozen=True)
class SourceContent:
    """What the shared tile geometry needs of a source's country table (one entry per row)."""

    codes: list[str]
    names: list[str]
    trace_from: NDArray[np.float64]  # the zoom from which a row keeps a trace (MIN_ZOOM)

    @classmethod
    def of(cls, table: CountryTable) -> SourceContent:
        """What the geometry needs of ``table`` (read with :data:`SOURCE_FIELDS` at least)."""
        min_zoom = table.field("MIN_ZOOM")
        return cls(
            codes=table.codes,
            names=table.names,
            trace_from=np.array([0.0 if v is None else float(v) for v in min_zoom]),
        )


def source_fields(spec: SourceSpec) -> tuple[str, ...]:
    """The attribute fields the shared geometry reads of a source."""
    return (spec.code_field, spec.name_field, "MIN_ZOOM")


@dataclass(frozen=True)
class GeometryTile:
    """One tile's shared geometry: the country features that kept a geometry on the grid, in
    the order the tile lists them (their row, whether it is a trace, their
    :func:`~tilepress.tiles.mvt.feature_body`), and the ``boundaries`` layer entry."""

    x: int
    y: int
    rows: NDArray[np.int32]
    traces: NDArray[np.uint8]
    body_ends: NDArray[np.int64]  # where each feature's body ends in ``bodies``
    bodies: bytes
    borders: bytes  # the tile's ``boundaries`` layer entry (empty: none)
    countries_given: int  # country features cut, also those that collapsed on the grid
    borders_given: int

    def country_bodies(self) -> list[bytes]:
        """Each country feature's body."""
        ends = self.body_ends.tolist()
        return [self.bodies[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]

    def to_bytes(self) -> bytes:
        """The tile as stored in a geometry part."""
        header = _HEADER.pack(
            len(self.rows),
            self.countries_given,
            self.borders_given,
            len(self.bodies),
            len(self.borders),
        )
        return b"".join(
            (
                header,
                self.rows.astype("<i4").tobytes(),
                self.traces.astype(np.uint8).tobytes(),
                self.body_ends.astype("<i8").tobytes(),
                self.bodies,
                self.borders,
            )
        )

    @classmethod
    def from_bytes(cls, x: int, y: int, data: bytes) -> GeometryTile:
        """The inverse of :meth:`to_bytes`."""
        count, countries_given, borders_given, body_size, border_size = _HEADER.unpack_from(data)
        at = _HEADER.size
        rows = np.frombuffer(data, "<i4", count, at)
        at += 4 * count
        traces = np.frombuffer(data, np.uint8, count, at)
        at += count
        body_ends = np.frombuffer(data, "<i8", count, at)
        at += 8 * count
        bodies = data[at : at + body_size]
        at += body_size
        borders = data[at : at + border_size]
        return cls(x, y, rows, traces, body_ends, bodies, borders, countries_given, borders_given)


def encode_geometry_rows(
    source: SourceContent, level: ZoomLevel, tile_rows: range, stats: ZoomStats
) -> Iterator[GeometryTile]:
    """Cut and encode the tiles of some rows of one zoom (in one batch), row by row; their
    vertices and traces are counted into ``stats``."""
    codes = source.codes
    border_properties = {
        (a, b): {
            "kind": "land",
            "adm0_a3_a": min(codes[a], codes[b]),
            "adm0_a3_b": max(codes[a], codes[b]),
        }
        for a, b in level.border_rows.tolist()
    }
    tiles = list(iter_tiles(level, tile_rows, source.trace_from))
    if not tiles:
        return
    fills = np.concatenate([tile.geometries for tile in tiles])
    stats.vertices += int(shapely.get_num_coordinates(fills).sum())
    stats.traces += int(np.count_nonzero(np.concatenate([tile.traces for tile in tiles])))
    lines = np.concatenate([tile.borders for tile in tiles])
    encoded = encode_geometries([*fills, *lines])  # one vectorized pass for the whole batch
    country_done, border_done = 0, len(fills)
    for tile in tiles:
        count, border_count = len(tile.rows), len(tile.borders)
        country_items = encoded[country_done : country_done + count]
        border_items = encoded[border_done : border_done + border_count]
        country_done += count
        border_done += border_count
        kept = [index for index, item in enumerate(country_items) if item is not None]
        bodies = [feature_body(country_items[index]) for index in kept]  # type: ignore[arg-type]
        borders: list[Feature] = [
            (lines_of_pair, border_properties[(a, b)])
            for (a, b), lines_of_pair in zip(tile.border_rows.tolist(), tile.borders, strict=True)
        ]
        yield GeometryTile(
            x=tile.x,
            y=tile.y,
            rows=tile.rows[kept].astype(np.int32),
            traces=tile.traces[kept].astype(np.uint8),
            body_ends=np.cumsum([len(body) for body in bodies], dtype=np.int64),
            bodies=b"".join(bodies),
            borders=layer_chunk(layer_bytes(BOUNDARIES_LAYER, borders, border_items)),
            countries_given=count,
            borders_given=border_count,
        )
