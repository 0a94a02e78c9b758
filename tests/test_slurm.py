"""The reference workflow on a real one-node Slurm cluster, started here, through Snakemake's
Slurm executor and profiles/slurm: every job runs under Slurm and every output equals the
local run's byte for byte.

Needs root and Debian's `slurm-wlm` and `munge` (and snakemake-executor-plugin-slurm). It is
skipped without them, except in CI (CI=true), where their absence fails the test.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REFERENCE_CONFIG, REFERENCE_ID, REPO
from tests.support.commands import file_digests, run_workflow

pytestmark = pytest.mark.e2e

SLURM_CONF = Path("/etc/slurm/slurm.conf")  # the default path: jobs see no SLURM_CONF variable
MARKER = "# tilepress test cluster (tests/test_slurm.py)"
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol")


def _missing() -> str | None:
    """Why a cluster cannot be started here, or None."""
    if os.geteuid() != 0:
        return "starting munged, slurmctld and slurmd needs root"
    absent = [tool for tool in DAEMONS if _which(tool) is None]
    if absent:
        return f"{', '.join(absent)} not installed (apt-get install slurm-wlm munge)"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed"
    if SLURM_CONF.exists() and MARKER not in SLURM_CONF.read_text():
        return f"{SLURM_CONF} belongs to another cluster; not touching it"
    return None


def _which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")


def _slurm_conf() -> str:
    """One node with every core and most of the memory, one partition, no accounting."""
    host = socket.gethostname().split(".")[0]
    with Path("/proc/meminfo").open() as meminfo:
        total_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    return f"""{MARKER}
ClusterName=tilepress
SlurmctldHost={host}
NodeName={host} CPUs={os.cpu_count()} RealMemory={total_kb * 8 // 10 // 1024} State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/pgid
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
"""


def _ok(*command: str) -> bool:
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
    return result.returncode == 0


def _wait(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"Slurm test cluster: {what} did not happen in {timeout:.0f} s")
        time.sleep(0.5)


def _node_idle() -> bool:
    result = subprocess.run(
        ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, check=False, timeout=30
    )
    return result.returncode == 0 and result.stdout.strip() in ("idle", "mixed")


@pytest.fixture(scope="module")
def slurm_cluster() -> Iterator[None]:
    """A one-node Slurm cluster on this machine; daemons started here are stopped after."""
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the Slurm test: {reason}")
        pytest.skip(reason)
    started: list[subprocess.Popen[bytes]] = []
    wrote_conf = False
    try:
        if not _ok("munge", "-n"):
            key = Path("/etc/munge/munge.key")
            if not key.exists():
                subprocess.run([_which("mungekey"), "--create"], check=True)
            shutil.chown(key, "munge", "munge")
            Path("/run/munge").mkdir(exist_ok=True)
            shutil.chown("/run/munge", "munge", "munge")
            started.append(
                subprocess.Popen(
                    [
                        *("setpriv", "--reuid=munge", "--regid=munge", "--init-groups"),
                        *(_which("munged") or "munged", "--foreground", "--force"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,  # out of reach of signals to this process group
                )
            )
            _wait("munged answering", lambda: _ok("munge", "-n"))
        if not _ok("scontrol", "ping") or not _node_idle():
            SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
            wrote_conf = not SLURM_CONF.exists()
            SLURM_CONF.write_text(_slurm_conf())
            for folder in ("/var/spool/slurmctld", "/var/spool/slurmd", "/var/log/slurm"):
                Path(folder).mkdir(parents=True, exist_ok=True)
            for daemon in ("slurmctld", "slurmd"):
                if not _ok("pgrep", "-x", daemon):
                    started.append(
                        subprocess.Popen(
                            [_which(daemon) or daemon, "-D"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True,
                        )
                    )
            _wait("the node becoming idle", _node_idle)
        yield
    finally:
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if wrote_conf:  # with a slurm.conf but no slurmctld, every Slurm command (and so
            SLURM_CONF.unlink()  # every Snakemake start, via the plugin) waits for a timeout


def test_reference_workflow_on_slurm_equals_the_local_run(
    slurm_cluster: None, reference_build: Path, tmp_path: Path
) -> None:
    (tmp_path / "config").mkdir()
    shutil.copy(REFERENCE_CONFIG, tmp_path / "config" / "config.yaml")
    started = time.monotonic()
    result = run_workflow(
        tmp_path,
        tmp_path / "config" / "config.yaml",
        "--",
        "--executor",
        "slurm",
        "--profile",
        str(REPO / "profiles" / "slurm"),
        "--slurm-status-command",
        "squeue",
        "--slurm-no-account",
        cores=None,
        timeout=600,
    )
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-4000:]
    print(f"\nSlurm run: {seconds:.1f} s")  # shown with pytest -s
    # Snakemake submitted every job through sbatch ...
    submitted = set(re.findall(r"submitted with SLURM jobid (\d+)", result.stderr))
    jobs = re.findall(r"^(?:local)?rule (\w+):", result.stderr, flags=re.MULTILINE)
    assert "localrule" not in result.stderr.replace("localrule all:", "")
    assert len(submitted) == len(jobs) - 1 >= 7, (submitted, jobs)  # all but `all`
    # ... and every step ran inside one of those Slurm jobs (its log says which).
    logs = sorted((tmp_path / "logs").rglob("*.log"))
    assert len(logs) == len(submitted), logs
    for log in logs:
        found = re.search(r"Slurm job (\d+)", log.read_text())
        assert found is not None and found.group(1) in submitted, (log, log.read_text()[-500:])
    assert file_digests(tmp_path / "dist") == file_digests(reference_build / "dist")
    assert (tmp_path / "dist" / REFERENCE_ID / f"{REFERENCE_ID}.pmtiles").is_file()
