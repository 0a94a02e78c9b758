"""A source's generalized pyramid: the countries thinned zoom after zoom (each from the one
below it), snapped to each zoom's grid with their land borders, and stored (WKB and arrays
in a zip with fixed dates, so the same source gives the same bytes).

It depends only on the source and the zoom range: every map with the same ones shares it.
"""

from __future__ import annotations

import io
import itertools
import multiprocessing
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from tilepress.files import atomic_path
from tilepress.geometry.projection import WEB_MERCATOR_MAX_LAT, to_web_mercator
from tilepress.geometry.rings import Rings, rings_of
from tilepress.geometry.shared import first_shared_edges, thin_shared
from tilepress.sources.repair import polygonal
from tilepress.tiles.grid import FloatArray, Geometries, IntArray, ZoomLevel, tile_unit
from tilepress.tiles.snap import snap_to_grid

# Generalization: vertices whose triangle is under (SIMPLIFY_UNITS tile units)^2 go, per zoom;
# 9 square units is 1/28 of a square pixel on a 256-pixel tile, so the change never shows.
SIMPLIFY_UNITS = 3.0
# Thinning stops after a round that removes fewer vertices than this share: later rounds find
# a handful each, and the next zoom's thinning picks up what is left.
THIN_UNTIL_REMOVED = 0.002


def thinned_levels(
    mercator: Geometries, zooms: Sequence[int], *, parallel: bool = False
) -> Iterator[tuple[int, Rings]]:
    """The countries thinned for every zoom, deepest first, each from the one below it.

    Vertices whose triangle (Visvalingam's effective area) is under ``SIMPLIFY_UNITS`` squared
    tile units go, identically on both sides of every shared border (:func:`thin_shared`), so
    neighbours keep one common border at every zoom without rebuilding a topology per zoom.
    When the levels go to ``parallel`` worker processes, only the deepest zoom is thinned with
    the helper thread: by the next one, workers are snapping, and both cores are busy.
    """
    rings = rings_of(mercator)
    for zoom in sorted(zooms, reverse=True):
        area = (SIMPLIFY_UNITS * tile_unit(zoom)) ** 2
        helper = not parallel or zoom == max(zooms)
        rings = thin_shared(rings, area, rounds=12, min_removed=THIN_UNTIL_REMOVED, helper=helper)
        yield zoom, rings


def zoom_level(zoom: int, rings: Rings, *, deepest: bool = False) -> ZoomLevel:
    """One zoom's thinned countries on its grid, with their land borders.

    Specks are kept at the ``deepest`` zoom of a build, which clients magnify (overzoom).
    """
    countries, collapsed_xy, collapsed_rows = snap_to_grid(rings, zoom, keep_specks=deepest)
    borders, border_rows = grid_borders(countries)
    return ZoomLevel(zoom, countries, borders, border_rows, collapsed_xy, collapsed_rows)


def _zoom_level_task(task: tuple[int, Rings, bool]) -> ZoomLevel:
    zoom, rings, deepest = task
    return zoom_level(zoom, rings, deepest=deepest)


def generalize_pyramid(
    mercator: Geometries, zooms: Sequence[int], workers: int = 1
) -> dict[int, ZoomLevel]:
    """Every zoom's :class:`ZoomLevel`; levels are snapped on ``workers`` processes."""
    deepest = max(zooms)
    parallel = workers > 1 and len(zooms) > 1 and "fork" in multiprocessing.get_all_start_methods()
    thinned = thinned_levels(mercator, zooms, parallel=parallel)
    tasks = ((zoom, rings, zoom == deepest) for zoom, rings in thinned)
    if parallel:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            done = list(pool.map(_zoom_level_task, tasks))
    else:
        done = [_zoom_level_task(task) for task in tasks]
    return {level.zoom: level for level in done}


def grid_borders(countries: Geometries) -> tuple[Geometries, IntArray]:
    """Land borders of a coverage whose neighbours share vertices: one line per pair.

    Each shared edge is taken once, where it first occurs; runs of such edges that follow
    one another around a ring between the same two countries become one line string, so no
    line merging is needed.
    """
    rings = Rings.from_geometries(countries)
    first, low, high = first_shared_edges(rings)
    if len(first) == 0:
        return np.empty(0, dtype=object), np.empty((0, 2), dtype=np.int64)
    pair = low * len(countries) + high  # edges in ring order
    _previous, following = rings.neighbours()
    end = following[first]  # where each edge ends
    new_run = np.r_[True, (first[1:] != end[:-1]) | (pair[1:] != pair[:-1])]
    run = np.cumsum(new_run) - 1
    last = np.flatnonzero(np.r_[new_run[1:], True])  # each run's last edge
    # A run's points: the start of each of its edges, then the end of its last edge.
    vertices = np.insert(first, last + 1, end[last])
    run_of_point = np.insert(run, last + 1, run[last])
    lines = shapely.linestrings(rings.xy[vertices], indices=run_of_point)
    run_pair = pair[new_run]
    by_pair = np.argsort(run_pair, kind="stable")
    pairs, pair_of_run = np.unique(run_pair[by_pair], return_inverse=True)
    borders = shapely.multilinestrings(lines[by_pair], indices=pair_of_run)
    rows = np.column_stack([pairs // len(countries), pairs % len(countries)]).astype(np.int64)
    return borders, rows


def dropped_rows(level: ZoomLevel, trace_from: FloatArray) -> list[int]:
    """Rows that vanish from a whole zoom level: every piece fell through the grid and the
    country is not traced yet (its ``trace_from`` zoom is deeper)."""
    shown = ~shapely.is_empty(level.countries)
    lost = np.unique(level.collapsed_rows)
    return [int(row) for row in lost if not shown[row] and trace_from[row] > level.zoom]


def prepare_mercator(geometries: Geometries) -> Geometries:
    """WGS 84 country polygons to Web Mercator (clamped at +/-85.0511), valid if they were."""
    mercator = to_web_mercator(geometries)
    # Web Mercator maps each axis monotonically, so a valid polygon stays valid; only those
    # clipped at the latitude limit can come out invalid.
    _west, south, _east, north = shapely.bounds(geometries).T
    clipped = np.flatnonzero((south < -WEB_MERCATOR_MAX_LAT) | (north > WEB_MERCATOR_MAX_LAT))
    invalid = clipped[~shapely.is_valid(mercator[clipped])]
    if len(invalid):
        mercator[invalid] = shapely.make_valid(mercator[invalid])
    return polygonal(mercator)


def _save_arrays(archive: zipfile.ZipFile, prefix: str, arrays: dict[str, NDArray[Any]]) -> None:
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        info = zipfile.ZipInfo(f"{prefix}.{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
        archive.writestr(info, buffer.getvalue(), compress_type=zipfile.ZIP_STORED)


def _wkb_arrays(geometries: Geometries) -> dict[str, NDArray[Any]]:
    blobs = shapely.to_wkb(geometries)
    offsets = np.cumsum([0, *map(len, blobs)]).astype(np.int64)
    return {"offsets": offsets, "wkb": np.frombuffer(b"".join(blobs), dtype=np.uint8)}


def _from_wkb_arrays(offsets: IntArray, wkb: NDArray[np.uint8]) -> Geometries:
    data = wkb.tobytes()
    blobs = [data[start:end] for start, end in itertools.pairwise(offsets.tolist())]
    geometries: Geometries = shapely.from_wkb(np.array(blobs, dtype=object))
    return geometries


def save_pyramid(pyramid: dict[int, ZoomLevel], target: Path) -> None:
    """Store generalized zoom levels (WKB and arrays in a zip with fixed dates: reproducible)."""
    with atomic_path(target) as temporary, zipfile.ZipFile(temporary, "w") as archive:
        for zoom, level in sorted(pyramid.items()):
            for part, geometries in (("countries", level.countries), ("borders", level.borders)):
                _save_arrays(archive, f"z{zoom}.{part}", _wkb_arrays(geometries))
            _save_arrays(
                archive,
                f"z{zoom}",
                {
                    "border_rows": level.border_rows,
                    "collapsed_xy": level.collapsed_xy,
                    "collapsed_rows": level.collapsed_rows,
                },
            )


def load_pyramid(source: Path, zooms: Iterable[int] | None = None) -> dict[int, ZoomLevel]:
    """Read what :func:`save_pyramid` wrote: every zoom, or only ``zooms`` (those stored)."""
    pyramid: dict[int, ZoomLevel] = {}
    with zipfile.ZipFile(source) as archive:

        def load(name: str) -> NDArray[Any]:
            array: NDArray[Any] = np.load(io.BytesIO(archive.read(f"{name}.npy")))
            return array

        stored = {int(name.split(".")[0][1:]) for name in archive.namelist()}
        for zoom in sorted(stored if zooms is None else stored & set(zooms)):
            pyramid[zoom] = ZoomLevel(
                zoom,
                _from_wkb_arrays(
                    load(f"z{zoom}.countries.offsets"), load(f"z{zoom}.countries.wkb")
                ),
                _from_wkb_arrays(load(f"z{zoom}.borders.offsets"), load(f"z{zoom}.borders.wkb")),
                load(f"z{zoom}.border_rows"),
                load(f"z{zoom}.collapsed_xy"),
                load(f"z{zoom}.collapsed_rows"),
            )
    return pyramid
