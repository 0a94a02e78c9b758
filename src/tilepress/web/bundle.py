"""The static bundle ``dist/<id>/web/``: the web map as plain files for any static host.

It holds the viewer page (``index.html``, the served viewer's page with its scripts beside
it), a style whose tiles come from the map's PMTiles archive (``pmtiles://``) and whose glyphs
are the bundle's own, the archive, the glyphs, MapLibre GL JS and the PMTiles protocol with
their licences, and the PDF and PNG. Every URL in it is relative: copied alone to a host that
answers HTTP Range requests (S3, GitHub Pages, nginx, ``python -m http.server``), it shows the
same map, legend, credit and labels without any tilepress process.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tilepress.errors import TilepressError
from tilepress.files import staged_folder
from tilepress.sources.loaded import LoadedMap
from tilepress.web.pages import template, viewer_entry, viewer_html
from tilepress.web.static_files import STATIC_FILES, STATIC_FOLDER, static_files, static_version
from tilepress.web.style import GLYPHS_PATH, map_documents


class BundleError(TilepressError):
    """The static bundle cannot be written (a file it copies is missing)."""


@dataclass(frozen=True)
class BundleReport:
    """What a bundle holds: its files and their bytes."""

    folder: Path
    files: int
    bytes: int


def write_bundle(loaded: LoadedMap, map_dir: Path, out_dir: Path) -> BundleReport:
    """Write the static bundle of a built map (``map_dir``: ``dist/<id>``, with its PMTiles
    archive, PDF, PNG and glyphs) to ``out_dir``, replacing it only when complete."""
    spec = loaded.spec
    archive, pdf, png = (f"{spec.id}{suffix}" for suffix in (".pmtiles", ".pdf", ".png"))
    needed = [archive, pdf, png] + (["glyphs"] if spec.glyphs is None else [])
    missing = [name for name in needed if not (map_dir / name).exists()]
    if missing:
        raise BundleError(
            f"map {spec.id!r}: {', '.join(missing)} missing in {map_dir}",
            hint="build the map's tiles, print sheet and glyphs first (`tilepress run`)",
        )
    # Relative URLs: the page makes them absolute from its own address when it loads.
    document, style = map_documents(
        loaded, source_url=f"pmtiles://{archive}", glyphs_url=GLYPHS_PATH
    )
    links = {"pdf": pdf, "png": png, "style": "style.json", "pmtiles": archive}
    entry = viewer_entry(spec.id, document, document["attribution"])
    version = static_version(static_files())
    page = viewer_html(
        template("viewer.html"), entry, document["tilepress"], links, version, standalone=True
    )
    with staged_folder(out_dir) as staging:
        (staging / "index.html").write_text(page, encoding="utf-8")
        text = json.dumps(style, indent=2, ensure_ascii=False) + "\n"
        (staging / "style.json").write_text(text, encoding="utf-8")
        for name in (archive, pdf, png):
            _place(map_dir / name, staging / name)
        if spec.glyphs is None:
            for path in sorted((map_dir / "glyphs").rglob("*.pbf")):
                target = staging / "glyphs" / path.relative_to(map_dir / "glyphs")
                target.parent.mkdir(parents=True, exist_ok=True)
                _place(path, target)
        (staging / "static").mkdir()
        for name in STATIC_FILES:  # copies: never a link into the installed package
            shutil.copyfile(STATIC_FOLDER / name, staging / "static" / name)
    files = [path for path in out_dir.rglob("*") if path.is_file()]
    return BundleReport(out_dir, len(files), sum(path.stat().st_size for path in files))


def _place(source: Path, target: Path) -> None:
    """``target`` as a hard link to the map's file ``source`` where the file system has them
    (a copy, an upload or ``cp -r`` still sees an ordinary file; the workflow replaces its
    outputs by renaming, never in place), else as a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
