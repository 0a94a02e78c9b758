"""Vendor the viewer's browser files from the npm registry, reproducibly.

    python src/tilepress/web/static/vendor.py            # check: re-fetch, compare, change nothing
    python src/tilepress/web/static/vendor.py --write    # write the files of vendored.json
    python src/tilepress/web/static/vendor.py --write maplibre-gl@6.21.0   # move a package on

Each package's tarball comes from ``npm pack`` (the registry's own file), is checked against
the SHA-256 pinned in ``vendored.json``, and the listed files are copied out unchanged; their
SHA-256 are pinned too, and ``tests/web/test_static_files.py`` checks them. Moving a package
to another version rewrites its pins in ``vendored.json``: review the diff, run the viewer
tests, commit. Needs Node.js's ``npm`` on PATH and the network; tilepress itself never runs
this (it is not imported by the package, and the wheel leaves it out).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "vendored.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(package: str, version: str, folder: Path) -> Path:
    """The package's npm tarball, fetched with ``npm pack`` into ``folder``."""
    result = subprocess.run(
        ["npm", "pack", f"{package}@{version}", "--silent", "--pack-destination", str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    return folder / result.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write the files (else check)")
    parser.add_argument("moves", nargs="*", help="PACKAGE@VERSION to move to (with --write)")
    args = parser.parse_args()
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    moves = dict(move.rsplit("@", 1) for move in args.moves)
    if moves and not args.write:
        parser.error("moving a package needs --write")
    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        for package, entry in manifest["packages"].items():
            moved = package in moves and moves[package] != entry["version"]
            version = moves.get(package, entry["version"])
            tarball = fetch(package, version, Path(scratch))
            digest = sha256(tarball.read_bytes())
            if moved:
                entry["version"], entry["tarball_sha256"] = version, digest
            elif digest != entry["tarball_sha256"]:
                problems.append(
                    f"{package}@{version}: tarball {digest}, pinned {entry['tarball_sha256']}"
                )
                continue
            with tarfile.open(tarball) as archive:
                for target, source in entry["files"].items():
                    member = archive.extractfile(f"package/{source['from']}")
                    if member is None:
                        problems.append(f"{package}@{version}: no file {source['from']}")
                        continue
                    data = member.read()
                    if moved:
                        source["sha256"] = sha256(data)
                    elif sha256(data) != source["sha256"]:
                        problems.append(f"{package}@{version}: {source['from']} changed")
                        continue
                    path = HERE / target
                    if args.write:
                        path.write_bytes(data)
                    elif not path.is_file() or sha256(path.read_bytes()) != source["sha256"]:
                        problems.append(f"{target} differs from {package}@{version}'s file")
    if args.write and moves:
        MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for problem in problems:
        print(f"vendor: {problem}", file=sys.stderr)
    if not problems:
        print("vendor: " + ", ".join(f"{p}@{e['version']}" for p, e in manifest["packages"].items())
              + (" written" if args.write else " match the registry"))  # fmt: skip
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
