"""Tiles are valid MVT 2.1: commands, winding, validity, buffers, antimeridian, neighbours."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import shapely

from tests.conftest import REFERENCE_CONFIG
from tests.support.mvt import check_tile, polygons_of, shoelace
from tests.support.oracles import tile_bounds
from tilepress.geometry import parallel, shared
from tilepress.geometry.projection import lonlat_to_web_mercator, to_web_mercator
from tilepress.geometry.rings import Rings
from tilepress.geometry.shared import (
    _stable_order,
    first_shared_edges,
    fixed_points,
    point_ids,
    thin_shared,
)
from tilepress.project import load_config
from tilepress.sources.highlights import Highlighting
from tilepress.sources.loaded import LoadedMap
from tilepress.sources.table import CountryTable
from tilepress.tiles.content import label_points
from tilepress.tiles.cut import (
    RECUT_STEPS,
    TRACE_UNITS,
    cut_to_tiles,
    iter_tiles,
    make_tile_polygons_valid,
)
from tilepress.tiles.grid import BUFFER, EXTENT, WORLD, ZoomLevel, tile_unit, to_grid
from tilepress.tiles.mvt import compress, decode_tile, encode_tile
from tilepress.tiles.pyramid import (
    dropped_rows,
    load_pyramid,
    prepare_mercator,
    save_pyramid,
    thinned_levels,
    zoom_level,
)
from tilepress.tiles.snap import _near, repair_on_grid


def all_tiles(dist: Path) -> dict[tuple[int, int, int], bytes]:
    return {
        (int(p.parts[-3]), int(p.parts[-2]), int(p.stem)): gzip.decompress(p.read_bytes())
        for p in (dist / "tiles").rglob("*.pbf")
    }


@pytest.fixture(scope="module")
def tiles(reference_dist: Path) -> dict[tuple[int, int, int], bytes]:
    return all_tiles(reference_dist)


GEOMETRY_TYPE = {"countries": 3, "boundaries": 2, "overlays": 3, "labels": 1, "markers": 1}


@pytest.mark.e2e
def test_every_tile_is_valid_mvt_21(tiles: dict[tuple[int, int, int], bytes]) -> None:
    """Decode every tile of the reference output with an independent command parser."""
    checked = 0
    for key, data in tiles.items():
        layers = check_tile(data)  # the grammar, tags, versions and extents of MVT 2.1
        names = [name for name, _features in layers]
        assert set(names) <= set(GEOMETRY_TYPE) and "countries" in names, key
        for name, features in layers:
            for geom_type, parts in features:
                assert geom_type == GEOMETRY_TYPE[name], (key, name)
                if name in ("labels", "markers"):
                    [[(x, y)]] = parts  # one point
                    assert 0 <= x <= EXTENT and 0 <= y <= EXTENT, key  # only in its own tile
                    continue
                coords = np.array([point for part in parts for point in part])
                assert coords.min() >= -BUFFER and coords.max() <= EXTENT + BUFFER, key
                if name == "boundaries":
                    continue
                polygons = polygons_of(parts)
                for polygon in polygons:
                    assert polygon.is_valid, (key, shapely.is_valid_reason(polygon))
                multi = shapely.MultiPolygon(polygons)
                assert multi.is_valid, (key, shapely.is_valid_reason(multi))
                checked += 1
    assert checked > 5000


@pytest.mark.e2e
def test_countries_do_not_overlap_in_a_tile(tiles: dict[tuple[int, int, int], bytes]) -> None:
    worst = 0.0
    for data in tiles.values():
        features = decode_tile(data)["countries"]["features"]
        # one-pixel traces of micro-states sit on top of their neighbours by design
        shapes = [
            shapely.geometry.shape(f["geometry"])
            for f in features
            if not f["properties"].get("trace")
        ]
        if len(shapes) < 2:
            continue
        overlap = sum(s.area for s in shapes) - shapely.union_all(shapes).area
        worst = max(worst, overlap)
    # Shared borders are simplified once and snapped on both sides; what remains must stay far
    # below what a screen can show: 16 square units is 1/16 of a pixel on a 256-pixel tile.
    assert worst < 16.0, f"largest overlap {worst:.2f} square tile units"


@pytest.mark.e2e
def test_chukotka_reaches_across_the_antimeridian(tiles: dict[tuple[int, int, int], bytes]) -> None:
    """Russia in the west-edge tile extends into the buffer with the east side's copy."""
    west = decode_tile(gzip.compress(tiles[(2, 0, 0)]))["countries"]["features"]
    east = decode_tile(gzip.compress(tiles[(2, 3, 0)]))["countries"]["features"]
    russia_west = [
        shapely.geometry.shape(f["geometry"]) for f in west if f["properties"]["adm0_a3"] == "RUS"
    ]
    russia_east = [
        shapely.geometry.shape(f["geometry"]) for f in east if f["properties"]["adm0_a3"] == "RUS"
    ]
    assert min(shape.bounds[0] for shape in russia_west) < 0
    assert max(shape.bounds[2] for shape in russia_east) > EXTENT


@pytest.mark.e2e
def test_no_gaps_between_neighbours(tiles: dict[tuple[int, int, int], bytes]) -> None:
    """A gap is a small hole in the union of a tile's countries that is land in the source.

    Every hole under a square pixel (256 square units on a 256-pixel tile) is checked against
    the source countries; lakes, seas between islands and the source's own slivers are not
    land there. Rounding thin inlets to the grid may still leave specks: none may reach 1/16
    of a pixel, and all of them together stay under a quarter of one.
    """
    from tests.conftest import NATURAL_EARTH_ZIP
    from tilepress.sources.loaded import load_map
    from tilepress.tiles.pyramid import prepare_mercator

    loaded = load_map(load_config(REFERENCE_CONFIG).maps[0], NATURAL_EARTH_ZIP)
    land = prepare_mercator(loaded.table.geometries)
    tree = shapely.STRtree(land)
    holes_checked, gaps = 0, []
    for (z, x, y), data in tiles.items():
        features = decode_tile(data)["countries"]["features"]
        shapes = [shapely.geometry.shape(f["geometry"]) for f in features]
        solid = [
            s for s, f in zip(shapes, features, strict=True) if not f["properties"].get("trace")
        ]
        union = shapely.union_all(solid)
        holes = [
            shapely.Polygon(ring)
            for part in shapely.get_parts(union)
            for ring in part.interiors
            if shapely.Polygon(ring).area < 256
        ]
        minx, _miny, _maxx, maxy = tile_bounds(z, x, y)
        unit = tile_unit(z)
        for hole in holes:
            holes_checked += 1
            ring = shapely.get_coordinates(hole.exterior)
            mercator = shapely.Polygon(
                np.column_stack([minx + ring[:, 0] * unit, maxy - ring[:, 1] * unit])
            )
            covered = shapely.area(shapely.intersection(land[tree.query(mercator)], mercator))
            if covered.sum() > 0.9 * mercator.area:
                gaps.append(((z, x, y), hole.area))
    assert holes_checked > 100  # lakes and enclosed seas: the check did look at holes
    assert all(area < 16 for _tile, area in gaps), sorted(gaps, key=lambda g: -g[1])[:5]
    assert sum(area for _tile, area in gaps) < 64, len(gaps)


def countries_by_code(data: bytes) -> dict[str, shapely.Geometry]:
    """Each country's shape in a tile (pieces from both sides of 180 degrees together)."""
    pieces: dict[str, list[shapely.Geometry]] = {}
    for feature in decode_tile(data)["countries"]["features"]:
        shape = shapely.geometry.shape(feature["geometry"])
        pieces.setdefault(feature["properties"]["adm0_a3"], []).append(shape)
    return {code: shapely.union_all(shapes) for code, shapes in pieces.items()}


def edge_crossings(shape: shapely.Geometry, x: float) -> np.ndarray:
    """Sorted y of the points where a polygon's outline crosses the vertical line at ``x``,
    short of the last units of the buffer that a tile may cut away (``RECUT_STEPS``: there the
    outline follows the cut, not the country)."""
    reach = BUFFER - max(RECUT_STEPS) - 0.5
    line = shapely.LineString([(x, -reach), (x, EXTENT + reach)])
    points = shapely.get_coordinates(shapely.intersection(shape.boundary, line))
    return np.unique(np.round(points[:, 1], 3))


@pytest.mark.e2e
def test_neighbours_cross_their_shared_edge_at_the_same_points(
    tiles: dict[tuple[int, int, int], bytes],
) -> None:
    """Each country's outline meets the edge between two tiles at the same places in both."""
    compared = 0
    for (z, x, y), data in tiles.items():
        if z != 4 or (z, x + 1, y) not in tiles:
            continue
        left = countries_by_code(data)
        right = countries_by_code(tiles[(z, x + 1, y)])
        for code in set(left) & set(right):
            a = edge_crossings(left[code], EXTENT)
            b = edge_crossings(right[code], 0)
            assert len(a) == len(b), (z, x, y, code, a, b)
            # Both tiles round the same outline to the same grid: within one unit.
            assert np.abs(a - b).max(initial=0) <= 1.0, (z, x, y, code)
            compared += 1
    assert compared > 20


def test_labels_sit_at_label_x_y_or_inside_their_country() -> None:
    square, far = shapely.box(10, 10, 20, 20), shapely.box(-60, -30, -50, -20)
    # As read for the tiles (not repaired): a spike on the second, whose point on the surface
    # would be a corner unless the polygon is repaired first.
    spiked = shapely.Polygon([(-60, -30), (-50, -30), (-50, -20), (-55, -20), (-55, -10),
                              (-55, -20), (-60, -20)])  # fmt: skip
    assert not spiked.is_valid
    assert not shapely.point_on_surface(spiked).within(far)
    table = CountryTable(
        np.array([square, spiked], dtype=object),
        {
            "ADM0_A3": ["SQA", "FAR"],
            "NAME_EN": ["Squareland", "Farland"],
            "LABEL_X": [12.5, None],  # the second has no label point: one inside it is used
            "LABEL_Y": [17.5, None],
            "MIN_LABEL": [3.0, 5.0],
        },
        "ADM0_A3",
        "NAME_EN",
    )
    spec = load_config(REFERENCE_CONFIG).maps[0]
    loaded = LoadedMap(spec, table, Highlighting({0: 0}, {}))
    countries = [{"adm0_a3": "SQA", "name": "Squareland"}, {"adm0_a3": "FAR", "name": "Farland"}]
    labels = label_points(loaded, countries)
    assert labels.xy[0] == pytest.approx(lonlat_to_web_mercator(12.5, 17.5))
    far_mercator = to_web_mercator(np.array([far], dtype=object))[0]
    assert far_mercator.contains(shapely.Point(labels.xy[1]))
    assert labels.min_zoom.tolist() == [0.0, 5.0]  # a highlighted country is labelled from z0
    assert [p["name"] for p in labels.properties] == ["Squareland", "Farland"]


def test_repairs_on_the_grid_split_touching_rings_and_node_crossing_ones() -> None:
    # A ring that runs around a hole it touches at (4, 0), one that touches itself at (4, 4)
    # between two lobes, and a bow tie whose edges cross at (1.5, 1.5), off the grid.
    inverted_hole = shapely.Polygon(
        [(0, 0), (4, 0), (3, 2), (5, 2), (4, 0), (8, 0), (8, 8), (0, 8)]
    )
    two_lobes = shapely.Polygon([(0, 0), (4, 4), (8, 0), (8, 8), (4, 4), (0, 8)])
    bow_tie = shapely.Polygon([(0, 0), (3, 3), (3, 0), (0, 3)])
    # A loop the other way round outside the ring: a zero buffer would drop it, so the area
    # check sends it to make_valid, which keeps it as an island.
    island_loop = shapely.Polygon([(0, 0), (8, 0), (8, 8), (4, 4), (3, 6), (5, 6), (4, 4), (0, 8)])
    assert shapely.buffer(island_loop, 0).area == 48
    shapes = np.array([inverted_hole, two_lobes, bow_tie, island_loop], dtype=object)
    reasons = shapely.is_valid_reason(shapes)
    assert [reason.split("[")[0] for reason in reasons] == [
        "Ring Self-intersection",
        "Ring Self-intersection",
        "Self-intersection",
        "Ring Self-intersection",
    ]
    repaired = repair_on_grid(shapes)
    assert shapely.is_valid(repaired).all()
    coordinates = shapely.get_coordinates(repaired)
    assert (coordinates == np.rint(coordinates)).all()
    assert repaired[0].area == inverted_hole.area == 64 - 2  # the loop became a hole
    assert len(repaired[0].interiors) == 1
    assert repaired[1].area == 32 and len(shapely.get_parts(repaired[1])) == 2
    assert 0 < repaired[2].area <= 9  # crossing edges noded, then snapped to the grid
    assert repaired[3].area == 48 + 2 and len(shapely.get_parts(repaired[3])) == 2


def test_tile_bounds_cover_the_world() -> None:
    assert tile_bounds(0, 0, 0) == pytest.approx((-WORLD / 2, -WORLD / 2, WORLD / 2, WORLD / 2))
    minx, miny, maxx, _maxy = tile_bounds(3, 7, 7)
    assert maxx == pytest.approx(WORLD / 2) and miny == pytest.approx(-WORLD / 2)
    assert maxx - minx == pytest.approx(tile_unit(3) * EXTENT)


def _level_of(zoom: int, geometries: list[shapely.Geometry]) -> ZoomLevel:
    """The zoom level tilepress builds from these Web Mercator polygons (no thinning)."""
    return zoom_level(zoom, Rings.from_geometries(np.array(geometries, dtype=object)))


def test_quantized_geometry_is_valid_and_wound_for_mvt() -> None:
    """A finely detailed polygon with a hole survives rounding to the grid as valid, and a
    neighbour reaching out of the tile is cut at the buffer."""
    minx, miny, maxx, maxy = tile_bounds(5, 10, 12)
    unit = tile_unit(5)
    angles = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
    radius = (maxx - minx) * (0.3 + 0.002 * np.sin(angles * 400))  # sub-unit wiggles
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    shell = np.column_stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)])
    hole = shapely.Point(cx, cy).buffer((maxx - minx) * 0.1)
    polygon = shapely.Polygon(shell, [np.asarray(hole.exterior.coords)[::-1]])
    bigger = shapely.box(minx - 200 * unit, miny + 100 * unit, minx + 300 * unit, maxy + 300 * unit)
    level = _level_of(5, [polygon, bigger])
    assert shapely.is_valid(level.countries).all()
    tiles = {(t.x, t.y): t for t in iter_tiles(level, range(12, 13))}
    assert sorted(tiles) == [(9, 12), (10, 12)]  # the box reaches into the tile to the west
    tile = tiles[(10, 12)]
    assert tile.zoom == 5
    assert tile.rows.tolist() == [0, 1] and not tile.traces.any()
    tiled, cut = tile.geometries
    for geometry in (tiled, cut):
        assert geometry.is_valid
        coords = shapely.get_coordinates(geometry)
        assert np.array_equal(coords, np.round(coords))
        for part in shapely.get_parts(geometry):
            assert shoelace(np.asarray(part.exterior.coords)[:-1]) > 0
            for interior in part.interiors:
                assert shoelace(np.asarray(interior.coords)[:-1]) < 0
    assert shapely.bounds(cut).tolist() == [-BUFFER, -BUFFER, 300, EXTENT - 100]
    assert [len(p.interiors) for p in shapely.get_parts(tiled)] == [1]  # the hole is kept
    data = compress(encode_tile({"countries": [(tiled, {"adm0_a3": "XXX"})]}))
    decoded = decode_tile(data)["countries"]["features"][0]
    assert decoded["properties"] == {"adm0_a3": "XXX"}
    assert shapely.geometry.shape(decoded["geometry"]).equals(tiled)
    assert compress(b"same") == compress(b"same")


def test_the_last_cut_runs_between_grid_lines_and_rounds_outwards() -> None:
    """A vertex on the buffer's edge, between two inside: cut exactly there, GEOS returns a
    ring that touches itself. The last cut runs half a unit further in, and the points it
    adds round outwards onto the edge, so the piece is valid as cut."""
    edge = EXTENT + BUFFER  # the east edge of tile 0's buffered square, in grid units
    land = shapely.Polygon(
        [(4148, 2590), (4172, 2590), (4172, 2560), (4159, 2560), (edge, 2571), (4148, 2575)]
    )
    assert land.is_valid
    assert not shapely.clip_by_rect(land, -BUFFER, -BUFFER, edge, edge).is_valid
    pieces = cut_to_tiles(np.array([land], dtype=object), 1, range(2))
    west = pieces.geometries[pieces.x == 0]
    assert len(west) == 1 and west[0].is_valid
    assert shapely.bounds(west[0]).tolist() == [4148, 2560, edge, 2590]
    coordinates = shapely.get_coordinates(west[0])
    assert (coordinates == np.rint(coordinates)).all()
    # On the edge lie only the points the cut added, rounded: where it crosses the
    # rectangle's sides and the two edges at the vertex (y 2565.5 and 2571.17).
    assert sorted(coordinates[coordinates[:, 0] == edge, 1].tolist()) == [2560, 2566, 2571, 2590]


def test_a_ring_pinched_by_rounding_its_cut_points_is_cut_again_closer_to_the_tile() -> None:
    """An inlet under a unit wide crossing the buffer's edge: its two cut points round to one,
    which pinches the ring. The tile is cut again two units further in, the neighbour too (so
    the two still meet without overlap), instead of being repaired by GEOS."""
    edge = EXTENT + BUFFER  # the east edge of tile 0's buffered square, in grid units
    inlet = [(4300, 149), (edge - 1, 150), (4300, 151)]  # its tip lies one unit inside the edge
    border = [(4000, 100), (4300, 103)]  # slanted: cut points off the grid on both lines
    land = shapely.Polygon([*border, *inlet, (4300, 200), (4000, 200)])
    neighbour = shapely.Polygon([(4000, 0), (4300, 0), *border[::-1]])
    pieces = cut_to_tiles(np.array([land, neighbour], dtype=object), 1, range(2))
    west = np.flatnonzero(pieces.x == 0)
    assert (~shapely.is_valid(pieces.geometries[west])).tolist() == [True, False]  # pinched
    repaired = make_tile_polygons_valid(pieces)
    assert shapely.is_valid(repaired).all()
    assert shapely.bounds(repaired[west]).tolist() == [
        [4000, 100, edge - 2, 200],
        [4000, 0, edge - 2, 102],
    ]
    assert repaired[west[0]].intersection(repaired[west[1]]).area == 0
    assert (
        shapely.union_all(repaired[west]).area == (edge - 2 - 4000) * 200
    )  # the inlet ends before the new cut
    east = np.flatnonzero(pieces.x == 1)  # the tile to the east is not touched
    assert all(shapely.equals(repaired[east], pieces.geometries[east]))


def test_rounding_keeps_shared_borders_shared_without_gaps() -> None:
    """Two neighbours whose common border zigzags below the grid, and a third meeting them at
    a junction: after rounding they still tile their union exactly (no gap, no overlap)."""
    unit = tile_unit(3)
    x = np.linspace(0, 400, 801) * unit
    zigzag = (200 + 0.4 * np.sin(np.arange(801) * 2.7)) * unit  # folds on the grid
    border = np.column_stack([x, zigzag])
    north = shapely.Polygon(np.vstack([border, [[400 * unit, 400 * unit], [0, 400 * unit]]]))
    south_west = shapely.Polygon(np.vstack([border[:401], [[200 * unit, 0], [0, 0]]]))
    south_east = shapely.Polygon(np.vstack([border[400:], [[400 * unit, 0], [200 * unit, 0]]]))
    level = _level_of(3, [north, south_west, south_east])
    assert shapely.is_valid(level.countries).all()
    countries = list(level.countries)
    union = shapely.union_all(countries)
    assert sum(c.area for c in countries) == pytest.approx(union.area, abs=1e-9)
    assert all(len(part.interiors) == 0 for part in shapely.get_parts(union))
    assert len(level.borders) == 3  # each pair meets along a line
    assert sorted(map(tuple, level.border_rows.tolist())) == [(0, 1), (0, 2), (1, 2)]


def test_pyramid_round_trip_is_exact_and_reproducible(tmp_path: Path) -> None:
    left = shapely.box(-2e6, 0, 0, 2e6)
    right = shapely.box(0, 0, 2e6, 2e6)
    speck = shapely.box(5e6, 5e6, 5e6 + 10, 5e6 + 10)  # smaller than a grid unit at z2
    pyramid = {z: _level_of(z, [left, right, speck]) for z in (0, 2)}
    assert pyramid[2].collapsed_rows.tolist() == [2]
    save_pyramid(pyramid, tmp_path / "a.pyramid")
    save_pyramid(pyramid, tmp_path / "b.pyramid")
    assert (tmp_path / "a.pyramid").read_bytes() == (tmp_path / "b.pyramid").read_bytes()
    loaded = load_pyramid(tmp_path / "a.pyramid")
    assert sorted(loaded) == [0, 2]
    assert sorted(load_pyramid(tmp_path / "a.pyramid", zooms=[2, 5])) == [2]
    for zoom, level in pyramid.items():
        again = loaded[zoom]
        assert all(shapely.equals_exact(again.countries, level.countries, tolerance=0))
        assert all(shapely.equals_exact(again.borders, level.borders, tolerance=0))
        assert np.array_equal(again.border_rows, level.border_rows)
        assert np.array_equal(again.collapsed_xy, level.collapsed_xy)
        assert np.array_equal(again.collapsed_rows, level.collapsed_rows)


def test_a_country_below_the_grid_leaves_a_trace_or_is_reported() -> None:
    speck = shapely.box(1e6, 1e6, 1e6 + 50, 1e6 + 50)  # 50 m: far below a z4 grid unit
    land = shapely.box(-3e6, -3e6, -1e6, -1e6)
    level = _level_of(4, [land, speck])
    traced = [t for t in iter_tiles(level, range(16)) if t.traces.any()]
    assert [(t.rows.tolist(), t.traces.tolist()) for t in traced] == [([1], [True])]
    [square] = traced[0].geometries
    assert square.area == TRACE_UNITS**2 and shoelace(np.asarray(square.exterior.coords)[:-1]) > 0
    not_yet = np.array([0.0, 9.0])  # the speck's first zoom is 9: dropped, and said so
    assert not any(t.traces.any() for t in iter_tiles(level, range(16), not_yet))
    assert dropped_rows(level, not_yet) == [1]


def test_specks_of_a_larger_country_become_traces_except_at_the_deepest_zoom() -> None:
    """An islet smaller than SPECK_AREA leaves the fill below the deepest zoom and shows as a
    trace where its country has nothing else; enclaves and micro-states made of specks stay."""
    zoom, unit = 4, tile_unit(4)
    mainland = shapely.box(-3e6, -3e6, -1e6, -1e6)
    islet = shapely.box(1e6, 1e6, 1e6 + 3 * unit, 1e6 + 3 * unit)  # 9 square units
    # A neighbour with a hole that the first country's other islet fills exactly: that islet
    # shares its points, so it is no speck (dropping it would open a gap).
    hole = shapely.box(-5e6, 2e6, -5e6 + 3 * unit, 2e6 + 3 * unit)
    neighbour = shapely.box(-6e6, 1e6, -4e6, 3e6).difference(hole)
    micro_state = shapely.box(3e6, -2e6, 3e6 + 3 * unit, -2e6 + 3 * unit)
    first = shapely.MultiPolygon([mainland, islet, hole])
    geometries = np.array([first, neighbour, micro_state], dtype=object)
    rings = Rings.from_geometries(geometries)
    shallow = zoom_level(zoom, rings)
    deepest = zoom_level(zoom, rings, deepest=True)
    assert shapely.get_num_geometries(shallow.countries).tolist() == [2, 1, 1]
    assert shapely.get_num_geometries(deepest.countries).tolist() == [3, 1, 1]
    assert shallow.countries[0].area == pytest.approx(deepest.countries[0].area - 9.0)
    assert shallow.collapsed_rows.tolist() == [0] and len(deepest.collapsed_rows) == 0
    [(x, y)] = shallow.collapsed_xy.tolist()  # where the islet was: its middle on the grid
    assert (x, y) == pytest.approx(tuple(to_grid(np.array(islet.centroid.coords), zoom)[0]))
    traced = [t for t in iter_tiles(shallow, range(16)) if t.traces.any()]
    assert [(t.x, t.y, t.rows[t.traces].tolist()) for t in traced] == [
        (int(x // EXTENT), int(y // EXTENT), [0])
    ]
    assert not any(t.traces.any() for t in iter_tiles(deepest, range(16)))
    assert dropped_rows(shallow, np.zeros(3)) == []  # the country still shows


def test_invalid_source_polygons_come_out_valid_at_every_zoom() -> None:
    """The tiles read their source unrepaired: a bow tie, a spike and a ring touching itself
    are thinned like any polygon and made valid on each zoom's grid, keeping their areas."""
    bow_tie = shapely.Polygon([(0, 0), (20, 20), (20, 0), (0, 20), (0, 0)])
    spike = shapely.Polygon([(30, 0), (50, 0), (50, 20), (40, 20), (40, 40), (40, 20), (30, 20)])
    lake_on_shore = shapely.Polygon(  # the lake's ring runs through a vertex of the shore
        [(60, 0), (80, 0), (80, 20), (70, 20), (75, 10), (65, 10), (70, 20), (60, 20)]
    )
    sources = np.array([bow_tie, spike, lake_on_shore], dtype=object)
    assert not shapely.is_valid(sources).any()
    repaired_area = shapely.area(prepare_mercator(shapely.make_valid(sources)))
    for zoom, rings in thinned_levels(prepare_mercator(sources), range(0, 5)):
        level = zoom_level(zoom, rings)
        assert shapely.is_valid(level.countries).all()
        expected = repaired_area / tile_unit(zoom) ** 2  # in grid units
        assert shapely.area(level.countries) == pytest.approx(expected, rel=0.02)
        for tile in iter_tiles(level, range(1 << zoom)):
            assert shapely.is_valid(tile.geometries).all()


def test_parts_of_a_country_that_meet_on_the_grid_are_merged() -> None:
    """Rounding puts an island onto its mainland's coast: the two (and a third part touching
    the mainland at a corner) become one valid country; a neighbour's parts that meet only at
    a point stay two."""
    zoom, unit = 2, tile_unit(2)

    def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
        """A box given in grid units (x east, y south from the world's north-west corner)."""
        half = WORLD / 2
        return shapely.box(x0 * unit - half, half - y1 * unit, x1 * unit - half, half - y0 * unit)

    mainland = box(5000, 5000, 5100, 5100)
    island = box(5100.3, 5020, 5110.3, 5030)  # 0.3 units off the coast: on it once rounded
    corner = box(4990, 4990, 5000, 5000)  # meets the mainland at one point
    west, east = box(6000, 6000, 6010, 6010), box(6010, 6010, 6020, 6020)  # corner to corner
    geometries = np.array(
        [shapely.MultiPolygon([mainland, island, corner]), shapely.MultiPolygon([west, east])],
        dtype=object,
    )
    level = zoom_level(zoom, Rings.from_geometries(geometries))
    assert shapely.is_valid(level.countries).all()
    assert shapely.get_num_geometries(level.countries).tolist() == [2, 2]
    merged = max(shapely.get_parts(level.countries[0]), key=lambda part: part.area)
    assert merged.area == pytest.approx(100 * 100 + 10 * 10)  # mainland and island, no seam
    assert len(merged.interiors) == 0
    assert level.countries[1].area == pytest.approx(2 * 10 * 10)


def test_border_lines_follow_shared_edges_only() -> None:
    left = shapely.box(0, 0, 1e6, 1e6)
    right = shapely.box(1e6, 0, 2e6, 1e6)
    island = shapely.box(3e6, 3e6, 3.1e6, 3.1e6)
    level = _level_of(2, [left, right, island])
    assert level.border_rows.tolist() == [[0, 1]]
    [line] = level.borders
    x = (1e6 + WORLD / 2) / tile_unit(2)
    y0, y1 = (WORLD / 2 - 1e6) / tile_unit(2), (WORLD / 2) / tile_unit(2)
    assert shapely.equals(line, shapely.LineString([(round(x), round(y0)), (round(x), round(y1))]))


def test_thinning_carries_point_ids_and_junctions() -> None:
    # Three countries meeting at (1, 1), with a wiggly border to thin between two of them.
    step = np.linspace(0.0, 1.0, 41)[1:-1]
    wiggle = 0.001 * np.sin(step * 40)
    left = shapely.Polygon([(0, 0), (1, 0), *zip(1 + wiggle, step, strict=True), (1, 1), (0, 1)])
    right = shapely.Polygon(
        [(1, 0), (2, 0), (2, 1), (1, 1), *zip(1 + wiggle[::-1], step[::-1], strict=True)]
    )
    top = shapely.Polygon([(0, 1), (1, 1), (2, 1), (2, 2), (0, 2)])
    rings = Rings.from_geometries(np.array([left, right, top], dtype=object))
    thinned = thin_shared(rings, area=0.01, rounds=12)
    assert thinned.point_id is not None and thinned.fixed is not None
    assert len(thinned.xy) < len(rings.xy)
    # Carried ids name equal points equally, as fresh ones would, and the junctions stay.
    fresh = Rings(thinned.xy, thinned.sizes, thinned.ring_polygon, thinned.polygon_geometry, 3)
    fresh_id, fresh_fixed = fixed_points(fresh)
    carried_id, carried_fixed = fixed_points(thinned)
    _, inverse = np.unique(thinned.xy, axis=0, return_inverse=True)
    assert (
        len(np.unique(np.column_stack([carried_id, inverse.ravel()]), axis=0))
        == len(np.unique(carried_id))
        == len(np.unique(inverse))
    )
    assert np.array_equal(carried_fixed[carried_id], fresh_fixed[fresh_id])
    junction = np.flatnonzero((thinned.xy == [1.0, 1.0]).all(axis=1))
    assert len(junction) == 3 and carried_fixed[carried_id[junction]].all()
    # Both sides of the thinned border still hold the same points.
    geometries = thinned.to_geometries()
    assert shapely.intersection(geometries[0], geometries[1]).length > 0.99
    assert shapely.intersection(geometries[0], geometries[1]).area == 0.0


def test_thinning_in_two_runs_gives_what_one_run_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    # A four-point country below a large one shares three points with it; the middle one is
    # almost straight, so the large country alone would drop it, but a ring of four points
    # keeps all of them. The runs split between the two: the large country's run must learn
    # that the small one keeps the point.
    wiggle = np.linspace(2.0, 0.0, 400)[1:-1]
    top = [(x, 1.0 + 0.001 * np.sin(50 * x)) for x in wiggle]
    small = shapely.Polygon([(0, 0), (1, 0.00001), (2, 0), (1, -1)])
    large = shapely.Polygon([(0, 0), (1, 0.00001), (2, 0), (2, 1), *top, (0, 1)])
    far = shapely.Polygon([(10 + x, 1.0 + 0.001 * np.sin(50 * x)) for x in wiggle] + [(10, 0)])
    rings = Rings.from_geometries(np.array([small, far, large], dtype=object))
    one = thin_shared(rings, area=0.01, rounds=12)
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 100)
    assert parallel.ring_halves(rings.sizes) == 1  # the small country alone in the first run
    two = thin_shared(rings, area=0.01, rounds=12)
    for field in ("xy", "sizes", "point_id", "fixed"):
        assert np.array_equal(getattr(one, field), getattr(two, field)), field
    assert len(two.xy) < len(rings.xy)
    shared = shapely.intersection(*two.to_geometries()[[0, 2]])
    assert shapely.get_num_coordinates(shared) >= 3  # the small country's three points


def test_point_ids_are_exact_on_an_integer_grid() -> None:
    # Grid coordinates differ only in a few high bits of their doubles: a weak hash would
    # give (0, 0) and (2, 2), or (0, 2) and (2, 0), one id.
    grid = np.array([[0, 0], [2, 2], [0, 2], [2, 0], [0, 0], [4096, 2048], [2048, 4096]], float)
    _order, ids, starts = point_ids(grid)
    assert ids.tolist() == [ids[0], ids[1], ids[2], ids[3], ids[0], ids[5], ids[6]]
    assert len(set(ids.tolist())) == len(starts) == 6


def test_shared_edges_are_found_by_hash_or_by_point_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    # Three squares in a row and one above the middle; the left one holds a lake whose ring
    # touches nothing. Shared edges: left|middle, middle|right, middle|top.
    squares = [shapely.box(x, 0, x + 2, 2) for x in (0, 2, 4)] + [shapely.box(2, 2, 4, 4)]
    squares[0] = shapely.Polygon(squares[0].exterior, [[(0.5, 0.5), (0.5, 1), (1, 1)]])
    rings = Rings.from_geometries(np.array(squares, dtype=object))
    first, low, high = first_shared_edges(rings)
    assert np.all(np.diff(first) > 0)  # vertex order
    _previous, following = rings.neighbours()
    found = {
        (int(a), int(b), frozenset(map(tuple, rings.xy[[v, following[v]]].tolist())))
        for v, a, b in zip(first, low, high, strict=True)
    }
    assert {(a, b) for a, b, _edge in found} == {(0, 1), (1, 2), (1, 3)}
    assert (1, 3, frozenset({(2.0, 2.0), (4.0, 2.0)})) in found
    alone = Rings.from_geometries(np.array(squares[:1], dtype=object))  # no edge twice
    assert [len(a) for a in first_shared_edges(alone)] == [0, 0, 0]
    # A hash that sends every edge to one value: the collision is seen, and point ids decide.
    monkeypatch.setattr(shared, "_mix", lambda bits: bits & np.uint64(0))
    assert [a.tolist() for a in first_shared_edges(rings)] == [
        first.tolist(),
        low.tolist(),
        high.tolist(),
    ]


def test_points_near_fold_spots() -> None:
    grid = np.array([[10.0, 10.0], [11.0, 9.0], [12.0, 10.0], [-3.0, 4.0]])
    point = grid.view(np.complex128).reshape(-1)
    assert _near(point, np.array([[10.4, 9.6]])).tolist() == [True, True, False, False]
    assert _near(point, np.array([[-2.0, 5.0]])).tolist() == [False, False, False, True]
    assert not _near(point, np.empty((0, 2))).any()


@pytest.mark.parametrize("top", [1 << 38, 1 << 62])  # packed into one sort, or not
def test_stable_order_is_a_stable_argsort(top: int) -> None:
    rng = np.random.default_rng(5)
    values = rng.integers(0, top, 5000)
    values[::3] = values[0]  # many ties, whose order must be kept
    order, ordered = _stable_order(values)
    assert np.array_equal(order, np.argsort(values, kind="stable"))
    assert np.array_equal(ordered, np.sort(values))
    empty_order, empty_values = _stable_order(np.empty(0, dtype=np.int64))
    assert len(empty_order) == len(empty_values) == 0
