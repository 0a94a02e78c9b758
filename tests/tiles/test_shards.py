"""Sharded tile geometry: the plan of jobs, part files written whole or not at all, and
tiles assembled from parts that equal the unsharded build byte for byte."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import shapely

from tests.conftest import REFERENCE_CONFIG, REFERENCE_ID
from tests.support.commands import file_digests
from tests.support.mvt import decode
from tests.tiles.test_marks import write_overlays
from tilepress.errors import TilingError
from tilepress.geometry.rings import Rings
from tilepress.outputs import geometry_inputs
from tilepress.project import load_config
from tilepress.sources.loaded import LoadedMap, load_map
from tilepress.tiles.assemble import assemble_in_scratch
from tilepress.tiles.bands import (
    TILE_WORK,
    VERTEX_WORK,
    band_count,
    build_work,
    estimated_work,
    row_bands,
)
from tilepress.tiles.build import build_part, build_pyramid, build_tiles
from tilepress.tiles.geometry_tiles import GeometryTile
from tilepress.tiles.grid import tile_unit
from tilepress.tiles.parts import PartSet, PartWriter, open_part
from tilepress.tiles.pyramid import zoom_level
from tilepress.tiles.report import ZoomStats
from tilepress.tiles.shards import (
    Shard,
    geometry_digest,
    geometry_owner,
    parse_shard,
    passes,
    plan_shards,
)

ZOOMS = range(0, 4)  # deep enough for bands and passes, quick to generalize


def names(shards: list[Shard]) -> list[str]:
    return [shard.name for shard in shards]


def test_reference_zooms_make_two_jobs() -> None:
    assert names(plan_shards(0, 6)) == ["z0-5", "z6"]


def test_auto_bands_double_per_zoom_past_six() -> None:
    plan = plan_shards(0, 10)
    per_zoom: dict[int, int] = {}
    for shard in plan:
        for zoom in shard.zooms:
            per_zoom[zoom] = per_zoom.get(zoom, 0) + 1
    assert plan[0].name == "z0-5"
    assert [per_zoom[z] for z in range(6, 11)] == [1, 2, 4, 8, 16]
    assert "z8_3of4" in names(plan)


def test_configured_bands_and_a_range_without_low_zooms() -> None:
    assert names(plan_shards(7, 8, 3)) == [
        "z7_0of3",
        "z7_1of3",
        "z7_2of3",
        "z8_0of3",
        "z8_1of3",
        "z8_2of3",
    ]
    assert names(plan_shards(2, 3, 5)) == ["z2-3"]  # low zooms are never cut


@pytest.mark.parametrize(("low", "high", "bands"), [(0, 6, None), (0, 9, None), (3, 8, 7)])
def test_every_row_of_every_zoom_is_in_exactly_one_shard(
    low: int, high: int, bands: int | None
) -> None:
    rows: dict[int, list[int]] = {zoom: [] for zoom in range(low, high + 1)}
    for shard in plan_shards(low, high, bands):
        assert parse_shard(shard.name) == shard
        for zoom, band in shard.tasks():
            rows[zoom] += list(band)
            assert [row for part in passes(zoom, band) for row in part] == list(band)
    assert all(found == list(range(2**zoom)) for zoom, found in rows.items())


def test_a_pass_cuts_at_most_4096_tiles_and_at_least_a_row() -> None:
    assert passes(6, range(64)) == [range(64)]  # 64 rows of 64 tiles
    assert passes(7, range(10, 128)) == [range(10, 42), range(42, 74), range(74, 106),
                                         range(106, 128)]  # fmt: skip
    assert passes(12, range(3, 6)) == [range(3, 4), range(4, 5), range(5, 6)]  # 4,096 per row
    assert passes(14, range(2)) == [range(0, 1), range(1, 2)]  # 16,384 per row: one at a time
    assert passes(3, range(2, 6), pass_tiles=16) == [range(2, 4), range(4, 6)]


def test_a_band_of_explicit_rows_round_trips_and_merges_with_others(tmp_path: Path) -> None:
    """Local builds size their bands by work: rows 0-2 and 3 of zoom 2 make a whole zoom."""
    north, south = (
        Shard(range(2, 3), row_range=range(0, 3)),
        Shard(range(2, 3), row_range=range(3, 4)),
    )
    assert (north.name, south.name) == ("z2_rows0-2", "z2_rows3-3")
    assert parse_shard(north.name) == north and north.tasks() == [(2, range(0, 3))]
    paths = [tmp_path / f"{shard.name}.part" for shard in (south, north)]
    for path, shard in zip(paths, (south, north), strict=True):
        _write_part(path, shard)
    with PartSet(paths, owner="m", digest="d" * 64, zooms=range(2, 3)) as parts:
        assert sorted(parts.geometry(2, range(4))) == [(0, y) for y in range(4)]
        assert sorted(parts.geometry(2, range(2, 4))) == [(0, 2), (0, 3)]  # across both parts
    with pytest.raises(TilingError, match="are in no part"):
        PartSet(paths[1:], owner="m", digest="d" * 64, zooms=range(2, 3))


@pytest.mark.parametrize(
    "name", ["z6_4of4", "z1_0of3", "y6", "z6-", "z5-3", "z2_rows2-4", "z2_rows3-1", "z0-1_rows0-0"]
)
def test_bad_shard_names_are_refused(name: str) -> None:
    with pytest.raises(TilingError):
        parse_shard(name)


def test_bands_of_a_local_build_share_the_vertices_not_the_rows() -> None:
    """Land in the two northern rows of four: equal rows would put it all in one band."""
    unit = tile_unit(2)
    north = shapely.box(-8e6, 5e6, 8e6, 1.5e7).segmentize(50 * unit)  # in rows 0 and 1
    islet = shapely.box(0, -1.5e7, 100 * unit, -1.5e7 + 100 * unit)  # a few vertices in row 3
    level = zoom_level(2, Rings.from_geometries(np.array([north, islet], dtype=object)))
    bands = row_bands(level, 2)
    assert [band.rows(2) for band in bands] == [range(0, 1), range(1, 4)]
    assert row_bands(level, 1) == [Shard(range(2, 3))]
    many = row_bands(level, 9)  # at most one band per row
    assert [row for band in many for row in band.rows(2)] == [0, 1, 2, 3] and len(many) <= 4


def test_a_local_build_splits_only_zooms_larger_than_a_workers_share() -> None:
    # Work as estimated for the reference map's z6 (seconds by vertices and by tiles).
    z6 = (0.78, 0.18)
    world_to_6 = build_work(*z6, zooms_above=6)
    # by vertices 0.78 s at z6, 0.8 of that per zoom above: 3.082 s in all; by tiles 0.18 s,
    # a quarter of that per zoom above: 0.240 s
    assert world_to_6 == pytest.approx(3.322, abs=1e-3)
    assert band_count(sum(z6), world_to_6, workers=2) == 1  # 29 % of the build
    assert band_count(sum(z6), world_to_6, workers=4) == 2
    assert band_count(sum(z6), build_work(*z6, zooms_above=0), workers=3) == 3  # z6 alone
    # Ten zooms: the deepest has 256 times z6's tiles and holds most of the work.
    z10 = (0.78, 0.18 * 256)
    world_to_10 = build_work(*z10, zooms_above=10)
    assert band_count(sum(z10), world_to_10, workers=2) == 2
    assert band_count(sum(z10), world_to_10, workers=8) == 6


def test_a_zooms_work_counts_its_vertices_and_tiles() -> None:
    # A square of land of 3 x 3 tiles at zoom 4, outlined by 4,000 vertices.
    size = tile_unit(4) * 4096
    square = shapely.box(0, 0, 3 * size, 3 * size).segmentize(3 * size / 1000)
    rings = Rings.from_geometries(np.array([square], dtype=object))
    assert len(rings.xy) == 4000
    by_vertices, by_tiles = estimated_work(rings, 4, land_area=square.area)
    assert (VERTEX_WORK, TILE_WORK) == (1.6e-6, 60e-6)  # CPU seconds, measured on the reference
    assert by_vertices == pytest.approx(0.0064)  # 4,000 vertices
    # 9 tiles of land, and the 8 + 4 that its outline touches (those east and south of its
    # edges hold the vertices on them): 21 tiles
    assert by_tiles == pytest.approx(0.00126)


def test_the_workflow_names_one_geometry_job_or_a_part_per_shard() -> None:
    spec = load_config(REFERENCE_CONFIG).map(REFERENCE_ID)
    assert geometry_inputs("dist", spec) == ["dist/.cache/natural-earth/z0-6.geometry"]
    deeper = dataclasses.replace(spec, max_zoom=8)
    assert geometry_inputs("out", deeper) == [
        f"out/.cache/natural-earth/z0-8.parts/{name}.part"
        for name in ("z0-5", "z6", "z7_0of2", "z7_1of2", "z8_0of4", "z8_1of4", "z8_2of4", "z8_3of4")
    ]
    banded = dataclasses.replace(spec, max_zoom=7, shards=3)
    assert geometry_inputs("out", banded)[-3:] == [
        f"out/.cache/natural-earth/z0-7.parts/z7_{band}of3.part" for band in range(3)
    ]


# ---------------------------------------------------------------------------------------------
# Part files


def _tile(y: int, borders: bytes) -> GeometryTile:
    no_rows = np.empty(0, dtype=np.int32)
    return GeometryTile(
        0, y, no_rows, no_rows.astype(np.uint8), no_rows.astype(np.int64), b"", borders, 0, 1
    )


def _write_part(path: Path, shard: Shard, digest: str = "d" * 64) -> None:
    with PartWriter(path, owner="m", shard=shard, digest=digest) as writer:
        for zoom, rows in shard.tasks():
            for y in rows:
                writer.add(zoom, 0, y, _tile(y, f"{zoom}/{y}".encode()).to_bytes())
        writer.finish([ZoomStats(zoom, vertices=len(rows)) for zoom, rows in shard.tasks()])


def test_a_part_appears_only_when_finished(tmp_path: Path) -> None:
    target = tmp_path / "z1.part"
    with (
        pytest.raises(TilingError, match="left unfinished"),
        PartWriter(target, owner="m", shard=Shard(range(1, 2)), digest="d") as writer,
    ):
        writer.add(1, 0, 0, b"tile")
    with (
        pytest.raises(RuntimeError, match="killed"),
        PartWriter(target, owner="m", shard=Shard(range(1, 2)), digest="d") as writer,
    ):
        writer.add(1, 0, 0, b"tile")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []  # no part, no temporary file left behind
    _write_part(target, Shard(range(1, 2)))
    part = open_part(target)
    assert part.shard == Shard(range(1, 2)) and part.stats[0].vertices == 2
    tiles = list(part.geometry(1, range(2)))
    assert [(t.x, t.y, t.borders, t.borders_given) for t in tiles] == [
        (0, 0, b"1/0", 1),
        (0, 1, b"1/1", 1),
    ]
    part.close()


def test_a_damaged_part_is_refused_by_name(tmp_path: Path) -> None:
    target = tmp_path / "z1.part"
    _write_part(target, Shard(range(1, 2)))
    target.write_bytes(target.read_bytes()[:1000])
    with pytest.raises(TilingError, match=r"z1\.part"):
        open_part(target)
    stray = tmp_path / "other.part"
    with sqlite3.connect(stray) as connection:
        connection.execute("CREATE TABLE part (key TEXT, value TEXT)")
    with pytest.raises(TilingError, match="not a complete tile part"):
        open_part(stray)
    with pytest.raises(TilingError, match="no such tile part"):
        open_part(tmp_path / "missing.part")


def test_an_assembly_needs_every_row_once_with_the_same_settings(tmp_path: Path) -> None:
    bands = [Shard(range(2, 3), band, 3) for band in range(3)]
    paths = [tmp_path / f"{shard.name}.part" for shard in bands]
    for path, shard in zip(paths, bands, strict=True):
        _write_part(path, shard)
    with PartSet(paths[::-1], owner="m", digest="d" * 64, zooms=range(2, 3)) as parts:
        tiles = parts.geometry(2, range(4))
        assert [tiles[(0, y)].borders for y in range(4)] == [f"2/{y}".encode() for y in range(4)]
        assert parts.zoom_stats()[0].vertices == 4
    with pytest.raises(TilingError, match="are in no part"):
        PartSet(paths[:2], owner="m", digest="d" * 64, zooms=range(2, 3))
    whole = tmp_path / "z2.part"
    _write_part(whole, Shard(range(2, 3)))
    with pytest.raises(TilingError, match="overlaps another part"):
        PartSet([*paths, whole], owner="m", digest="d" * 64, zooms=range(2, 3))
    with pytest.raises(TilingError, match="other settings"):
        PartSet(paths, owner="m", digest="e" * 64, zooms=range(2, 3))
    with pytest.raises(TilingError, match="geometry of 'm', not 'n'"):
        PartSet(paths, owner="n", digest="d" * 64, zooms=range(2, 3))


# ---------------------------------------------------------------------------------------------
# Sharded equals unsharded, on the real data


@pytest.fixture(scope="module")
def small_map(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedMap, Path]:
    """The reference map at zooms 0-3 (with its markers, and two overlays), with its
    generalized pyramid."""
    spec = dataclasses.replace(
        load_config(REFERENCE_CONFIG).map(REFERENCE_ID),
        min_zoom=ZOOMS.start,
        max_zoom=ZOOMS.stop - 1,
        overlays=write_overlays(tmp_path_factory.mktemp("overlays")),
    )
    assert spec.markers
    pyramid = tmp_path_factory.mktemp("pyramid") / "z0-3.pyramid"
    build_pyramid(spec.source, ZOOMS, pyramid)
    return load_map(spec), pyramid


def test_tiles_assembled_from_sharded_parts_equal_the_unsharded_build(
    small_map: tuple[LoadedMap, Path], tmp_path: Path
) -> None:
    loaded, pyramid = small_map
    unsharded = build_tiles(loaded, tmp_path / "unsharded", pyramid=pyramid)
    # Zoom 3 in three bands, cut one tile row at a time; zooms 0-2 in one job.
    shards = [Shard(range(0, 3)), *(Shard(range(3, 4), band, 3) for band in range(3))]
    parts = []
    for shard in shards:
        parts.append(tmp_path / "parts" / f"{shard.name}.part")
        build_part(loaded.spec.source, ZOOMS, pyramid, shard, parts[-1], pass_tiles=8)
    (tmp_path / "sharded").mkdir()
    sharded = assemble_in_scratch(loaded, parts[::-1], tmp_path / "sharded")
    assert sharded == unsharded
    files = file_digests(tmp_path / "sharded")
    assert files == file_digests(tmp_path / "unsharded")
    assert {"tiles-report.json", f"{REFERENCE_ID}.mbtiles", f"{REFERENCE_ID}.pmtiles"} <= set(files)
    assert sum(1 for name in files if name.endswith(".pbf")) == unsharded["tiles"]
    layers = {
        name for p in (tmp_path / "sharded").rglob("*.pbf") for name in decode(p.read_bytes())
    }
    assert {"overlays", "markers"} <= layers  # the story marks are in what is compared
    with sqlite3.connect(tmp_path / "sharded" / f"{REFERENCE_ID}.mbtiles") as connection:
        (meta,) = connection.execute("SELECT value FROM metadata WHERE name = 'json'").fetchone()
    assert json.loads(meta)["tilepress_stats"] == unsharded["zooms"]
    # The parallel unsharded build (bands for two workers) gives the same files too, and so
    # does generalizing on the fly, alone or pipelined (deep zooms snapped once, then cut in
    # bands on both workers).
    build_tiles(loaded, tmp_path / "parallel", pyramid=pyramid, workers=2)
    assert file_digests(tmp_path / "parallel") == files
    for workers in (1, 2):
        build_tiles(loaded, tmp_path / f"direct-{workers}", workers=workers)
        assert file_digests(tmp_path / f"direct-{workers}") == files


def test_geometry_of_other_source_settings_or_zooms_is_not_assembled(
    small_map: tuple[LoadedMap, Path], tmp_path: Path
) -> None:
    loaded, pyramid = small_map
    part = tmp_path / "z0-3.part"
    source = loaded.spec.source
    build_part(source, ZOOMS, pyramid, Shard(ZOOMS), part)
    assert open_part(part).owner == geometry_owner(source, ZOOMS) == "natural-earth/z0-3"
    other_source = dataclasses.replace(source, name_field="NAME_DE")
    assert geometry_digest(other_source, ZOOMS) != geometry_digest(source, ZOOMS)
    other = LoadedMap(
        dataclasses.replace(loaded.spec, source=other_source),
        loaded.table,
        loaded.highlighting,
        loaded.overlays,
    )
    (tmp_path / "out").mkdir()
    with pytest.raises(TilingError, match="other settings"):
        assemble_in_scratch(other, [part], tmp_path / "out")
    shallower = LoadedMap(
        dataclasses.replace(loaded.spec, max_zoom=2), loaded.table, loaded.highlighting, []
    )
    with pytest.raises(TilingError, match="geometry of 'natural-earth/z0-3', not"):
        assemble_in_scratch(shallower, [part], tmp_path / "out")
    assert not any((tmp_path / "out").iterdir())
    with pytest.raises(TilingError, match="outside the zooms"):
        build_part(source, ZOOMS, pyramid, Shard(range(4, 5)), tmp_path / "z4.part")
