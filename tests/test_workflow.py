"""End to end: the real Snakemake workflow on the reference config, and its outputs."""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import os
import shutil
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import shapely
from pmtiles.reader import MmapSource, Reader
from pypdf import PdfReader

from tests.conftest import NATURAL_EARTH_ZIP, REFERENCE_CONFIG, REFERENCE_ID, Server
from tests.support.commands import file_digests, run_workflow, tilepress_command, tilepress_env
from tests.support.oracles import tile_bounds
from tests.support.servers import running_tilepress
from tilepress.geometry.projection import lonlat_to_web_mercator
from tilepress.project import load_config
from tilepress.tiles.grid import EXTENT, tile_unit
from tilepress.tiles.mvt import decode_tile

pytestmark = pytest.mark.e2e

CITIES = {
    "Kyiv": ((30.5234, 50.4501), "UKR"),
    "Moscow": ((37.6173, 55.7558), "RUS"),
    "Pyongyang": ((125.7625, 39.0392), "PRK"),
}
OPEN_SEA = (-130.0, -40.0)  # South Pacific, far from any land
SPEC = load_config(REFERENCE_CONFIG).map(REFERENCE_ID)
GROUP_COLOR = {group.label: group.color for group in SPEC.highlight}
CODE_GROUP = {"UKR": "Ukraine", "RUS": "Russia", "PRK": "North Korea"}


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int, float, float]:
    """Tile x, y holding a point, and the point's position inside it (tile units, y down)."""
    mx, my = lonlat_to_web_mercator(lon, lat)
    x = int((mx + 20037508.342789244) // (tile_unit(zoom) * EXTENT))
    y = int((20037508.342789244 - my) // (tile_unit(zoom) * EXTENT))
    minx, _miny, _maxx, maxy = tile_bounds(zoom, x, y)
    return x, y, (mx - minx) / tile_unit(zoom), (maxy - my) / tile_unit(zoom)


def feature_at(tile_bytes: bytes, px: float, py: float) -> dict[str, object]:
    """Properties of the country polygon containing a tile-space point."""
    layer = decode_tile(tile_bytes)["countries"]
    point = shapely.Point(px, py)
    hits = [f for f in layer["features"] if shapely.geometry.shape(f["geometry"]).contains(point)]
    assert len(hits) == 1, f"{len(hits)} polygons contain {px, py}"
    return dict(hits[0]["properties"])


def test_all_outputs_exist(reference_dist: Path) -> None:
    expected = [
        "tiles.json",
        "style.json",
        f"{REFERENCE_ID}.mbtiles",
        f"{REFERENCE_ID}.pmtiles",
        f"{REFERENCE_ID}.pdf",
        f"{REFERENCE_ID}-print.pdf",
        f"{REFERENCE_ID}.svg",
        f"{REFERENCE_ID}.png",
    ]
    for name in expected:
        assert (reference_dist / name).stat().st_size > 1000 or name.endswith(".json"), name
    folders = [p for p in (reference_dist / "tiles").iterdir() if p.is_dir()]
    counts = {int(p.name): sum(1 for _ in p.rglob("*.pbf")) for p in folders}
    assert sorted(counts) == list(range(0, 7))
    assert counts[0] == 1 and counts[1] == 4 and counts[2] == 16
    assert 0 < counts[6] < 4096  # empty sea tiles are not written


@pytest.mark.parametrize("city", sorted(CITIES))
@pytest.mark.parametrize("zoom", range(0, 7))
def test_city_tiles_have_the_right_country_and_colour(
    reference_dist: Path, city: str, zoom: int
) -> None:
    (lon, lat), code = CITIES[city]
    x, y, px, py = tile_of(lon, lat, zoom)
    data = (reference_dist / "tiles" / str(zoom) / str(x) / f"{y}.pbf").read_bytes()
    assert data[:2] == b"\x1f\x8b", "tiles are stored gzip-compressed"
    properties = feature_at(data, px, py)
    assert properties["adm0_a3"] == code
    assert properties["group"] == CODE_GROUP[code]
    assert properties["color"] == GROUP_COLOR[CODE_GROUP[code]]


def test_other_countries_have_base_colour_and_no_group(reference_dist: Path) -> None:
    x, y, px, py = tile_of(2.35, 48.85, 5)  # Paris
    data = (reference_dist / "tiles" / "5" / str(x) / f"{y}.pbf").read_bytes()
    properties = feature_at(data, px, py)
    assert properties["adm0_a3"] == "FRA"
    assert properties["color"] == SPEC.base_color
    assert "group" not in properties


def test_archives_hold_the_same_tiles_as_the_folder(reference_dist: Path) -> None:
    folder = {
        (int(p.parts[-3]), int(p.parts[-2]), int(p.stem)): p.read_bytes()
        for p in (reference_dist / "tiles").rglob("*.pbf")
    }
    connection = sqlite3.connect(
        f"file:{reference_dist / f'{REFERENCE_ID}.mbtiles'}?mode=ro", uri=True
    )
    rows = connection.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")
    mbtiles = {(z, x, (1 << z) - 1 - row): bytes(data) for z, x, row, data in rows}
    metadata = dict(connection.execute("SELECT name, value FROM metadata"))
    connection.close()
    assert mbtiles == folder
    assert metadata["format"] == "pbf" and metadata["minzoom"] == "0" and metadata["maxzoom"] == "6"
    assert json.loads(metadata["json"])["vector_layers"][0]["id"] == "countries"
    with (reference_dist / f"{REFERENCE_ID}.pmtiles").open("rb") as handle:
        reader = Reader(MmapSource(handle))
        header = reader.header()
        assert header["addressed_tiles_count"] == len(folder)
        assert header["tile_contents_count"] == len(set(folder.values()))
        for (z, x, y), data in folder.items():
            assert reader.get(z, x, y) == data, (z, x, y)
        sea_x, sea_y, _px, _py = tile_of(*OPEN_SEA, 6)
        assert (6, sea_x, sea_y) not in folder
        assert reader.get(6, sea_x, sea_y) is None  # empty sea is not stored
        assert reader.metadata()["vector_layers"][0]["fields"]["color"] == "String"


def test_tilejson_and_style(reference_dist: Path) -> None:
    tilejson = json.loads((reference_dist / "tiles.json").read_text())
    assert tilejson["tilejson"] == "3.0.0"
    assert tilejson["tiles"] == [
        f"http://127.0.0.1:8000/{REFERENCE_ID}/tiles/{{z}}/{{x}}/{{y}}.pbf"
    ]
    assert (tilejson["minzoom"], tilejson["maxzoom"]) == (0, 6)
    west, south, east, north = tilejson["bounds"]
    assert west == -180 and east == 180 and south < -85 and north > 85
    lon, lat, zoom = tilejson["center"]
    assert west <= lon <= east and south <= lat <= north and 0 <= zoom <= 6
    layer = tilejson["vector_layers"][0]
    assert layer["id"] == "countries" and set(layer["fields"]) >= {
        "adm0_a3",
        "name",
        "color",
        "group",
    }
    assert "CC BY-SA 4.0" in tilejson["attribution"] and "Natural Earth" in tilejson["attribution"]
    style = json.loads((reference_dist / "style.json").read_text())
    assert style["version"] == 8
    assert (
        style["sources"]["countries"]["url"] == f"http://127.0.0.1:8000/{REFERENCE_ID}/tiles.json"
    )
    layers = {layer["id"]: layer for layer in style["layers"]}
    assert layers["ocean"]["paint"]["background-color"] == SPEC.ocean_color
    assert layers["countries-fill"]["paint"]["fill-color"] == ["get", "color"]
    assert layers["countries-fill"]["source-layer"] == "countries"


def test_pdf_text_fonts_and_metadata(reference_dist: Path) -> None:
    pdf = reference_dist / f"{REFERENCE_ID}.pdf"
    reader = PdfReader(pdf)
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert SPEC.title in text
    assert " ".join(SPEC.caption.split()[:8]) in text
    for group in SPEC.highlight:
        assert group.label in text
    assert "https://creativecommons.org/licenses/by-sa/4.0/" in text
    assert "Made with Natural Earth" in text
    assert reader.metadata is not None and reader.metadata.title == SPEC.title
    assert reader.metadata.author == SPEC.author
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    rows = fonts.stdout.strip().splitlines()[2:]
    assert rows, fonts.stdout
    for row in rows:
        assert "TrueType" in row and " yes " in row, row  # embedded (and subset) TrueType only


def test_preview_png(reference_dist: Path) -> None:
    from PIL import Image

    with Image.open(reference_dist / f"{REFERENCE_ID}.png") as image:
        assert image.format == "PNG"
        width, height = image.size
        assert width > height > 500  # A4 landscape at 110 dpi


def test_server_serves_the_reference_output(reference_build: Path) -> None:
    with running_tilepress(reference_build / "dist") as base:
        catalog = urllib.request.urlopen(f"{base}/", timeout=5)
        assert catalog.status == 200 and html.escape(SPEC.title) in catalog.read().decode()
        viewer = urllib.request.urlopen(f"{base}/{REFERENCE_ID}/", timeout=5)
        body = viewer.read().decode()
        assert viewer.status == 200 and "maplibre-gl.js" in body and "unpkg" not in body
        for name in ("style.json", "tiles.json"):
            response = urllib.request.urlopen(f"{base}/{REFERENCE_ID}/{name}", timeout=5)
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("application/json")
        tilejson = json.loads(urllib.request.urlopen(f"{base}/{REFERENCE_ID}/tiles.json").read())
        assert tilejson["tiles"][0].startswith(f"{base}/{REFERENCE_ID}/tiles/")
        # the text alternative, in catalog.json and the viewer page alike
        listing = json.loads(urllib.request.urlopen(f"{base}/catalog.json", timeout=5).read())
        (entry,) = listing["maps"]
        description = tilejson["tilepress"]["description"]
        assert entry["description"] == description
        assert description.startswith("A world map highlighting Ukraine, Russia and North Korea")
        assert f'<p id="map-description">{html.escape(description)}</p>' in body
        x, y, px, py = tile_of(*CITIES["Kyiv"][0], 4)
        request = urllib.request.Request(
            f"{base}/{REFERENCE_ID}/tiles/4/{x}/{y}.pbf",
            headers={"Accept-Encoding": "gzip", "Origin": "https://example.org"},
        )
        response = urllib.request.urlopen(request, timeout=5)
        assert response.status == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
        assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://example.org")
        raw = response.read()
        assert feature_at(gzip.decompress(raw), px, py)["adm0_a3"] == "UKR"
        js = urllib.request.urlopen(f"{base}/static/maplibre-gl.js", timeout=5)
        assert js.status == 200 and len(js.read()) > 100_000
        sea_x, sea_y, _px, _py = tile_of(*OPEN_SEA, 6)
        sea = urllib.request.urlopen(
            f"{base}/{REFERENCE_ID}/tiles/6/{sea_x}/{sea_y}.pbf", timeout=5
        )
        assert sea.status == 204  # open Pacific: inside the tileset, no data
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/{REFERENCE_ID}/tiles/7/0/0.pbf", timeout=5)
        assert missing.value.code == 404


def test_rebuild_is_byte_identical(reference_build: Path, tmp_path: Path) -> None:
    first = file_digests(reference_build / "dist")
    shutil.copytree(reference_build / "config", tmp_path / "config")
    result = run_workflow(tmp_path, tmp_path / "config" / "config.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    assert file_digests(tmp_path / "dist") == first


def _bad_config(tmp_path: Path, old: str, new: str) -> Path:
    text = REFERENCE_CONFIG.read_text()
    assert old in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[UKR]", "[Ukrane]", "did you mean Ukraine (UKR)"),
        ('"#d62828"', '"#d6282z"', "is not a colour"),
        ("extent: world", "extent: [10, 60, 40]", "extent must be [west, south, east, north]"),
        ("zoom: {min: 0, max: 6}", "zoom: {min: 5, max: 2}", "zoom range must satisfy"),
    ],
)
def test_bad_input_stops_before_writing(tmp_path: Path, old: str, new: str, message: str) -> None:
    config = _bad_config(tmp_path, old, new)
    result = run_workflow(tmp_path, config)
    assert result.returncode != 0
    assert message in result.stderr
    assert "ukraine-russia-north-korea" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "dist").exists()


def test_checksum_mismatch_stops(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    source = NATURAL_EARTH_ZIP
    damaged = source.read_bytes()[:-10] + b"0123456789"
    (data / "countries.zip").write_bytes(damaged)
    text = (
        REFERENCE_CONFIG.read_text()
        .replace(
            "maps:\n",
            "sources:\n  damaged:\n    path: data/countries.zip\n    sha256: "
            "125fc4b1f425926b8bd22dce23af6f9f873543c2fe330915ccbe0aa7fa21ff82\nmaps:\n",
            1,
        )
        .replace("    highlight:", "    source: damaged\n    highlight:", 1)
    )
    config = tmp_path / "damaged.yaml"
    config.write_text(text)
    result = run_workflow(tmp_path, config)
    assert result.returncode != 0
    assert "SHA-256" in result.stderr and "damaged" in result.stderr
    assert not (tmp_path / "dist").exists()


def test_layers_carry_their_fields(reference_dist: Path) -> None:
    """Borders between Russia and Ukraine, labels with names in many languages, and the
    reference map's markers (Kyiv and Kursk share the zoom 3 tile)."""
    tilejson = json.loads((reference_dist / "tiles.json").read_text())
    declared = {layer["id"]: set(layer["fields"]) for layer in tilejson["vector_layers"]}
    assert list(declared) == ["countries", "boundaries", "overlays", "labels", "markers"]
    x, y, _px, _py = tile_of(*CITIES["Kyiv"][0], 3)
    layers = decode_tile((reference_dist / "tiles" / "3" / str(x) / f"{y}.pbf").read_bytes())
    for name, layer in layers.items():
        for feature in layer["features"]:
            assert set(feature["properties"]) <= declared[name], name
    ukraine = next(
        f for f in layers["countries"]["features"] if f["properties"]["adm0_a3"] == "UKR"
    )
    assert ukraine["properties"]["iso_a2"] == "UA"
    assert ukraine["properties"]["name_en"] == "Ukraine"
    pairs = {
        (f["properties"]["adm0_a3_a"], f["properties"]["adm0_a3_b"])
        for f in layers["boundaries"]["features"]
    }
    assert ("RUS", "UKR") in pairs and ("POL", "UKR") in pairs
    for feature in layers["boundaries"]["features"]:
        assert feature["properties"]["kind"] == "land"
        assert feature["geometry"]["type"] in ("LineString", "MultiLineString")
    label = next(f for f in layers["labels"]["features"] if f["properties"]["adm0_a3"] == "UKR")
    assert label["geometry"]["type"] == "Point"
    assert label["properties"]["name_ru"] == "Украина"
    assert label["properties"]["name_de"] == "Ukraine"
    assert label["properties"]["group"] == "Ukraine"
    assert label["properties"]["min_zoom"] == 0  # highlighted countries are labelled at once
    # Ukraine's label point lies inside Ukraine's polygon
    point = shapely.geometry.shape(label["geometry"])
    assert shapely.geometry.shape(ukraine["geometry"]).contains(point)
    markers = {f["properties"]["label"]: f for f in layers["markers"]["features"]}
    assert set(markers) == {marker.label for marker in SPEC.markers}
    assert markers["Kyiv"]["properties"]["symbol"] == "square"
    assert (
        shapely.geometry.shape(ukraine["geometry"])
        .buffer(8)
        .contains(shapely.geometry.shape(markers["Kyiv"]["geometry"]))
    )


def test_micro_states_keep_a_trace_and_drops_are_reported(reference_dist: Path) -> None:
    x, y, _px, _py = tile_of(12.4534, 41.9029, 2)  # Vatican City
    layer = decode_tile((reference_dist / "tiles" / "2" / str(x) / f"{y}.pbf").read_bytes())
    vatican = next(f for f in layer["countries"]["features"] if f["properties"]["adm0_a3"] == "VAT")
    assert vatican["properties"]["trace"] is True
    bounds = shapely.geometry.shape(vatican["geometry"]).bounds
    assert bounds[2] - bounds[0] == 16 and bounds[3] - bounds[1] == 16  # one pixel at 256 px
    report = json.loads((reference_dist / "tiles-report.json").read_text())
    zooms = {z["zoom"]: z for z in report["zooms"]}
    # Natural Earth gives Scarborough Shoal MIN_ZOOM 7: below that it may go, but never silently
    assert "Scarborough Shoal" in zooms[0]["dropped"]
    assert zooms[6]["dropped"] == []
    assert all(
        z["largest_tile_bytes"] < 500 * 1024 and not z["over_budget"] for z in zooms.values()
    )
    assert sum(z["tiles"] for z in zooms.values()) == report["tiles"]
    with sqlite3.connect(
        f"file:{reference_dist / f'{REFERENCE_ID}.mbtiles'}?mode=ro", uri=True
    ) as connection:
        metadata = json.loads(
            connection.execute("SELECT value FROM metadata WHERE name = 'json'").fetchone()[0]
        )
    assert metadata["tilepress_stats"] == report["zooms"]


def test_a_url_source_is_downloaded_once_and_checked(http_server: Server, tmp_path: Path) -> None:
    """A map naming its source by URL: fetched by the workflow into data/, checked, used."""
    shutil.copy(NATURAL_EARTH_ZIP, http_server.folder / "countries.zip")
    text = (
        REFERENCE_CONFIG.read_text()
        .replace(
            "maps:\n",
            f"sources:\n  remote:\n    url: {http_server.url}/countries.zip\n    sha256: "
            "125fc4b1f425926b8bd22dce23af6f9f873543c2fe330915ccbe0aa7fa21ff82\nmaps:\n",
            1,
        )
        .replace("    highlight:", "    source: remote\n    highlight:", 1)
    )
    text = text.replace("zoom: {min: 0, max: 6}", "zoom: {min: 0, max: 1}")
    config = tmp_path / "remote.yaml"
    config.write_text(text)
    result = run_workflow(tmp_path, config)
    assert result.returncode == 0, result.stderr[-3000:]
    downloaded = tmp_path / "data" / "remote.zip"
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest().startswith("125fc4b1")
    assert (tmp_path / "dist" / REFERENCE_ID / f"{REFERENCE_ID}.pmtiles").is_file()
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["remote.zip"]  # no leftovers
    assert http_server.requests == ["/countries.zip"]  # downloaded once


# ---------------------------------------------------------------------------------------------
# Sharded tiling, parallel maps, resuming


TILE_OUTPUTS = ("tiles", f"{REFERENCE_ID}.mbtiles", f"{REFERENCE_ID}.pmtiles", "tiles-report.json")


def _tile_digests(map_dir: Path) -> dict[str, str]:
    """SHA-256 of every tile output of a map (folder, archives, report)."""
    digests: dict[str, str] = {}
    for name in TILE_OUTPUTS:
        path = map_dir / name
        if path.is_dir():
            digests.update({f"{name}/{key}": value for key, value in file_digests(path).items()})
        else:
            digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _config_with(tmp_path: Path, map_lines: str, name: str = "config.yaml") -> Path:
    """The reference config with extra keys for its map (indented YAML lines)."""
    text = REFERENCE_CONFIG.read_text().replace("    highlight:", map_lines + "    highlight:", 1)
    path = tmp_path / name
    path.write_text(text)
    return path


def _jobs_run(log_text: str, rule: str) -> list[str]:
    """Wildcard lines (e.g. 'shard=z6_0of3') of the jobs of ``rule`` a Snakemake log shows.

    A job's block is its ``rule <name>:`` line and the indented lines under it; the next
    unindented line (another job's header, a timestamp, a job's own output) ends it, so jobs
    printed back to back without a blank line are not read into one another.
    """
    found: list[str] = []
    in_block = False
    for line in log_text.splitlines():
        if not line.startswith((" ", "\t")):
            in_block = line.strip() in {f"rule {rule}:", f"localrule {rule}:"}
        elif in_block and line.strip().startswith("wildcards:"):
            found.append(line.strip())
    return found


def test_sharded_build_equals_unsharded(reference_build: Path, tmp_path: Path) -> None:
    """Zoom 6 cut into three bands (generalized once, then a geometry job per shard) gives the
    same files as the default plan (the whole geometry in one job) and as one unsharded
    `step tiles` job, byte for byte, report and archive stats included."""
    config = _config_with(tmp_path, "    shards: 3\n")
    result = run_workflow(tmp_path, config)
    assert result.returncode == 0, result.stderr[-3000:]
    shards = _jobs_run(result.stderr, "tile_part")
    assert len(shards) == 4 and any("z6_2of3" in line for line in shards), shards
    assert len(_jobs_run(result.stderr, "generalize")) == 1
    assert not _jobs_run(result.stderr, "tile_geometry")
    sharded = _tile_digests(tmp_path / "dist" / REFERENCE_ID)
    assert sharded == _tile_digests(reference_build / "dist" / REFERENCE_ID)
    cache = tmp_path / "dist" / ".cache" / "natural-earth"
    kept = sorted(path.name for path in (cache / "z0-6.parts").glob("*.part"))
    assert kept == ["z0-5.part", "z6_0of3.part", "z6_1of3.part", "z6_2of3.part"]  # for reruns
    settings = SPEC.to_dict()
    settings.pop("shards")
    pyramid = cache / "z0-6.pyramid"
    env = tilepress_env()
    unsharded = subprocess.run(
        [
            *tilepress_command(),
            "step",
            "tiles",
            "--spec",
            json.dumps(settings),
            "--source",
            str(NATURAL_EARTH_ZIP),
            "--generalized",
            str(pyramid),
            "--out",
            str(tmp_path / "unsharded"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert unsharded.returncode == 0, unsharded.stderr[-3000:]
    assert _tile_digests(tmp_path / "unsharded") == {
        name: digest for name, digest in sharded.items() if ".snakemake_timestamp" not in name
    }


def test_maps_share_the_tile_geometry_and_never_wait_for_each_other(tmp_path: Path) -> None:
    second = (
        "  - id: second-map\n    title: Second\n"
        '    highlight: [{label: France, color: "#000000", countries: [FRA]}]\n'
    )
    config = tmp_path / "two.yaml"
    config.write_text(REFERENCE_CONFIG.read_text().replace("maps:\n", "maps:\n" + second, 1))
    result = run_workflow(tmp_path, config, "--dry-run", "--", "--dag")
    assert result.returncode == 0, result.stderr[-3000:]
    labels: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for text in result.stdout.splitlines():
        line = text.strip()
        if "[label = " in line:
            node, rest = line.split("[label = ", 1)
            labels[node] = rest.split('"')[1]
        elif " -> " in line:
            a, b = line.split(" -> ")
            edges.append((a, b))
    rules = [label.split("\\n")[0] for label in labels.values()]
    assert rules.count("tile_geometry") == 1  # one source, one zoom range: cut once
    assert "generalize" not in rules and "tile_part" not in rules
    assert rules.count("tiles") == 2 and rules.count("archives") == 2
    # Without the shared tile geometry and the final target, the jobs fall apart into
    # groups of one map each: no job of one map waits for a job of the other.
    shared = {
        node for node, label in labels.items() if label.split("\\n")[0] in ("all", "tile_geometry")
    }
    group = {node: node for node in labels if node not in shared}

    def root(node: str) -> str:
        while group[node] != node:
            node = group[node]
        return node

    for a, b in edges:
        if a not in shared and b not in shared:
            group[root(a)] = root(b)
    maps_of_group: dict[str, set[str]] = {}
    for node, label in labels.items():
        if node in shared:
            continue
        named = {part[5:] for part in label.split("\\n") if part.startswith("map: ")}
        maps_of_group.setdefault(root(node), set()).update(named)
    assert all(len(maps) == 1 for maps in maps_of_group.values()), maps_of_group
    assert set().union(*maps_of_group.values()) == {"second-map", REFERENCE_ID}


def _recorded_as_done(workdir: Path, output: Path) -> bool:
    """Snakemake's own record: the job that made ``output`` finished (metadata written, no
    incomplete marker left)."""
    key = base64.urlsafe_b64encode(str(output).encode()).decode()
    state = workdir / ".snakemake"
    return (state / "metadata" / key).is_file() and not (state / "incomplete" / key).exists()


def test_a_killed_run_resumes_without_redoing_finished_shards(
    reference_build: Path, tmp_path: Path
) -> None:
    config = _config_with(tmp_path, "    shards: 4\n")
    env = tilepress_env()
    command = [*tilepress_command(), "run", "--configfile", str(config), "--cores", "2"]
    parts = tmp_path / "dist" / ".cache" / "natural-earth" / "z0-6.parts"
    run = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes its jobs too
    )
    try:
        deadline = time.monotonic() + 300
        while run.poll() is None and not any(
            _recorded_as_done(tmp_path, path.relative_to(tmp_path)) for path in parts.glob("*.part")
        ):
            assert time.monotonic() < deadline, "no shard finished"
            time.sleep(0.05)
    finally:
        os.killpg(run.pid, 9)
        run.wait(timeout=30)
    # Finished: the part is there and Snakemake recorded its job as done (a job killed
    # between writing its part and that record counts as incomplete and is redone).
    finished = {
        path.name: path.stat().st_mtime_ns
        for path in parts.glob("*.part")
        if _recorded_as_done(tmp_path, path.relative_to(tmp_path))
    }
    assert finished, "the run was killed before any shard finished"
    assert not (tmp_path / "dist" / REFERENCE_ID / "tiles-report.json").exists()
    unlock = run_workflow(tmp_path, config, "--", "--unlock")
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    result = run_workflow(tmp_path, config)
    assert result.returncode == 0, result.stderr[-3000:]
    redone = " ".join(_jobs_run(result.stderr, "tile_part"))
    for name in finished:
        assert f"shard={name.removesuffix('.part')}" not in redone, (name, redone)
    assert len(_jobs_run(result.stderr, "tile_part")) == 5 - len(finished)
    assert _tile_digests(tmp_path / "dist" / REFERENCE_ID) == _tile_digests(
        reference_build / "dist" / REFERENCE_ID
    )
