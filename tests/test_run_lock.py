"""`tilepress run`: one run per folder, a killed run's stale lock cleared, a missing config
explained (tilepress.cli.run_lock, tilepress.cli.commands.run)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import REFERENCE_CONFIG
from tests.support.commands import file_digests, run_workflow, tilepress_command, tilepress_env
from tilepress.cli.commands import main
from tilepress.cli.run_lock import clear_stale_snakemake_lock, run_lock
from tilepress.errors import RunError


def _workdir(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    shutil.copy(REFERENCE_CONFIG, tmp_path / "config" / "config.yaml")
    return tmp_path


@contextmanager
def _started_run(workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A plain `tilepress run` in ``workdir``, in its own process group (killed at the end)."""
    run = subprocess.Popen(
        [*tilepress_command(), "run", "--cores", "2"],
        cwd=workdir,
        env=tilepress_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: a kill takes its jobs too
    )
    try:
        yield run
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=60)


def _wait_for(condition: Callable[[], bool], run: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 300
    while not condition():
        assert run.poll() is None, f"the run ended ({run.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _entries(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def _outputs_done(workdir: Path) -> dict[str, int]:
    """Outputs Snakemake recorded as finished (metadata, no incomplete marker): their mtimes."""
    state = workdir / ".snakemake"
    incomplete = {path.name for path in _entries(state / "incomplete")}
    done = {}
    for record in _entries(state / "metadata"):
        if record.name in incomplete:
            continue
        output = workdir / base64.urlsafe_b64decode(record.name).decode()
        if output.is_file():
            done[str(output)] = output.stat().st_mtime_ns
    return done


@pytest.mark.e2e
def test_a_run_killed_mid_way_resumes_by_itself(reference_build: Path, tmp_path: Path) -> None:
    workdir = _workdir(tmp_path)
    state = workdir / ".snakemake"
    with _started_run(workdir) as run:
        # One job finished (its metadata written) and another running (marked incomplete).
        _wait_for(
            lambda: bool(_outputs_done(workdir)) and bool(_entries(state / "incomplete")),
            run,
            "a finished job and a running one",
        )
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=60)
    assert _entries(state / "locks"), "the killed run left no Snakemake lock to clear"
    finished = _outputs_done(workdir)
    assert finished

    result = run_workflow(workdir, workdir / "config" / "config.yaml")

    assert result.returncode == 0, result.stderr[-3000:]
    assert "cleared Snakemake's stale lock" in result.stderr
    assert "--unlock" not in result.stderr
    assert not _entries(state / "locks")
    # Finished jobs are kept, not redone; everything else is built as a clean run builds it.
    assert {path: Path(path).stat().st_mtime_ns for path in finished} == finished
    assert file_digests(workdir / "dist") == file_digests(reference_build / "dist")


@pytest.mark.e2e
def test_a_second_run_in_the_same_folder_stops_and_names_the_first(tmp_path: Path) -> None:
    workdir = _workdir(tmp_path)
    lock_file = workdir / ".snakemake" / "tilepress-run.lock"
    with _started_run(workdir) as first:

        def holding() -> bool:
            try:
                return json.loads(lock_file.read_text())["pid"] == first.pid
            except (OSError, ValueError, KeyError):
                return False

        _wait_for(holding, first, "the first run's lock")
        _wait_for(lambda: bool(_entries(workdir / ".snakemake" / "locks")), first, "its DAG")
        before = {path: path.stat().st_mtime_ns for path in workdir.rglob("*") if path.is_file()}
        record = lock_file.read_text()

        second = run_workflow(workdir, workdir / "config" / "config.yaml", timeout=120)

        assert second.returncode == 1, second.stderr[-3000:]
        message = second.stderr
        assert f"another `tilepress run` is running in {workdir}" in message
        assert f"pid {first.pid}, since {json.loads(record)['started']}" in message
        assert "Snakemake" not in message  # it stopped before Snakemake started
        assert lock_file.read_text() == record
        assert all(path.exists() for path in before if "locks" in path.parts)
        assert first.wait(timeout=600) == 0
    assert (workdir / "dist" / "ukraine-russia-north-korea" / "tiles-report.json").is_file()


def test_a_stale_snakemake_lock_is_cleared_only_without_a_live_snakemake(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.output.lock").write_text("dist/x\n")
    # A Snakemake started directly, working in this folder: its lock is never removed.
    snakemake = subprocess.Popen(["bash", "-c", "exec -a snakemake sleep 60"], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{snakemake.pid}/cmdline").read_bytes().split(b"\0")[0] != b"snakemake":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with run_lock(tmp_path, ["tilepress", "run"]), pytest.raises(RunError) as refused:
            clear_stale_snakemake_lock(tmp_path)
        assert f"a Snakemake run holds the lock of {tmp_path} (pid {snakemake.pid}" in str(
            refused.value
        )
        assert (locks / "0.output.lock").is_file()
    finally:
        snakemake.kill()
        snakemake.wait()
    with caplog.at_level("INFO", logger="tilepress"), run_lock(tmp_path, ["tilepress", "run"]):
        assert clear_stale_snakemake_lock(tmp_path)
    assert not locks.exists()
    assert "cleared Snakemake's stale lock (.snakemake/locks)" in caplog.text
    assert not clear_stale_snakemake_lock(tmp_path)  # nothing left to clear


def test_the_run_lock_is_held_for_the_run_and_released_after(tmp_path: Path) -> None:
    with run_lock(tmp_path, ["tilepress", "run", "-j", "2"]):
        record = json.loads((tmp_path / ".snakemake" / "tilepress-run.lock").read_text())
        assert record["pid"] == os.getpid()
        assert record["command"] == "tilepress run -j 2"
        with pytest.raises(RunError) as refused, run_lock(tmp_path, ["tilepress", "run"]):
            pass
        assert f"pid {os.getpid()}, since {record['started']}: tilepress run -j 2" in str(
            refused.value
        )
    with run_lock(tmp_path, ["tilepress", "run"]):
        pass  # released when the first run ended


def test_run_without_a_config_says_how_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 1
    assert "config/config.yaml: no such file" in result.stderr
    assert "run `tilepress init`" in result.stderr
    assert "pass `-c FILE`" in result.stderr
    assert not (tmp_path / ".snakemake").exists()


def test_the_country_look_up_is_made_once_per_change(tmp_path: Path) -> None:
    from tilepress.cli import checked_config
    from tilepress.errors import ConfigError

    workdir = _workdir(tmp_path)
    config = workdir / "config" / "config.yaml"
    checked_config._CHECKED.clear()
    _project, _warnings, made = checked_config.load_file(config, workdir)
    assert made is not None  # looked up: nothing known yet
    checked_config.record(made, workdir)
    checked_config._CHECKED.clear()  # as a new process: only the record on disk
    assert checked_config.load_file(config, workdir)[2] is None  # known: not looked up
    # A changed highlight is looked up again, and a wrong country still reported.
    config.write_text(REFERENCE_CONFIG.read_text().replace("[UKR]", "[Ukrane]"))
    with pytest.raises(ConfigError, match="did you mean Ukraine"):
        checked_config.load_file(config, workdir)
