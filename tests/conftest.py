"""Shared fixtures: the reference map built once by the real Snakemake workflow."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REFERENCE_CONFIG = REPO / "config" / "config.yaml"
REFERENCE_ID = "ukraine-russia-north-korea"
NATURAL_EARTH_ZIP = REPO / "data" / "ne_10m_admin_0_countries_deu.zip"


def tilepress_command() -> list[str]:
    """The installed console script, run with this interpreter's environment."""
    script = Path(sys.executable).with_name("tilepress")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tilepress.cli"]


def tilepress_env() -> dict[str, str]:
    """This environment with this interpreter's scripts first on PATH (the workflow's rules
    call `tilepress`)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def run_workflow(
    workdir: Path, config: Path, *extra: str, cores: int | None = 2, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run `tilepress run` (the real Snakemake engine) in ``workdir``; ``cores=None`` leaves
    the core count to Snakemake's profile (an executor plugin's runs)."""
    cores_option = [] if cores is None else ["--cores", str(cores)]
    return subprocess.run(
        [*tilepress_command(), "run", "--configfile", str(config), *cores_option, *extra],
        cwd=workdir,
        env=tilepress_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
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


@dataclass
class Server:
    """A real HTTP server on 127.0.0.1 serving ``folder``; ``requests`` logs the paths."""

    url: str
    folder: Path
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[Server]:
    folder = tmp_path / "served"
    folder.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder))
    )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", folder, requests)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
