"""A map's text alternative (alt text): the configured ``description``, or one paragraph of plain
sentences written from the map: what part of the world it shows, each highlight group with its
countries (the table's display names), that the other countries are not highlighted, the
areas drawn over them (overlays, with their dates) and the marked places, the boundary source
and the date.

The same map always gives the same text; it holds no markup, so each output escapes it as its
format needs (SVG ``<desc>``, the PDFs' Subject, the web map's pages).
"""

from __future__ import annotations

from collections.abc import Sequence

from tilepress.config.model import BUILTIN_SOURCE, MapSpec
from tilepress.geometry.projection import (
    WORLD_SPAN_DEGREES,
    Extent,
    extent_center,
    extent_width,
    resolve_extent,
)
from tilepress.sources.highlights import Highlighting, highlighted_rows
from tilepress.sources.table import CountryTable

BUILTIN_SOURCE_DESCRIPTION = (
    "Natural Earth 1:10m admin-0 boundaries, version 5.1.1, German point of view"
)

# Where a regional map's centre (lon/lat of its extent's middle) names a continent: boxes
# (west, south, east, north) well inside each one, so that a name is given only where it is
# plainly right; a centre elsewhere (the Mediterranean, the Caucasus, Central America,
# Indonesia...) leaves the map described by its coordinates alone.
CONTINENT_CORES: tuple[tuple[str, Extent], ...] = (
    ("Europe", (-10.0, 45.0, 40.0, 71.0)),
    ("Europe", (-10.0, 38.0, 26.0, 45.0)),
    ("Africa", (-17.0, -35.0, 51.0, 12.0)),
    ("Africa", (-17.0, 12.0, 32.0, 34.0)),
    ("Asia", (60.0, 10.0, 145.0, 75.0)),
    ("Asia", (40.0, 12.0, 60.0, 40.0)),
    ("North America", (-130.0, 15.0, -55.0, 72.0)),
    ("North America", (-168.0, 55.0, -130.0, 72.0)),
    ("South America", (-77.0, -56.0, -35.0, 12.0)),
    ("Australia", (113.0, -44.0, 154.0, -10.0)),
    ("Antarctica", (-180.0, -90.0, 180.0, -62.0)),
)

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def map_description(spec: MapSpec, table: CountryTable, highlighting: Highlighting) -> str:
    """The map's text alternative: ``spec.description`` when configured, else one paragraph
    written from the map (see the module's docstring). ``table`` is the map's country table
    and ``highlighting`` its groups matched to the table's rows
    (:func:`~tilepress.sources.highlights.resolve_highlights`)."""
    if spec.description:
        return spec.description
    highlighted = table.geometries[list(highlighted_rows(highlighting))]
    groups = [
        (group.label, group_names(group.countries, table, highlighting)) for group in spec.highlight
    ]
    sentences = [_first_sentence(resolve_extent(spec.extent, highlighted), groups)]
    if not all(_alone(label, names) for label, names in groups):
        sentences += [f"{label}: {_and(names)}." for label, names in groups]
    sentences.append("Other countries are not highlighted.")
    sentences += _story_sentences(spec)
    if spec.source.name == BUILTIN_SOURCE:
        sentences.append(f"Source: {BUILTIN_SOURCE_DESCRIPTION}.")
    else:
        sentences.append(f"Source: {spec.source.name}.")
    if spec.date:
        sentences.append(f"Date: {spec.date}.")
    return " ".join(sentences)


def _story_sentences(spec: MapSpec) -> list[str]:
    """What the map draws over the countries: its overlays (with their dates) and its marked
    places, by label."""
    sentences = []
    if spec.overlays:
        areas = [
            f"{overlay.label} (as of {overlay.date})" if overlay.date else overlay.label
            for overlay in spec.overlays
        ]
        noun = "An area is" if len(areas) == 1 else "Areas are"
        sentences.append(f"{noun} drawn over the countries: {_and(areas)}.")
    if spec.markers:
        noun = "Marked place" if len(spec.markers) == 1 else "Marked places"
        sentences.append(f"{noun}: {_and([marker.label for marker in spec.markers])}.")
    return sentences


def group_names(
    countries: Sequence[str], table: CountryTable, highlighting: Highlighting
) -> list[str]:
    """The display names of a group's countries, in the order the configuration lists them,
    each once (a name or code may match several rows)."""
    names = table.names
    found: dict[str, None] = {}
    for query in countries:
        for row in highlighting.matched.get(query, []):
            found.setdefault(" ".join(names[row].split()))
    return list(found)


def region_words(extent: Extent) -> str:
    """A regional extent in words: the area between its meridians and parallels, and the
    continent its centre lies in where that is plain (:data:`CONTINENT_CORES`)."""
    west, south, east, north = extent
    digits = 0 if min(extent_width(extent), north - south) >= 5 else 1
    lon = _span(west, east, ("east", "west"), digits)
    if west > east:
        lon = lon.replace(" to ", " across the 180th meridian to ", 1)
    lat = _span(south, north, ("north", "south"), digits)
    text = f"the area {lon} and {lat}"
    continent = _continent(*extent_center(extent))
    return f"{text}, centred on {continent}" if continent else text


def _first_sentence(extent: Extent, groups: list[tuple[str, list[str]]]) -> str:
    """The kind of map (world or region) and what it highlights: the groups themselves where
    each is one country of its own name, else how many groups the next sentences list."""
    if extent_width(extent) >= WORLD_SPAN_DEGREES:  # as the print map decides
        kind = "A world map "
    else:
        kind = f"A map of {region_words(extent)}, "
    own_colour = ", each in its own colour" if len(groups) > 1 else ""
    if all(_alone(label, names) for label, names in groups):
        return f"{kind}highlighting {_and([names[0] for _label, names in groups])}{own_colour}."
    count = NUMBER_WORDS[len(groups)] if len(groups) < len(NUMBER_WORDS) else str(len(groups))
    noun = "group" if len(groups) == 1 else "groups"
    return f"{kind}with {count} highlighted {noun} of countries{own_colour}."


def _alone(label: str, names: list[str]) -> bool:
    """Whether a group is one country named as its label (no list of countries needed)."""
    return len(names) == 1 and " ".join(label.split()).casefold() == names[0].casefold()


def _and(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 2:
        return " and ".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _span(low: float, high: float, sides: tuple[str, str], digits: int) -> str:
    """``from 9° to 33° east``, ``from 10° west to 30° east``, ``from the equator to 20°
    north``: the side is said once where both ends share it."""
    first, second = _degrees(low, sides, digits), _degrees(high, sides, digits)
    side = first.rpartition(" ")[2]
    if first[0].isdigit() and side in sides and second.endswith(f"° {side}"):
        first = first.rpartition(" ")[0]
    return f"from {first} to {second}"


def _degrees(value: float, sides: tuple[str, str], digits: int) -> str:
    """``9° east``, ``61° north``; the prime meridian, the equator and the poles by name,
    180 degrees of longitude without a side."""
    number = round(abs(value), digits)
    latitude = sides[0] == "north"
    if number == 0:
        return "the equator" if latitude else "the prime meridian"
    if latitude and number == 90:
        return "the North Pole" if value > 0 else "the South Pole"
    text = f"{number:g}°"
    if number == 180:
        return text
    return f"{text} {sides[0] if value > 0 else sides[1]}"


def _continent(lon: float, lat: float) -> str | None:
    for name, (west, south, east, north) in CONTINENT_CORES:
        if west <= lon <= east and south <= lat <= north:
            return name
    return None
