"""`tilepress init`: a starter config that shows every option, builds the reference map, and
never replaces a config that is already there."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.conftest import REFERENCE_CONFIG, REFERENCE_ID
from tests.support.commands import tilepress_command, tilepress_env
from tilepress.cli.commands import main
from tilepress.config.paths import schema_path
from tilepress.project import load_config


def schema_keys(schema: Mapping[str, Any], node: Any = None) -> Iterator[str]:
    """Every property name the schema defines, at any depth."""
    node = schema if node is None else node
    if isinstance(node, dict):
        for name, value in node.get("properties", {}).items():
            yield name
            yield from schema_keys(schema, value)
        for key, value in node.items():
            if key != "properties":
                yield from schema_keys(schema, value)
    elif isinstance(node, list):
        for value in node:
            yield from schema_keys(schema, value)


@pytest.fixture
def started(tmp_path: Path) -> Path:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "atlas")])
    assert result.exit_code == 0, result.output
    assert "cd " in result.output and "tilepress run" in result.output
    assert "tilepress serve" in result.output
    return tmp_path / "atlas" / "config" / "config.yaml"


def test_init_writes_every_schema_key_with_its_description(started: Path) -> None:
    text = started.read_text()
    schema = yaml.safe_load(schema_path().read_text())
    missing = {key for key in schema_keys(schema) if not re.search(rf"\b{key}:", text)}
    assert missing == set()
    assert "# Slug; names the output folder dist/<id>/" in text  # descriptions as comments
    assert not list(started.parent.glob(".*"))  # no temporary left


def test_the_starter_builds_the_reference_map(started: Path) -> None:
    written = yaml.safe_load(started.read_text())
    reference = yaml.safe_load(REFERENCE_CONFIG.read_text())
    assert {key: written[key] for key in reference if key != "maps"} == {
        key: value for key, value in reference.items() if key != "maps"
    }
    (map_written,) = written["maps"]
    (map_reference,) = reference["maps"]
    for key, value in map_reference.items():
        if key == "markers":  # with their defaults filled in
            assert [
                {k: m[k] for k in r} for m, r in zip(map_written[key], value, strict=True)
            ] == value
        else:
            assert map_written[key] == value, key
    # The defaults written out change nothing: both resolve to the same map.
    assert load_config(started).map(REFERENCE_ID) == load_config(REFERENCE_CONFIG).map(REFERENCE_ID)


def test_the_starter_passes_check_config_and_a_dry_run(started: Path) -> None:
    folder = started.parent.parent
    for arguments in (["check-config", "config/config.yaml"], ["run", "-n", "--cores", "1"]):
        result = subprocess.run(
            [*tilepress_command(), *arguments],
            cwd=folder,
            env=tilepress_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        if arguments[0] == "check-config":
            assert "config/config.yaml: OK, 1 map(s)" in result.stdout


def test_init_never_overwrites_a_config(started: Path) -> None:
    started.write_text("maps: []  # the user's own\n")
    result = CliRunner().invoke(main, ["init", str(started.parent.parent)])
    assert result.exit_code == 1
    assert "already there" in result.output and "never overwrites" in result.output
    assert "Traceback" not in result.output
    assert started.read_text() == "maps: []  # the user's own\n"
    assert sorted(p.name for p in started.parent.iterdir()) == ["config.yaml"]


def test_init_defaults_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "config" / "config.yaml").is_file()
    assert "next: tilepress run" in result.output
