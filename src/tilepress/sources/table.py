"""A boundary source read as a country table: polygons in WGS 84, one row per country, with
its attributes, codes and names; checked against its SHA-256 and reprojected. After the
source's rows come those of the land no country holds (:mod:`tilepress.sources.unclaimed`)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from tilepress.config.model import SourceSpec
from tilepress.errors import SourceError
from tilepress.sources.download import verify_checksum
from tilepress.sources.files import CODE_FIELDS, NAME_FIELDS, ReadAhead, SourceFile, read_errors
from tilepress.sources.repair import polygonal, repair, snap_to_antimeridian
from tilepress.sources.unclaimed import UNCLAIMED_CODE, UNCLAIMED_NAME, unclaimed_land

# The attributes of a row of land no country holds that are not None: its code and name, and
# Natural Earth's first zoom of a trace and of a label, so deep that neither ever shows.
UNCLAIMED_ZOOM = 99


def attribute_text(value: Any) -> str | None:
    """An attribute as text, or None where it is empty or Natural Earth's "-99" (unknown)."""
    return None if value is None or value in ("", "-99") else str(value)


@dataclass
class CountryTable:
    """Country polygons in WGS 84 (one polygonal geometry per row) with their attributes.

    The last ``unclaimed`` rows are land no country holds (code ``UNCLAIMED_CODE``, name
    ``UNCLAIMED_NAME``), after the source's own rows, whose numbers they leave as they are;
    no highlight group ever matches them.
    """

    geometries: NDArray[np.object_]
    attributes: dict[str, list[Any]]
    code_field: str = "ADM0_A3"
    name_field: str = "NAME_EN"
    unclaimed: int = 0

    def __len__(self) -> int:
        return len(self.geometries)

    @property
    def country_rows(self) -> range:
        """The source's own rows: its countries."""
        return range(len(self) - self.unclaimed)

    @property
    def unclaimed_rows(self) -> range:
        """The rows of land no country holds (the last ``unclaimed`` rows)."""
        return range(len(self) - self.unclaimed, len(self))

    def is_unclaimed(self, row: int) -> bool:
        """Whether ``row`` is land no country holds."""
        return row >= len(self) - self.unclaimed

    @property
    def codes(self) -> list[str]:
        """The identifying code of each row (Natural Earth ADM0_A3 by default)."""
        return [str(v) for v in self.attributes[self.code_field]]

    @property
    def names(self) -> list[str]:
        """The English display name of each row."""
        return [str(v) for v in self.attributes[self.name_field]]

    def field(self, name: str) -> list[Any]:
        """Values of one attribute column (None where the source lacks the column)."""
        return self.attributes.get(name, [None] * len(self))

    def lookup(self, query: str) -> list[int]:
        """Rows whose code or name equals ``query`` (case-insensitive); empty if none.

        Fields are tried in order (codes first, then names); the first field that matches wins.
        Only the source's countries are looked up, never the land no country holds.
        """
        wanted = query.strip().casefold()
        countries = len(self.country_rows)
        for name in (self.code_field, *CODE_FIELDS, self.name_field, *NAME_FIELDS):
            values = self.attributes.get(name)
            if values is None:
                continue
            rows = [
                row
                for row, value in enumerate(values[:countries])
                if (text := attribute_text(value)) is not None and text.casefold() == wanted
            ]
            if rows:
                return rows
        return []

    def suggestions(self, query: str, limit: int = 3) -> list[str]:
        """Closest country names and codes to an unknown ``query`` (countries only)."""
        candidates: dict[str, str] = {}
        countries = self.country_rows
        for row, code, name in zip(countries, self.codes, self.names, strict=False):
            candidates[name.casefold()] = f"{name} ({code})"
            candidates[code.casefold()] = f"{name} ({code})"
            for field_name in NAME_FIELDS:
                value = self.attributes.get(field_name, [None] * len(self))[row]
                if value:
                    candidates.setdefault(str(value).casefold(), f"{name} ({code})")
        close = difflib.get_close_matches(
            query.casefold(), list(candidates), n=limit * 3, cutoff=0.6
        )
        seen: list[str] = []
        for key in close:
            if candidates[key] not in seen:
                seen.append(candidates[key])
        return seen[:limit]


def read_countries(
    spec: SourceSpec,
    path: str | Path | None = None,
    *,
    repaired: bool = True,
    fields: tuple[str, ...] | None = None,
    read_ahead: ReadAhead | None = None,
) -> CountryTable:
    """Read, check and reproject to WGS 84 a boundary source, keeping polygonal parts only,
    then add the land no country holds (:func:`unclaimed_land`, found in the polygons as
    read) as rows of its own after the source's.

    Invalid polygons are made valid only if ``repaired``: the tiles check every polygon on each
    zoom's grid anyway (where validity matters, and rounding can break it), and other steps
    use only the attributes and bounds; checking all of Natural Earth 10m costs a tenth of a
    CPU second. Only the attribute ``fields`` are read (those the source has; None: all).
    ``read_ahead`` is this file being read already, with these fields (see :class:`ReadAhead`).
    """
    path = Path(path or spec.local_path)
    where = f"source {spec.name!r}"
    if not path.exists():
        raise SourceError(
            f"no such file {str(path)!r}",
            where=where,
            hint="fix `path`, or run the workflow, which downloads URL sources",
        )
    verify_checksum(path, spec.sha256, source=spec.name)
    features = read_ahead.result() if read_ahead is not None else None
    if features is None:
        try:
            features = SourceFile.of(spec, path, fields).read()
        except read_errors() as error:
            raise SourceError(
                f"cannot read {path}: {error}",
                where=where,
                hint="give a shapefile (or a .zip of one), a GeoPackage or GeoJSON",
            ) from None
    meta, wkb, field_data = features.meta, features.wkb, features.columns
    names = [str(name) for name in meta["fields"]]
    attributes = {name: list(values) for name, values in zip(names, field_data, strict=True)}
    for required in (spec.code_field, spec.name_field):
        if required not in attributes:
            raise SourceError(
                f"{path} has no field {required!r}",
                where=where,
                hint="set `code_field`/`name_field` of the source; its fields: "
                + ", ".join(SourceFile.of(spec, path).all_fields()[:40]),
            )
    geometries = shapely.from_wkb(wkb)
    crs = meta.get("crs")
    if crs and not CRS.from_user_input(crs).equals(CRS.from_epsg(4326), ignore_axis_order=True):
        transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        geometries = shapely.transform(
            geometries, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
        )
    keep = ~shapely.is_missing(geometries)
    as_read = snap_to_antimeridian(geometries[keep])
    geometries = polygonal(as_read)
    unclaimed = unclaimed_land(geometries)  # before any repair: the same rows either way
    if repaired:
        geometries = repair(as_read)
    if not keep.all():  # rows without a geometry leave the table
        attributes = {
            name: [v for v, k in zip(values, keep, strict=True) if k]
            for name, values in attributes.items()
        }
    table = CountryTable(geometries, attributes, spec.code_field, spec.name_field)
    return with_unclaimed(table, unclaimed)


def with_unclaimed(table: CountryTable, land: NDArray[np.object_]) -> CountryTable:
    """The table with rows for ``land`` no country holds after its own: code
    ``UNCLAIMED_CODE``, name ``UNCLAIMED_NAME``, ``MIN_ZOOM`` and ``MIN_LABEL``
    ``UNCLAIMED_ZOOM`` (never a trace, never a label), every other attribute None."""
    if len(land) == 0:
        return table
    rows = len(land)
    given = {
        table.name_field: UNCLAIMED_NAME,
        table.code_field: UNCLAIMED_CODE,  # the code, if a source names its rows by code
        "MIN_ZOOM": UNCLAIMED_ZOOM,
        "MIN_LABEL": UNCLAIMED_ZOOM,
    }
    attributes = {
        name: [*values, *[given.get(name)] * rows] for name, values in table.attributes.items()
    }
    for name in ("MIN_ZOOM", "MIN_LABEL"):
        attributes.setdefault(name, [None] * len(table) + [UNCLAIMED_ZOOM] * rows)
    return CountryTable(
        np.concatenate([table.geometries, land]),
        attributes,
        table.code_field,
        table.name_field,
        unclaimed=table.unclaimed + rows,
    )
