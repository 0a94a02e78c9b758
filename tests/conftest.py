"""Shared fixtures: the reference map built once by the real Snakemake workflow, and a real
HTTP server for downloads. Helpers live in ``tests/support/``."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.commands import run_workflow

REPO = Path(__file__).resolve().parent.parent
REFERENCE_CONFIG = REPO / "config" / "config.yaml"
REFERENCE_ID = "ukraine-russia-north-korea"
NATURAL_EARTH_ZIP = REPO / "data" / "ne_10m_admin_0_countries_deu.zip"


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
    """A real HTTP server on 127.0.0.1 serving ``folder``; ``requests`` logs the paths, and
    the next requests are answered with the error statuses in ``fail_next``, one each."""

    url: str
    folder: Path
    requests: list[str] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[Server]:
    folder = tmp_path / "served"
    folder.mkdir()
    requests: list[str] = []
    fail_next: list[int] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            if fail_next:
                self.send_error(fail_next.pop(0))
                return
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder))
    )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", folder, requests, fail_next)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


WORKFLOW_FIXTURES = frozenset({"reference_build", "reference_dist"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that builds with the workflow is marked ``e2e`` (``pytest -m "not e2e"`` runs
    the rest in seconds): one that uses the workflow's fixtures without the mark is an error."""
    unmarked = [
        item.nodeid
        for item in items
        if WORKFLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("e2e") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests that build the workflow must be marked e2e: " + ", ".join(unmarked)
        )
