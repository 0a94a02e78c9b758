"""End to end: the example map with an overlay (config/examples/crimea.yaml) built by the real
Snakemake workflow, and a changed overlay file rerunning only what draws it."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import REFERENCE_CONFIG
from tests.support.commands import file_digests, run_workflow
from tilepress.project import load_config
from tilepress.tiles.mvt import decode_tile

pytestmark = pytest.mark.e2e

EXAMPLES = REFERENCE_CONFIG.parent / "examples"
EXAMPLE_ID = "crimea-occupied"
SIMFEROPOL = (34.10, 44.95)  # inside the overlay, on land


def _rules_run(log_text: str) -> list[str]:
    """The rule of every job a Snakemake log shows starting (``rule x:`` / ``localrule x:``)."""
    return [
        line.split()[-1].removesuffix(":")
        for line in log_text.splitlines()
        if line.startswith(("rule ", "localrule ")) and line.endswith(":")
    ]


@pytest.fixture(scope="module")
def example_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder in which the example config has been built end to end."""
    workdir = tmp_path_factory.mktemp("example")
    shutil.copytree(EXAMPLES, workdir / "config" / "examples")
    result = run_workflow(workdir, workdir / "config" / "examples" / "crimea.yaml")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir


def test_the_overlay_is_a_tile_layer_with_its_settings(example_build: Path) -> None:
    spec = load_config(example_build / "config" / "examples" / "crimea.yaml").map(EXAMPLE_ID)
    (overlay,) = spec.overlays
    lon, lat = SIMFEROPOL
    for zoom in (spec.min_zoom, spec.max_zoom):
        tiles = 1 << zoom
        column = int((lon + 180) / 360 * tiles)
        mercator_y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
        row = int((1 - mercator_y / math.pi) / 2 * tiles)
        tile = example_build / "dist" / EXAMPLE_ID / "tiles" / str(zoom) / str(column)
        layers = decode_tile((tile / f"{row}.pbf").read_bytes())
        (feature,) = layers["overlays"]["features"]
        assert feature["properties"] == {
            "label": overlay.label,
            "color": overlay.color,
            "pattern": overlay.pattern.image_id(overlay.color) if overlay.pattern else None,
            "outline": "dashed",
            "date": "2014-03-18",
            "index": 0,
        }
    style = json.loads((example_build / "dist" / EXAMPLE_ID / "style.json").read_text())
    overlay_layers = [layer for layer in style["layers"] if layer.get("source-layer") == "overlays"]
    assert len(overlay_layers) >= 2  # a fill (with its pattern) and an outline
    legend = {entry["label"]: entry for entry in style["metadata"]["tilepress:legend"]}
    assert legend[overlay.label]["kind"] == "overlay"
    assert legend[overlay.label]["date"] == "2014-03-18"
    assert legend[overlay.label]["pattern"]["kind"] == "hatch"
    assert legend["Sevastopol"]["note"] == "Sevastopol: base of Russia's Black Sea Fleet"


def test_the_print_sheet_hatches_the_overlay_and_lists_it(example_build: Path) -> None:
    folder = example_build / "dist" / EXAMPLE_ID
    text = " ".join(PdfReader(folder / f"{EXAMPLE_ID}.pdf").pages[0].extract_text().split())
    assert "Occupied by Russia, as of 2014-03-18" in text
    assert "Sevastopol" in text and "Kyiv" in text
    # The CMYK variant carries no RGB colour operators.
    cmyk = subprocess.run(
        ["qpdf", "--qdf", "--object-streams=disable", str(folder / f"{EXAMPLE_ID}-print.pdf"), "-"],
        capture_output=True,
        check=True,
    ).stdout
    assert b" rg\n" not in cmyk and b" RG\n" not in cmyk and b"/DeviceRGB" not in cmyk


def test_a_changed_overlay_reruns_only_what_draws_it(example_build: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    shutil.copytree(example_build, workdir, symlinks=True)
    overlay = workdir / "config" / "examples" / "crimea.geojson"
    collection = json.loads(overlay.read_text())
    collection["features"][0]["properties"]["name"] = "Crimea (edited)"
    overlay.write_text(json.dumps(collection))
    config = workdir / "config" / "examples" / "crimea.yaml"
    result = run_workflow(workdir, config)
    assert result.returncode == 0, result.stderr[-3000:]
    rules = set(_rules_run(result.stderr))
    assert "tiles" in rules and "print_sheet" in rules, rules  # print_sheet: every print output
    # the overlay is the map's own layer: the shared tile geometry stays
    assert not rules & {"tile_geometry", "generalize", "tile_part", "style", "glyphs"}, rules
    again = run_workflow(workdir, config)
    assert again.returncode == 0 and not _rules_run(again.stderr), again.stderr[-2000:]


def test_a_second_build_is_byte_identical(example_build: Path, tmp_path: Path) -> None:
    """The map with an overlay, built again from scratch elsewhere: the same bytes."""
    shutil.copytree(EXAMPLES, tmp_path / "config" / "examples")
    result = run_workflow(tmp_path, tmp_path / "config" / "examples" / "crimea.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    again = file_digests(tmp_path / "dist" / EXAMPLE_ID)
    assert again == file_digests(example_build / "dist" / EXAMPLE_ID)
    assert any(name.endswith("-print.pdf") for name in again)
