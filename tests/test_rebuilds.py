"""Rebuilds through the real workflow: a colour or a title change reruns only the rules whose
outputs it changes and changes only those files; many maps share one tile geometry job."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REFERENCE_CONFIG, REFERENCE_ID
from tests.support.commands import file_digests, run_workflow
from tests.test_workflow import CITIES, feature_at, tile_of

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
PRINT_RULES = set(
    re.findall(r"^rule (\w+):", (REPO / "workflow/rules/print.smk").read_text(), re.M)
)
GEOMETRY_RULES = {"tile_geometry", "generalize", "tile_part"}


def _rules_run(log_text: str) -> Counter[str]:
    """How many jobs of each rule a Snakemake log shows (run or, dry, planned)."""
    return Counter(
        match.group(1) for match in re.finditer(r"^(?:local)?rule (\w+):$", log_text, re.M)
    )


def _copy_of(reference_build: Path, tmp_path: Path) -> Path:
    """The reference build with Snakemake's records, as a working folder of its own."""
    workdir = tmp_path / "work"
    shutil.copytree(reference_build, workdir, symlinks=True)
    return workdir


def _mbtiles_tiles(path: Path) -> set[tuple[int, int, int, bytes]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return set(connection.execute("SELECT * FROM tiles"))


def _mbtiles_name(path: Path) -> str:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        (name,) = connection.execute("SELECT value FROM metadata WHERE name = 'name'").fetchone()
    return str(name)


def _edit_and_run(workdir: Path, old: str, new: str) -> tuple[Counter[str], Counter[str]]:
    """Edit the config, then a dry run and a real run: the rules each would run or ran."""
    config = workdir / "config" / "config.yaml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new))
    planned = run_workflow(workdir, config, "--dry-run")
    assert planned.returncode == 0, planned.stderr[-3000:]
    result = run_workflow(workdir, config)
    assert result.returncode == 0, result.stderr[-3000:]
    return _rules_run(planned.stdout + planned.stderr), _rules_run(result.stderr)


def test_a_recolour_reassembles_the_tiles_and_leaves_geometry_and_glyphs(
    reference_build: Path, tmp_path: Path
) -> None:
    workdir = _copy_of(reference_build, tmp_path)
    before = file_digests(workdir / "dist")
    planned, ran = _edit_and_run(workdir, '"#1f5fbf"', '"#2a6fd0"')
    assert planned == ran
    assert {"tiles", "archives", "style", "web_bundle"} <= set(ran)
    assert set(ran) <= {"tiles", "archives", "style", "web_bundle", "all", *PRINT_RULES}
    assert not set(ran) & {*GEOMETRY_RULES, "glyphs"}
    after = file_digests(workdir / "dist")
    assert set(after) == set(before)
    changed = {name for name in after if after[name] != before[name]}
    cache = {name for name in before if name.startswith(".cache/natural-earth/")}
    glyphs = {name for name in before if name.startswith(f"{REFERENCE_ID}/glyphs/")}
    assert cache and glyphs and not changed & (cache | glyphs)
    tiles = {name for name in before if name.startswith(f"{REFERENCE_ID}/tiles/")}
    assert 0 < len(changed & tiles) < len(tiles) / 4  # only tiles showing Ukraine change
    (lon, lat), code = CITIES["Kyiv"]
    x, y, px, py = tile_of(lon, lat, 6)
    tile = workdir / "dist" / REFERENCE_ID / "tiles" / "6" / str(x) / f"{y}.pbf"
    assert feature_at(tile.read_bytes(), px, py)["color"] == "#2a6fd0" and code == "UKR"
    assert f"{REFERENCE_ID}/tiles/6/{x}/{y}.pbf" in changed
    for name in ("style.json", f"{REFERENCE_ID}.pdf", f"{REFERENCE_ID}-print.pdf"):
        assert f"{REFERENCE_ID}/{name}" in changed, name


def test_a_new_title_leaves_every_tile_alone(reference_build: Path, tmp_path: Path) -> None:
    workdir = _copy_of(reference_build, tmp_path)
    before = file_digests(workdir / "dist")
    map_dir = workdir / "dist" / REFERENCE_ID
    old_tiles = _mbtiles_tiles(map_dir / f"{REFERENCE_ID}.mbtiles")
    title = "North Korean troops in Russia's war against Ukraine"
    planned, ran = _edit_and_run(workdir, title, "Pyongyang's soldiers in Kursk")
    assert planned == ran
    assert {"archives", "style", "web_bundle"} <= set(ran)
    assert not set(ran) & {*GEOMETRY_RULES, "tiles", "glyphs"}
    after = file_digests(workdir / "dist")
    changed = {name for name in after if after[name] != before[name]}
    unchanged = {
        name
        for name in before
        if name.startswith((f"{REFERENCE_ID}/tiles/", f"{REFERENCE_ID}/glyphs/", ".cache/"))
        or name == f"{REFERENCE_ID}/tiles-report.json"
    }
    assert len(unchanged) > 3000 and not changed & unchanged
    assert {f"{REFERENCE_ID}/{REFERENCE_ID}.{kind}" for kind in ("mbtiles", "pmtiles")} <= changed
    assert _mbtiles_name(map_dir / f"{REFERENCE_ID}.mbtiles") == "Pyongyang's soldiers in Kursk"
    assert _mbtiles_tiles(map_dir / f"{REFERENCE_ID}.mbtiles") == old_tiles


def test_ten_maps_share_one_geometry_job_and_each_has_its_colours(tmp_path: Path) -> None:
    colours = [f"#{index:02x}40c0" for index in range(10)]
    maps = "".join(
        f"  - id: map-{index}\n    title: Map {index}\n    zoom: {{min: 0, max: 4}}\n"
        f'    highlight: [{{label: Ukraine, color: "{colour}", countries: [UKR]}}]\n'
        for index, colour in enumerate(colours)
    )
    text = REFERENCE_CONFIG.read_text()
    config = tmp_path / "config" / "config.yaml"
    config.parent.mkdir()
    config.write_text(text[: text.index("maps:\n")] + "maps:\n" + maps)
    result = run_workflow(tmp_path, config)
    assert result.returncode == 0, result.stderr[-3000:]
    ran = _rules_run(result.stderr)
    assert ran["tile_geometry"] == 1 and not ran["generalize"] and not ran["tile_part"]
    assert ran["tiles"] == ran["archives"] == ran["glyphs"] == 10
    (lon, lat), _code = CITIES["Kyiv"]
    x, y, px, py = tile_of(lon, lat, 4)
    for index, colour in enumerate(colours):
        map_dir = tmp_path / "dist" / f"map-{index}"
        tile = (map_dir / "tiles" / "4" / str(x) / f"{y}.pbf").read_bytes()
        assert feature_at(tile, px, py)["color"] == colour
        assert _mbtiles_name(map_dir / f"map-{index}.mbtiles") == f"Map {index}"
    # Away from Ukraine the ten maps' tiles are the same bytes: the same geometry and tags.
    x, y, _px, _py = tile_of(-60.0, -15.0, 4)  # Bolivia
    far = [
        (tmp_path / "dist" / f"map-{index}" / "tiles" / "4" / str(x) / f"{y}.pbf").read_bytes()
        for index in range(10)
    ]
    assert len(set(far)) == 1
