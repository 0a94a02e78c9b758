"""Fixtures of the server tests: the sample dist folder, the application and its test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import launch_browser
from tests.web.http_helpers import TestClient
from tests.web.sample_dist import PUBLIC_URL, build_dist
from tilepress.web.app import TilepressApp, create_app


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dist(tmp_path_factory.mktemp("server"))


@pytest.fixture(scope="module")
def app(dist: Path) -> TilepressApp:
    return create_app(dist, public_url=PUBLIC_URL + "/")


@pytest.fixture
def client(app: TilepressApp) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (`tests.web.browser`), for the tests of one module."""
    yield from launch_browser()
