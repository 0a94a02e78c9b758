"""The ``tilepress`` command line: the shared core's entry point.

- :mod:`~tilepress.cli.commands`: ``run`` (the Snakemake workflow), ``serve``, ``check-config``;
- :mod:`~tilepress.cli.steps`: ``tilepress step ...``, one command per workflow step, which the
  Snakemake rules (``workflow/rules/*.smk``) call;
- :mod:`~tilepress.cli.lifecycle`: how a step's process runs and ends.

Each command imports the stage it runs only when it runs, so ``tilepress --help`` and every
step start quickly.
"""

from __future__ import annotations

from tilepress.cli import steps as _steps  # registers `tilepress step ...` on `main`
from tilepress.cli.commands import main
from tilepress.cli.lifecycle import FINISHED_STEPS, end_now

__all__ = ["console_script", "main"]
del _steps


def console_script() -> None:
    """The ``tilepress`` command: :func:`main`; after a step that succeeded, the
    process ends as soon as its output is flushed and its workers are gone, without freeing
    its objects one by one (30 ms of a two-second tiles step, for nothing)."""
    try:
        main()
    except SystemExit as done:
        if done.code in (None, 0) and FINISHED_STEPS:
            end_now()
        raise
