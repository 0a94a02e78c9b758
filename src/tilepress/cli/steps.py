"""``tilepress step ...``: one command per workflow step; the Snakemake rules call these, and
each builds the outputs of one map (or one source's generalized geometry)."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from tilepress.cli.commands import main, report_errors
from tilepress.cli.lifecycle import without_cycle_collector
from tilepress.config.model import map_from_dict
from tilepress.errors import ConfigError, TilepressError

if TYPE_CHECKING:
    from tilepress.printing.sheet import PrintReport

log = logging.getLogger("tilepress")
spec_option = click.option(
    "--spec",
    "spec_json",
    required=True,
    help="The map's resolved specification as JSON (from the workflow).",
)


source_option = click.option(
    "--source",
    "source_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Source file to read (default: the map's).",
)


@main.group(hidden=False)
def step() -> None:
    """Single workflow steps (the Snakemake rules call these)."""
    # A step is a short process that never uses pandas, which pyogrio imports eagerly when it
    # is installed (a quarter of a second per step): a None entry makes that import fail fast.
    if "pandas" not in sys.modules and "pyogrio" not in sys.modules:
        sys.modules["pandas"] = None  # type: ignore[assignment]
    # Nor any linear algebra: without this, importing numpy starts an OpenBLAS thread per core
    # that spins for a tenth of a second of CPU, taken from the step's own work.
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if "SLURM_JOB_ID" in os.environ:  # the rule's log then shows where the job ran
        log.info(
            "Slurm job %s on %s",
            os.environ["SLURM_JOB_ID"],
            os.environ.get("SLURMD_NODENAME", "?"),
        )


def _spec(spec_json: str) -> Any:
    try:
        return map_from_dict(json.loads(spec_json))
    except (ValueError, TypeError, KeyError) as error:
        raise ConfigError([f"--spec is not a map specification: {error}"]) from None


def _load_map(spec_json: str, source_path: Path | None, *, overlays: bool = False) -> Any:
    """The map of ``--spec`` with its source read (:func:`tilepress.sources.loaded.load_map`):
    read by a forked process while this one imports the tiling modules and their libraries.
    Its overlay files are read only for a step that draws them (``overlays``): the others use
    their settings alone, and their rules do not wait for a fetched overlay file."""
    from tilepress.sources.files import ReadAhead, SourceFile, map_fields

    spec = _spec(spec_json)
    read_ahead = ReadAhead.start(SourceFile.of(spec.source, source_path, map_fields(spec.source)))
    from tilepress.sources.loaded import load_map

    return load_map(spec, source_path, read_ahead=read_ahead, overlays=overlays)


@step.command("generalize")
@click.option(
    "--source-spec",
    "source_json",
    required=True,
    help="The source's settings as JSON (from the workflow).",
)
@source_option
@click.option("--zooms", required=True, help="Zoom range, e.g. 0-6.")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 256))
@report_errors
def step_generalize(
    source_json: str, source_path: Path | None, zooms: str, out_path: Path, threads: int
) -> None:
    """Generalized geometry per zoom (depends only on the source and the zoom range)."""
    from tilepress.config.model import SourceSpec

    try:
        low, high = (int(part) for part in zooms.split("-"))
        source = SourceSpec(**json.loads(source_json))
    except (ValueError, TypeError) as error:
        raise ConfigError([f"bad --source-spec or --zooms: {error}"]) from None
    with without_cycle_collector():
        from tilepress.tiles.build import build_pyramid

        build_pyramid(source, range(low, high + 1), out_path, source_path, workers=threads)


@step.command("tiles")
@spec_option
@source_option
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 256))
@click.option(
    "--generalized",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Output of `step generalize` (else the geometry is generalized here).",
)
@report_errors
def step_tiles(
    spec_json: str,
    source_path: Path | None,
    out_dir: Path,
    threads: int,
    generalized: Path | None,
) -> None:
    """Vector tiles: z/x/y folder, MBTiles, PMTiles and a report."""
    with without_cycle_collector():
        loaded = _load_map(spec_json, source_path, overlays=True)
        from tilepress.tiles.build import build_tiles

        build_tiles(loaded, out_dir, workers=threads, pyramid=generalized)


@step.command("tile-part")
@spec_option
@source_option
@click.option(
    "--generalized",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Output of `step generalize` for the map's source and zooms.",
)
@click.option("--shard", "shard_name", required=True, help="Shard name, e.g. z0-5 or z8_3of16.")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@report_errors
def step_tile_part(
    spec_json: str, source_path: Path | None, generalized: Path, shard_name: str, out_path: Path
) -> None:
    """One shard of a map's tiles into a part file (written whole or not at all)."""
    from tilepress.tiles.shards import parse_shard

    shard = parse_shard(shard_name)
    with without_cycle_collector():
        loaded = _load_map(spec_json, source_path, overlays=True)
        from tilepress.tiles.build import build_part

        build_part(loaded, generalized, shard, out_path)


@step.command("merge-tiles")
@spec_option
@source_option
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.argument("parts", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@report_errors
def step_merge_tiles(
    spec_json: str, source_path: Path | None, out_dir: Path, parts: tuple[Path, ...]
) -> None:
    """Merge a map's part files: z/x/y folder, MBTiles, PMTiles and the report."""
    with without_cycle_collector():
        loaded = _load_map(spec_json, source_path)
        from tilepress.tiles.build import merge_tiles

        merge_tiles(loaded, list(parts), out_dir)


@step.command("style")
@spec_option
@source_option
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@report_errors
def step_style(spec_json: str, source_path: Path | None, out_dir: Path) -> None:
    """TileJSON and MapLibre style."""
    loaded = _load_map(spec_json, source_path)
    from tilepress.web.style import build_style

    build_style(loaded, out_dir)


@step.command("glyphs")
@spec_option
@source_option
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@report_errors
def step_glyphs(spec_json: str, source_path: Path | None, out_dir: Path) -> None:
    """SDF glyphs of the map's label fonts, every range as a PBF, for MapLibre."""
    loaded = _load_map(spec_json, source_path)
    from tilepress.web.glyphs import build_map_glyphs

    report = build_map_glyphs(loaded, out_dir)
    log.info("%s: %s", out_dir, report.to_dict())


@step.command("bundle")
@spec_option
@source_option
@click.option(
    "--map-dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The map's output folder (its PMTiles archive, PDF, PNG and glyphs).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@report_errors
def step_bundle(spec_json: str, source_path: Path | None, map_dir: Path, out_dir: Path) -> None:
    """The static web bundle: the viewer page and everything it loads, for any static host."""
    loaded = _load_map(spec_json, source_path)
    from tilepress.web.bundle import write_bundle

    report = write_bundle(loaded, map_dir, out_dir)
    log.info("%s: %d files, %.2f MB", report.folder, report.files, report.bytes / 1e6)


@step.command("print")
@spec_option
@source_option
@click.option("--out", "out_pdf", required=True, type=click.Path(path_type=Path))
@click.option(
    "--mode",
    type=click.Choice(["rgb", "cmyk"]),
    default="rgb",
    show_default=True,
    help="rgb: the screen PDF; cmyk: the print variant (CMYK only, crop marks and bleed).",
)
@click.option(
    "--svg",
    "out_svg",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the map alone as SVG, from the same geometry.",
)
@report_errors
def step_print(
    spec_json: str, source_path: Path | None, out_pdf: Path, mode: str, out_svg: Path | None
) -> None:
    """The print sheet PDF (and, with --svg, an SVG of the map)."""
    with without_cycle_collector():
        report = _print_sheet(spec_json, source_path, out_pdf, mode, out_svg)
    log.info(
        "%s: %s, %.0f kB, %d vertices, %.2f s",
        report.map_id,
        report.pdf,
        report.file_size / 1000,
        report.vertices,
        report.seconds,
    )


def _print_sheet(
    spec_json: str, source_path: Path | None, out_pdf: Path, mode: str, out_svg: Path | None
) -> PrintReport:
    from concurrent.futures import ThreadPoolExecutor

    from tilepress.sources.highlights import resolve_highlights
    from tilepress.sources.overlays import read_overlays
    from tilepress.sources.table import read_countries

    spec = _spec(spec_json)  # the tiling modules are not imported: a faster start
    colours: Literal["rgb", "cmyk"] = "cmyk" if mode == "cmyk" else "rgb"
    # Reading the source is mostly GEOS and hashing, which release the GIL: it runs beside the
    # pure-Python start of the drawing (importing reportlab, parsing the bundled fonts, and
    # laying out the page unless the extent is fitted to the countries). The overlay files
    # are read after the source, in the same thread.
    plan, planning_error = None, None
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(read_countries, spec.source, source_path)
        reading_overlays = pool.submit(read_overlays, spec)
        from tilepress.printing.fonts import register_fonts
        from tilepress.printing.sheet import build_print_sheet, plan_print_sheet

        register_fonts()  # planning needs them too; an `auto` extent waits for the countries
        if spec.extent != "auto":
            try:
                plan = plan_print_sheet(spec, mode=colours)
            except TilepressError as error:  # reported after the source's own errors
                planning_error = error
        table = reading.result()
        overlays = reading_overlays.result()
    highlighting = resolve_highlights(spec, table)
    if planning_error is not None:
        raise planning_error
    # The print sheet logs its own warnings (colour-blind safety, dropped labels, markers
    # outside the frame).
    return build_print_sheet(
        spec, table, highlighting, out_pdf, mode=colours, svg=out_svg, plan=plan,
        overlays=overlays,
    )  # fmt: skip


@step.command("preview")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("png", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dpi", default=110, show_default=True, type=click.IntRange(30, 600))
@report_errors
def step_preview(pdf: Path, png: Path, dpi: int) -> None:
    """Render the PDF's first page to PNG."""
    from tilepress.printing.preview import render_preview  # without reportlab: a quick start

    render_preview(pdf, png, dpi=dpi)


@step.command("fetch")
@click.option("--url", default=None, help="Download this URL.")
@click.option(
    "--input",
    "input_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Or take this file (Snakemake's storage plugin downloaded it).",
)
@click.option("--sha256", required=True)
@click.option("--name", required=True, help="Source name (for messages).")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@report_errors
def step_fetch(
    url: str | None, input_path: Path | None, sha256: str, name: str, out_path: Path
) -> None:
    """Put a URL source in place once its SHA-256 is checked (downloaded here with --url)."""
    import shutil

    from tilepress.files import atomic_path
    from tilepress.sources.download import download, verify_checksum

    if input_path is not None and url is None:
        verify_checksum(input_path, sha256, source=name)
        with atomic_path(out_path) as temporary:
            shutil.copyfile(input_path, temporary)
            verify_checksum(temporary, sha256, source=name)
    elif url is not None and input_path is None:
        download(url, out_path, sha256, source=name)
    else:
        raise ConfigError([f"source {name!r}: give exactly one of --url and --input"])


@step.command("verify")
@click.option("--sha256", required=True)
@click.option("--name", required=True)
@click.argument("path", type=click.Path(path_type=Path))
@report_errors
def step_verify(sha256: str, name: str, path: Path) -> None:
    """Check a source file's SHA-256."""
    from tilepress.sources.download import verify_checksum

    verify_checksum(path, sha256, source=name)
