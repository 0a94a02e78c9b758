"""Land no country holds: the holes in the union of the countries, found from their edges,
told from enclosed seas and slivers by area, and added to the country table as rows of
their own (real data, and small coverages whose holes the tests know)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely

from tests.conftest import NATURAL_EARTH_ZIP, REFERENCE_CONFIG
from tilepress.config.model import BUILTIN_SOURCE_SHA256, HighlightGroup, MapSpec, SourceSpec
from tilepress.errors import ConfigError
from tilepress.geometry.rings import Rings
from tilepress.project import load_config
from tilepress.sources.highlights import fill_colors, resolve_highlights
from tilepress.sources.table import UNCLAIMED_ZOOM, CountryTable, read_countries
from tilepress.sources.unclaimed import (
    ENCLOSED_SEA_KM2,
    SLIVER_KM2,
    UNCLAIMED_CODE,
    UNCLAIMED_COLOR,
    UNCLAIMED_NAME,
    geodesic_km2,
    hole_outlines,
    unclaimed_land,
)

NE = SourceSpec(name="ne", path=str(NATURAL_EARTH_ZIP), sha256=BUILTIN_SOURCE_SHA256)

# The land holes of Natural Earth 10m (German view): a point inside each, and its area.
LAND_HOLES = {
    "Southern Patagonian Ice Field": ((-73.32, -49.51), 1_409),
    "Rincón de Artigas": ((-55.94, -31.00), 268),
    "Abyei": ((28.41, 9.77), 10_876),
    "Golan": ((35.73, 33.00), 1_194),
}
CASPIAN = (50.8, 41.8)


@pytest.fixture(scope="module")
def as_read() -> CountryTable:
    """Natural Earth as the tiles read it: unrepaired, with the unclaimed rows."""
    return read_countries(NE, repaired=False)


def outlines_of(*geometries: shapely.Geometry) -> list[shapely.Polygon]:
    """The holes :func:`hole_outlines` finds, as polygons, largest first."""
    found = hole_outlines(Rings.from_geometries(np.array(geometries, dtype=object)))
    return sorted((shapely.Polygon(ring) for ring in found), key=lambda p: -p.area)


def holes_by_union(*geometries: shapely.Geometry) -> list[shapely.Polygon]:
    """The holes of GEOS's union of the geometries, largest first."""
    union = shapely.union_all(np.array(geometries, dtype=object))
    holes = [shapely.Polygon(r) for part in shapely.get_parts(union) for r in part.interiors]
    return sorted(holes, key=lambda p: -p.area)


def test_natural_earth_has_four_pieces_of_land_no_country_holds(as_read: CountryTable) -> None:
    countries = as_read.geometries[as_read.country_rows]
    started = time.perf_counter()
    land = unclaimed_land(countries)
    first = time.perf_counter() - started
    best = min(_timed(unclaimed_land, countries) for _ in range(5))
    print(f"unclaimed_land on Natural Earth 10m: {first * 1e3:.0f} ms, best {best * 1e3:.0f} ms")
    assert len(land) == 4
    assert shapely.is_valid(land).all()
    assert set(shapely.get_type_id(land).tolist()) <= {3, 6}  # (Multi)Polygons
    for (lon, lat), km2 in LAND_HOLES.values():
        [piece] = [g for g in land if g.contains(shapely.Point(lon, lat))]
        area = geodesic_km2(shapely.get_coordinates(piece.exterior))
        assert area == pytest.approx(km2, rel=0.005)
    assert not any(g.contains(shapely.Point(*CASPIAN)) for g in land)  # water
    # From west to east, and exactly what the table holds after the countries.
    west = shapely.bounds(land)[:, 0]
    assert west.tolist() == sorted(west.tolist())
    assert all(shapely.equals_exact(land, as_read.geometries[as_read.unclaimed_rows], 0))


def _timed(function: object, *arguments: object) -> float:
    started = time.perf_counter()
    function(*arguments)  # type: ignore[operator]
    return time.perf_counter() - started


def test_every_hole_of_the_union_is_found_with_its_area(as_read: CountryTable) -> None:
    """Nine holes, as GEOS's coverage union finds them: the land, the Caspian Sea and four
    slivers on the border of Egypt and Sudan (one a loop of Egypt's own outline)."""
    countries = as_read.geometries[as_read.country_rows]
    found = hole_outlines(Rings.from_geometries(countries))
    union = shapely.coverage_union_all(countries)
    expected = [r for part in shapely.get_parts(union) for r in part.interiors]
    km2 = sorted(geodesic_km2(shapely.get_coordinates(ring)) for ring in found)
    assert km2 == pytest.approx(
        sorted(geodesic_km2(np.asarray(ring.coords)) for ring in expected), rel=1e-9
    )
    assert len(km2) == 9
    assert [round(a) for a in km2 if a < SLIVER_KM2] == [1, 4, 8, 11]
    assert [a for a in km2 if a > ENCLOSED_SEA_KM2] == [pytest.approx(397_054, abs=1)]


def test_unclaimed_land_is_appended_after_the_source_rows(as_read: CountryTable) -> None:
    table = as_read
    assert (len(table), table.unclaimed) == (254, 4)
    assert table.country_rows == range(250) and table.unclaimed_rows == range(250, 254)
    assert [table.is_unclaimed(row) for row in (0, 249, 250, 253)] == [False, False, True, True]
    assert table.codes[250:] == [UNCLAIMED_CODE] * 4
    assert table.names[250:] == [UNCLAIMED_NAME] * 4
    assert table.field("MIN_ZOOM")[250:] == table.field("MIN_LABEL")[250:] == [UNCLAIMED_ZOOM] * 4
    assert table.field("ISO_A2")[250:] == table.field("NAME_DE")[250:] == [None] * 4
    assert table.codes[:3] == ["IDN", "MYS", "CHL"]  # the source's rows keep their numbers
    # Never matched to a group, never suggested.
    assert table.lookup(UNCLAIMED_CODE) == table.lookup(UNCLAIMED_NAME) == []
    assert not any(UNCLAIMED_CODE in text for text in table.suggestions("No countr"))


def test_the_print_sheet_and_the_tiles_get_the_same_rows(as_read: CountryTable) -> None:
    repaired = read_countries(NE)  # as the print sheet reads it
    assert repaired.unclaimed == as_read.unclaimed == 4
    rows = as_read.unclaimed_rows
    assert all(shapely.equals_exact(repaired.geometries[rows], as_read.geometries[rows], 0))
    only_codes = read_countries(NE, repaired=False, fields=("ADM0_A3", "NAME_EN"))
    assert len(only_codes) == 254  # the pyramid's rows: the same
    assert only_codes.field("MIN_ZOOM")[-1] == UNCLAIMED_ZOOM


def test_unclaimed_land_is_filled_in_its_own_colour_and_never_highlighted(
    as_read: CountryTable,
) -> None:
    spec = load_config(REFERENCE_CONFIG).maps[0]
    highlighting = resolve_highlights(spec, as_read)
    colors = fill_colors(spec, as_read, highlighting)
    assert colors[250:] == [UNCLAIMED_COLOR] * 4
    assert set(colors[:250]) == {spec.base_color, *(group.color for group in spec.highlight)}
    asking = MapSpec(
        id="m", title="T", source=NE, highlight=(HighlightGroup("None", "#000000", ("XNC",)),)
    )
    with pytest.raises(ConfigError, match="unknown country 'XNC'"):
        resolve_highlights(asking, as_read)


# ---------------------------------------------------------------------------------------------
# Small coverages: rings wound either way, holes touching coasts and each other


def cells(*squares: tuple[int, int], size: int = 6) -> list[shapely.Polygon]:
    """A ``size`` x ``size`` block of unit squares, one country each, without ``squares``:
    neighbours share their edges vertex for vertex."""
    return [
        shapely.box(x, y, x + 1, y + 1)
        for x in range(size)
        for y in range(size)
        if (x, y) not in squares
    ]


@pytest.mark.parametrize("clockwise", [False, True])
def test_holes_of_a_coverage_are_those_of_its_union(clockwise: bool) -> None:
    # A hole of one cell, one of two cells, two holes meeting at a corner, and a bay open to
    # the sea (no hole).
    missing = [(1, 1), (3, 1), (4, 1), (1, 3), (2, 4), (5, 3)]
    squares = cells(*missing)
    squares = [shapely.orient_polygons(s, exterior_cw=clockwise) for s in squares]
    found = outlines_of(*squares)
    expected = holes_by_union(*squares)
    assert [p.area for p in found] == [2.0, 1.0, 1.0, 1.0]
    assert [p.area for p in found] == [p.area for p in expected]
    assert all(any(f.equals(e) for e in expected) for f in found)


def test_a_hole_touching_the_coast_or_another_hole_at_a_point() -> None:
    # A lake whose ring touches its shore (one ring running round it), a country's own hole,
    # and two holes between countries that meet at one point (a figure of eight of water).
    inverted = shapely.Polygon([(0, 0), (4, 0), (3, 2), (5, 2), (4, 0), (8, 0), (8, 8), (0, 8)])
    assert outlines_of(inverted)[0].area == pytest.approx(2.0)
    assert outlines_of(inverted.reverse())[0].area == pytest.approx(2.0)
    island = shapely.box(20, 0, 24, 4).difference(shapely.box(21, 1, 22, 2))
    assert [p.area for p in outlines_of(island)] == [1.0]
    eight = cells((1, 1), (2, 2), size=4)
    assert sorted(p.area for p in outlines_of(*eight)) == [1.0, 1.0]
    assert outlines_of(shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2)) == []  # corner to corner


def test_slivers_and_seas_are_no_land_and_islands_are_cut_out(tmp_path: Path) -> None:
    """Near the equator a degree is 111 km: a frame of countries round a gap of 1 x 1 degree
    (12,300 km2) holds land, one round a gap of 0.05 degrees (31 km2) a sliver, and one round
    30 x 30 degrees (11 million km2) a sea. An island country in the land is cut out of it."""

    def frame(x: float, inner: float) -> list[shapely.Polygon]:
        """Four countries round a square gap ``inner`` degrees wide, from ``x`` east."""
        a, b, c = x, x + 1.0, x + 1.0 + inner
        return [
            shapely.Polygon([(a, 0), (c + 1, 0), (c + 1, 1), (c, 1), (b, 1), (a, 1)]),
            shapely.Polygon([(c, 1), (c + 1, 1), (c + 1, c - a), (c, c - a)]),
            shapely.Polygon(
                [
                    (a, c - a),
                    (b, c - a),
                    (c, c - a),
                    (c + 1, c - a),
                    (c + 1, c - a + 1),
                    (a, c - a + 1),
                ]
            ),
            shapely.Polygon([(a, 1), (b, 1), (b, c - a), (a, c - a)]),
        ]

    island = shapely.box(1.4, 1.4, 1.6, 1.6)
    countries = [*frame(0.0, 1.0), island, *frame(10.0, 0.05), *frame(40.0, 30.0)]
    assert len(holes_by_union(*countries)) == 3
    land = unclaimed_land(np.array(countries, dtype=object))
    assert len(land) == 1 and land[0].is_valid
    assert land[0].area == pytest.approx(1.0 - 0.04)
    assert len(land[0].interiors) == 1  # the island's outline
    # As a source file: the row comes after the five countries.
    path = tmp_path / "frames.gpkg"
    pyogrio.raw.write(
        str(path),
        geometry=shapely.to_wkb(np.array(countries, dtype=object)),
        field_data=[np.array([f"C{i:02d}" for i in range(len(countries))], dtype=object)],
        fields=["ADM0_A3"],
        geometry_type="Polygon",
        crs="EPSG:4326",
        driver="GPKG",
    )
    table = read_countries(SourceSpec(name="frames", path=str(path), name_field="ADM0_A3"))
    assert table.unclaimed == 1 and len(table) == len(countries) + 1
    assert table.codes[-1] == UNCLAIMED_CODE and table.codes[:-1] == [
        f"C{i:02d}" for i in range(len(countries))
    ]
    assert list(table.attributes) == ["ADM0_A3", "MIN_ZOOM", "MIN_LABEL"]
    assert table.field("MIN_ZOOM") == [None] * len(countries) + [UNCLAIMED_ZOOM]


def test_no_holes_no_rows(tmp_path: Path) -> None:
    assert len(unclaimed_land(np.array(cells(), dtype=object))) == 0
    assert len(unclaimed_land(np.empty(0, dtype=object))) == 0
    table = CountryTable(np.array(cells(), dtype=object), {"ADM0_A3": ["X"] * 36}, "ADM0_A3")
    assert table.unclaimed == 0 and table.unclaimed_rows == range(36, 36)
