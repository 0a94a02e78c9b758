"""Shared fixtures: the reference map built once by the real Snakemake workflow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REFERENCE_CONFIG = REPO / "config" / "config.yaml"
REFERENCE_ID = "ukraine-russia-north-korea"


def tilepress_command() -> list[str]:
    """The installed console script, run with this interpreter's environment."""
    script = Path(sys.executable).with_name("tilepress")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tilepress.cli"]


def run_workflow(workdir: Path, config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run `tilepress run` (the real Snakemake engine) in ``workdir``."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [*tilepress_command(), "run", "--configfile", str(config), "--cores", "2", *extra],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="session")
def reference_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A working folder in which the reference config has been built end to end."""
    workdir = tmp_path_factory.mktemp("reference")
    (workdir / "config").mkdir()
    shutil.copy(REFERENCE_CONFIG, workdir / "config" / "config.yaml")
    result = run_workflow(workdir, workdir / "config" / "config.yaml")
    if result.returncode != 0:
        pytest.fail(f"workflow failed ({result.returncode}):\n{result.stderr[-4000:]}")
    yield workdir


@pytest.fixture(scope="session")
def reference_dist(reference_build: Path) -> Path:
    """The reference map's output folder ``dist/<id>/``."""
    return reference_build / "dist" / REFERENCE_ID
