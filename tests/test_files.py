"""Outputs written whole and swapped in as a set (``tilepress.files``): a reader polling a
target never finds it missing nor half-made, and a failure leaves the old outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tilepress import files
from tilepress.files import (
    atomic_path,
    replace_all,
    staged_folder,
    write_bytes_atomic,
    write_json_atomic,
)

FILES_PER_BUILD = 300

# A separate process (no shared interpreter lock) that, until ``stop`` exists, opens the
# target folder, reads its marker and every file through that one handle, and counts what it
# saw. A snapshot that is incomplete while its folder is still the target is a failure; one
# whose folder was swapped away meanwhile (and is being removed) is only stale.
POLLER = textwrap.dedent(
    """
    import json, os, sys
    target, stop, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seen, missing, broken, stale, snapshots = set(), 0, 0, 0, 0
    while not os.path.exists(stop):
        try:
            fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            missing += 1
            continue
        try:
            inode = os.fstat(fd).st_ino
            try:
                with open(os.open("marker", os.O_RDONLY, dir_fd=fd)) as handle:
                    build = handle.read()
                contents = set()
                for i in range(count):
                    with open(os.open(f"{i}.txt", os.O_RDONLY, dir_fd=fd)) as handle:
                        contents.add(handle.read())
                names = len(os.listdir(fd))
                complete = contents == {build} and names == count + 1
            except FileNotFoundError:
                build, complete = "?", False
            if complete:
                seen.add(build)
                snapshots += 1
                continue
            try:
                current = os.stat(target).st_ino
            except FileNotFoundError:
                missing += 1
                continue
            if current == inode:
                broken += 1
            else:
                stale += 1
        finally:
            os.close(fd)
    print(json.dumps({"seen": sorted(seen), "missing": missing, "broken": broken,
                      "stale": stale, "snapshots": snapshots}))
    """
)


def fill(folder: Path, build: str) -> None:
    """A build's folder: a marker naming it and files that all say the same."""
    for i in range(FILES_PER_BUILD):
        (folder / f"{i}.txt").write_text(build)
    (folder / "marker").write_text(build)


def leftovers(parent: Path) -> list[str]:
    """Hidden files or folders (temporaries, staging, old versions) left in ``parent``."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def poll_during_swaps(tmp_path: Path, swaps: int) -> dict[str, object]:
    target = tmp_path / "out" / "tiles"
    with staged_folder(target) as staging:
        fill(staging, "build-0")
    stop = tmp_path / "stop"
    poller = subprocess.Popen(
        [sys.executable, "-c", POLLER, str(target), str(stop), str(FILES_PER_BUILD)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.2)  # the poller is running
        for build in range(1, swaps + 1):
            with staged_folder(target) as staging:
                fill(staging, f"build-{build}")
            time.sleep(0.01)
    finally:
        stop.touch()
        output, _ = poller.communicate(timeout=60)
    assert poller.returncode == 0, output
    assert (target / "marker").read_text() == f"build-{swaps}"
    assert leftovers(target.parent) == []
    result: dict[str, object] = json.loads(output)
    return result


def test_a_folder_swap_is_never_missing_nor_half_made(tmp_path: Path) -> None:
    result = poll_during_swaps(tmp_path, swaps=20)
    assert result["missing"] == 0
    assert result["broken"] == 0
    seen = result["seen"]
    assert isinstance(seen, list) and len(seen) >= 3, result  # it watched swaps happen


def test_without_renameat2_the_swap_still_replaces_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where RENAME_EXCHANGE is missing: old folder renamed away, new one in, old removed."""
    monkeypatch.setattr(files, "_renameat2", lambda: None)
    target = tmp_path / "tiles"
    for build in ("one", "two"):
        with staged_folder(target) as staging:
            fill(staging, build)
    assert (target / "marker").read_text() == "two"
    assert {p.read_text() for p in target.iterdir()} == {"two"}
    assert leftovers(tmp_path) == []


def test_staged_folder_keeps_the_old_one_when_the_block_fails(tmp_path: Path) -> None:
    target = tmp_path / "glyphs"
    with staged_folder(target) as staging:
        fill(staging, "old")
    with pytest.raises(RuntimeError), staged_folder(target) as staging:
        fill(staging, "new")
        raise RuntimeError("the step failed")
    assert {p.read_text() for p in target.iterdir()} == {"old"}
    assert leftovers(tmp_path) == []


def test_staged_folder_swaps_in_a_folder_filled_elsewhere(tmp_path: Path) -> None:
    """As the tile build does: a scratch folder already holding the tiles becomes tiles/."""
    target = tmp_path / "tiles"
    target.mkdir()
    (target / "stale.pbf").write_bytes(b"old")
    written = tmp_path / ".tiles.abc"
    written.mkdir()
    (written / "0.pbf").write_bytes(b"new")
    with staged_folder(target, written):
        pass
    assert sorted(p.name for p in target.iterdir()) == ["0.pbf"]
    assert not written.exists()


def test_atomic_path_replaces_a_file_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "map.pmtiles"
    write_bytes_atomic(target, b"first")
    with pytest.raises(ValueError), atomic_path(target) as temporary:
        temporary.write_bytes(b"half")
        raise ValueError("encoding failed")
    assert target.read_bytes() == b"first"
    write_json_atomic(target, {"a": "ü"})
    assert json.loads(target.read_text()) == {"a": "ü"}
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert leftovers(target.parent) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_replace_all_swaps_files_and_folders_together(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    (out / "map.mbtiles").write_bytes(b"old archive")
    (out / "tiles").mkdir()
    (out / "tiles" / "old.pbf").write_bytes(b"old")
    (out / "was-a-file").write_bytes(b"file")
    (out / "was-a-folder").mkdir()
    staged = {name: out / f".{name}.new" for name in ("mbtiles", "tiles", "report", "a", "b")}
    staged["mbtiles"].write_bytes(b"new archive")
    staged["tiles"].mkdir()
    (staged["tiles"] / "new.pbf").write_bytes(b"new")
    staged["report"].write_text("{}")
    staged["a"].mkdir()
    staged["b"].write_bytes(b"now a file")
    replace_all(
        [
            (staged["mbtiles"], out / "map.mbtiles"),
            (staged["tiles"], out / "tiles"),
            (staged["report"], out / "report.json"),  # no old version
            (staged["a"], out / "was-a-file"),
            (staged["b"], out / "was-a-folder"),
        ]
    )
    assert (out / "map.mbtiles").read_bytes() == b"new archive"
    assert sorted(p.name for p in (out / "tiles").iterdir()) == ["new.pbf"]
    assert (out / "report.json").read_text() == "{}"
    assert (out / "was-a-file").is_dir()
    assert (out / "was-a-folder").read_bytes() == b"now a file"
    assert leftovers(out) == []


def test_replace_all_checks_everything_before_the_first_rename(tmp_path: Path) -> None:
    (tmp_path / "map.mbtiles").write_bytes(b"old archive")
    (tmp_path / "tiles").mkdir()
    new_archive = tmp_path / ".map.mbtiles.new"
    new_archive.write_bytes(b"new archive")
    with pytest.raises(FileNotFoundError):
        replace_all(
            [(new_archive, tmp_path / "map.mbtiles"), (tmp_path / ".gone", tmp_path / "tiles")]
        )
    assert (tmp_path / "map.mbtiles").read_bytes() == b"old archive"
    assert new_archive.read_bytes() == b"new archive"  # still the caller's to place or drop
    with pytest.raises(ValueError, match="twice"):
        replace_all([(new_archive, tmp_path / "x"), (new_archive, tmp_path / "x")])
