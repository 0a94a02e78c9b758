"""What a map adds to the shared tile geometry: the properties of each country (code, names,
colour, group, pattern; land no country holds marked as such), its label point with names in
26 languages, from which zoom a country too small for the grid keeps a one-pixel trace, and
the map's markers and overlays (:mod:`tilepress.tiles.markers`,
:mod:`tilepress.tiles.overlays`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.config.model import LABEL_LANGUAGES
from tilepress.geometry.projection import to_web_mercator
from tilepress.sources.highlights import fill_colors
from tilepress.sources.loaded import LoadedMap
from tilepress.sources.repair import repair
from tilepress.sources.table import attribute_text
from tilepress.sources.unclaimed import UNCLAIMED_COLOR, UNCLAIMED_PATTERN
from tilepress.tiles.markers import MarkerPoints
from tilepress.tiles.overlays import OverlayLevels

CountryProperties = dict[str, str | bool]


@dataclass(frozen=True)
class MapContent:
    """Everything a map's tiles carry besides the countries' geometry (one entry per row of
    its country table), and its markers and overlays."""

    properties: list[CountryProperties]  # the ``countries`` layer's properties
    labels: LabelPoints
    markers: MarkerPoints
    overlays: OverlayLevels

    @classmethod
    def of(cls, loaded: LoadedMap) -> MapContent:
        """The content of a map with its source and overlays read."""
        countries = country_properties(loaded)
        return cls(
            properties=countries,
            labels=label_points(loaded, countries),
            markers=MarkerPoints.of(loaded.spec),
            overlays=OverlayLevels.of(loaded.spec, loaded.overlay_areas()),
        )


def country_properties(loaded: LoadedMap) -> list[CountryProperties]:
    """The ``countries`` layer's properties of every row of the country table: a patterned
    group's rows carry the pattern's image id (over the group's colour), land no country
    holds ``unclaimed: true`` and its own hatching."""
    spec, table = loaded.spec, loaded.table
    colors = fill_colors(spec, table, loaded.highlighting)
    iso_a2 = table.field("ISO_A2_EH") if "ISO_A2_EH" in table.attributes else table.field("ISO_A2")
    english_names = table.field("NAME_EN")
    unclaimed_pattern = UNCLAIMED_PATTERN.image_id(UNCLAIMED_COLOR)
    properties: list[CountryProperties] = []
    for row, (code, name) in enumerate(zip(table.codes, table.names, strict=True)):
        values: CountryProperties = {"adm0_a3": code, "name": name, "color": colors[row]}
        if (iso := attribute_text(iso_a2[row])) is not None:
            values["iso_a2"] = iso
        if (english := attribute_text(english_names[row])) is not None:
            values["name_en"] = english
        group = loaded.highlighting.group(row)
        if group is not None:
            values["group"] = spec.highlight[group].label
            pattern = spec.highlight[group].pattern
            if pattern is not None:
                values["pattern"] = pattern.image_id(spec.highlight[group].color)
        if table.is_unclaimed(row):
            values["pattern"] = unclaimed_pattern
            values["unclaimed"] = True
        properties.append(values)
    return properties


@dataclass
class LabelPoints:
    """One label point per country, in Web Mercator, with its properties and first zoom."""

    xy: NDArray[np.float64]
    properties: list[dict[str, str | float]]
    min_zoom: NDArray[np.float64]


def label_points(loaded: LoadedMap, countries: list[CountryProperties]) -> LabelPoints:
    """Natural Earth's label positions (LABEL_X/LABEL_Y, else a point inside the country),
    with the names in every language the source has and ``min_zoom`` from MIN_LABEL.

    ``countries`` are the rows' :func:`country_properties` (code, name and group are reused).
    """
    table = loaded.table
    lon = np.array([np.nan if v is None else float(v) for v in table.field("LABEL_X")])
    lat = np.array([np.nan if v is None else float(v) for v in table.field("LABEL_Y")])
    missing = ~np.isfinite(lon) | ~np.isfinite(lat)
    inside = shapely.point_on_surface(repair(table.geometries[missing]))  # unrepaired so far
    lon[missing], lat[missing] = shapely.get_x(inside), shapely.get_y(inside)
    points = to_web_mercator(shapely.points(lon, lat))
    min_label = np.array([0.0 if v is None else float(v) for v in table.field("MIN_LABEL")])
    highlighted = np.zeros(len(table), dtype=bool)
    highlighted[list(loaded.highlighting.group_of_row)] = True
    min_zoom = np.where(highlighted, 0.0, min_label)
    name_fields = [f"NAME_{code.upper()}" for code in LABEL_LANGUAGES]
    name_fields = [name for name in name_fields if name in table.attributes]
    properties: list[dict[str, str | float]] = []
    for row in range(len(table)):
        values: dict[str, str | float] = {
            key: str(countries[row][key])
            for key in ("adm0_a3", "name", "group")
            if key in countries[row]
        }
        values["min_zoom"] = float(min_zoom[row])
        for field_name in name_fields:
            if (text := attribute_text(table.attributes[field_name][row])) is not None:
                values[field_name.lower()] = text
        properties.append(values)
    return LabelPoints(shapely.get_coordinates(points), properties, min_zoom)
