"""How a tile build ends when a job fails: the job's error, nothing left behind, no worker
still running (the real worker pool, with one job made to fail)."""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REFERENCE_CONFIG, REFERENCE_ID
from tilepress import files
from tilepress.project import load_config
from tilepress.sources.loaded import LoadedMap, load_map
from tilepress.tiles import jobs
from tilepress.tiles.build import build_tiles
from tilepress.tiles.geometry_tiles import encode_geometry_rows


@pytest.fixture(scope="module")
def small_map() -> LoadedMap:
    spec = load_config(REFERENCE_CONFIG).map(REFERENCE_ID)
    return load_map(dataclasses.replace(spec, min_zoom=0, max_zoom=3))


def failing_at(zoom: int) -> Any:
    """``encode_geometry_rows`` that fails for one zoom and is slow for the others, so the
    other workers are still writing their parts when the failure arrives."""

    def encode(source: Any, level: Any, tile_rows: range, stats: Any) -> Iterator[Any]:
        if level.zoom == zoom:
            raise RuntimeError(f"job of zoom {zoom} failed")
        for tile in encode_geometry_rows(source, level, tile_rows, stats):
            time.sleep(0.002)
            yield tile

    return encode


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failed_job_ends_the_build_with_its_error_and_leaves_nothing(
    small_map: LoadedMap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setattr(jobs, "encode_geometry_rows", failing_at(2))  # forked workers inherit it
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="job of zoom 2 failed"):
        build_tiles(small_map, out, workers=workers)
    assert list(out.iterdir()) == []  # no geometry folder, no tile folder, no archive
    assert multiprocessing.active_children() == []  # every worker waited for


def test_a_cleanup_that_fails_does_not_hide_the_first_error(
    small_map: LoadedMap,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(jobs, "encode_geometry_rows", failing_at(1))

    def refuse(path: Any, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(files.shutil, "rmtree", refuse)
    with (
        caplog.at_level(logging.WARNING, logger="tilepress"),
        pytest.raises(RuntimeError, match="job of zoom 1 failed"),
    ):
        build_tiles(small_map, tmp_path / "out", workers=2)
    removal = [r.getMessage() for r in caplog.records if "cannot remove" in r.getMessage()]
    assert len(removal) == 1 and "Permission denied" in removal[0]  # the geometry folder
