"""A helper thread for large GEOS, PROJ, numpy and zlib calls, which release the GIL: such a
call split in two runs on both cores of a two-core machine (the steps' first, single-process
phase), and costs next to nothing where no second core is free."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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


def vertex_halves(geometries: Geometries) -> int | None:
    """Where to split ``geometries`` into two runs of about equal vertex counts, or None when
    they hold too few vertices for a split to pay (or this is the helper thread, which must
    not wait for itself)."""
    return ring_halves(shapely.get_num_coordinates(geometries))


def ring_halves(sizes: NDArray[np.integer]) -> int | None:
    """:func:`vertex_halves` of items with ``sizes`` vertices each (rings, geometries)."""
    if threading.current_thread().name.startswith(_HELPER_NAME):
        return None
    total = int(sizes.sum())
    if total < 2 * PARALLEL_MIN or len(sizes) < 2:
        return None
    half = int(np.searchsorted(np.cumsum(sizes), total / 2))
    return min(max(half, 1), len(sizes) - 1)


def on_each(items: Sequence[Any], function: Callable[..., T], *arguments: Any) -> list[T]:
    """``function(item, *arguments)`` of each of one or two items, the first of two in the
    helper thread."""
    if len(items) == 1:
        return [function(items[0], *arguments)]
    first = helper_thread().submit(function, items[0], *arguments)
    second = function(items[1], *arguments)
    return [first.result(), second]


def _concatenated(first: Geometries, second: Geometries) -> Geometries:
    return np.concatenate([first, second])


def map_in_halves(
    function: Callable[[Geometries], T],
    geometries: Geometries,
    join: Callable[[T, T], T] = _concatenated,  # type: ignore[assignment]
) -> T:
    """``function`` of an array of geometries (each computed on its own) over two halves,
    the first in the helper thread, the results joined: the same as one call. By default
    the results are arrays with one entry per geometry."""
    half = vertex_halves(geometries)
    if half is None:
        return function(geometries)
    first, second = on_each([geometries[:half], geometries[half:]], function)
    return join(first, second)
