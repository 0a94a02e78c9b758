"""Boundary sources: checksums, downloads, reading and matching countries (tilepress.sources)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from tests.conftest import NATURAL_EARTH_ZIP, Server
from tilepress.config.model import BUILTIN_SOURCE_SHA256, HighlightGroup, MapSpec, SourceSpec
from tilepress.errors import ChecksumError, ConfigError, SourceError
from tilepress.sources import download as download_module
from tilepress.sources.download import DOWNLOAD_ATTEMPTS, download, sha256_file, verify_checksum
from tilepress.sources.files import SourceFile, map_fields
from tilepress.sources.highlights import (
    fill_colors,
    highlighted_rows,
    match_highlights,
    resolve_highlights,
)
from tilepress.sources.repair import repair, snap_to_antimeridian, split_touching_rings
from tilepress.sources.table import CountryTable, read_countries
from tilepress.sources.unclaimed import UNCLAIMED_COLOR

DATA = NATURAL_EARTH_ZIP
WRONG_SHA = "0" * 64


@pytest.fixture(scope="module")
def natural_earth() -> CountryTable:
    """The embedded Natural Earth countries, read once for the module."""
    spec = SourceSpec(
        name="natural-earth", path=str(DATA), sha256=BUILTIN_SOURCE_SHA256, encoding="UTF-8"
    )
    return read_countries(spec)


def codes_of(table: CountryTable, query: str) -> list[str]:
    return [table.codes[row] for row in table.lookup(query)]


def write_layer(
    path: Path,
    geometries: list[shapely.Geometry],
    fields: dict[str, list[str]],
    *,
    driver: str,
    crs: str = "EPSG:4326",
    geometry_type: str = "Polygon",
    layer: str | None = None,
) -> None:
    pyogrio.raw.write(
        str(path),
        geometry=shapely.to_wkb(np.array(geometries, dtype=object)),
        field_data=[np.array(values, dtype=object) for values in fields.values()],
        fields=list(fields),
        geometry_type=geometry_type,
        crs=crs,
        driver=driver,
        layer=layer,
    )


# ---------------------------------------------------------------------------------------------
# The embedded data


def test_embedded_data_checksum() -> None:
    assert DATA.stat().st_size == 4_913_585
    assert sha256_file(DATA) == BUILTIN_SOURCE_SHA256
    assert sha256_file(DATA) == hashlib.sha256(DATA.read_bytes()).hexdigest()


def test_embedded_data_is_read_whole_and_clean(natural_earth: CountryTable) -> None:
    table = natural_earth
    assert len(table) == 254  # the 250 countries, and 4 pieces of land no country holds
    assert table.country_rows == range(250) and table.unclaimed == 4
    assert len(table.codes) == len(table.names) == 254
    assert len(set(table.codes[:250])) == 250
    assert shapely.is_valid(table.geometries).all()
    assert set(shapely.get_type_id(table.geometries)) <= {
        shapely.GeometryType.POLYGON,
        shapely.GeometryType.MULTIPOLYGON,
    }
    bounds = shapely.total_bounds(table.geometries)
    assert bounds[0] == -180.0
    assert bounds[2] == 180.0
    assert -90.0 <= bounds[1] < -80.0  # Antarctica
    assert 80.0 < bounds[3] <= 90.0
    # attributes: NAME_xx fields come through decoded as UTF-8
    row = table.lookup("DEU")[0]
    assert table.field("NAME_DE")[row] == "Deutschland"
    assert table.field("NO_SUCH_FIELD") == [None] * 254


@pytest.mark.parametrize(
    ("query", "code", "name"),
    [
        ("UKR", "UKR", "Ukraine"),
        ("ukr", "UKR", "Ukraine"),
        ("  RUS ", "RUS", "Russia"),
        ("PRK", "PRK", "North Korea"),
        ("North Korea", "PRK", "North Korea"),
        ("NORTH KOREA", "PRK", "North Korea"),
        ("Dem. Rep. Korea", "PRK", "North Korea"),  # Natural Earth NAME
        ("dem. rep. korea", "PRK", "North Korea"),
        ("Ukraine", "UKR", "Ukraine"),
        ("ukraine", "UKR", "Ukraine"),
        ("France", "FRA", "France"),
        ("SSD", "SDS", "South Sudan"),  # ISO_A3 differs from ADM0_A3 SDS
        ("sds", "SDS", "South Sudan"),
        ("S. Sudan", "SDS", "South Sudan"),  # NAME
        ("PSE", "PSX", "Palestine"),  # ISO_A3
        ("ESH", "SAH", "Western Sahara"),  # ISO_A3
        ("Deutschland", None, None),  # NAME_DE is not a lookup field
    ],
)
def test_lookup(
    natural_earth: CountryTable, query: str, code: str | None, name: str | None
) -> None:
    rows = natural_earth.lookup(query)
    if code is None:
        assert rows == []
    else:
        assert len(rows) == 1
        assert natural_earth.codes[rows[0]] == code
        assert natural_earth.names[rows[0]] == name


def test_fra_matches_only_france(natural_earth: CountryTable) -> None:
    # France's ISO_A3 is -99; Clipperton Island carries FRA in ISO_A3_EH and ADM0_ISO
    france = natural_earth.lookup("FRA")[0]
    assert natural_earth.field("ISO_A3")[france] == "-99"
    assert natural_earth.field("ADM0_A3")[france] == "FRA"
    assert codes_of(natural_earth, "FRA") == ["FRA"]
    assert codes_of(natural_earth, "fra") == ["FRA"]
    clipperton = natural_earth.lookup("Clipperton Island")
    assert [natural_earth.field("ADM0_ISO")[r] for r in clipperton] == ["FRA"]
    assert clipperton != [france]


def test_lookup_never_matches_placeholders(natural_earth: CountryTable) -> None:
    assert natural_earth.lookup("-99") == []
    assert natural_earth.lookup("") == []
    assert natural_earth.lookup("Atlantis") == []


def test_suggestions(natural_earth: CountryTable) -> None:
    assert natural_earth.suggestions("Ukrain") == ["Ukraine (UKR)", "Bahrain (BHR)", "Iran (IRN)"]
    assert natural_earth.suggestions("Germny")[0] == "Germany (DEU)"
    assert natural_earth.suggestions("Ukrain", limit=1) == ["Ukraine (UKR)"]
    assert natural_earth.suggestions("Qqqqqqqqqqqq") == []


def test_russia_parts_touch_exactly_plus_minus_180(natural_earth: CountryTable) -> None:
    for code in ("RUS", "FJI"):
        (row,) = natural_earth.lookup(code)
        lons = shapely.get_coordinates(natural_earth.geometries[row])[:, 0]
        assert (lons == 180.0).any(), code
        assert (lons == -180.0).any(), code
        near = np.abs(np.abs(lons) - 180.0) < 1e-6
        assert (np.abs(lons[near]) == 180.0).all(), code
    russia = natural_earth.geometries[natural_earth.lookup("RUS")[0]]
    parts = shapely.get_parts(russia)
    west = [p for p in parts if p.bounds[0] == -180.0]
    east = [p for p in parts if p.bounds[2] == 180.0]
    assert west
    assert east
    # Chukotka's halves share the meridian at the same latitudes: moved next to each other,
    # they meet along a line, not in single points
    west_moved = shapely.transform(shapely.union_all(west), lambda xy: xy + np.array([360.0, 0.0]))
    shared = shapely.intersection(west_moved, shapely.union_all(east))
    assert shared.length > 1.0
    assert shared.bounds[0] == shared.bounds[2] == 180.0


# ---------------------------------------------------------------------------------------------
# Checksums


def test_verify_checksum_accepts_the_right_file_and_only_it(tmp_path: Path) -> None:
    # The embedded Natural Earth zip (4.9 MB, five blocks of the reader) and its published
    # SHA-256 (REFERENCE.md, section 0).
    assert sha256_file(NATURAL_EARTH_ZIP) == BUILTIN_SOURCE_SHA256
    assert verify_checksum(NATURAL_EARTH_ZIP, BUILTIN_SOURCE_SHA256, source="s") is None
    assert verify_checksum(NATURAL_EARTH_ZIP, BUILTIN_SOURCE_SHA256.upper(), source="s") is None
    # One changed byte anywhere fails the same check.
    copy = tmp_path / "copy.zip"
    data = bytearray(NATURAL_EARTH_ZIP.read_bytes())
    data[len(data) // 2] ^= 1
    copy.write_bytes(bytes(data))
    with pytest.raises(ChecksumError):
        verify_checksum(copy, BUILTIN_SOURCE_SHA256, source="s")
    # Nothing expected: not checked, not even whether the file exists.
    assert verify_checksum(tmp_path / "not-there.zip", None, source="s") is None


def test_checksum_mismatch_names_both_hashes(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(b"tilepress\n")
    actual = hashlib.sha256(b"tilepress\n").hexdigest()
    expected = "AB" * 32
    with pytest.raises(ChecksumError) as caught:
        verify_checksum(path, expected, source="mine")
    message = str(caught.value)
    assert actual in message
    assert "ab" * 32 in message
    assert message.startswith(f"source 'mine': SHA-256 of {path} is {actual}")
    assert "hint:" in message
    assert isinstance(caught.value, SourceError)


def test_checksum_of_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        verify_checksum(tmp_path / "gone.zip", WRONG_SHA, source="mine")
    assert not isinstance(caught.value, ChecksumError)
    assert "no such file" in str(caught.value)
    assert "gone.zip" in str(caught.value)


def test_read_countries_checks_the_checksum_first() -> None:
    with pytest.raises(ChecksumError) as caught:
        read_countries(SourceSpec(name="ne", path=str(DATA), sha256=WRONG_SHA))
    assert BUILTIN_SOURCE_SHA256 in str(caught.value)
    assert WRONG_SHA in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Downloads from a real local HTTP server


PAYLOAD = b"not really a shapefile, but bytes with a known hash\n" * 100


def test_download_succeeds_with_the_right_hash(http_server: Server, tmp_path: Path) -> None:
    (http_server.folder / "countries.zip").write_bytes(PAYLOAD)
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    target = tmp_path / "out" / "data" / "countries.zip"
    result = download(f"{http_server.url}/countries.zip", target, digest, source="remote")
    assert result == target
    assert target.read_bytes() == PAYLOAD
    assert sorted(p.name for p in target.parent.iterdir()) == ["countries.zip"]
    assert http_server.requests == ["/countries.zip"]

    # a second call finds the verified file and does not download again
    assert (
        download(f"{http_server.url}/countries.zip", target, digest.upper(), source="remote")
        == target
    )
    assert http_server.requests == ["/countries.zip"]


def test_download_with_wrong_hash_leaves_no_file(http_server: Server, tmp_path: Path) -> None:
    (http_server.folder / "countries.zip").write_bytes(PAYLOAD)
    actual = hashlib.sha256(PAYLOAD).hexdigest()
    out = tmp_path / "out"
    target = out / "countries.zip"
    with pytest.raises(ChecksumError) as caught:
        download(f"{http_server.url}/countries.zip", target, WRONG_SHA, source="remote")
    assert actual in str(caught.value)
    assert WRONG_SHA in str(caught.value)
    assert "source 'remote'" in str(caught.value)
    assert not target.exists()
    assert list(out.iterdir()) == []  # no .download-* temporary either
    assert http_server.requests == ["/countries.zip"]  # a checksum error is not retried


def test_download_404_fails_at_once(http_server: Server, tmp_path: Path) -> None:
    out = tmp_path / "out"
    url = f"{http_server.url}/missing.zip"
    with pytest.raises(SourceError) as caught:
        download(url, out / "missing.zip", WRONG_SHA, source="remote")
    assert not isinstance(caught.value, ChecksumError)
    message = str(caught.value)
    assert message.startswith(f"source 'remote': cannot download {url}: ")
    assert "404" in message
    assert "attempts" not in message
    assert "hint:" in message
    assert http_server.requests == ["/missing.zip"]  # asking again would not change the answer
    assert list(out.iterdir()) == []


def test_download_retries_a_server_error_with_backoff(
    http_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download_module, "RETRY_DELAY_SECONDS", 0.2)
    (http_server.folder / "countries.zip").write_bytes(PAYLOAD)
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    target = tmp_path / "out" / "countries.zip"
    http_server.fail_next[:] = [503, 502]
    started = time.monotonic()
    assert download(f"{http_server.url}/countries.zip", target, digest, source="remote") == target
    assert time.monotonic() - started >= 0.2 + 0.4  # waited 0.2 s, then twice that
    assert target.read_bytes() == PAYLOAD
    assert http_server.requests == ["/countries.zip"] * 3

    http_server.requests.clear()
    http_server.fail_next[:] = [503] * DOWNLOAD_ATTEMPTS
    with pytest.raises(SourceError, match=rf"503.*\({DOWNLOAD_ATTEMPTS} attempts\)"):
        download(f"{http_server.url}/countries.zip", tmp_path / "other.zip", digest, source="r")
    assert http_server.requests == ["/countries.zip"] * DOWNLOAD_ATTEMPTS
    assert not (tmp_path / "other.zip").exists()


# ---------------------------------------------------------------------------------------------
# Reading small sources written here


BOW_TIE = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
SPIKE = shapely.Polygon([(20, 0), (22, 0), (22, 2), (21, 2), (21, 5), (21, 2), (20, 2), (20, 0)])


def test_read_geojson_repairs_invalid_polygons(tmp_path: Path) -> None:
    path = tmp_path / "small.geojson"
    assert not BOW_TIE.is_valid
    assert not SPIKE.is_valid
    write_layer(
        path,
        [BOW_TIE, shapely.box(10, 10, 12, 12), SPIKE],
        {"ADM0_A3": ["BOW", "BOX", "SPK"], "NAME_EN": ["Bowtie", "Boxland", "Spikeland"]},
        driver="GeoJSON",
    )
    table = read_countries(SourceSpec(name="small", path=str(path)))
    assert len(table) == 3
    assert table.codes == ["BOW", "BOX", "SPK"]
    assert table.names == ["Bowtie", "Boxland", "Spikeland"]
    assert shapely.is_valid(table.geometries).all()
    assert [g.geom_type for g in table.geometries] == ["MultiPolygon", "Polygon", "Polygon"]
    bow = table.geometries[0]
    assert len(shapely.get_parts(bow)) == 2
    assert bow.area == pytest.approx(2.0)  # two triangles of area 1
    assert bow.bounds == (0.0, 0.0, 2.0, 2.0)
    # the spike's dangling line is dropped, the square kept
    assert table.geometries[2].equals(shapely.box(20, 0, 22, 2))
    assert table.lookup("spikeland") == [2]
    assert table.lookup("box") == [1]
    as_read = read_countries(SourceSpec(name="small", path=str(path)), repaired=False)
    assert as_read.codes == table.codes
    assert shapely.is_valid(as_read.geometries).tolist() == [False, True, False]
    assert (
        shapely.get_coordinates(as_read.geometries[0]).tolist()
        == shapely.get_coordinates(BOW_TIE).tolist()
    )


def test_rows_without_geometry_leave_the_table_with_their_fields(tmp_path: Path) -> None:
    path = tmp_path / "gaps.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"ADM0_A3": "AAA", "NAME_EN": "Aland"},'
        ' "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}},'
        '{"type": "Feature", "properties": {"ADM0_A3": "NUL", "NAME_EN": "Nowhere"},'
        ' "geometry": null},'
        '{"type": "Feature", "properties": {"ADM0_A3": "BBB", "NAME_EN": "Bland"},'
        ' "geometry": {"type": "Polygon", "coordinates": [[[5,5],[6,5],[6,6],[5,5]]]}}]}'
    )
    table = read_countries(SourceSpec(name="gaps", path=str(path)))
    assert table.codes == ["AAA", "BBB"]
    assert table.names == ["Aland", "Bland"]
    assert [g.bounds for g in table.geometries] == [(0, 0, 1, 1), (5, 5, 6, 6)]


def test_repair_keeps_one_polygonal_geometry_per_input() -> None:
    line_like = shapely.Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])  # zero area
    collection = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.Point(5, 5)])
    result = repair(np.array([BOW_TIE, SPIKE, line_like, collection], dtype=object))
    assert len(result) == 4
    assert shapely.is_valid(result).all()
    assert all(g.geom_type in ("Polygon", "MultiPolygon") for g in result)
    assert result[0].area == pytest.approx(2.0)
    assert result[1].equals(shapely.box(20, 0, 22, 2))
    assert result[2].is_empty
    assert result[3].equals(shapely.box(0, 0, 1, 1))


def test_repair_splits_rings_that_touch_themselves() -> None:
    # A shore running around a lake it touches at (4, 0): the lake becomes a hole. A loop the
    # other way round outside the ring: a zero buffer would drop it; make_valid keeps it.
    lake = shapely.Polygon([(0, 0), (4, 0), (3, 2), (5, 2), (4, 0), (8, 0), (8, 8), (0, 8)])
    loop = shapely.Polygon([(0, 0), (8, 0), (8, 8), (4, 4), (3, 6), (5, 6), (4, 4), (0, 8)])
    assert [shapely.is_valid_reason(g).split("[")[0] for g in (lake, loop)] == [
        "Ring Self-intersection"
    ] * 2
    split, done = split_touching_rings(np.array([lake, loop], dtype=object))
    assert done.tolist() == [True, False]
    assert split[0].area == 62 and len(split[0].interiors) == 1
    result = repair(np.array([lake, loop], dtype=object))
    assert shapely.is_valid(result).all()
    assert result[0].equals(split[0])
    assert result[1].area == 50 and len(shapely.get_parts(result[1])) == 2


def test_read_geopackage_in_web_mercator_comes_back_in_degrees(tmp_path: Path) -> None:
    to_mercator = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    boxes = [shapely.box(30, 40, 32, 42), shapely.box(-75, -10, -70, 5)]
    projected = [
        shapely.transform(
            box, lambda xy: np.column_stack(to_mercator.transform(xy[:, 0], xy[:, 1]))
        )
        for box in boxes
    ]
    assert projected[0].bounds[0] > 3_000_000  # metres
    path = tmp_path / "mercator.gpkg"
    write_layer(
        path,
        projected,
        {"ADM0_A3": ["MMM", "NNN"], "NAME_EN": ["Merc", "Nerc"]},
        driver="GPKG",
        crs="EPSG:3857",
        layer="countries",
    )
    assert pyogrio.read_info(path, layer="countries")["crs"] == "EPSG:3857"
    table = read_countries(SourceSpec(name="merc", path=str(path), layer="countries"))
    assert table.codes == ["MMM", "NNN"]
    for got, want in zip(table.geometries, boxes, strict=True):
        assert got.bounds == pytest.approx(want.bounds, abs=1e-6)
    # without `layer` the single layer is read as well
    assert read_countries(SourceSpec(name="merc", path=str(path))).codes == ["MMM", "NNN"]


def test_read_source_with_other_field_names(tmp_path: Path) -> None:
    path = tmp_path / "custom.geojson"
    write_layer(
        path,
        [shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6)],
        {"CODE": ["AA", "BB"], "LABEL": ["Aland", "Bland"]},
        driver="GeoJSON",
    )
    for fields in (None, map_fields(SourceSpec(name="custom"))):  # the hint lists all fields
        with pytest.raises(SourceError) as caught:
            read_countries(SourceSpec(name="custom", path=str(path)), fields=fields)
        message = str(caught.value)
        assert message.startswith(f"source 'custom': {path} has no field 'ADM0_A3'")
        assert "fields: CODE, LABEL" in message
        assert "`code_field`/`name_field`" in message

    with pytest.raises(SourceError) as caught:
        read_countries(SourceSpec(name="custom", path=str(path), code_field="CODE"))
    assert "has no field 'NAME_EN'" in str(caught.value)

    custom = SourceSpec(name="custom", path=str(path), code_field="CODE", name_field="LABEL")
    table = read_countries(custom)
    assert table.codes == ["AA", "BB"]
    assert list(read_countries(custom, fields=map_fields(custom)).attributes) == ["CODE", "LABEL"]
    assert table.names == ["Aland", "Bland"]
    assert table.lookup("bb") == [1]
    assert table.lookup("bland") == [1]
    assert table.suggestions("Alnd")[0] == "Aland (AA)"
    assert table.suggestions("Zzzz") == []


def test_read_missing_or_unreadable_source(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        read_countries(SourceSpec(name="gone", path=str(tmp_path / "gone.gpkg")))
    assert "no such file" in str(caught.value)
    assert "gone.gpkg" in str(caught.value)

    junk = tmp_path / "junk.geojson"
    junk.write_text("this is not GeoJSON")
    with pytest.raises(SourceError) as caught:
        read_countries(SourceSpec(name="junk", path=str(junk)))
    assert str(caught.value).startswith(f"source 'junk': cannot read {junk}: ")

    broken_zip = tmp_path / "broken.zip"
    broken_zip.write_bytes(NATURAL_EARTH_ZIP.read_bytes()[:100_000])  # a cut-off download
    with pytest.raises(SourceError) as caught:
        read_countries(SourceSpec(name="cut", path=str(broken_zip)))
    assert str(caught.value).startswith(f"source 'cut': cannot read {broken_zip}: ")
    assert "hint: give a shapefile" in str(caught.value)

    missing_layer = SourceSpec(name="layers", path=str(NATURAL_EARTH_ZIP), layer="no_such_layer")
    with pytest.raises(SourceError, match="cannot read"):
        read_countries(missing_layer)


def test_a_bug_while_reading_is_not_reported_as_a_bad_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only what a bad file causes becomes "cannot read ...": an error of the code itself keeps
    its type and traceback."""

    def broken_read(self: SourceFile) -> None:
        raise KeyError("a bug, not a bad file")

    monkeypatch.setattr(SourceFile, "read", broken_read)
    with pytest.raises(KeyError, match="a bug"):
        read_countries(SourceSpec(name="ne", path=str(NATURAL_EARTH_ZIP)))


def test_snap_to_antimeridian() -> None:
    geometries = np.array(
        [
            shapely.Polygon([(179.99999999, 0), (170, 0), (170, 10), (179.99999999, 10)]),
            shapely.Polygon([(-180.00000001, 0), (-179.99999995, 5), (-170, 5), (-170, 0)]),
            shapely.Polygon([(179.9, 0), (170, 0), (170, 10)]),
        ],
        dtype=object,
    )
    snapped = snap_to_antimeridian(geometries)
    lons = [sorted(set(shapely.get_coordinates(g)[:, 0])) for g in snapped]
    assert lons[0] == [170.0, 180.0]
    assert lons[1] == [-180.0, -170.0]
    assert lons[2] == [170.0, 179.9]  # far from the line: untouched
    # latitudes are never changed
    for before, after in zip(geometries, snapped, strict=True):
        assert (shapely.get_coordinates(before)[:, 1] == shapely.get_coordinates(after)[:, 1]).all()
    # a coarser tolerance reaches further
    assert 180.0 in shapely.get_coordinates(snap_to_antimeridian(geometries[2:], 0.2))[:, 0]


# ---------------------------------------------------------------------------------------------
# Highlight groups


def test_match_highlights(natural_earth: CountryTable) -> None:
    groups = [("Ukraine", ["UKR"]), ("Russia", ["russia"]), ("North Korea", ["Dem. Rep. Korea"])]
    highlighting, problems = match_highlights(groups, natural_earth, "natural-earth")
    assert problems == []
    ukr, rus, prk = (natural_earth.lookup(c)[0] for c in ("UKR", "RUS", "PRK"))
    assert highlighting.group_of_row == {ukr: 0, rus: 1, prk: 2}
    assert highlighting.matched == {"UKR": [ukr], "russia": [rus], "Dem. Rep. Korea": [prk]}
    assert highlighting.group(ukr) == 0
    assert highlighting.group(natural_earth.lookup("DEU")[0]) is None
    assert list(highlighted_rows(highlighting)) == sorted([ukr, rus, prk])


def test_match_highlights_reports_every_problem(natural_earth: CountryTable) -> None:
    groups = [
        ("East", ["RUS", "Ukrain"]),
        ("West", ["Germny", "Russia"]),
        ("Again", ["UKR", "UKR"]),
    ]
    _highlighting, problems = match_highlights(groups, natural_earth, "ne")
    assert [(p.group, p.country) for p in problems] == [(0, 1), (1, 0), (1, 1)]
    assert problems[0].message == (
        "unknown country 'Ukrain' in group 'East' (source 'ne'); "
        "did you mean Ukraine (UKR), Bahrain (BHR), Iran (IRN)?"
    )
    assert problems[1].message.startswith(
        "unknown country 'Germny' in group 'West' (source 'ne'); did you mean Germany (DEU)"
    )
    assert problems[2].message == "Russia ('Russia') is in two groups, 'East' and 'West'"


def test_resolve_highlights_and_fill_colors(natural_earth: CountryTable) -> None:
    spec = MapSpec(
        id="reference",
        title="T",
        source=SourceSpec(name="natural-earth"),
        base_color="#e6e3dc",
        highlight=(
            HighlightGroup("Ukraine", "#1f5fbf", ("UKR",)),
            HighlightGroup("Russia", "#d62828", ("RUS",)),
            HighlightGroup("North Korea", "#f28e1c", ("North Korea",)),
        ),
    )
    highlighting = resolve_highlights(spec, natural_earth)
    colors = fill_colors(spec, natural_earth, highlighting)
    assert len(colors) == 254
    assert colors[250:] == [UNCLAIMED_COLOR] * 4  # land no country holds
    by_code = dict(zip(natural_earth.codes[:250], colors[:250], strict=True))
    assert by_code["UKR"] == "#1f5fbf"
    assert by_code["RUS"] == "#d62828"
    assert by_code["PRK"] == "#f28e1c"
    assert by_code["DEU"] == spec.base_color == "#e6e3dc"
    assert by_code["KOR"] == "#e6e3dc"
    assert sum(c != spec.base_color for c in colors[:250]) == 3


def test_resolve_highlights_unknown_country_stops_with_suggestions(
    natural_earth: CountryTable,
) -> None:
    spec = MapSpec(
        id="m",
        title="T",
        source=SourceSpec(name="natural-earth"),
        highlight=(
            HighlightGroup("A", "#ff0000", ("UKR",)),
            HighlightGroup("B", "#0000ff", ("Rusia", "ukraine")),
        ),
    )
    with pytest.raises(ConfigError) as caught:
        resolve_highlights(spec, natural_earth)
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("map 'm', highlight[1].countries[0]: unknown country 'Rusia'")
    assert "did you mean Russia (RUS)" in problems[0]
    assert problems[1] == (
        "map 'm', highlight[1].countries[1]: Ukraine ('ukraine') is in two groups, 'A' and 'B'"
    )


# ---------------------------------------------------------------------------------------------
# Reading ahead in a forked process (tilepress.sourcefile)

READ_AHEAD_SCRIPT = """
import json, sys
from tilepress.config.model import SourceSpec
from tilepress.sources.files import ReadAhead, SourceFile, map_fields
spec = SourceSpec(name="s", path=sys.argv[1])
source = SourceFile.of(spec, fields=map_fields(spec))  # as a step reads it
ahead = ReadAhead.start(source)
features = ahead.result() if ahead is not None else None
direct = source.read() if features is not None else None
print(json.dumps({
    "started": ahead is not None,
    "delivered": features is not None,
    "same": features is not None and (
        features.meta["fields"].tolist() == direct.meta["fields"].tolist()
        and features.meta["crs"] == direct.meta["crs"]
        and features.wkb.tolist() == direct.wkb.tolist()
        and [c.tolist() for c in features.columns] == [c.tolist() for c in direct.columns]
    ),
    "rows": 0 if features is None else len(features.wkb),
    "fields": 0 if features is None else len(features.meta["fields"]),
}))
"""


def _read_ahead(path: Path) -> dict[str, object]:
    """Read ``path`` ahead in a fresh interpreter (as a step does, before pyogrio is loaded)."""
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", READ_AHEAD_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_reading_ahead_gives_what_reading_gives() -> None:
    table = read_countries(SourceSpec(name="ne", path=str(DATA)), repaired=False)
    used = set(map_fields(SourceSpec(name="ne"))) & set(table.attributes)
    assert len(used) == 46 < len(table.attributes)  # of Natural Earth's 168 fields
    assert _read_ahead(DATA) == {
        "started": True,
        "delivered": True,
        "same": True,
        "rows": len(table.country_rows),  # the source's rows; the unclaimed come after
        "fields": len(used),
    }


def test_a_failed_read_ahead_leaves_the_error_to_the_reader(tmp_path: Path) -> None:
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    assert _read_ahead(broken) == {
        "started": True,
        "delivered": False,
        "same": False,
        "rows": 0,
        "fields": 0,
    }
    with pytest.raises(SourceError, match="cannot read"):
        read_countries(SourceSpec(name="broken", path=str(broken)))


def test_no_read_ahead_where_pyogrio_is_loaded_already() -> None:
    from tilepress.sources.files import ReadAhead, SourceFile

    assert "pyogrio" in __import__("sys").modules  # this test module imports it
    assert ReadAhead.start(SourceFile.of(SourceSpec(name="ne", path=str(DATA)))) is None
