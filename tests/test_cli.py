"""The `tilepress` command line (tilepress.cli)."""

from __future__ import annotations

import gc
import json
import os
import re
import subprocess
import sys
import textwrap
import traceback
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

import tilepress
from tests.conftest import NATURAL_EARTH_ZIP, REFERENCE_CONFIG, REPO
from tilepress.cli.commands import main
from tilepress.config.model import BUILTIN_SOURCE_SHA256
from tilepress.project import load_config

REFERENCE = REFERENCE_CONFIG
DATA = NATURAL_EARTH_ZIP

BAD_CONFIG = """\
maps:
  - id: broken
    title: Broken
    zoom: {min: 8, max: 3}
    projection: EPSG:4326
    highlight:
      - label: A
        color: notacolour
        countries: [Ukrain]
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_CONFIG)
    return path


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"tilepress, version {version('tilepress')}\n"
    assert tilepress.__version__ == version("tilepress") == "0.1.0"


def listed_commands(help_text: str) -> dict[str, str]:
    """The ``Commands:`` section of a click help text: each command with its summary."""
    section = help_text.split("\nCommands:\n", 1)[1]
    listed = {}
    for line in section.splitlines():
        name, _, summary = line.strip().partition(" ")
        if name:
            listed[name] = summary.strip()
    return listed


def test_help_lists_every_command_with_a_summary(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = listed_commands(result.output)
    assert set(listed) == {"check-config", "init", "run", "serve", "step"}
    assert all(listed.values()), listed  # each with its summary
    steps = runner.invoke(main, ["step", "--help"])
    assert steps.exit_code == 0
    step_commands = {
        "archives", "assemble-tiles", "bundle", "fetch", "generalize", "glyphs", "preview",
        "print", "style", "tile-geometry", "tile-part", "tiles", "verify",
    }  # fmt: skip
    assert set(listed_commands(steps.output)) == step_commands
    # Every step the rules call exists and takes the options they pass.
    rules = "".join(path.read_text() for path in (REPO / "workflow" / "rules").glob("*.smk"))
    called = re.findall(r"tilepress step ([a-z-]+)(.*?)2> \{log", rules, flags=re.S)
    # `step preview` renders any PDF: the print rule's `step print --png` makes the map's PNG
    assert {command for command, _ in called} == step_commands - {"tiles", "verify", "preview"}
    for command, arguments in called:
        usage = runner.invoke(main, ["step", command, "--help"])
        assert usage.exit_code == 0, command
        for option in re.findall(r"--[a-z0-9-]+", arguments):
            assert f"{option} " in usage.output, (command, option)


def test_check_config_of_the_reference(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = runner.invoke(main, ["check-config", "config/config.yaml"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        'ukraine-russia-north-korea: "North Korean troops in Russia\'s war against Ukraine"; '
        "Ukraine #1f5fbf, Russia #d62828, North Korea #f28e1c; zoom 0-6; page A4 landscape",
        "config/config.yaml: OK, 1 map(s)",
    ]
    assert result.stderr == ""


def test_check_config_without_sources_from_another_folder(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "remote.yaml"
    config.write_text(
        textwrap.dedent("""\
        sources:
          ne50:
            url: https://example.org/ne_50m_admin_0_countries.zip
            sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        maps:
          - id: remote
            title: Remote
            source: ne50
            zoom: {max: 4}
            page: {size: A3, orientation: portrait}
            highlight:
              - {label: Somewhere, color: "rgb(0, 87, 183)", countries: [XYZ]}
    """)
    )
    result = runner.invoke(main, ["check-config", "--no-sources", str(config)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "remote: 'Remote'; Somewhere #0057b7; zoom 0-4; page A3 portrait "
        "(source 'ne50' not downloaded yet: countries unchecked)"
    )
    assert lines[1] == f"{config}: OK, 1 map(s)"


def test_check_config_reports_every_problem(runner: CliRunner, bad_config: Path) -> None:
    result = runner.invoke(main, ["check-config", str(bad_config)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    err = result.stderr
    assert err.startswith(f"tilepress: error: 4 problem(s) in the configuration {bad_config}:\n")
    assert f"  - {bad_config}:8: maps[0].highlight[0].color: map 'broken': 'notacolour' " in err
    assert f"  - {bad_config}:5: maps[0].projection: map 'broken': 'EPSG:4326' is a geographic" in (
        err
    )
    assert f"  - {bad_config}:4: maps[0].zoom: map 'broken': zoom range must satisfy" in err
    assert (
        f"  - {bad_config}:9: maps[0].highlight[0].countries[0]: map 'broken': unknown "
        "country 'Ukrain'"
    ) in err
    assert "did you mean Ukraine (UKR)" in err
    assert "Traceback" not in err


def test_check_config_refuses_fonts_the_web_map_cannot_use(
    runner: CliRunner, tmp_path: Path
) -> None:
    """A CJK font that is not TrueType, and a label font tilepress builds no glyphs for."""
    fake = tmp_path / "Hangul.ttf"
    fake.write_bytes(b"OTTO" + bytes(60))  # an OpenType font with CFF outlines, in name
    config = tmp_path / "fonts.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        maps:
          - id: fonts
            title: Fonts
            highlight: [{{label: Korea, color: "#0057b7", countries: [KOR]}}]
            print: {{cjk_font: "{fake}"}}
        """)
    )
    result = runner.invoke(main, ["check-config", str(config), "--no-sources"])
    assert result.exit_code == 1
    assert f"map 'fonts': print.cjk_font: cannot use the font '{fake}'" in result.stderr
    assert "give a TrueType font" in result.stderr and "Traceback" not in result.stderr
    named = tmp_path / "named.yaml"
    named.write_text(
        config.read_text().replace("    print:", "    # print:") + "label_font: Roboto\n"
    )
    result = runner.invoke(main, ["check-config", str(named), "--no-sources"])
    assert result.exit_code == 1
    assert f"{named}:6: label_font: label font 'Roboto': tilepress builds the glyphs" in (
        result.stderr
    )
    assert "set `glyphs`" in result.stderr
    with_server = (
        named.read_text() + 'glyphs: "https://fonts.example.org/{fontstack}/{range}.pbf"\n'
    )
    named.write_text(with_server)
    assert runner.invoke(main, ["check-config", str(named), "--no-sources"]).exit_code == 0


def test_check_config_of_a_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = runner.invoke(main, ["check-config", str(missing)])
    assert result.exit_code == 1
    assert f"{missing}: no such file" in result.stderr
    assert "Traceback" not in result.output


def test_check_config_yaml_syntax_error(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("maps:\n  - id: a\n    title: x: y\n")
    result = runner.invoke(main, ["check-config", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3: invalid YAML (mapping values are not allowed here)" in result.stderr


def test_run_stops_on_a_bad_config_before_snakemake(
    runner: CliRunner, bad_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["run", "--configfile", str(bad_config), "--dry-run"])
    assert result.exit_code == 1
    assert "4 problem(s) in the configuration" in result.stderr
    assert "unknown country 'Ukrain'" in result.stderr
    assert not (tmp_path / ".snakemake").exists()


def test_step_verify(runner: CliRunner) -> None:
    good = runner.invoke(
        main,
        ["step", "verify", "--sha256", BUILTIN_SOURCE_SHA256, "--name", "natural-earth", str(DATA)],
    )
    assert good.exit_code == 0, good.output
    assert good.output == ""

    wrong = "f" * 64
    bad = runner.invoke(
        main, ["step", "verify", "--sha256", wrong, "--name", "natural-earth", str(DATA)]
    )
    assert bad.exit_code == 1
    assert bad.stderr.startswith(
        f"tilepress: error: source 'natural-earth': SHA-256 of {DATA} is "
        f"{BUILTIN_SOURCE_SHA256}, but the configuration expects {wrong}\n  hint: "
    )
    assert "Traceback" not in bad.output


def test_step_verify_of_a_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        main, ["step", "verify", "--sha256", "f" * 64, "--name", "mine", str(tmp_path / "gone.zip")]
    )
    assert result.exit_code == 1
    assert "source 'mine': no such file" in result.stderr


def test_step_with_a_bad_spec(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        main, ["step", "style", "--spec", json.dumps({"id": "x"}), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert "--spec is not a map specification" in result.stderr
    assert not (tmp_path / "out").exists()


def test_only_the_steps_that_draw_overlays_read_their_files(
    runner: CliRunner, tmp_path: Path
) -> None:
    """The style step uses an overlay's settings alone (its rule does not wait for a fetched
    overlay file): it runs with the file not there yet, which the tile step needs."""
    overlay = {"label": "Front line", "path": str(tmp_path / "not-yet.geojson")}
    spec = load_config(REFERENCE_CONFIG).maps[0].to_dict() | {"overlays": [overlay]}
    spec |= {"min_zoom": 0, "max_zoom": 0}
    styled = runner.invoke(
        main, ["step", "style", "--spec", json.dumps(spec), "--out", str(tmp_path / "style")]
    )
    assert styled.exit_code == 0, styled.output
    style = json.loads((tmp_path / "style" / "style.json").read_text())
    assert "Front line" in [entry["label"] for entry in style["metadata"]["tilepress:legend"]]
    tiled = runner.invoke(
        main, ["step", "tiles", "--spec", json.dumps(spec), "--out", str(tmp_path / "tiles")]
    )
    assert tiled.exit_code == 1
    assert "no such overlay file" in tiled.stderr
    assert not (tmp_path / "tiles").exists()


def test_step_tiles_runs_without_the_cycle_collector_and_restores_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    """A tiles step switches the collector off only while it runs (each collection would
    rescan every long-lived object): no collection happens during a real build of zooms 0-1."""
    spec = load_config(REFERENCE_CONFIG).maps[0].to_dict() | {"min_zoom": 0, "max_zoom": 1}
    collections: list[str] = []  # the tilepress functions running when one started

    def record(phase: str, info: dict[str, int]) -> None:
        running = {frame.name for frame in traceback.extract_stack()}
        collections.extend(sorted(running & {"load_map", "build_tiles", "assemble_map"}))

    gc.callbacks.append(record)
    try:
        result = runner.invoke(
            main, ["step", "tiles", "--spec", json.dumps(spec), "--out", str(tmp_path)]
        )
    finally:
        gc.callbacks.remove(record)
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"{spec['id']}.pmtiles").is_file()
    assert collections == [] and gc.isenabled()


STEP_THEN_NUMPY = """
import os, sys
from tilepress.cli import main
try:
    main(["step", "verify", "--sha256", sys.argv[1], "--name", "natural-earth", sys.argv[2]])
except SystemExit:
    pass
import numpy
print(os.environ.get("OPENBLAS_NUM_THREADS"), len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize(("preset", "expected"), [(None, "1"), ("3", "3")])
def test_a_step_keeps_numpy_to_one_thread(preset: str | None, expected: str) -> None:
    """A step process imports numpy without OpenBLAS's spinning threads (one per core), unless
    the user asked for some."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    completed = subprocess.run(
        [sys.executable, "-c", STEP_THEN_NUMPY, BUILTIN_SOURCE_SHA256, str(DATA)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    value, threads = completed.stdout.split()
    assert value == expected
    if preset is None:
        assert threads == "1"


def test_console_script_reports_a_bad_config(bad_config: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("tilepress")
    assert script.is_file()
    completed = subprocess.run(
        [str(script), "check-config", str(bad_config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.startswith("tilepress: error: 4 problem(s) in the configuration")
    assert completed.stderr.count("\n  - ") == 4
    assert f"{bad_config}:9: maps[0].highlight[0].countries[0]" in completed.stderr
    assert "Traceback" not in completed.stderr


def _processes_mentioning(text: str) -> list[int]:
    """Processes (other than this one) whose command line contains ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:  # gone meanwhile
            continue
    return [pid for pid in found if pid != os.getpid()]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux's /proc")
def test_console_script_step_ends_with_its_output_flushed_and_workers_gone(
    tmp_path: Path,
) -> None:
    """A step run from the console script ends without tearing its objects down, but only
    once its log is written and its worker processes have ended; a failing step still fails."""
    script = Path(sys.executable).with_name("tilepress")
    spec = load_config(REFERENCE).maps[0].to_dict() | {"min_zoom": 0, "max_zoom": 2}
    out = tmp_path / "quick-exit-out"
    command = [str(script), "step", "tiles", "--spec", json.dumps(spec), "--out", str(out)]
    completed = subprocess.run(
        [*command, "--threads", "2"], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.rstrip().splitlines()[-1].startswith(f"tilepress: {spec['id']}: ")
    assert "MBTiles and PMTiles of" in completed.stderr  # the last stage's line
    assert (out / "tiles-report.json").is_file()
    assert _processes_mentioning(str(out)) == []  # no worker outlives the command
    failed = subprocess.run(
        [str(script), "step", "tiles", "--spec", "{}", "--out", str(tmp_path / "never")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert failed.returncode == 1
    assert "--spec is not a map specification" in failed.stderr
    assert not (tmp_path / "never").exists()


def test_a_marker_outside_the_extent_is_a_warning_only(tmp_path: Path) -> None:
    """A marker off the map's extent in degrees is named with its place, and the check still
    passes; an extent across the antimeridian holds the markers on either side of 180°."""
    from tests.support.commands import tilepress_command, tilepress_env

    text = REFERENCE_CONFIG.read_text().replace("extent: world", "extent: [20, 40, 45, 60]")
    text = text.replace("lon: 30.52", "lon: 130.52")  # Kyiv's marker, moved to the Pacific
    config = tmp_path / "config.yaml"
    config.write_text(text)
    command = [*tilepress_command(), "check-config", str(config)]
    result = subprocess.run(
        command, capture_output=True, text=True, env=tilepress_env(), check=False
    )
    assert result.returncode == 0, result.stderr
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "label: Kyiv" in row)
    assert (
        f"tilepress: warning: {config}:{line}: maps[0].markers[1]: map "
        "'ukraine-russia-north-korea', marker 'Kyiv' (130.52, 50.45) lies outside the map's "
        "extent [20, 40, 45, 60]"
    ) in result.stderr
    assert "'Kursk'" not in result.stderr
    across = text.replace("extent: [20, 40, 45, 60]", "extent: [120, 40, 40, 60]")
    config.write_text(across)
    result = subprocess.run(
        command, capture_output=True, text=True, env=tilepress_env(), check=False
    )
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
