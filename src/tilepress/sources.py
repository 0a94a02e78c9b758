"""Boundary sources: checksums, downloads, reading and repairing country polygons."""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from tilepress.config import MapSpec, SourceSpec
from tilepress.errors import ChecksumError, ConfigError, SourceError
from tilepress.parallel import map_in_pieces
from tilepress.sourcefile import CODE_FIELDS, NAME_FIELDS, ReadAhead, SourceFile

POLYGON_TYPE_IDS = [int(shapely.GeometryType.POLYGON), int(shapely.GeometryType.MULTIPOLYGON)]
DOWNLOAD_ATTEMPTS = 3


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path: str | Path, expected: str | None, *, source: str) -> None:
    """Raise ChecksumError unless the file's SHA-256 equals ``expected`` (skipped if None)."""
    if expected is None:
        return
    if not Path(path).is_file():
        raise SourceError(f"no such file {str(path)!r}", where=f"source {source!r}")
    actual = sha256_file(path)
    if actual.lower() != expected.lower():
        raise ChecksumError(
            f"SHA-256 of {path} is {actual}, but the configuration expects {expected.lower()}",
            where=f"source {source!r}",
            hint="the file is damaged or a different version; restore it, or update `sha256` "
            "if you changed the source on purpose",
        )


def download(url: str, destination: str | Path, sha256: str, *, source: str) -> Path:
    """Download ``url`` to ``destination`` once, checking its SHA-256 before it appears.

    The file is written to a temporary name in the same folder and renamed when complete and
    verified, so an interrupted or corrupt download never leaves a file behind.
    """
    import urllib.error  # here, not at the top: every step imports this module, few download
    import urllib.request

    if not url.lower().startswith(("https://", "http://")):
        raise SourceError(f"{url!r} is not an http(s) URL", where=f"source {source!r}")
    destination = Path(destination)
    if destination.is_file() and sha256_file(destination) == sha256.lower():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    last_error: Exception | None = None
    for _attempt in range(DOWNLOAD_ATTEMPTS):
        handle, temporary = tempfile.mkstemp(prefix=".download-", dir=destination.parent)
        try:
            with (
                os.fdopen(handle, "wb") as out,
                urllib.request.urlopen(url, timeout=60) as response,  # noqa: S310 (scheme checked)
            ):
                shutil.copyfileobj(response, out)
            verify_checksum(temporary, sha256, source=source)
            Path(temporary).replace(destination)
            return destination
        except ChecksumError:
            Path(temporary).unlink(missing_ok=True)
            raise
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            Path(temporary).unlink(missing_ok=True)
            last_error = error
    raise SourceError(
        f"cannot download {url}: {last_error}",
        where=f"source {source!r}",
        hint="check the URL and the network, or download the file yourself and give its `path`",
    )


def attribute_text(value: Any) -> str | None:
    """An attribute as text, or None where it is empty or Natural Earth's "-99" (unknown)."""
    return None if value is None or value in ("", "-99") else str(value)


@dataclass
class CountryTable:
    """Country polygons in WGS 84 (one polygonal geometry per row) with their attributes."""

    geometries: NDArray[np.object_]
    attributes: dict[str, list[Any]]
    code_field: str = "ADM0_A3"
    name_field: str = "NAME_EN"

    def __len__(self) -> int:
        return len(self.geometries)

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
        """
        wanted = query.strip().casefold()
        for name in (self.code_field, *CODE_FIELDS, self.name_field, *NAME_FIELDS):
            values = self.attributes.get(name)
            if values is None:
                continue
            rows = [
                row
                for row, value in enumerate(values)
                if (text := attribute_text(value)) is not None and text.casefold() == wanted
            ]
            if rows:
                return rows
        return []

    def suggestions(self, query: str, limit: int = 3) -> list[str]:
        """Closest country names and codes to an unknown ``query``."""
        candidates: dict[str, str] = {}
        for row, (code, name) in enumerate(zip(self.codes, self.names, strict=True)):
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


def polygonal(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    """Keep only the polygonal parts of each geometry (collections lose lines and points)."""
    types = shapely.get_type_id(geometries)
    result = geometries.copy()
    for row in np.flatnonzero(~np.isin(types, POLYGON_TYPE_IDS) & ~shapely.is_empty(geometries)):
        parts = shapely.get_parts(geometries[row])
        keep = parts[np.isin(shapely.get_type_id(parts), POLYGON_TYPE_IDS)]
        result[row] = shapely.union_all(keep) if len(keep) else shapely.Polygon()
    return result


def repair(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    """Make geometries valid and keep only their polygonal parts (one geometry per input;
    many vertices in pieces shared with the helper thread)."""
    return map_in_pieces(_repair, geometries)


def _repair(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    repaired = geometries.copy()
    invalid = np.flatnonzero(~shapely.is_valid(geometries))
    if len(invalid):
        split, done = split_touching_rings(geometries[invalid])
        repaired[invalid[done]] = split[done]
        rest = invalid[~done]
        repaired[rest] = shapely.make_valid(geometries[rest])
    return polygonal(repaired)


def split_touching_rings(
    geometries: NDArray[np.object_],
) -> tuple[NDArray[np.object_], NDArray[np.bool_]]:
    """Invalid polygons whose rings only touch themselves (GEOS: "Ring Self-intersection", a
    lake touching its shore, say) split by a zero buffer, ten times quicker than GEOS's
    make_valid on a large polygon; and which of them that fixed: those whose result is valid
    and of the same area (a zero buffer drops a loop that lies outside its ring, for one).
    The others are left to make_valid."""
    reasons = shapely.is_valid_reason(geometries)
    touching = np.flatnonzero([reason.startswith("Ring Self-intersection") for reason in reasons])
    split = geometries.copy()
    split[touching] = polygonal(shapely.buffer(geometries[touching], 0.0))
    area, split_area = shapely.area(geometries[touching]), shapely.area(split[touching])
    done = np.zeros(len(geometries), dtype=bool)
    done[touching] = shapely.is_valid(split[touching]) & np.isclose(split_area, area, rtol=1e-9)
    return split, done


def snap_to_antimeridian(
    geometries: NDArray[np.object_], tolerance: float = 1e-7
) -> NDArray[np.object_]:
    """Move longitudes within ``tolerance`` of +/-180 exactly onto it.

    Natural Earth splits Russia and Fiji at 180 degrees, but some vertices sit 1e-14 off the
    line; exact values let the halves dissolve again when a map is centred elsewhere.
    """

    def snap(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        near = np.abs(np.abs(xy[:, 0]) - 180.0) < tolerance
        xy[near, 0] = np.copysign(180.0, xy[near, 0])
        return xy

    west, _south, east, _north = shapely.bounds(geometries).T
    with np.errstate(invalid="ignore"):  # NaN bounds of empty geometries
        near = np.flatnonzero((west < -180.0 + tolerance) | (east > 180.0 - tolerance))
    result = geometries.copy()
    result[near] = shapely.transform(geometries[near], snap)
    return result


def read_countries(
    spec: SourceSpec,
    path: str | Path | None = None,
    *,
    repaired: bool = True,
    fields: tuple[str, ...] | None = None,
    read_ahead: ReadAhead | None = None,
) -> CountryTable:
    """Read, check and reproject to WGS 84 a boundary source, keeping polygonal parts only.

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
        except Exception as error:  # pyogrio raises several GDAL error types
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
    geometries = snap_to_antimeridian(geometries[keep])
    geometries = repair(geometries) if repaired else polygonal(geometries)
    if not keep.all():  # rows without a geometry leave the table
        attributes = {
            name: [v for v, k in zip(values, keep, strict=True) if k]
            for name, values in attributes.items()
        }
    return CountryTable(geometries, attributes, spec.code_field, spec.name_field)


@dataclass(frozen=True)
class Highlighting:
    """Which row of the country table belongs to which highlight group."""

    group_of_row: dict[int, int]
    matched: dict[str, list[int]]

    def group(self, row: int) -> int | None:
        """Index of the row's highlight group, or None."""
        return self.group_of_row.get(row)


@dataclass(frozen=True)
class HighlightProblem:
    """A country of a highlight group that cannot be used, with its place in the config."""

    group: int
    country: int
    message: str


def match_highlights(
    groups: Sequence[tuple[str, Sequence[str]]], table: CountryTable, source_name: str
) -> tuple[Highlighting, list[HighlightProblem]]:
    """Match each group's countries (label, names or codes) to rows of the table.

    Returns the assignment and every problem: unknown names (with the closest names) and
    countries claimed by two groups.
    """
    group_of_row: dict[int, int] = {}
    matched: dict[str, list[int]] = {}
    problems: list[HighlightProblem] = []
    for group_index, (label, countries) in enumerate(groups):
        for country_index, query in enumerate(countries):
            rows = table.lookup(query)
            if not rows:
                close = table.suggestions(query)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                problems.append(
                    HighlightProblem(
                        group_index,
                        country_index,
                        (
                            f"unknown country {query!r} in group {label!r} "
                            f"(source {source_name!r}){hint}"
                        ),
                    )
                )
                continue
            for row in rows:
                previous = group_of_row.get(row)
                if previous is not None and previous != group_index:
                    problems.append(
                        HighlightProblem(
                            group_index,
                            country_index,
                            (
                                f"{table.names[row]} ({query!r}) is in two groups, "
                                f"{groups[previous][0]!r} and {label!r}"
                            ),
                        )
                    )
                group_of_row[row] = group_index
            matched[query] = rows
    return Highlighting(group_of_row, matched), problems


def resolve_highlights(spec: MapSpec, table: CountryTable) -> Highlighting:
    """Assign each highlighted country to its group; unknown names stop with suggestions."""
    groups = [(group.label, group.countries) for group in spec.highlight]
    highlighting, problems = match_highlights(groups, table, spec.source.name)
    if problems:
        raise ConfigError(
            [
                f"map {spec.id!r}, highlight[{p.group}].countries[{p.country}]: {p.message}"
                for p in problems
            ]
        )
    return highlighting


def fill_colors(spec: MapSpec, table: CountryTable, highlighting: Highlighting) -> list[str]:
    """The fill colour of every row: its group's colour, else the map's base colour."""
    return [
        spec.highlight[g].color if (g := highlighting.group(row)) is not None else spec.base_color
        for row in range(len(table))
    ]


def highlighted_rows(highlighting: Highlighting) -> Sequence[int]:
    """Rows of all highlighted countries, sorted."""
    return sorted(highlighting.group_of_row)
