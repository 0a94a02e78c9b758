"""One `tilepress run` per working folder, and the stale lock of a killed run cleared.

Snakemake marks a running workflow with files in ``.snakemake/locks/``; a run that is killed
(SIGKILL, a lost terminal, an out-of-memory kill) leaves them behind, and every later run
stops until someone runs ``snakemake --unlock``. `tilepress run` holds an OS lock
(``fcntl.flock``) on ``.snakemake/tilepress-run.lock`` for its whole life, with its pid, start
time and command written in it. The kernel drops that lock when the process ends, however it
ends, so a run that gets the lock knows no other `tilepress run` is alive here and may clear
Snakemake's lock files, unless a Snakemake started directly is running (below).

What is detected: a live `tilepress run` in the same folder (by the flock, reliably, also for
another user's run); a live Snakemake started directly (``snakemake ...``, ``python -m
snakemake ...``) whose working folder is this one, and a still running ``tilepress step`` of
a killed run, found by reading ``/proc/<pid>/cmdline`` and ``/proc/<pid>/cwd`` (Snakemake
changes into its ``--directory``). What is not: processes of other users (their ``cwd`` is
unreadable), in other PID namespaces (containers) or on other machines sharing the folder
(NFS, a cluster's nodes; the Snakemake of a Slurm run lives on the node that started it), and
systems without ``/proc``: build a folder shared that way from one place only.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tilepress.errors import RunError

log = logging.getLogger("tilepress")
LOCK_FILE = Path(".snakemake") / "tilepress-run.lock"
SNAKEMAKE_LOCKS = Path(".snakemake") / "locks"


@dataclass(frozen=True)
class Holder:
    """What the running `tilepress run` wrote in its lock file."""

    pid: int | None
    started: str | None
    command: str | None


def _read_holder(fd: int) -> Holder:
    """The holder's record; it writes it just after taking the lock, so wait a moment for it."""
    for _ in range(20):
        text = os.pread(fd, 65536, 0).decode("utf-8", "replace")
        try:
            data = json.loads(text)
        except ValueError:
            time.sleep(0.05)
            continue
        if isinstance(data, dict):
            pid = data.get("pid")
            return Holder(
                pid if isinstance(pid, int) else None,
                str(data.get("started")),
                str(data.get("command")),
            )
    return Holder(None, None, None)


@contextmanager
def run_lock(workdir: Path, command: list[str]) -> Iterator[None]:
    """Hold this folder's run lock while the body runs; raises RunError, touching nothing,
    when another `tilepress run` holds it."""
    path = workdir / LOCK_FILE
    path.parent.mkdir(exist_ok=True)
    # os.open's descriptors are not inherited (PEP 446): the jobs never hold the lock, so it
    # goes when this process does.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            pid = holder.pid if holder.pid is not None else "unknown"
            raise RunError(
                f"another `tilepress run` is running in {workdir} "
                f"(pid {pid}, since {holder.started or 'an unknown time'}: {holder.command})",
                hint="wait for it to finish, or stop it (Ctrl-C in its terminal, "
                f"or `kill {pid}`) and run again",
            ) from None
        record = {
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "command": " ".join(command),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        yield
    finally:
        os.close(fd)  # the record stays: a reader without the lock knows it is stale


def _command_line(pid: str) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _is_workflow_process(argv: list[str]) -> bool:
    """Snakemake itself, or a step of tilepress's workflow (not `tilepress run`: its own lock
    covers it, nor `tilepress serve`, which writes nothing)."""
    names = [Path(part).name for part in argv[:3]]
    if "snakemake" in names or any(
        a == "-m" and b == "snakemake" for a, b in itertools.pairwise(argv)
    ):
        return True
    tilepress = "tilepress" in names[:2] or "tilepress.cli" in argv[:3]
    return tilepress and "step" in argv


def workflow_processes(workdir: Path) -> list[tuple[int, str]]:
    """Other live Snakemake or step processes whose working folder is ``workdir`` (pid and
    command), as far as ``/proc`` shows them (see the module)."""
    found = []
    target = workdir.resolve()
    own = os.getpid()
    try:
        entries = [path.name for path in Path("/proc").iterdir()]
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit() or int(entry) == own:
            continue
        try:
            cwd = Path(f"/proc/{entry}/cwd").readlink()
        except OSError:
            continue  # ended meanwhile, or another user's
        if cwd != target:
            continue
        argv = _command_line(entry)
        if _is_workflow_process(argv):
            found.append((int(entry), " ".join(argv)))
    return found


def clear_stale_snakemake_lock(workdir: Path) -> bool:
    """Remove Snakemake's lock files when no run that could own them is alive; call it only
    while holding :func:`run_lock`. Raises RunError when a Snakemake or a step is running
    here. Returns whether there was a lock to clear."""
    locks = workdir / SNAKEMAKE_LOCKS
    if not locks.is_dir() or not any(locks.iterdir()):
        return False
    alive = workflow_processes(workdir)
    if alive:
        pid, command = alive[0]
        raise RunError(
            f"a Snakemake run holds the lock of {workdir} (pid {pid}: {command})",
            hint="wait for it to finish; if it is a leftover of a killed run, stop it "
            f"(`kill {pid}`) and run again",
        )
    shutil.rmtree(locks)
    log.info(
        "cleared Snakemake's stale lock (%s) left by a run that was killed; resuming",
        SNAKEMAKE_LOCKS,
    )
    return True
