"""Shared geometry on the real data: wrapping at a print projection's antimeridian,
shared-border thinning of a coverage, and polygons as ring arrays (densified, in two halves)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from tests.conftest import NATURAL_EARTH_ZIP
from tests.support.oracles import wrap_to_meridian
from tilepress.config.model import BUILTIN_SOURCE_SHA256, SourceSpec
from tilepress.geometry.projection import wrap_and_clip
from tilepress.geometry.rings import Rings, rings_of
from tilepress.geometry.shared import thin_shared
from tilepress.sources.table import CountryTable, read_countries

EUROPE = ("FRA", "ESP", "AND", "PRT", "DEU", "BEL", "LUX", "NLD", "CHE", "ITA", "AUT", "LIE")
EUROPE += ("SMR", "VAT", "MCO", "CZE", "POL", "SVN", "HRV", "HUN", "SVK")


@pytest.fixture(scope="module")
def table() -> CountryTable:
    """The embedded Natural Earth countries, repaired as the print map reads them."""
    source = SourceSpec(
        name="natural-earth", path=str(NATURAL_EARTH_ZIP), sha256=BUILTIN_SOURCE_SHA256,
        encoding="UTF-8",
    )  # fmt: skip
    return read_countries(source)


def test_wrap_and_clip_matches_wrap_to_meridian(table: CountryTable) -> None:
    rows = [table.codes.index(code) for code in ("RUS", "FJI", "GRL", "USA", "BRA", "FRA")]
    geometries = table.geometries[rows]
    for lon_0 in (0.0, 150.0):
        fast = wrap_and_clip(geometries, lon_0)
        slow = wrap_to_meridian(geometries, lon_0)
        assert np.allclose(shapely.area(fast), shapely.area(slow), rtol=1e-9)
        assert np.allclose(shapely.bounds(fast), shapely.bounds(slow))
    russia = wrap_and_clip(geometries[:1], 150.0)[0]
    assert russia.bounds[2] > 180.0  # Chukotka joined on the far side of 180 degrees


def test_thinning_keeps_shared_borders_identical() -> None:
    t = np.linspace(0.0, 1.0, 400)
    border = np.column_stack([np.sin(t * 40) * 0.01 + 0.5, t])  # a wiggly shared edge
    left = shapely.Polygon(np.vstack([[[0.0, 1.0], [0.0, 0.0]], border]))
    right = shapely.Polygon(np.vstack([border, [[1.0, 1.0], [1.0, 0.0]]]))
    coverage = np.array([left, right], dtype=object)
    assert shapely.coverage_is_valid(coverage)

    thinned = thin_shared(Rings.from_geometries(coverage), area=1e-4).to_geometries()
    assert shapely.get_num_coordinates(thinned).sum() < shapely.get_num_coordinates(coverage).sum()
    assert shapely.coverage_is_valid(thinned)
    assert shapely.area(shapely.union_all(thinned)) == pytest.approx(1.0, rel=1e-3)


def test_thinning_a_real_coverage_keeps_it_a_coverage(table: CountryTable) -> None:
    coverage = table.geometries[[table.codes.index(code) for code in EUROPE]]
    assert shapely.coverage_is_valid(coverage)
    rings = Rings.from_geometries(coverage)
    for area, rounds in ((1e-5, 12), (1e-4, 3), (1e-3, 12), (1e-2, 30)):
        thinned = thin_shared(rings, area=area, rounds=rounds)
        assert len(thinned.xy) < len(rings.xy)
        assert shapely.coverage_is_valid(thinned.to_geometries())  # borders still shared


def test_rings_and_densifying_agree_with_shapely(table: CountryTable) -> None:
    rows = [table.codes.index(code) for code in ("RUS", "FJI", "ITA", "LSO", "ZAF")]
    geometries = np.concatenate(
        [table.geometries[rows], [shapely.Polygon(), shapely.MultiPolygon()]]
    )
    rings = rings_of(geometries)
    back = rings.to_geometries()
    assert np.array_equal(shapely.get_coordinates(back), shapely.get_coordinates(geometries))
    assert shapely.equals(back[: len(rows)], geometries[: len(rows)]).all()
    assert shapely.is_empty(back[len(rows) :]).all()
    for step in (0.05, 0.5, 5.0):
        dense = rings.densified(step).to_geometries()
        expected = shapely.segmentize(geometries, step)
        counts = shapely.get_num_coordinates(dense)
        assert np.array_equal(counts, shapely.get_num_coordinates(expected))
        assert np.allclose(shapely.get_coordinates(dense), shapely.get_coordinates(expected))
    # Many vertices are read in two halves (one in a helper thread): the same arrays.
    world, alone = rings_of(table.geometries), Rings.from_geometries(table.geometries)
    assert len(world.xy) > 400_000
    for name in ("xy", "sizes", "ring_polygon", "polygon_geometry"):
        assert np.array_equal(getattr(world, name), getattr(alone, name)), name
