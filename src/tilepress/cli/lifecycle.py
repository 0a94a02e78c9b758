"""How a workflow step's process lives and ends: without the cyclic garbage collector while
it works, and, once it succeeded, without freeing its objects one by one."""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import NoReturn

import click

FINISHED_STEPS: list[str] = []  # steps of this process that completed


@contextmanager
def without_cycle_collector() -> Iterator[None]:
    """A workflow step: the cyclic garbage collector is off while it runs, in the process
    and the workers it forks. tilepress makes no reference cycles, but its many short-lived
    objects (geometries, features, tiles) trigger collections that rescan every long-lived
    object: about a tenth of a tiles step, 40 ms of a print step. Through ``atexit``, the
    interpreter then also skips collecting every object when it ends; run from the console
    script (:func:`tilepress.cli.console_script`), a step that succeeded does not even free them."""
    _freeze_objects_at_exit()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        FINISHED_STEPS.append(click.get_current_context().info_name or "step")
    finally:
        if enabled:
            gc.enable()


def end_now() -> NoReturn:
    """Flush the log and the standard streams, wait for child processes, end at once."""
    import multiprocessing

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    for child in multiprocessing.active_children():  # workers still ending
        child.join()
    os._exit(0)


@lru_cache(maxsize=1)
def _freeze_objects_at_exit() -> None:
    atexit.register(gc.freeze)
