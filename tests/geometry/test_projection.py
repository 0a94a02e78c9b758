"""Web Mercator, extents across the antimeridian and print projections (tilepress.projection)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import CRS

from tests.conftest import NATURAL_EARTH_ZIP
from tests.support.oracles import wrap_to_meridian
from tilepress.config.model import BUILTIN_SOURCE_SHA256, SourceSpec
from tilepress.errors import ProjectionError
from tilepress.geometry.parallel import helper_thread, ring_halves
from tilepress.geometry.projection import (
    WEB_MERCATOR_HALF_WORLD,
    WEB_MERCATOR_MAX_LAT,
    _to_web_mercator,
    build_crs,
    central_meridian,
    choose_print_projection,
    extent_center,
    extent_outline,
    extent_width,
    fit_extent,
    lonlat_to_web_mercator,
    normalize_lon,
    project_outline,
    resolve_extent,
    to_web_mercator,
    transformer,
)
from tilepress.sources.table import CountryTable, read_countries

DATA = NATURAL_EARTH_ZIP
WORLD = (-180.0, -90.0, 180.0, 90.0)


@pytest.fixture(scope="module")
def natural_earth() -> CountryTable:
    spec = SourceSpec(
        name="natural-earth", path=str(DATA), sha256=BUILTIN_SOURCE_SHA256, encoding="UTF-8"
    )
    return read_countries(spec)


def proj_params(text: str) -> dict[str, str]:
    """``+proj=laea +lat_0=48`` as ``{"proj": "laea", "lat_0": "48"}`` (checked to build)."""
    assert CRS.from_user_input(text).is_projected
    return dict(item.lstrip("+").partition("=")[::2] for item in text.split())


def country(table: CountryTable, *codes: str) -> np.ndarray:
    rows = [row for code in codes for row in table.lookup(code)]
    assert len(rows) == len(codes)
    return table.geometries[rows]


# ---------------------------------------------------------------------------------------------
# Web Mercator


def test_to_web_mercator_clamps_latitudes() -> None:
    world = np.array([shapely.box(-180, -90, 180, 90)], dtype=object)
    (projected,) = to_web_mercator(world)
    west, south, east, north = projected.bounds
    assert west == pytest.approx(-WEB_MERCATOR_HALF_WORLD)
    assert east == pytest.approx(WEB_MERCATOR_HALF_WORLD)
    assert south == pytest.approx(-20037508.34, abs=0.01)
    assert north == pytest.approx(20037508.34, abs=0.01)
    assert np.isfinite(shapely.get_coordinates(projected)).all()


def test_to_web_mercator_of_countries(natural_earth: CountryTable) -> None:
    projected = to_web_mercator(natural_earth.geometries)
    coords = shapely.get_coordinates(projected)
    assert np.isfinite(coords).all()
    assert np.abs(coords).max() <= WEB_MERCATOR_HALF_WORLD + 1e-3
    # Antarctica reaches -90 degrees: it is cut at -85.0511, i.e. exactly the bottom edge
    (antarctica,) = to_web_mercator(country(natural_earth, "ATA"))
    assert antarctica.bounds[1] == pytest.approx(-WEB_MERCATOR_HALF_WORLD, abs=0.01)
    # Ukraine is untouched by the clamp: Kyiv's latitude band maps as usual
    (ukraine,) = to_web_mercator(country(natural_earth, "UKR"))
    assert 2_400_000 < ukraine.bounds[0] < 2_500_000  # 22.1 degrees east
    assert 6_700_000 < ukraine.bounds[3] < 6_950_000  # 52.4 degrees north


def test_two_threads_project_exactly_as_one(natural_earth: CountryTable) -> None:
    """The countries (over half a million vertices) go through PROJ in two halves, one in
    the helper thread, with a transformer of its own: the same numbers as one call."""
    assert ring_halves(shapely.get_num_coordinates(natural_earth.geometries)) is not None
    split = to_web_mercator(natural_earth.geometries)
    whole = _to_web_mercator(natural_earth.geometries)
    assert all(shapely.equals_exact(split, whole, tolerance=0))
    here = transformer("EPSG:4326", "EPSG:3857")
    there = helper_thread().submit(transformer, "EPSG:4326", "EPSG:3857").result()
    assert there is not here and transformer("EPSG:4326", "EPSG:3857") is here
    # Called from the helper thread itself, it runs there in one piece instead of waiting
    # for itself.
    inside = helper_thread().submit(to_web_mercator, natural_earth.geometries).result(timeout=60)
    assert all(shapely.equals_exact(inside, whole, tolerance=0))


def test_lonlat_to_web_mercator() -> None:
    assert lonlat_to_web_mercator(0.0, 0.0) == pytest.approx((0.0, 0.0), abs=1e-6)
    x, y = lonlat_to_web_mercator(180.0, 90.0)
    assert x == pytest.approx(WEB_MERCATOR_HALF_WORLD)
    assert y == pytest.approx(WEB_MERCATOR_HALF_WORLD, rel=1e-9)
    assert lonlat_to_web_mercator(10.0, -89.0) == lonlat_to_web_mercator(
        10.0, -WEB_MERCATOR_MAX_LAT
    )


# ---------------------------------------------------------------------------------------------
# Extents


@pytest.mark.parametrize(
    ("lon", "expected"),
    [
        (0.0, 0.0),
        (180.0, 180.0),
        (190.0, -170.0),
        (-190.0, 170.0),
        (360.0, 0.0),
        (540.0, 180.0),
        (-179.5, -179.5),
    ],
)
def test_normalize_lon(lon: float, expected: float) -> None:
    assert normalize_lon(lon) == expected


def test_extent_width_and_center() -> None:
    assert extent_width(WORLD) == 360.0
    assert extent_center(WORLD) == (0.0, 0.0)
    assert extent_width((20.0, 40.0, 40.0, 50.0)) == 20.0
    assert extent_center((20.0, 40.0, 40.0, 50.0)) == (30.0, 45.0)
    # across the antimeridian: west > east
    assert extent_width((170.0, -20.0, -170.0, 0.0)) == 20.0
    assert extent_center((170.0, -20.0, -170.0, 0.0)) == (180.0, -10.0)
    assert extent_width((160.0, 0.0, -140.0, 10.0)) == 60.0
    assert extent_center((160.0, 0.0, -140.0, 10.0)) == (-170.0, 5.0)
    assert extent_center((175.0, 0.0, -165.0, 10.0)) == (-175.0, 5.0)


def test_fit_extent_of_fiji_crosses_the_antimeridian(natural_earth: CountryTable) -> None:
    fiji = country(natural_earth, "FJI")
    west, south, east, north = fit_extent(fiji)
    assert west > east
    assert 170.0 < west < 178.0
    assert -180.0 < east < -174.0
    assert extent_width((west, south, east, north)) < 20.0
    assert -25.0 < south < -20.0
    assert -12.0 < north < -8.0
    lon, _lat = extent_center((west, south, east, north))
    assert abs(lon) > 175.0


def test_fit_extent_of_ukraine_is_a_small_box_with_margins(natural_earth: CountryTable) -> None:
    ukraine = country(natural_earth, "UKR")
    # Ukraine in Natural Earth 5.1.1 (German view, Crimea included) spans 22.133-40.160 E and
    # 44.381-52.369 N: 18.0 by 8.0 degrees.
    assert ukraine[0].bounds == pytest.approx((22.133, 44.381, 40.160, 52.369), abs=1e-3)
    # 2 degrees of margin on every side, more than the default share of such small bounds
    assert fit_extent(ukraine) == pytest.approx((20.133, 42.381, 42.160, 54.369), abs=1e-3)
    # half the width (9.0 degrees) and half the height (4.0) beyond each side
    assert fit_extent(ukraine, margin=0.5) == pytest.approx(
        (13.119, 40.387, 49.173, 56.363), abs=1e-3
    )


def test_fit_extent_of_russia_ukraine_north_korea(natural_earth: CountryTable) -> None:
    geometries = country(natural_earth, "RUS", "UKR", "PRK")
    extent = fit_extent(geometries)
    west, south, east, north = extent
    assert extent != WORLD
    assert west > east  # Chukotka lies beyond 180 degrees
    assert extent_width(extent) < 270.0
    assert 180.0 < extent_width(extent) < 220.0
    assert 0.0 < west < 20.0  # Kaliningrad at 19.6 E minus the margin
    assert -170.0 < east < -150.0  # Chukotka at -169 plus the margin
    assert south < 37.7  # North Korea's south coast
    assert north <= 90.0


def test_fit_extent_of_spread_countries_is_the_world(natural_earth: CountryTable) -> None:
    assert fit_extent(country(natural_earth, "USA", "CHN", "BRA", "AUS")) == WORLD


def test_fit_extent_of_nothing() -> None:
    with pytest.raises(ProjectionError, match="no highlighted geometry"):
        fit_extent(np.array([shapely.Polygon()], dtype=object))


def test_resolve_extent(natural_earth: CountryTable) -> None:
    ukraine = country(natural_earth, "UKR")
    assert resolve_extent("world", ukraine) == WORLD
    assert resolve_extent("auto", ukraine) == fit_extent(ukraine)
    assert resolve_extent([170, -25, -170, -10], ukraine) == (170.0, -25.0, -170.0, -10.0)


def test_extent_outline_across_the_antimeridian() -> None:
    outline = extent_outline((170.0, -20.0, -170.0, 0.0), lon_0=180.0)
    assert outline.is_valid
    assert outline.bounds == pytest.approx((170.0, -20.0, 190.0, 0.0))
    world = extent_outline(WORLD, lon_0=150.0)
    assert world.bounds == pytest.approx((-30.0, -90.0, 330.0, 90.0))


# ---------------------------------------------------------------------------------------------
# Print projections


def test_auto_projection_of_the_world_is_equal_earth() -> None:
    projection = choose_print_projection("auto", WORLD)
    assert projection.is_world
    assert projection.lon_0 == 0.0
    assert projection.cut_meridian == 180.0
    assert projection.extent == WORLD
    params = proj_params(projection.crs)
    assert params["proj"] == "eqearth"
    assert float(params["lon_0"]) == 0.0


def test_auto_projection_of_a_wide_extent_is_centred_equal_earth() -> None:
    extent = (60.0, -60.0, 20.0, 80.0)  # 320 degrees, crossing 180: centred on -140
    projection = choose_print_projection("auto", extent)
    assert projection.is_world
    assert proj_params(projection.crs)["proj"] == "eqearth"
    assert projection.lon_0 == -140.0
    assert projection.cut_meridian == 40.0


def test_auto_projection_of_a_region_is_laea_centred_on_it(natural_earth: CountryTable) -> None:
    extent = fit_extent(country(natural_earth, "UKR"))  # 20.133-42.160 E, 42.381-54.369 N
    projection = choose_print_projection("auto", extent)
    assert not projection.is_world
    params = proj_params(projection.crs)
    assert params["proj"] == "laea"
    assert float(params["lat_0"]) == pytest.approx(48.375, abs=1e-3)  # the extent's middle
    assert float(params["lon_0"]) == pytest.approx(31.146, abs=1e-3)
    assert projection.lon_0 == pytest.approx(31.146, abs=1e-3)
    # the extent projects to finite points
    outline = project_outline(extent_outline(extent, projection.lon_0), projection.crs)
    assert outline.is_valid
    assert not outline.is_empty


def test_auto_projection_of_fiji_is_centred_near_180(natural_earth: CountryTable) -> None:
    extent = fit_extent(country(natural_earth, "FJI"))
    projection = choose_print_projection("auto", extent)
    assert not projection.is_world
    assert proj_params(projection.crs)["proj"] == "laea"
    assert abs(projection.lon_0) > 175.0
    assert projection.lon_0 == pytest.approx(extent_center(extent)[0], abs=1e-3)


@pytest.mark.parametrize("code", ["EPSG:3035", "3035"])
def test_user_epsg_code_builds(code: str) -> None:
    extent = (20.0, 42.0, 42.0, 55.0)
    projection = choose_print_projection(code, extent)
    assert projection.crs == code
    assert projection.lon_0 == 10.0  # ETRS89-extended / LAEA Europe is centred on 10 E
    assert not projection.is_world
    assert build_crs(code).to_epsg() == 3035


def test_user_proj_string_builds_with_its_meridian() -> None:
    text = "+proj=robin +lon_0=150 +datum=WGS84 +units=m +no_defs"
    projection = choose_print_projection(text, WORLD)
    assert projection.crs == text
    assert projection.lon_0 == 150.0
    assert projection.cut_meridian == -30.0
    assert projection.is_world


@pytest.mark.parametrize("text", ["+proj=nonsense", "EPSG:999999", "not a projection"])
def test_bad_projection_raises(text: str) -> None:
    with pytest.raises(ProjectionError) as caught:
        build_crs(text)
    assert str(caught.value).startswith(f"PROJ cannot build {text!r}")
    assert "\n" not in str(caught.value)
    with pytest.raises(ProjectionError):
        choose_print_projection(text, WORLD)


def test_geographic_crs_is_refused_for_print() -> None:
    with pytest.raises(ProjectionError, match="geographic"):
        build_crs("EPSG:4326")


def test_central_meridian() -> None:
    assert central_meridian(CRS.from_epsg(3035)) == 10.0
    assert central_meridian(CRS.from_epsg(3857)) == 0.0
    assert central_meridian(CRS.from_user_input("+proj=eqearth +lon_0=-75")) == -75.0
    assert central_meridian(CRS.from_epsg(32633)) == 15.0  # UTM 33N


# ---------------------------------------------------------------------------------------------
# Wrapping to a central meridian


def test_wrap_to_meridian_dissolves_chukotka(natural_earth: CountryTable) -> None:
    russia = country(natural_earth, "RUS")
    before = len(shapely.get_parts(russia[0]))
    (wrapped,) = wrap_to_meridian(russia, 150.0)
    assert wrapped.is_valid
    assert wrapped.geom_type in ("Polygon", "MultiPolygon")
    parts = shapely.get_parts(wrapped)
    assert len(parts) < before
    # no piece is left at the old cut: nothing ends or starts at 180 any more
    assert not any(p.bounds[2] == 180.0 or p.bounds[0] == 180.0 for p in parts)
    west, _south, east, _north = wrapped.bounds
    assert west == pytest.approx(19.6, abs=0.1)  # Kaliningrad
    assert east == pytest.approx(191.0, abs=0.1)  # Chukotka beyond 180, now continuous
    assert wrapped.area == pytest.approx(russia[0].area, rel=1e-9)


@pytest.mark.parametrize("lon_0", [150.0, -30.0, 10.0])
def test_wrap_to_meridian_keeps_longitudes_in_the_window(
    natural_earth: CountryTable, lon_0: float
) -> None:
    # every country for one meridian; for the others those near 180 or the cut
    codes = None if lon_0 == 150.0 else ("RUS", "FJI", "KIR", "USA", "NZL", "ATA", "ISL", "ESP")
    geometries = natural_earth.geometries if codes is None else country(natural_earth, *codes)
    wrapped = wrap_to_meridian(geometries, lon_0)
    assert len(wrapped) == len(geometries)
    assert shapely.is_valid(wrapped).all()
    assert set(shapely.get_type_id(wrapped)) <= {
        shapely.GeometryType.POLYGON,
        shapely.GeometryType.MULTIPOLYGON,
    }
    for geometry in wrapped:
        lons = shapely.get_coordinates(geometry)[:, 0]
        assert lons.min() >= lon_0 - 180.0 - 1e-9
        assert lons.max() <= lon_0 + 180.0 + 1e-9
    assert shapely.area(wrapped) == pytest.approx(shapely.area(geometries), rel=1e-9)


def test_wrap_to_meridian_zero_changes_nothing(natural_earth: CountryTable) -> None:
    ukraine = country(natural_earth, "UKR")
    (wrapped,) = wrap_to_meridian(ukraine, 0.0)
    assert wrapped.equals(ukraine[0])
    russia = country(natural_earth, "RUS")
    (same,) = wrap_to_meridian(russia, 0.0)
    assert same.bounds == russia[0].bounds
    assert len(shapely.get_parts(same)) == len(shapely.get_parts(russia[0]))


def test_projection_name_for_the_credit_line() -> None:
    from tilepress.geometry.projection import projection_name

    world = choose_print_projection("auto", WORLD)
    assert projection_name(world) == "Equal Earth projection"
    pacific = choose_print_projection("+proj=eqearth +lon_0=150", WORLD)
    assert projection_name(pacific) == "Equal Earth projection centred on 150°E"
    europe = choose_print_projection("auto", (-12.0, 34.0, 60.0, 62.0))
    assert (
        projection_name(europe) == "Lambert azimuthal equal-area projection centred on 48°N, 24°E"
    )
    assert projection_name(choose_print_projection("EPSG:3035", WORLD)).endswith("(EPSG:3035)")
