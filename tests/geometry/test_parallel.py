"""The helper thread: a large call split in runs, shared between two threads, in order."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
import shapely

from tilepress.geometry import parallel
from tilepress.geometry.parallel import helper_thread, map_in_pieces, on_each


def circles(count: int, vertices: int) -> np.ndarray:
    """``count`` polygons of ``vertices`` vertices each, three units apart."""
    angles = np.linspace(0.0, 2.0 * np.pi, vertices, endpoint=False)
    ring = np.column_stack([np.cos(angles), np.sin(angles)])
    polygons: np.ndarray = shapely.polygons([ring + np.array([3.0 * i, 0.0]) for i in range(count)])
    return polygons


def test_pieces_give_what_one_call_gives_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 1_000)
    geometries = circles(40, 200)  # 8,000 vertices: eight runs of five
    threads: list[str] = []
    both_started = threading.Barrier(2, timeout=10)  # each thread's first run waits for the other

    def areas(run: np.ndarray) -> np.ndarray:
        name = threading.current_thread().name
        if name not in threads:
            both_started.wait()
        threads.append(name)
        if run[0] is geometries[0]:
            time.sleep(0.2)  # a slow first run: the other thread takes all the rest
        result: np.ndarray = shapely.area(run) + shapely.bounds(run)[:, 0]
        return result

    split = map_in_pieces(areas, geometries)
    assert np.array_equal(split, shapely.area(geometries) + shapely.bounds(geometries)[:, 0])
    assert len(threads) == parallel.PIECES
    assert threads.count(threading.current_thread().name) == parallel.PIECES - 1
    # Small calls, and calls from the helper thread itself, run in one piece.
    assert len(map_in_pieces(areas, geometries[:4])) == 4
    assert len(threads) == parallel.PIECES + 1
    inside = helper_thread().submit(map_in_pieces, areas, geometries).result(timeout=10)
    assert np.array_equal(inside, split)
    assert len(threads) == parallel.PIECES + 2


def test_an_error_in_either_thread_reaches_the_caller() -> None:
    def fail_on(bad: int) -> Callable[[int], int]:
        def work(item: int) -> int:
            if item == bad:
                raise ValueError(f"item {item}")
            return item * 2

        return work

    assert on_each([1, 2, 3, 4], fail_on(-1)) == [2, 4, 6, 8]
    for bad in (1, 4):  # the first is the helper's, the last this thread's
        with pytest.raises(ValueError, match=f"item {bad}"):
            on_each([1, 2, 3, 4], fail_on(bad))
    # The helper thread is free again afterwards.
    assert helper_thread().submit(lambda: 5).result(timeout=5) == 5


def test_a_forked_child_gets_a_helper_thread_of_its_own() -> None:
    """The parent's helper thread is running when a tile build forks its workers; a child
    that splits a call must not wait for a thread it did not inherit."""
    assert helper_thread().submit(lambda: 1).result(timeout=5) == 1  # running here
    pid = os.fork()
    if pid == 0:  # the child: on_each waits for its helper's share of the items
        status = 1
        try:
            status = (
                0 if on_each(list(range(8)), lambda item: item * 3) == list(range(0, 24, 3)) else 2
            )
        finally:
            os._exit(status)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0, "wrong results in the child"
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("a task given to the helper thread in a forked child never ran")
