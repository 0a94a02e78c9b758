"""A helper thread for large GEOS, PROJ, numpy and zlib calls, which release the GIL: such a
call split in pieces runs on both cores of a two-core machine (the steps' first,
single-process phase), and costs next to nothing where no second core is free."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
import shapely
from numpy.typing import NDArray

PARALLEL_MIN = 100_000  # vertices (or points) below which one thread is quicker
_HELPER_NAME = "tilepress-helper"

Geometries = NDArray[np.object_]
T = TypeVar("T")


@lru_cache(maxsize=1)
def helper_thread() -> ThreadPoolExecutor:
    """The process's one helper thread."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=_HELPER_NAME)


# A forked child (a tile worker, a reader) has only the thread that forked, but it inherits
# the cached executor, which would queue its tasks for a thread that does not exist there and
# never run them: the child starts its own helper thread when it first needs one. The steps
# fork only while the helper is idle (each call waits for its helper's share).
os.register_at_fork(after_in_child=helper_thread.cache_clear)


def ring_halves(sizes: NDArray[np.integer]) -> int | None:
    """Where to split items with ``sizes`` vertices each (rings, geometries) into two runs of
    about equal vertex counts, or None when they hold too few vertices for a split to pay (or
    this is the helper thread, which must not wait for itself)."""
    bounds = _vertex_runs(sizes, 2)
    return None if bounds is None else bounds[1]


# Pieces a call over geometries is split into. The two threads take them from either end, so
# one slow geometry (one that needs repairing, say) does not leave a thread idle for long.
PIECES = 8


def _vertex_runs(sizes: NDArray[np.integer], count: int) -> list[int] | None:
    """Bounds (first 0, last ``len(sizes)``) of up to ``count`` runs of items with about equal
    vertex counts, or None if one thread is quicker (or this is the helper thread, which must
    not wait for itself)."""
    if threading.current_thread().name.startswith(_HELPER_NAME):
        return None
    total = int(sizes.sum())
    if total < 2 * PARALLEL_MIN or len(sizes) < 2:
        return None
    cuts = np.searchsorted(np.cumsum(sizes), total * np.arange(1, count) / count)
    inner = np.unique(np.clip(cuts, 1, len(sizes) - 1)).tolist()
    return [0, *inner, len(sizes)]


def on_each(items: Sequence[Any], function: Callable[..., T], *arguments: Any) -> list[T]:
    """``function(item, *arguments)`` of each item, in order: the helper thread takes items
    from the front, this thread from the back, until they meet."""
    if len(items) == 1:
        return [function(items[0], *arguments)]
    results: list[Any] = [None] * len(items)
    lock = threading.Lock()
    ends = [0, len(items)]  # the next item from the front; one past the next from the back

    def work(from_front: bool) -> None:
        while True:
            with lock:
                if ends[0] >= ends[1]:
                    return
                if from_front:
                    index, ends[0] = ends[0], ends[0] + 1
                else:
                    ends[1] -= 1
                    index = ends[1]
            results[index] = function(items[index], *arguments)

    helper = helper_thread().submit(work, True)
    try:
        work(False)
    finally:
        wait([helper])
    helper.result()  # its error, if it failed
    return results


def _concatenated(results: list[Geometries]) -> Geometries:
    return np.concatenate(results)


def map_in_pieces(
    function: Callable[[Geometries], T],
    geometries: Geometries,
    join: Callable[[list[T]], T] = _concatenated,  # type: ignore[assignment]
) -> T:
    """``function`` of an array of geometries (each computed on its own) over runs of about
    equal vertex counts (``PIECES``), shared by this thread and the helper thread, the
    results joined in order: the same as one call. By default the results are arrays with one
    entry per geometry."""
    bounds = _vertex_runs(shapely.get_num_coordinates(geometries), PIECES)
    if bounds is None:
        return function(geometries)
    runs = [geometries[start:stop] for start, stop in itertools.pairwise(bounds)]
    return join(on_each(runs, function))
