"""A full disk or an output folder that cannot be written: one line saying which file, why
and what to do; no traceback, nothing half-written, the old outputs kept, and a plain rerun
completes once the cause is gone. Real small file systems (tmpfs), mounted as root."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.conftest import REFERENCE_CONFIG
from tests.support.commands import file_digests, run_workflow, tilepress_command, tilepress_env
from tilepress.cli.commands import report_errors
from tilepress.errors import OutputWriteError, TilepressError
from tilepress.files import (
    atomic_path,
    replace_all,
    scratch_folder,
    staged_folder,
    write_bytes_atomic,
    write_json_atomic,
)

FULL = "no space left on device; free some space and run again"
LOCKED = "is not writable"


def require_mounts() -> None:
    """Skip unless this process may mount file systems (root); under CI, fail instead."""
    if os.geteuid() == 0 and shutil.which("mount"):
        return
    reason = "mounting a tmpfs needs root and mount(8)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def mount(folder: Path, options: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)


def remount(folder: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 kB tmpfs of its own."""
    require_mounts()
    folder = tmp_path / "disk"
    folder.mkdir()
    mount(folder, "size=256k")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def hidden(folder: Path) -> list[str]:
    """Temporary files and staging folders left below ``folder`` (Snakemake's own
    ``.snakemake_timestamp`` of a folder output and the pyramid cache are not ours)."""
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob(".*")
        if path.name not in {".snakemake_timestamp", ".cache"}
    )


def fill_up(disk: Path) -> None:
    """Take every free byte of ``disk``."""
    with (disk / "ballast").open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC


def test_every_writer_names_its_output_when_the_disk_is_full(small_disk: Path) -> None:
    out = small_disk / "dist"
    write_bytes_atomic(out / "old.pdf", b"the old sheet")
    (out / "glyphs").mkdir()
    (out / "glyphs" / "0-255.pbf").write_bytes(b"old glyphs")
    big = b"x" * 512 * 1024  # twice the disk
    attempts = {
        "bytes": lambda: write_bytes_atomic(out / "old.pdf", big),
        "json": lambda: write_json_atomic(out / "tiles.json", {"data": "x" * 512 * 1024}),
        "path": lambda: _write_through_atomic_path(out / "map.pmtiles", big),
        "folder": lambda: _write_through_staged_folder(out / "glyphs", big),
        "scratch": lambda: _write_through_scratch_folder(out, big),
    }
    for name, attempt in attempts.items():
        with pytest.raises(OutputWriteError) as caught:
            attempt()
        message = str(caught.value)
        assert message.endswith(FULL), (name, message)
        assert "\n" not in message
        assert caught.value.code == errno.ENOSPC
    assert "cannot write" in str(caught.value) and str(out) in str(caught.value)
    assert (out / "old.pdf").read_bytes() == b"the old sheet"
    assert (out / "glyphs" / "0-255.pbf").read_bytes() == b"old glyphs"
    assert hidden(small_disk) == []
    assert sorted(p.name for p in out.iterdir()) == ["glyphs", "old.pdf"]


def _write_through_atomic_path(target: Path, data: bytes) -> None:
    with atomic_path(target) as temporary, temporary.open("wb") as handle:
        handle.write(data)


def _write_through_staged_folder(target: Path, data: bytes) -> None:
    with staged_folder(target) as staging:
        (staging / "0-255.pbf").write_bytes(data)


def _write_through_scratch_folder(parent: Path, data: bytes) -> None:
    with scratch_folder(".parts.", parent) as folder:
        (folder / "a.part").write_bytes(data)


def test_every_writer_says_a_read_only_folder_is_not_writable(small_disk: Path) -> None:
    out = small_disk / "dist"
    write_bytes_atomic(out / "map.pdf", b"old")
    (out / "tiles").mkdir()
    (out / ".staged").write_bytes(b"new")
    remount(small_disk, "ro")  # as root, chmod 0o555 would not stop anyone
    attempts = {
        out / "map.pdf": lambda: write_bytes_atomic(out / "map.pdf", b"new"),
        out / "style.json": lambda: write_json_atomic(out / "style.json", {}),
        out / "map.mbtiles": lambda: _write_through_atomic_path(out / "map.mbtiles", b"new"),
        out / "tiles": lambda: _write_through_staged_folder(out / "tiles", b"new"),
        out: lambda: _write_through_scratch_folder(out, b"new"),
        out / "new" / "map.png": lambda: write_bytes_atomic(out / "new" / "map.png", b"new"),
        out / "map.svg": lambda: replace_all([(out / ".staged", out / "map.svg")]),
    }
    for target, attempt in attempts.items():
        with pytest.raises(OutputWriteError) as caught:
            attempt()
        assert str(caught.value) == (
            f"cannot write {target}: the folder {LOCKED} (read-only file system); "
            "pick another output_dir or fix the folder's permissions"
        )
    assert (out / "map.pdf").read_bytes() == b"old"
    remount(small_disk, "rw")
    write_bytes_atomic(out / "map.pdf", b"new")  # writable again: the same call works
    assert (out / "map.pdf").read_bytes() == b"new"


def test_a_step_into_a_read_only_folder_prints_one_line(small_disk: Path, tmp_path: Path) -> None:
    from reportlab.pdfgen.canvas import Canvas

    pdf = tmp_path / "sheet.pdf"
    canvas = Canvas(str(pdf), pagesize=(200, 100))
    canvas.drawString(10, 50, "tilepress")
    canvas.save()
    remount(small_disk, "ro")
    png = small_disk / "dist" / "sheet.png"
    result = subprocess.run(
        [*tilepress_command(), "step", "preview", str(pdf), str(png)],
        env=tilepress_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"tilepress: error: cannot write {png}: the folder {LOCKED} (read-only file "
        "system); pick another output_dir or fix the folder's permissions"
    ]


def test_report_errors_turns_a_stray_write_fault_into_one_line(small_disk: Path) -> None:
    """An OSError of a full disk raised outside files.py still reads as a sentence; any other
    OSError is a bug and keeps its traceback."""
    fill_up(small_disk)
    target = small_disk / "extra.bin"

    @click.command()
    @report_errors
    def write_plainly() -> None:
        with target.open("wb") as handle:
            handle.write(b"x" * 65536)
            handle.flush()

    @click.command()
    @report_errors
    def open_missing() -> None:
        (small_disk / "missing" / "x").read_bytes()

    result = CliRunner().invoke(write_plainly)
    assert result.exit_code == 1
    assert result.output == "tilepress: error: cannot write an output: " + FULL + "\n"

    (small_disk / "ballast").unlink()
    remount(small_disk, "ro")
    result = CliRunner().invoke(write_plainly)
    assert result.exit_code == 1
    assert result.output.startswith(f"tilepress: error: cannot write {target}: the folder")

    result = CliRunner().invoke(open_missing)
    assert isinstance(result.exception, FileNotFoundError)  # not caught: a bug to see


def test_the_error_survives_a_worker_pool() -> None:
    """Raised in a forked worker, it reaches the main process whole (pickled)."""
    import pickle

    error = OutputWriteError("dist/x/x.pmtiles", errno.ENOSPC)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert isinstance(copy, TilepressError)
    assert str(copy) == f"cannot write dist/x/x.pmtiles: {FULL}" == str(error)


@pytest.mark.e2e
def test_a_build_on_a_full_disk_stops_with_one_line_and_resumes(tmp_path: Path) -> None:
    require_mounts()
    workdir = tmp_path / "full"
    workdir.mkdir()
    mount(workdir, "size=6m")
    try:
        (workdir / "config").mkdir()
        shutil.copy(REFERENCE_CONFIG, workdir / "config" / "config.yaml")
        config = workdir / "config" / "config.yaml"
        failed = run_workflow(workdir, config)
        output = failed.stdout + failed.stderr
        assert failed.returncode != 0, output[-3000:]
        lines = [line for line in output.splitlines() if line.startswith("tilepress: error:")]
        assert lines, output[-3000:]
        assert all(line.endswith(FULL) and "cannot write dist/" in line for line in lines), lines
        assert "Traceback" not in output
        assert hidden(workdir / "dist") == []
        before = file_digests(workdir / "dist")

        remount(workdir, "size=200m")
        rerun = run_workflow(workdir, config)
        assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-3000:]
        after = file_digests(workdir / "dist")
        assert hidden(workdir / "dist") == []
        # What the failed run left was complete: the rerun's build of it is the same bytes.
        assert {name: after.get(name) for name in before} == before
        assert any(name.endswith(".pmtiles") for name in after)
    finally:
        subprocess.run(["umount", "-l", str(workdir)], check=False)
